// The redactor of destinations and endpoints (net/redact.h): exact redacted
// strings for URLs, PostgreSQL URLs and keyword conninfo strings, the byte spans the
// CLI overwrites in argv, the conservative mask of what does not parse, and which
// destinations count as PostgreSQL.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ingot/net/redact.h"

using namespace ingot;

TEST_CASE("redact: userinfo passwords in URLs, the user kept", "[redact]") {
  CHECK(redacted("postgresql://u:secret@db.example:5432/app") == "postgresql://u:***@db.example:5432/app");
  CHECK(redacted("postgres://u:secret@db/app") == "postgres://u:***@db/app");
  CHECK(redacted("http://user:secret@127.0.0.1:8080/ingest") == "http://user:***@127.0.0.1:8080/ingest");
  CHECK(redacted("https://user:secret@example.com") == "https://user:***@example.com");
  CHECK(redacted("HTTP://user:secret@example.com/x") == "HTTP://user:***@example.com/x");
  // Percent-encoded '@' and ':' inside the password.
  CHECK(redacted("postgresql://u:p%40ss%3Aword@db/app") == "postgresql://u:***@db/app");
  CHECK(redacted("http://u:p%40ss%3Aword@h/x") == "http://u:***@h/x");
  // A raw '@' in a PostgreSQL password: libpq stops at the first '@' (password "p", host
  // "ss@db"), the URL rules at the last: they disagree, so all is masked (and upload
  // refuses such a destination).
  CHECK(redacted("postgresql://u:p@ss@db/app") == "postgresql://***");
  CHECK(!parses_unambiguously("postgresql://u:p@ss@db/app"));
  CHECK(!parses_unambiguously("postgresql://u:se%zzcret@db/app"));
  CHECK(!parses_unambiguously("postgresql://u:secret/pw@db/app"));
  CHECK(parses_unambiguously("postgresql://u:p%40ss@db/app"));
  CHECK(parses_unambiguously("host=db password='a b'"));
  // An empty password hides nothing; a user alone is a PostgreSQL role name.
  CHECK(redacted("postgresql://u:@db/app") == "postgresql://u:@db/app");
  CHECK(redacted("postgresql://alice@db/app") == "postgresql://alice@db/app");
  // ... but in an http(s) URL a lone user is usually a token.
  CHECK(redacted("https://ghp_abcdef@example.com/x") == "https://***@example.com/x");
}

TEST_CASE("redact: secrets in query strings and fragments, names and values percent-encoded", "[redact]") {
  CHECK(redacted("postgresql://u@db/app?password=secret&sslmode=disable") ==
        "postgresql://u@db/app?password=***&sslmode=disable");
  CHECK(redacted("postgresql://db/app?sslmode=require&sslpassword=k3y") ==
        "postgresql://db/app?sslmode=require&sslpassword=***");
  CHECK(redacted("postgresql://db/app?pass%77ord=secret") == "postgresql://db/app?pass%77ord=***");
  // Two passwords: libpq takes the query's, so the userinfo's is not the one it uses.
  CHECK(redacted("postgresql://u:a@db/app?password=b") == "postgresql://***");
  CHECK(redacted("https://h/in?token=abc&x=1") == "https://h/in?token=***&x=1");
  CHECK(redacted("https://h/in?x=1&access_token=abc") == "https://h/in?x=1&access_token=***");
  CHECK(redacted("https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2024"
                 "&X-Amz-Signature=abcd&X-Amz-Security-Token=tok&X-Amz-Expires=60") ==
        "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***"
        "&X-Amz-Signature=***&X-Amz-Security-Token=***&X-Amz-Expires=60");
  CHECK(redacted("https://h/x?sig=s&signature=t&key=k&secret=s&apikey=a&api_key=b&auth=c&Client_Secret=d") ==
        "https://h/x?sig=***&signature=***&key=***&secret=***&apikey=***&api_key=***&auth=***&Client_Secret=***");
  CHECK(redacted("https://h/x?MyPassPhrase=a&refresh-token=b&ok=c") ==
        "https://h/x?MyPassPhrase=***&refresh-token=***&ok=c");
  CHECK(redacted("https://h/x?%74oken=abc") == "https://h/x?%74oken=***");
  CHECK(redacted("https://h/x?api+key=abc") == "https://h/x?api+key=***");
  CHECK(redacted("https://h/x?token=a%26b%3Dc&n=1") == "https://h/x?token=***&n=1");
  CHECK(redacted("https://h/cb#access_token=abc&state=1") == "https://h/cb#access_token=***&state=1");
  CHECK(redacted("https://h/x?page=2&sort=name") == "https://h/x?page=2&sort=name");
  CHECK(redacted("https://h/x?token=") == "https://h/x?token=");
}

TEST_CASE("redact: libpq keyword conninfo strings and service names", "[redact]") {
  CHECK(redacted("host=db port=5432 dbname=app user=u password=secret") ==
        "host=db port=5432 dbname=app user=u password=***");
  CHECK(redacted("host=db password = 'se cr\\'et' user=u") == "host=db password = *** user=u");
  CHECK(redacted("password=se\\ cret host=db") == "password=*** host=db");
  CHECK(redacted("host=db sslpassword=k3y sslkey=/k.pem") == "host=db sslpassword=*** sslkey=***");
  CHECK(redacted("service=prod") == "service=prod");
  CHECK(redacted("host=db dbname=app") == "host=db dbname=app");
  // Not conninfo syntax, or an unknown keyword: everything after the first '=' goes.
  CHECK(redacted("host=db password='unterminated") == "host=***");
  CHECK(redacted("host=db passwd=secret") == "host=***");
}

TEST_CASE("redact: what does not parse is masked after the scheme", "[redact]") {
  CHECK(redacted("http://u:pa ss@h/") == "http://***");                  // libcurl refuses a space
  CHECK(redacted("http://u:pa?ss@h/x") == "http://***");                 // '?' in the userinfo
  CHECK(redacted("postgresql://u:pa/ss@db/app") == "postgresql://***");  // '/' in the password
  CHECK(redacted("postgresql://u:pa?ss@db/app") == "postgresql://***");
  CHECK(redacted("postgresql://u:p%zzss@db/app") == "postgresql://***");  // bad escape: libpq refuses
  CHECK(redacted("postgresql://u:pw@db/app?nosuchkeyword=1") == "postgresql://***");
  CHECK(redacted("http://u:secret@h/path@x") == "http://***");
  CHECK(redacted("http://") == "http://");
  // No scheme: what precedes an '@' may be credentials.
  CHECK(redacted("user:secret@127.0.0.1:9000") == "***@127.0.0.1:9000");
  CHECK(redacted("data.csv") == "data.csv");
}

TEST_CASE("redact: an s3:// URL is a bucket and a literal key", "[redact]") {
  CHECK(redacted("s3://bucket/dir/a?token=x#y.csv") == "s3://bucket/dir/a?token=x#y.csv");
  CHECK(redacted("s3://bucket/key with spaces.csv") == "s3://bucket/key with spaces.csv");
  CHECK(redacted("s3://AKIA:secret@bucket/key") == "s3://***@bucket/key");
}

TEST_CASE("redact: spans are the exact bytes of the secrets, for argv", "[redact]") {
  const std::string url = "postgresql://u:p%40ss@db/app?sslpassword=two&connect_timeout=5";
  std::vector<SecretSpan> v = secret_spans(url);
  REQUIRE(v.size() == 2);
  CHECK(url.substr(v[0].pos, v[0].len) == "p%40ss");
  CHECK(url.substr(v[1].pos, v[1].len) == "two");
  const std::string conn = "host=db password='a b'";
  v = secret_spans(conn);
  REQUIRE(v.size() == 1);
  CHECK(conn.substr(v[0].pos, v[0].len) == "'a b'");
  CHECK(secret_spans("https://h/x").empty());
}

TEST_CASE("redact: scrub removes a destination's secrets from a message", "[redact]") {
  const std::string dest = "http://u:p%40ssword@h:1/x";
  CHECK(scrub("batch 1: refused: " + dest, dest) == "batch 1: refused: http://u:***@h:1/x");
  CHECK(scrub("login p@ssword failed, p%40ssword", dest) == "login *** failed, ***");
  CHECK(scrub("nothing here", "https://h/x") == "nothing here");
  CHECK(scrub("pw 'se cret' bad, se cret", "host=h password='se cret'") == "pw *** bad, ***");
}

TEST_CASE("redact: which destinations are PostgreSQL", "[redact]") {
  CHECK(is_postgres_destination("postgresql://u@h/db"));
  CHECK(is_postgres_destination("postgres://h/db"));
  CHECK(is_postgres_destination("host=127.0.0.1 port=5432 dbname=postgres user=ingot"));
  CHECK(is_postgres_destination("service=prod"));
  CHECK(is_postgres_destination("dbname=app"));
  CHECK_FALSE(is_postgres_destination(""));
  CHECK_FALSE(is_postgres_destination("out.csv"));
  CHECK_FALSE(is_postgres_destination("nosuchkeyword=1"));
  CHECK_FALSE(is_postgres_destination("http://h/x"));
  CHECK_FALSE(is_postgres_destination("s3://b/k"));
  CHECK_FALSE(is_postgres_destination("mysql://h/db"));
}

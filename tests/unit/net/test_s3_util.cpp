// S3 client pieces that need no server: canonical encoding (curl signs the URL as we
// build it), ETag arithmetic, XML extraction, credentials lookup, and the part plan
// (10,000-part rule) through upload --dry-run on a sparse file.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "ingot/net/s3/s3.h"
#include "ingot/net/s3/s3_sink.h"
#include "ingot/net/upload/upload.h"

namespace fs = std::filesystem;
using namespace ingot;

TEST_CASE("s3: uri_encode is AWS canonical (upper-case hex, unreserved kept)", "[s3]") {
  CHECK(s3::uri_encode("a-b_c.d~e", false) == "a-b_c.d~e");
  CHECK(s3::uri_encode("a b/c=d+é", false) == "a%20b%2Fc%3Dd%2B%C3%A9");
  CHECK(s3::uri_encode("dir/file name.csv", true) == "dir/file%20name.csv");
}

TEST_CASE("s3: multipart ETag is md5 of the binary part md5s, dash, count", "[s3]") {
  std::string a(1000, 'a'), b(10, 'b');
  std::string bin;
  for (const std::string& h : {s3::md5_hex(a), s3::md5_hex(b)}) {
    for (std::size_t i = 0; i < 32; i += 2) bin += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  CHECK(s3::multipart_etag({s3::md5_hex(a), s3::md5_hex(b)}) == s3::md5_hex(bin) + "-2");
  CHECK(s3::md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(s3::md5_base64("") == "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST_CASE("s3: XML helpers read elements and decode entities", "[s3]") {
  std::string xml =
      "<ListPartsResult><IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber><ETag>&quot;ab&quot;</ETag>"
      "</Part><Part><PartNumber>2</PartNumber><ETag>\"cd\"</ETag></Part></ListPartsResult>";
  auto doc = s3::parse_xml(xml);
  REQUIRE(doc);
  CHECK(doc->name == "ListPartsResult");
  auto parts = doc->all("Part");
  REQUIRE(parts.size() == 2);
  CHECK(parts[0]->text_of("ETag") == "\"ab\"");
  CHECK(parts[1]->text_of("PartNumber") == "2");
  CHECK(doc->text_of("IsTruncated") == "true");
  CHECK(doc->text_of("Missing").empty());
  // A namespace (AWS sends one), character references, a key with '<' and '&' in it.
  doc = s3::parse_xml(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Contents><Key>a&lt;b&amp;c&#x2F;d&#34;</Key>"
      "</Contents><IsTruncated>false</IsTruncated></ListBucketResult>");
  REQUIRE(doc);
  REQUIRE(doc->all("Contents").size() == 1);
  CHECK(doc->all("Contents")[0]->text_of("Key") == "a<b&c/d\"");
  // Not XML: no document, so no element is read out of an HTML error page.
  CHECK(!s3::parse_xml(""));
  CHECK(!s3::parse_xml("<html><body><Code>x</Code>"));
  CHECK(!s3::parse_xml("<a><b></a>"));
}

TEST_CASE("s3: parse_url splits bucket and key, short buckets are refused", "[s3]") {
  auto l = s3::parse_url("s3://bucket/a/b.csv");
  CHECK(l.bucket == "bucket");
  CHECK(l.key == "a/b.csv");
  CHECK(s3::parse_url("s3://bucket").key.empty());
  CHECK_THROWS_AS(s3::parse_url("s3://b1/x"), Error);
  CHECK_THROWS_AS(s3::parse_url("http://x/y"), Error);
}

TEST_CASE("s3: credentials come from the environment, else the AWS_PROFILE of the credentials file", "[s3]") {
  fs::path dir = fs::temp_directory_path() / ("ingot-cred-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "credentials") << "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n\n"
                                        "[other]\naws_access_key_id=test:tester\naws_secret_access_key=testing\n"
                                        "aws_session_token = T\n";
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_SESSION_TOKEN");
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", (dir / "credentials").c_str(), 1);
  ::setenv("AWS_CONFIG_FILE", (dir / "config").c_str(), 1);  // none
  ::setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  auto find = [] { return s3::find_credentials(s3::load_profile(""), "us-east-1"); };
  ::setenv("AWS_PROFILE", "other", 1);
  auto c = find();
  CHECK(c.access_key == "test:tester");
  CHECK(c.secret_key == "testing");
  CHECK(c.session_token == "T");
  ::unsetenv("AWS_PROFILE");
  CHECK(find().access_key == "D");
  ::setenv("AWS_ACCESS_KEY_ID", "E", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "ES", 1);
  CHECK(find().access_key == "E");
  ::unsetenv("AWS_ACCESS_KEY_ID");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::setenv("AWS_PROFILE", "missing", 1);
  CHECK_THROWS_AS(find(), Error);
  ::unsetenv("AWS_PROFILE");
  ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
  ::unsetenv("AWS_CONFIG_FILE");
  ::unsetenv("AWS_EC2_METADATA_DISABLED");
  fs::remove_all(dir);
}

TEST_CASE("upload: the default part size keeps a 1 TiB file within 10,000 parts", "[s3][upload]") {
  fs::path f = fs::temp_directory_path() / ("ingot-sparse-" + std::to_string(::getpid()));
  {
    int fd = ::open(f.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, std::int64_t{1} << 40) == 0);  // sparse: no disk used
    ::close(fd);
  }
  UploadOptions o;
  o.source = f.string();
  o.dest = "s3://bucket/big";
  o.dry_run = true;
  auto r = upload(o);
  REQUIRE(r.ok());
  CHECK(r.value().method == UploadMethod::multipart);
  CHECK(r.value().part_size == std::uint64_t{105} << 20);  // ceil(1 TiB / 10,000) rounded up to a MiB
  CHECK(r.value().plan.size() == 9987);
  CHECK(r.value().plan.back().offset + r.value().plan.back().length == std::uint64_t{1} << 40);

  o.part_size = std::uint64_t{100} << 20;  // 10,486 parts
  r = upload(o);
  REQUIRE(!r.ok());
  CHECK(r.error().kind() == ErrorKind::usage);
  CHECK(std::string(r.error().what()).find("use at least 105.0 MiB") != std::string::npos);
  fs::remove(f);
}

TEST_CASE("s3: output part sizes start at 8 MiB and double every 1,000 parts up to 512 MiB", "[s3]") {
  CHECK(s3::sink_part_size(1) == (8u << 20));
  CHECK(s3::sink_part_size(1000) == (8u << 20));
  CHECK(s3::sink_part_size(1001) == (16u << 20));
  CHECK(s3::sink_part_size(6001) == (512u << 20));
  CHECK(s3::sink_part_size(10000) == (512u << 20));
  std::uint64_t total = 0;
  for (unsigned n = 1; n <= 10000; ++n) {
    total += s3::sink_part_size(n);
    if (n > 1) CHECK(s3::sink_part_size(n) >= s3::sink_part_size(n - 1));
  }
  CHECK(total > (std::uint64_t{2} << 40));  // 10,000 parts hold over 2 TiB
}

// No secret leaves the process (docs/security.md): passwords in a userinfo, in a
// ?password= and percent-encoded, to PostgreSQL (URL and keyword conninfo), HTTP and
// S3 (--endpoint) through --dry-run, --json, a success (S3: none, see below), a refused
// connection and a refused request; none may appear on stdout, stderr or in any file the runs leave
// (journals, state). Keyword conninfo and service= destinations load, ~/.netrc serves
// HTTP credentials, and the argv that ps reads holds no password while an upload runs.
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/pg_env.h"
#include "cli/s3_env.h"
#include "servers.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

// Every secret in this file contains this word; nothing else the runs print or write does.
constexpr const char* kNeedle = "SECRET";

// A port that refuses connections for the life of the object: bound, never listening
// (so no other process can take it meanwhile).
class ClosedPort {
 public:
  ClosedPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
  }
  ~ClosedPort() { ::close(fd_); }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// An NDJSON endpoint: /ok takes a batch, /fail refuses it (403), /hold keeps the
// request until release() (or 60 s), so a test can look at the client meanwhile.
class Endpoint {
 public:
  Endpoint() {
    svr_.Post("/ok", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      auth_ = req.get_header_value("Authorization");
      res.status = 200;
    });
    svr_.Post("/fail", [](const httplib::Request&, httplib::Response& res) {
      res.status = 403;
      res.set_content("forbidden", "text/plain");
    });
    svr_.Post("/hold", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(mu_);
      held_ = true;
      cv_.notify_all();
      cv_.wait_for(lock, std::chrono::seconds(60), [&] { return released_; });
      res.status = 200;
    });
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    // Bounded: a server that never starts fails the test instead of hanging it.
    try {
      wait_until([&] { return svr_.is_running(); }, 60s, "the test's HTTP server to listen", 1ms);
    } catch (...) {
      svr_.stop();  // the destructor does not run when the constructor throws
      thread_.join();
      throw;
    }
  }
  ~Endpoint() {
    release();
    svr_.stop();
    thread_.join();
  }
  std::string host_port() const { return "127.0.0.1:" + std::to_string(port_); }
  // Whether a /hold request arrived within 60 s.
  bool wait_held() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60), [&] { return held_; });
  }
  std::string last_authorization() {
    std::lock_guard lock(mu_);
    return auth_;
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  httplib::Server svr_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false, released_ = false;
  std::string auth_;
};

// "host:port" of a URL like scheme://[user@]host:port[/...].
std::string authority_of(const std::string& url) {
  std::string rest = url.substr(url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  return rest.substr(rest.find('@') == std::string::npos ? 0 : rest.find('@') + 1);
}

// Every file under dir whose content holds the needle.
std::vector<std::string> files_with_secret(const TempDir& dir) {
  std::vector<std::string> hits;
  for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
    if (e.is_regular_file() && read_file(e.path()).find(kNeedle) != std::string::npos)
      hits.push_back(e.path().string());
  }
  return hits;
}

struct Case {
  std::string what;   // for the failure message
  std::string args;   // after "upload "
  bool ok;            // expected to succeed
  bool shown = true;  // the destination holds the secret (an S3 endpoint is not in the report)
};

// Runs every case and finds no secret anywhere; the redacted destination shows in each
// --dry-run and --json report (so the check is not vacuous).
void run_cases(TempDir& dir, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO(c.what << ": ingot upload " << c.args);
    RunResult r = run_ingot(dir, "upload " + c.args);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    CHECK((r.code == 0) == c.ok);
    CHECK(r.out.find(kNeedle) == std::string::npos);
    CHECK(r.err.find(kNeedle) == std::string::npos);
    if (c.ok && c.shown && c.args.find("--json") != std::string::npos) {
      CHECK(report(r)["dest"].get<std::string>().find("***") != std::string::npos);
    }
    if (c.ok && c.shown && c.args.find("--dry-run") != std::string::npos &&
        c.args.find("--json") == std::string::npos) {
      CHECK(r.out.find("***") != std::string::npos);
    }
    if (!c.ok) CHECK(r.err.find("error:") != std::string::npos);
    CHECK(files_with_secret(dir).empty());
  }
}

}  // namespace

TEST_CASE("secrets: no password from a PostgreSQL destination is printed or stored", "[secrets][upload][pg]") {
  TempDir dir;
  write_file(dir / "rows.csv", "id,name\n1,a\n2,b\n");
  const std::string t = "secrets_" + std::to_string(std::random_device{}());
  REQUIRE(psql("CREATE TABLE " + t + " (id bigint, name text)").empty());
  const std::string hp = authority_of(servers().pg_url);
  const std::string host = hp.substr(0, hp.find(':')), port = hp.substr(hp.find(':') + 1);
  ClosedPort closed;
  // The server trusts loopback (tests/fixtures/pg): the passwords are sent to nobody, which
  // is what lets a success carry them.
  auto dests = [&](const std::string& p) {
    return std::vector<std::string>{
        "postgresql://ingot:userinfoSECRET1@" + host + ":" + p + "/postgres",
        "postgresql://ingot@" + host + ":" + p + "/postgres?sslmode=disable&password=querySECRET2",
        "postgresql://ingot:p%40ct%3ASECRET3@" + host + ":" + p + "/postgres",
        "host=" + host + " port=" + p + " dbname=postgres user=ingot password=keywordSECRET4",
        "host=" + host + " port=" + p + " dbname=postgres user=ingot password='quoted SECRET5'",
    };
  };
  std::vector<Case> cases;
  for (const std::string& d : dests(port)) {
    const std::string q = shell_quote(d) + " --table " + t;
    cases.push_back({"dry run", "rows.csv " + q + " --dry-run", true});
    cases.push_back({"dry run --json", "rows.csv " + q + " --dry-run --json", true});
    cases.push_back({"success --json", "rows.csv " + q + " --json", true});
    cases.push_back({"success", "rows.csv " + q, true});
    cases.push_back({"refused request", "rows.csv " + shell_quote(d) + " --table no_such_table_here --json", false});
  }
  for (const std::string& d : dests(closed.port())) {
    cases.push_back({"refused connection", "rows.csv " + shell_quote(d) + " --table " + t + " --json", false});
  }
  run_cases(dir, cases);
  // Each source loaded once per load id: the first success of each destination; the
  // same file again is found in the ledger.
  CHECK(psql("SELECT count(*) FROM " + t) == "2");
}

TEST_CASE("secrets: no password from an HTTP destination is printed or stored", "[secrets][upload][http]") {
  TempDir dir;
  write_file(dir / "rows.ndjson", "{\"a\":1}\n{\"a\":2}\n");
  Endpoint ep;
  ClosedPort closed;
  auto dests = [&](const std::string& hp, const std::string& path) {
    return std::vector<std::string>{
        "http://u:userinfoSECRET6@" + hp + path,
        "http://" + hp + path + "?password=querySECRET7",
        "http://u:p%40ct%3ASECRET8@" + hp + path,
        "http://" + hp + path + "?x=1&access_token=tokenSECRET9",
    };
  };
  std::vector<Case> cases;
  const std::string state = " --state state";
  for (const std::string& d : dests(ep.host_port(), "/ok")) {
    cases.push_back({"dry run", "rows.ndjson " + shell_quote(d) + " --dry-run" + state, true});
    cases.push_back({"dry run --json", "rows.ndjson " + shell_quote(d) + " --dry-run --json" + state, true});
    cases.push_back({"success --json", "rows.ndjson " + shell_quote(d) + " --json" + state, true});
    cases.push_back({"success", "rows.ndjson " + shell_quote(d) + state, true});
  }
  // A refused batch leaves its journal behind, in the state directory and next to the source.
  for (const std::string& d : dests(ep.host_port(), "/fail")) {
    cases.push_back({"refused request", "rows.ndjson " + shell_quote(d) + " --json" + state, false});
    cases.push_back({"refused request, journal beside the source", "rows.ndjson " + shell_quote(d), false});
  }
  for (const std::string& d : dests("127.0.0.1:" + closed.port(), "/ok")) {
    cases.push_back({"refused connection", "rows.ndjson " + shell_quote(d) + " --retries 0 --json" + state, false});
  }
  run_cases(dir, cases);
  CHECK_FALSE(fs::is_empty(dir / "state"));  // the journals were there to be searched
}

TEST_CASE("secrets: no password from an S3 --endpoint is printed or stored", "[secrets][upload][s3]") {
  TempDir dir;
  S3Env s3;
  write_file(dir / "rows.csv", "id\n1\n2\n");
  ClosedPort closed;
  const std::string hp = authority_of(servers().s3_endpoint);
  auto endpoints = [&](const std::string& at) {
    return std::vector<std::string>{"http://user:userinfoSECRET10@" + at, "http://user:p%40ct%3ASECRET11@" + at};
  };
  std::vector<Case> cases;
  const std::string state = " --state state --retries 0 --endpoint ";
  for (const std::string& e : endpoints(hp)) {
    const std::string q = state + shell_quote(e);
    cases.push_back({"dry run", "rows.csv " + s3.url("k.csv") + " --dry-run" + q, true, false});
    cases.push_back({"dry run --json", "rows.csv " + s3.url("k.csv") + " --dry-run --json" + q, true, false});
    // Against Swift a request through an endpoint with a userinfo fails (400), so this
    // is the failed request; no bucket is the other.
    cases.push_back({"failed request --json", "rows.csv " + s3.url("k.csv") + " --json" + q, false});
    cases.push_back({"failed request", "rows.csv " + s3.url("k2.csv") + q, false});
    cases.push_back({"refused request", "rows.csv s3://no-such-bucket-here-1/k.csv --json" + q, false});
  }
  for (const std::string& e : endpoints("127.0.0.1:" + closed.port())) {
    cases.push_back({"refused connection", "rows.csv " + s3.url("k.csv") + " --json" + state + shell_quote(e), false});
    INFO("ls");
    RunResult r = run_ingot(dir, "ls " + s3.url("") + " --retries 0 --endpoint " + shell_quote(e));
    CHECK(r.code == 3);
    CHECK(r.err.find("***") != std::string::npos);
    CHECK(r.err.find(kNeedle) == std::string::npos);
  }
  run_cases(dir, cases);
}

TEST_CASE("secrets: a destination whose password parses ambiguously is refused, no piece of it printed",
          "[secrets][upload]") {
  TempDir dir;
  write_file(dir / "rows.csv", "id\n1\n");
  // Each would reach libpq or libcurl parsed otherwise than the URL rules read it, and
  // their errors quote pieces of it (a host name, a bad token): a usage error instead.
  for (const std::string dest :
       {"postgresql://loader:p@ssw0rdSECRET@127.0.0.1:1/db", "postgresql://user:se%zzcretSECRETpw@127.0.0.1:1/db",
        "postgresql://user:SECRET/pw@127.0.0.1:1/db", "postgresql://127.0.0.1:1/db?sslpassword=ab%zzSECRET",
        "host=127.0.0.1 port=1 password='SECRET", "http://user:p@ssSECRET@127.0.0.1:1/in"}) {
    for (const std::string flags : {"", " --json", " --dry-run"}) {
      INFO(dest << flags);
      RunResult r = run_ingot(dir, "upload rows.csv " + shell_quote(dest) + " --table t -q" + flags);
      CHECK(r.code == 2);
      // A conninfo libpq cannot parse is no destination at all ("destination must be ...").
      if (dest.find("://") != std::string::npos) CHECK(r.err.find("does not parse unambiguously") != std::string::npos);
      CHECK(r.out.find(kNeedle) == std::string::npos);
      CHECK(r.err.find(kNeedle) == std::string::npos);
    }
  }
  RunResult r = run_ingot(
      dir, "upload rows.csv s3://bucket-x/k --endpoint " + shell_quote("http://u:p@ssSECRET@127.0.0.1:1") + " -q");
  CHECK(r.code == 2);
  CHECK(r.err.find(kNeedle) == std::string::npos);
}

TEST_CASE("secrets: keyword conninfo and service= destinations load into PostgreSQL", "[secrets][upload][pg]") {
  TempDir dir;
  write_file(dir / "rows.csv", "id,name\n1,a\n2,b\n3,c\n");
  const std::string hp = authority_of(servers().pg_url);
  const std::string host = hp.substr(0, hp.find(':')), port = hp.substr(hp.find(':') + 1);
  const std::string t1 = "kw_" + std::to_string(std::random_device{}()), t2 = t1 + "_svc";
  const std::string conninfo = "host=" + host + " port=" + port + " dbname=postgres user=ingot";
  RunResult r =
      run_ingot(dir, "upload rows.csv " + shell_quote(conninfo) + " --table " + t1 + " --create-table --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["target"] == "postgresql");
  CHECK(report(r)["dest"] == conninfo);
  CHECK(psql("SELECT string_agg(id || name, ',' ORDER BY id) FROM " + t1) == "1a,2b,3c");

  write_file(dir / "pg_service.conf",
             "[ingot_test]\nhost=" + host + "\nport=" + port + "\ndbname=postgres\nuser=ingot\n");
  r = run_ingot(dir, "upload rows.csv service=ingot_test --table " + t2 + " --create-table --json");
  CHECK(r.code != 0);  // without the service file, libpq does not know the name
  r = run_sh(dir, "PGSERVICEFILE=pg_service.conf \"$INGOT\" upload rows.csv service=ingot_test --table " + t2 +
                      " --create-table --json");
  REQUIRE(r.code == 0);
  CHECK(psql("SELECT string_agg(id || name, ',' ORDER BY id) FROM " + t2) == "1a,2b,3c");
  // Not a keyword libpq knows: not a destination at all (usage error, exit 2).
  r = run_ingot(dir, "upload rows.csv nosuchkey=1 --table x");
  CHECK(r.code == 2);
  CHECK(r.err.find("destination must be") != std::string::npos);
}

TEST_CASE("secrets: ps does not show a password while the upload runs", "[secrets][upload][http]") {
  TempDir dir;
  write_file(dir / "rows.ndjson", "{\"a\":1}\n");
  Endpoint ep;
  // The destination as an argument and an --endpoint=VALUE (unused by HTTP, hidden all the same).
  const pid_t pid =
      spawn_ingot(dir, "upload rows.ndjson " + shell_quote("http://u:psSECRET12@" + ep.host_port() + "/hold") +
                           " --endpoint=" + shell_quote("http://k:endpointSECRET13@127.0.0.1:1"));
  const bool held = ep.wait_held();
  const std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  ep.release();
  const int code = wait_code(pid);
  REQUIRE(held);
  INFO("cmdline: " << cmdline);
  CHECK(cmdline.find(kNeedle) == std::string::npos);
  CHECK(cmdline.find(std::string("http://u:") + std::string(10, '*') + "@127.0.0.1") != std::string::npos);
  CHECK(cmdline.find("--endpoint=http://k:" + std::string(16, '*') + "@127.0.0.1:1") != std::string::npos);
  CHECK(code == 0);
  const std::string err = read_file(dir / ".bg.err");
  INFO("stderr: " << err);
  CHECK(lines_of(err).size() == 2);  // the warning and the summary
  CHECK(err.find("ingot upload: warning: a password on the command line is visible") == 0);
  CHECK(err.find(kNeedle) == std::string::npos);

  // -q: no warning; no password anywhere: no warning.
  RunResult r = run_ingot(
      dir, "upload rows.ndjson " + shell_quote("http://u:qSECRET14@" + ep.host_port() + "/ok") + " -q --dry-run");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  r = run_ingot(dir, "upload rows.ndjson " + shell_quote("http://" + ep.host_port() + "/ok") + " --dry-run");
  CHECK(r.code == 0);
  CHECK(r.err.empty());
}

TEST_CASE("secrets: an HTTP upload takes its credentials from ~/.netrc", "[secrets][upload][http]") {
  TempDir dir;
  write_file(dir / "rows.ndjson", "{\"a\":1}\n");
  write_file(dir / ".netrc", "machine 127.0.0.1 login u password netrcpw\n");
  fs::permissions(dir / ".netrc", fs::perms::owner_read | fs::perms::owner_write);
  Endpoint ep;
  RunResult r = run_sh(dir, "HOME=" + shell_quote(dir.path().string()) + " \"$INGOT\" upload rows.ndjson http://" +
                                ep.host_port() + "/ok");
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(ep.last_authorization() == "Basic dTpuZXRyY3B3");  // base64("u:netrcpw")
  CHECK(r.err.find("warning") == std::string::npos);
}

// ingot serve as a real process on a free loopback port, queried with cpp-httplib's
// client: exact bodies and status codes, the file replaced or modified under it (503),
// refusal to start without a fresh index, and a clean stop on SIGTERM and SIGINT.
#include <catch2/catch.hpp>

#include <httplib.h>
#include <signal.h>
#include <spawn.h>

#include <chrono>
#include <regex>
#include <thread>

#include "support.h"

extern char** environ;

using namespace ingot_test;

namespace {

// `ingot serve FILE --port 0 ...` in dir; learns the port from its "listening on" line.
class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, const std::string& args) : err_(dir / "serve.err") {
    std::vector<std::string> argv_s{INGOT_BINARY, "serve"};
    std::istringstream ss(args);
    for (std::string a; ss >> a;) argv_s.push_back(a);
    argv_s.push_back("--port");
    argv_s.push_back("0");
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, dir.path().c_str());
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    REQUIRE(rc == 0);
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+)/)");
    for (int i = 0; i < 1000 && port_ == 0; ++i) {
      std::smatch m;
      const std::string text = read_file(err_);
      if (std::regex_search(text, m, listening)) {
        port_ = std::stoi(m[1]);
        break;
      }
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  std::string err() const { return read_file(err_); }
  // Sends sig and returns the exit code (or 128 + signal).
  int stop(int sig) {
    REQUIRE(pid_ > 0);
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // When the server failed to start: its exit code.
  int exit_code() const { return exit_code_; }

 private:
  fs::path err_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

struct Reply {
  int status = 0;
  std::string body;
};

Reply get(int port, const std::string& path) {
  httplib::Client c("127.0.0.1", port);
  auto r = c.Get(path.c_str());
  REQUIRE(r);
  return {r->status, r->body};
}

const std::string kText = "one\ntwo\n\nfour\nfive\n";

}  // namespace

TEST_CASE("cli serve: /lines/N, ranges, /healthz and the error statuses", "[cli][serve]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  ServeProcess s(dir, "in.txt --max-range 3");
  REQUIRE(s.port() > 0);

  CHECK(get(s.port(), "/lines/1").body == "one\n");
  CHECK(get(s.port(), "/lines/1").status == 200);
  CHECK(get(s.port(), "/lines/3").body == "\n");
  CHECK(get(s.port(), "/lines/2-4").body == "two\n\nfour\n");
  CHECK(get(s.port(), "/lines/4-9").body == "four\nfive\n");
  CHECK(get(s.port(), "/lines/2+2").body == "two\n\n");
  CHECK(get(s.port(), "/lines/-1").body == "five\n");

  Reply past = get(s.port(), "/lines/6");
  CHECK(past.status == 413);
  CHECK(past.body == "record 6 is past the end: there are 5 records\n");
  Reply huge = get(s.port(), "/lines/18446744073709551615");
  CHECK(huge.status == 413);
  for (const char* bad : {"/lines/0", "/lines/abc", "/lines/-0", "/lines/3-1", "/lines/99999999999999999999",
                          "/lines/"}) {
    INFO(bad);
    Reply r = get(s.port(), bad);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::StartsWith("invalid record number '"));
  }
  Reply wide = get(s.port(), "/lines/1-5");
  CHECK(wide.status == 413);
  CHECK(wide.body == "records 1-5 ask for 5 records, over the limit of 3 per request (--max-range)\n");
  CHECK(get(s.port(), "/nothing").status == 404);

  Reply health = get(s.port(), "/healthz");
  CHECK(health.status == 200);
  CHECK(health.body == "ok 5 records\n");

  CHECK(s.stop(SIGTERM) == 0);
  CHECK_THAT(s.err(), Catch::EndsWith("ingot serve: stopped by SIGTERM after 17 requests\n"));
}

TEST_CASE("cli serve: a file replaced or modified while serving answers 503", "[cli][serve][replaced]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  SECTION("replaced by rename") {
    ServeProcess s(dir, "in.txt");
    REQUIRE(s.port() > 0);
    CHECK(get(s.port(), "/lines/2").body == "two\n");
    write_file(dir / "new.txt", "other\ncontent\n");
    fs::rename(dir / "new.txt", dir / "in.txt");
    Reply r = get(s.port(), "/lines/2");
    CHECK(r.status == 503);
    CHECK(r.body == "in.txt was replaced since ingot serve started; its index no longer describes it: run 'ingot "
                    "index in.txt' and restart ingot serve\n");
    CHECK(get(s.port(), "/healthz").status == 503);
    CHECK(s.stop(SIGINT) == 0);
    CHECK_THAT(s.err(), Catch::EndsWith("stopped by SIGINT after 3 requests\n"));
  }
  SECTION("appended to in place") {
    ServeProcess s(dir, "in.txt");
    REQUIRE(s.port() > 0);
    std::ofstream(dir / "in.txt", std::ios::app) << "six\n";
    Reply r = get(s.port(), "/lines/1");
    CHECK(r.status == 503);
    CHECK_THAT(r.body, Catch::StartsWith("in.txt was modified since ingot serve started"));
  }
}

TEST_CASE("cli serve: refuses to start without a fresh, intact index", "[cli][serve][errors]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  {
    ServeProcess s(dir, "in.txt");
    CHECK(s.port() == 0);
    CHECK(s.exit_code() == 1);
    CHECK(s.err() == "ingot serve: error: in.txt: no index in.txt.idx; build it first with 'ingot index in.txt'\n");
  }
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  std::string idx = read_file(dir / "in.txt.idx");
  idx[129] ^= 4;  // a packed bit: the whole-index check at start sees it before any lookup
  write_file(dir / "in.txt.idx", idx);
  {
    ServeProcess s(dir, "in.txt");
    CHECK(s.exit_code() == 1);
    CHECK(s.err() == "ingot serve: error: in.txt: index in.txt.idx is corrupt (checksum mismatch); rebuild it with "
                     "'ingot index'\n");
  }
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  write_file(dir / "in.txt", kText + "six\n");
  {
    ServeProcess s(dir, "in.txt");
    CHECK(s.exit_code() == 1);
    CHECK_THAT(s.err(), Catch::StartsWith("ingot serve: error: in.txt: index in.txt.idx is stale: "));
  }
  RunResult port = run_ingot(dir, "serve in.txt --port 70000");
  CHECK(port.code == 2);
}

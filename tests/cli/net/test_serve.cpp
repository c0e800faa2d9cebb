// ingot serve as a real process on a free loopback port, queried with cpp-httplib's
// client: exact bodies and status codes, the file replaced or modified under it (503),
// refusal to start without a fresh index, and a clean stop on SIGTERM and SIGINT.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string_view>
#include <thread>

#include "support.h"

extern char** environ;

using namespace ingot_test;

namespace {

// `ingot serve FILE --port 0 ...` in dir; learns the port from its "listening on" line.
class ServeProcess {
 public:
  ServeProcess(const TempDir& dir, const std::string& args, const std::string& err_name = "serve.err")
      : err_(dir / err_name) {
    std::vector<std::string> argv_s{INGOT_BINARY, "serve"};
    std::istringstream ss(args);
    for (std::string a; ss >> a;) argv_s.push_back(a);
    if (args.find("--port") == std::string::npos) {
      argv_s.push_back("--port");
      argv_s.push_back("0");
    }
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
    try {
      wait_until(
          [&] {
            std::smatch m;
            const std::string text = read_file(err_);
            if (std::regex_search(text, m, listening)) {
              port_ = std::stoi(m[1]);
              return true;
            }
            int status;
            if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
            exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            pid_ = -1;
            return true;
          },
          60s, [&] { return "ingot serve to say it listens (stderr: " + read_file(err_) + ")"; }, 10ms);
    } catch (...) {
      stop_now();  // the destructor does not run when the constructor throws
      throw;
    }
  }
  ~ServeProcess() { stop_now(); }
  void stop_now() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  int port() const { return port_; }
  std::string err() const { return read_file(err_); }
  // Sends sig and returns the exit code (or 128 + signal).
  int stop(int sig) {
    REQUIRE(pid_ > 0);
    ::kill(pid_, sig);
    const pid_t pid = std::exchange(pid_, -1);
    return wait_code(pid, 120s);
  }
  // Sends sig and returns the exit code, failing the test if the process is still there
  // after `limit` (a stop that waits for its clients).
  int stop_within(int sig, std::chrono::seconds limit) {
    REQUIRE(pid_ > 0);
    ::kill(pid_, sig);
    int status = 0;
    wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) != 0; }, limit,
               "ingot serve to exit after the signal (a stop that waits for its clients)", 10ms);
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

// in.txt holding kText, and its index: what most cases serve.
void write_indexed_text(const TempDir& dir) {
  write_file(dir / "in.txt", kText);
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
}

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A raw TCP connection: what an HTTP client library will not do for a test (a request
// head sent in pieces, requests pipelined, a connection held open doing nothing). The
// test decides every byte and every moment; waits are bounded by a deadline.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() { ::close(fd_); }

  // False once the server has closed the connection (no SIGPIPE).
  bool send(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next complete response, waiting for it until deadline; none if the server
  // closed first or the deadline passed.
  std::optional<Reply> reply(Clock::time_point deadline) {
    for (;;) {
      if (auto r = parse()) return r;
      if (closed_ || !read_until(deadline)) return std::nullopt;
    }
  }
  std::optional<Reply> reply(milliseconds wait = seconds(10)) { return reply(Clock::now() + wait); }

  // True when the server closes the connection (EOF or reset) before deadline; what it
  // sent before is kept for reply().
  bool closed_before(Clock::time_point deadline) {
    while (!closed_) {
      if (!read_until(deadline)) return false;
    }
    return true;
  }
  bool closed() const { return closed_; }

 private:
  // Waits for bytes or the end until deadline; false if neither came.
  bool read_until(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd_, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    char buf[16384];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      closed_ = true;
    else
      in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  // One response off the front of what arrived (status line, headers, Content-Length body).
  std::optional<Reply> parse() {
    const std::size_t head_end = in_.find("\r\n\r\n");
    if (head_end == std::string::npos) return std::nullopt;
    std::string head = in_.substr(0, head_end);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    const std::size_t cl = head.find("\r\ncontent-length:");
    const std::size_t length = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 17));
    if (in_.size() < head_end + 4 + length) return std::nullopt;
    Reply r;
    r.status = std::stoi(in_.substr(9, 3));
    r.body = in_.substr(head_end + 4, length);
    in_.erase(0, head_end + 4 + length);
    return r;
  }

  int fd_ = -1;
  std::string in_;
  bool closed_ = false;
};

std::string request(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

// The bound on the normal client's wait among slow ones (issue 12: "within a second").
// A sanitizer build runs the server several times slower; the bound there is looser.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr milliseconds kPromptly{3000};
#else
constexpr milliseconds kPromptly{1000};
#endif

}  // namespace

TEST_CASE("cli serve: /lines/N, ranges, /healthz and the error statuses", "[cli][serve]") {
  TempDir dir;
  write_indexed_text(dir);
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
  for (const char* bad :
       {"/lines/0", "/lines/abc", "/lines/-0", "/lines/3-1", "/lines/99999999999999999999", "/lines/"}) {
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
  write_indexed_text(dir);
  SECTION("replaced by rename") {
    ServeProcess s(dir, "in.txt");
    REQUIRE(s.port() > 0);
    CHECK(get(s.port(), "/lines/2").body == "two\n");
    write_file(dir / "new.txt", "other\ncontent\n");
    fs::rename(dir / "new.txt", dir / "in.txt");
    Reply r = get(s.port(), "/lines/2");
    CHECK(r.status == 503);
    CHECK(r.body ==
          "in.txt was replaced since ingot serve started; its index no longer describes it: run 'ingot "
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
    CHECK(s.err() ==
          "ingot serve: error: in.txt: index in.txt.idx is corrupt (checksum mismatch); rebuild it with "
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

TEST_CASE("cli serve: a second server on a port in use exits 1 and the first keeps answering", "[cli][serve][hold]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  write_file(dir / "other.txt", "other\ncontent\n");
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  REQUIRE(run_ingot(dir, "index other.txt -q").code == 0);
  ServeProcess first(dir, "in.txt");
  REQUIRE(first.port() > 0);
  const std::string port = std::to_string(first.port());
  {
    // A second server that started would take some of the connections (SO_REUSEPORT)
    // and answer them from other.txt.
    ServeProcess second(dir, "other.txt --port " + port, "second.err");
    CHECK(second.port() == 0);
    CHECK(second.exit_code() == 1);
    CHECK(second.err() == "ingot serve: error: 127.0.0.1:" + port +
                              ": cannot listen: Address already in use (another server listens there; choose "
                              "another --port)\n");
  }
  for (int i = 0; i < 20; ++i) CHECK(get(first.port(), "/lines/1").body == "one\n");
  CHECK(first.stop(SIGTERM) == 0);
  CHECK_THAT(first.err(), Catch::EndsWith("stopped by SIGTERM after 20 requests\n"));
}

TEST_CASE("cli serve: 200 clients dripping request heads do not delay a normal request", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  ServeProcess s(dir, "in.txt");  // default limits: 1000 connections, 10 s header deadline
  REQUIRE(s.port() > 0);
  std::vector<std::unique_ptr<Conn>> slow;
  for (int i = 0; i < 200; ++i) {
    slow.push_back(std::make_unique<Conn>(s.port()));
    REQUIRE(slow.back()->send("GET /lines/2 HTTP/1.1\r\n"));
  }
  for (auto& c : slow) REQUIRE(c->send("Host: 127.0.0.1\r\n"));

  Conn normal(s.port());
  const auto t0 = Clock::now();
  REQUIRE(normal.send(request("/lines/1")));
  const std::optional<Reply> r = normal.reply(t0 + seconds(10));
  const auto waited = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  REQUIRE(r);
  CHECK(r->body == "one\n");
  INFO("answered after " << waited.count() << " ms");
  CHECK(waited < kPromptly);

  // The slow ones were held, not dropped: each finishes its head and gets its answer.
  for (auto& c : slow) REQUIRE(c->send("X-Slow: yes\r\n\r\n"));
  for (auto& c : slow) {
    const std::optional<Reply> sr = c->reply();
    REQUIRE(sr);
    CHECK(sr->body == "two\n");
  }
  CHECK(s.stop(SIGTERM) == 0);
  CHECK_THAT(s.err(), Catch::EndsWith("stopped by SIGTERM after 201 requests\n"));
}

TEST_CASE("cli serve: deadlines drop a client dripping its head or body, and idle connections", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  ServeProcess s(dir, "in.txt --header-timeout 0.5 --body-timeout 0.5 --idle-timeout 0.5");
  REQUIRE(s.port() > 0);
  // Drips one header line whenever the server has been quiet for 100 ms, as a slowloris
  // client does, until the server closes the connection; an inactivity timer would
  // never close it. Returns how long that took.
  auto drip_until_closed = [](Conn& c, const std::string& line) {
    const auto t0 = Clock::now();
    while (!c.closed_before(Clock::now() + milliseconds(100))) {
      if (Clock::now() - t0 > seconds(20)) FAIL("the server still holds a dripping client after 20 s");
      c.send(line);
    }
    return Clock::now() - t0;
  };
  SECTION("head") {
    Conn c(s.port());
    REQUIRE(c.send("GET /lines/1 HTTP/1.1\r\n"));
    CHECK(drip_until_closed(c, "X-Drip: 1\r\n") >= milliseconds(400));
    CHECK(!c.reply(milliseconds(0)));  // dropped, not answered
  }
  SECTION("body") {
    Conn c(s.port());
    // A body under the 64 KiB limit (a larger one is refused at once with 413).
    REQUIRE(c.send("POST /lines/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"));
    CHECK(drip_until_closed(c, "x") >= milliseconds(400));
    CHECK(!c.reply(milliseconds(0)));
  }
  SECTION("idle keep-alive connection, and one that never sends") {
    Conn kept(s.port());
    REQUIRE(kept.send(request("/lines/1")));
    const std::optional<Reply> r = kept.reply();
    REQUIRE(r);
    CHECK(r->body == "one\n");
    Conn mute(s.port());
    CHECK(kept.closed_before(Clock::now() + seconds(20)));
    CHECK(mute.closed_before(Clock::now() + seconds(20)));
  }
  // The server is still there for everyone else.
  CHECK(get(s.port(), "/lines/2").body == "two\n");
  CHECK(s.stop(SIGTERM) == 0);
}

TEST_CASE("cli serve: pipelined requests on one connection are answered in order", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  ServeProcess s(dir, "in.txt");
  REQUIRE(s.port() > 0);
  Conn c(s.port());
  REQUIRE(c.send(request("/lines/1") + request("/lines/2-4") + request("/lines/9") +
                 request("/healthz", "Connection: close\r\n")));
  const std::vector<std::pair<int, std::string>> want{{200, "one\n"},
                                                      {200, "two\n\nfour\n"},
                                                      {413, "record 9 is past the end: there are 5 records\n"},
                                                      {200, "ok 5 records\n"}};
  for (const auto& [status, body] : want) {
    const std::optional<Reply> r = c.reply();
    REQUIRE(r);
    CHECK(r->status == status);
    CHECK(r->body == body);
  }
  CHECK(c.closed_before(Clock::now() + seconds(10)));  // after the Connection: close one
  CHECK(s.stop(SIGTERM) == 0);
  CHECK_THAT(s.err(), Catch::EndsWith("stopped by SIGTERM after 4 requests\n"));
}

TEST_CASE("cli serve: 200 keep-alive clients are all answered, twice each", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  ServeProcess s(dir, "in.txt");
  REQUIRE(s.port() > 0);
  const std::vector<std::string> records = lines_of(kText);
  std::vector<std::unique_ptr<Conn>> clients;
  for (int i = 0; i < 200; ++i) clients.push_back(std::make_unique<Conn>(s.port()));
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < clients.size(); ++i) {
      REQUIRE(clients[i]->send(request("/lines/" + std::to_string((i + round) % 5 + 1))));
    }
    for (std::size_t i = 0; i < clients.size(); ++i) {
      INFO("round " << round << ", client " << i);
      const std::optional<Reply> r = clients[i]->reply();
      REQUIRE(r);
      CHECK(r->body == records[(i + round) % 5] + "\n");
    }
  }
  CHECK(s.stop(SIGTERM) == 0);
  CHECK_THAT(s.err(), Catch::EndsWith("stopped by SIGTERM after 400 requests\n"));
}

TEST_CASE("cli serve: a connection over --max-connections gets 503 and the others are served", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  ServeProcess s(dir, "in.txt --max-connections 4");
  REQUIRE(s.port() > 0);
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<Conn>(s.port()));
    REQUIRE(held.back()->send(request("/lines/1")));
    REQUIRE(held.back()->reply());  // answered, so the server counts it
  }
  Conn extra(s.port());
  const std::optional<Reply> busy = extra.reply();
  REQUIRE(busy);
  CHECK(busy->status == 503);
  CHECK(busy->body == "ingot serve: too many connections (--max-connections 4); try again later\n");
  CHECK(extra.closed_before(Clock::now() + seconds(10)));
  for (auto& c : held) {
    REQUIRE(c->send(request("/lines/2")));
    const std::optional<Reply> r = c->reply();
    REQUIRE(r);
    CHECK(r->body == "two\n");
  }
  // A closed connection frees its place once the server has seen the close.
  held.pop_back();
  const auto deadline = Clock::now() + seconds(10);
  for (;;) {
    Conn next(s.port());
    REQUIRE(next.send(request("/lines/3")));
    const std::optional<Reply> r = next.reply(deadline);
    REQUIRE(r);
    if (r->status == 200) break;
    REQUIRE(r->status == 503);
  }
}

TEST_CASE("cli serve: oversized request heads and bodies are refused", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  ServeProcess s(dir, "in.txt");
  REQUIRE(s.port() > 0);
  {
    Conn c(s.port());
    REQUIRE(c.send(request("/lines/1", "X-Big: " + std::string(10000, 'x') + "\r\n")));
    const std::optional<Reply> r = c.reply();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(c.closed_before(Clock::now() + seconds(10)));
  }
  {
    Conn c(s.port());
    REQUIRE(c.send("POST /lines/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n"));
    const std::optional<Reply> r = c.reply();
    REQUIRE(r);
    CHECK(r->status == 413);
  }
  {
    Conn c(s.port());
    REQUIRE(c.send("NOT A REQUEST\r\n\r\n"));
    const std::optional<Reply> r = c.reply();
    REQUIRE(r);
    CHECK(r->status == 400);
  }
  CHECK(get(s.port(), "/lines/1").body == "one\n");
}

TEST_CASE("cli serve: a stop closes connections waiting for a request at once", "[cli][serve][hold]") {
  TempDir dir;
  write_indexed_text(dir);
  // Deadlines far beyond the test's bound: only the stop can end these connections.
  ServeProcess s(dir, "in.txt --header-timeout 600 --idle-timeout 600");
  REQUIRE(s.port() > 0);
  Conn kept(s.port());
  REQUIRE(kept.send(request("/lines/1")));
  REQUIRE(kept.reply());
  Conn partial(s.port());
  REQUIRE(partial.send("GET /lines/1 HTTP/1.1\r\n"));
  CHECK(get(s.port(), "/healthz").status == 200);  // both accepted by now
  CHECK(s.stop_within(SIGTERM, seconds(60)) == 0);
  CHECK(kept.closed_before(Clock::now() + seconds(1)));
  CHECK(partial.closed_before(Clock::now() + seconds(1)));
}

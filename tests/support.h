// Test helpers: a fresh temporary directory per test (kept on failure, for a look),
// file helpers, the one bounded wait (wait_until), and (in CLI tests) running the real
// ingot binary.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace ingot_test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The one way a test waits for something another process or thread does: checks
// `pred` every `every` until it holds, and fails the test ("timed out after 60 s
// waiting for <what>") when `timeout` passes first. Timeouts are generous (a busy
// 2-core machine under ASan): they only bound a wait that would otherwise hang, they
// are never what the test measures. The moment itself is the test's (a FIFO it feeds,
// a request or a lock it holds), so a wait never decides the outcome. `what` is a
// string, or a function making one when the wait fails (to show the last value seen).
template <class Pred, class What>
void wait_until(Pred&& pred, std::chrono::milliseconds timeout, const What& what,
                std::chrono::microseconds every = 5ms) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= until) {
      std::string text;
      if constexpr (std::is_invocable_v<const What&>)
        text = what();
      else
        text = what;
      FAIL("timed out after " << std::chrono::duration<double>(timeout).count() << " s waiting for " << text);
    }
    std::this_thread::sleep_for(every);
  }
}

struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};

inline std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void write_file(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'')
      q += "'\\''";
    else
      q += c;
  }
  return q + "'";
}

// A fresh directory per test; removed when the test passes, kept (and named) when it fails.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("ingot-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    if (Catch::getResultCapture().lastAssertionPassed() && !std::uncaught_exceptions()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    } else {
      std::fprintf(stderr, "kept test directory: %s\n", path_.c_str());
    }
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  std::string str(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// The files in dir, sorted, but the run helpers' .stdout and .stderr and `except`
// (a test's own inputs): what runs left behind.
inline std::vector<std::string> files_left(const TempDir& dir, std::initializer_list<std::string_view> except) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string n = e.path().filename().string();
    if (n == ".stdout" || n == ".stderr" || std::find(except.begin(), except.end(), n) != except.end()) continue;
    v.push_back(n);
  }
  std::sort(v.begin(), v.end());
  return v;
}

#ifdef INGOT_BINARY
// Runs `ingot <args>` (a shell command line after "ingot") in dir, with optional stdin text.
inline RunResult run_ingot(const TempDir& dir, const std::string& args, const std::string& stdin_text = "",
                           bool use_stdin = false) {
  fs::path out = dir / ".stdout", err = dir / ".stderr", in = dir / ".stdin";
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && " + shell_quote(INGOT_BINARY) + " " + args;
  if (use_stdin) {
    write_file(in, stdin_text);
    cmd += " < " + shell_quote(in.string());
  } else {
    cmd += " < /dev/null";
  }
  cmd += " > " + shell_quote(out.string()) + " 2> " + shell_quote(err.string());
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// Runs a shell command line in dir, with $INGOT set to the binary (for pipes, ulimit
// and signals, which run_ingot's single command cannot express).
inline RunResult run_sh(const TempDir& dir, const std::string& script) {
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && INGOT=" + shell_quote(INGOT_BINARY) + " sh -c " +
                    shell_quote(script) + " > .stdout 2> .stderr < /dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(dir / ".stdout");
  r.err = read_file(dir / ".stderr");
  return r;
}
// Starts `ingot <args>` in the background in dir, stdout and stderr to dir/.bg.out and
// dir/.bg.err, stdin from `input` (relative to dir); returns its PID. The shell execs
// ingot, so the PID is ingot's own (a signal reaches ingot, not a shell). fork, not
// posix_spawn: a vfork-style child would inherit the test process's peak RSS, which
// the memory tests read with wait4.
inline pid_t spawn_ingot(const TempDir& dir, const std::string& args, const std::string& input = "/dev/null") {
  const std::string script = "cd " + shell_quote(dir.path().string()) + " && exec " + shell_quote(INGOT_BINARY) + " " +
                             args + " > .bg.out 2> .bg.err < " + shell_quote(input);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(pid > 0);
  return pid;
}

// The exit status of pid as a shell reports it (128+N for death by signal N) if it has
// ended (then it is reaped), else -1. For a wait_until that also watches something else.
inline int exited(pid_t pid) {
  int st = 0;
  if (::waitpid(pid, &st, WNOHANG) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// The port of a background `ingot serve ... --port 0` started by spawn_ingot in dir as
// pid, read from the line its stderr prints once it listens (the server's own word,
// not a time); fails the test at once when the server exits first.
inline int serve_port(const TempDir& dir, pid_t pid) {
  int port = 0;
  int code = -1;
  wait_until(
      [&] {
        const std::string err = read_file(dir / ".bg.err");
        const auto at = err.find("listening on http://127.0.0.1:");
        if (at != std::string::npos) {
          port = std::stoi(err.substr(at + 30));
          return true;
        }
        return (code = exited(pid)) >= 0;
      },
      std::chrono::seconds(60), [&] { return "ingot serve to listen (stderr: " + read_file(dir / ".bg.err") + ")"; },
      std::chrono::milliseconds(10));
  INFO("ingot serve exited " << code << " before listening: " << read_file(dir / ".bg.err"));
  REQUIRE(port > 0);
  return port;
}

// The exit status as a shell reports it: 128+N for death by signal N; -1 when pid is
// not our child. A process still running after `timeout` is killed and fails the test.
inline int wait_code(pid_t pid, std::chrono::milliseconds timeout = 300s) {
  int st = 0;
  bool gone = false;
  auto ended = [&] {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    gone = r < 0 && errno != EINTR;
    return r == pid || gone;
  };
  try {
    wait_until(ended, timeout, "ingot (pid " + std::to_string(pid) + ") to exit", 2ms);
  } catch (...) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    throw;
  }
  if (gone) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Opens the writing end of the FIFO `path` once a reader has it open (ingot, started
// before), without blocking: a reader that never comes fails the test instead of
// hanging it. Returns a blocking descriptor; a write to it after the reader has gone
// fails with EPIPE (SIGPIPE is ignored from here on: it must fail the test, not kill it).
inline int open_fifo_writer(const fs::path& path, const std::string& reader, std::chrono::milliseconds timeout = 60s) {
  ::signal(SIGPIPE, SIG_IGN);
  int fd = -1;
  wait_until([&] { return (fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0; }, timeout,
             reader + " to open " + path.string() + " for reading");
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

// Writes all of s to fd (a FIFO's writing end); false when the reader has gone.
inline bool write_fifo(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    done += static_cast<std::size_t>(w);
  }
  return true;
}
#endif

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream ss(text);
  for (std::string l; std::getline(ss, l);) v.push_back(l);
  return v;
}

}  // namespace ingot_test

// Progress in a real terminal: ingot runs inside a detached tmux session (its own
// server socket), reading a FIFO the test feeds slowly, and the pane is captured while
// it runs. Progress shows on a terminal, never in a file or pipe unless --progress, and
// --no-progress hides it on a terminal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <chrono>
#include <regex>
#include <thread>

#include "cli.h"

using namespace ingot_test;

namespace {

bool have_tmux() { return std::system("command -v tmux > /dev/null 2>&1") == 0; }

// A CSV of `rows` rows after a header.
std::string csv_rows(int from, int rows) {
  std::string s;
  for (int i = from; i < from + rows; ++i) {
    s += std::to_string(i) + ",name " + std::to_string(i) + ",\"a, \"\"quoted\"\" note\"," + std::to_string(i % 97) +
         ".5\n";
  }
  return s;
}

// One tmux server per test, on a socket in the test directory; killed at the end.
class Tmux {
 public:
  explicit Tmux(const TempDir& dir) : dir_(dir), sock_(dir.str(".tmux.sock")) {}
  ~Tmux() { sh("kill-server"); }
  // Starts `command` in a detached 200x20 pane; the pane stays after the command ends.
  void start(const std::string& command) {
    REQUIRE(sh("new-session -d -s t -x 200 -y 20 " + shell_quote(command)) == 0);
  }
  std::string capture() {
    const std::string out = dir_.str(".pane");
    if (sh("capture-pane -p -t t > " + shell_quote(out)) != 0) return "";
    return read_file(out);
  }
  // Captures the pane until `pred` holds (or the timeout); returns the last capture.
  template <class Pred>
  std::string wait_for(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    std::string pane;
    do {
      pane = capture();
      if (pred(pane)) return pane;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < until);
    return pane;
  }

 private:
  int sh(const std::string& args) {
    return std::system(("tmux -S " + shell_quote(sock_) + " " + args + " 2> /dev/null").c_str());
  }
  const TempDir& dir_;
  std::string sock_;
};

// The FIFO's writing end, opened read-write before ingot starts: the pipe then never
// lacks a reader. (ingot opens its input twice, once for the progress total; a writer
// that opened between the two would get EPIPE. Reported, not this test's subject.)
int open_fifo(const fs::path& fifo) { return ::open(fifo.c_str(), O_RDWR | O_CLOEXEC); }

void write_fd(int fd, const std::string& s) {
  ::signal(SIGPIPE, SIG_IGN);  // a reader that died must fail the test, not kill it
  std::size_t done = 0;
  while (done < s.size()) {
    ssize_t w = ::write(fd, s.data() + done, s.size() - done);
    INFO("write to the FIFO: " << (w < 0 ? std::strerror(errno) : "short"));
    REQUIRE(w > 0);
    done += static_cast<std::size_t>(w);
  }
}

// convert's progress line: "convert 1.2 MiB  345.6 KiB/s  12345 records" for a stream
// (no total, so no ETA), drawn over itself with \r.
const std::regex kStreamProgress(R"(convert [0-9.]+ (B|KiB|MiB|GiB)  [0-9.]+ (B|KiB|MiB|GiB)/s  [0-9]+ records)");
// With a known total: "convert 23.1 MiB / 47.7 MiB  48%  115.5 MiB/s  ETA 0s  398973 records".
const std::regex kFileProgress(
    R"(convert [0-9.]+ (B|KiB|MiB|GiB) / [0-9.]+ (B|KiB|MiB|GiB) +[0-9]+%  [0-9.]+ (B|KiB|MiB|GiB)/s  ETA [0-9]+s  [0-9]+ records)");

bool has_progress(const std::string& text) { return std::regex_search(text, kStreamProgress); }

// 26000 -> "26,000", as the summary prints counts.
std::string with_commas(long n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

// Feeds `fd` a block of 2000 rows every 50 ms until `seen()` holds (at most 60 s: then
// the test fails), then one more block, and ends the input. The moment is the test's:
// the run lasts, with data coming, until what it looks for has been drawn. Returns the
// number of rows fed.
template <class Seen>
int feed_until(int fd, Seen seen, const std::string& what) {
  write_fd(fd, "id,name,note,v\n");
  int row = 0;
  wait_until(
      [&] {
        if (seen()) return true;
        write_fd(fd, csv_rows(row, 2000));
        row += 2000;
        return false;
      },
      60s, what, 50ms);
  write_fd(fd, csv_rows(row, 2000));
  ::close(fd);
  return row + 2000;
}

// Feeds `fifo` over a second or more while `during` looks at the running command (for
// what must NOT be drawn: the time lets a redraw happen, were one due), then ends the
// input.
template <class During>
void feed_slowly(int fd, During during) {
  write_fd(fd, "id,name,note,v\n");
  int row = 0;
  // About 1 MiB over a second or more: progress is redrawn at most every 200 ms.
  for (int step = 0; step < 12; ++step) {
    write_fd(fd, csv_rows(row, 2000));
    row += 2000;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  during();
  write_fd(fd, csv_rows(row, 2000));
  ::close(fd);
}

}  // namespace

TEST_CASE("progress tty: a terminal shows bytes, rate and records while a slow stream converts",
          "[cli][progress][tty]") {
  if (!have_tmux()) {
    WARN("tmux is not installed: the terminal progress test is skipped (apt-get install tmux)");
    return;
  }
  TempDir dir;
  REQUIRE(mkfifo((dir / "in.csv").c_str(), 0600) == 0);
  const int fifo = open_fifo(dir / "in.csv");
  REQUIRE(fifo >= 0);
  Tmux tmux(dir);
  const std::string cd = "cd " + shell_quote(dir.path().string()) + " && ";
  const std::string ingot = shell_quote(INGOT_BINARY);

  SECTION("stderr is the terminal: progress is drawn, then erased for the summary") {
    tmux.start(cd + ingot + " convert in.csv --to ndjson -o out.ndjson -j1 --chunk-size 16K; echo EXIT=$?; sleep 60");
    std::string live;
    const int rows = feed_until(
        fifo, [&] { return has_progress(live = tmux.capture()); }, "progress on the terminal");
    INFO("pane while running:\n" << live);
    CHECK(has_progress(live));
    const std::string end = tmux.wait_for([](const std::string& p) { return p.find("EXIT=") != std::string::npos; });
    INFO("pane at the end:\n" << end);
    CHECK(end.find("EXIT=0") != std::string::npos);
    CHECK_THAT(end, Catch::Contains("ingot convert: " + with_commas(rows) + " records (" + with_commas(rows) +
                                    " valid, 0 invalid), 0 blank, 4 columns"));
    CHECK_FALSE(has_progress(end));  // erased, not left above the summary
    CHECK(lines_of(read_file(dir / "out.ndjson")).size() == static_cast<std::size_t>(rows));
  }
  SECTION("stderr redirected to a file: no progress in it, nor on the terminal") {
    tmux.start(cd + ingot +
               " convert in.csv --to ndjson -o out.ndjson -j1 --chunk-size 16K 2> err.txt; echo EXIT=$?; sleep 60");
    std::string live;
    feed_slowly(fifo, [&] { live = tmux.wait_for(has_progress, std::chrono::milliseconds(1500)); });
    CHECK_FALSE(has_progress(live));
    const std::string end = tmux.wait_for([](const std::string& p) { return p.find("EXIT=") != std::string::npos; });
    CHECK(end.find("EXIT=0") != std::string::npos);
    const std::string err = read_file(dir / "err.txt");
    CHECK(err.find('\r') == std::string::npos);
    CHECK(err.find('\033') == std::string::npos);
    CHECK_THAT(err, Catch::StartsWith("ingot convert: 26,000 records"));
  }
  SECTION("a terminal with --no-progress: nothing drawn") {
    tmux.start(cd + ingot +
               " convert in.csv --to ndjson -o out.ndjson -j1 --chunk-size 16K --no-progress; echo EXIT=$?; sleep 60");
    std::string live;
    feed_slowly(fifo, [&] { live = tmux.wait_for(has_progress, std::chrono::milliseconds(1500)); });
    CHECK_FALSE(has_progress(live));
    const std::string end = tmux.wait_for([](const std::string& p) { return p.find("EXIT=") != std::string::npos; });
    CHECK(end.find("EXIT=0") != std::string::npos);
  }
  SECTION("stderr in a file with --progress: drawn there anyway") {
    tmux.start(
        cd + ingot +
        " convert in.csv --to ndjson -o out.ndjson -j1 --chunk-size 16K --progress 2> err.txt; echo EXIT=$?; sleep 60");
    feed_until(
        fifo, [&] { return has_progress(read_file(dir / "err.txt")); }, "progress in err.txt");
    const std::string end = tmux.wait_for([](const std::string& p) { return p.find("EXIT=") != std::string::npos; });
    CHECK(end.find("EXIT=0") != std::string::npos);
    const std::string err = read_file(dir / "err.txt");
    CHECK(has_progress(err));
    CHECK_THAT(err, Catch::Contains("\r\033[K"));
  }
}

TEST_CASE("progress tty: a file of known size shows percent and ETA (--progress to a file)", "[cli][progress]") {
  TempDir dir;
  {
    std::ofstream f(dir / "in.csv", std::ios::binary);
    f << "id,name,note,v\n";
    const std::string block = csv_rows(0, 20000);
    for (int i = 0; i < 120; ++i) f << block;
  }
  // The output is a FIFO the test reads 64 KiB at a time, so the run lasts (the pipe
  // fills) past the first redraw however fast the conversion is, until it is drawn.
  REQUIRE(mkfifo((dir / "out.fifo").c_str(), 0600) == 0);
  const int out = ::open((dir / "out.fifo").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(out >= 0);
  pid_t pid = spawn_ingot(dir, "convert in.csv --to ndjson -j1 --chunk-size 16K --progress -o out.fifo");
  std::vector<char> buf(64 * 1024);
  auto read_some = [&] { return ::read(out, buf.data(), buf.size()) > 0; };
  wait_until(
      [&] {
        read_some();
        return std::regex_search(read_file(dir / ".bg.err"), kFileProgress);
      },
      120s, "progress with percent and ETA on stderr", 5ms);
  int code = -1;
  wait_until(
      [&] {
        while (read_some()) {
        }
        return (code = exited(pid)) != -1;
      },
      300s, "ingot convert to end", 1ms);
  ::close(out);
  REQUIRE(code == 0);
  const std::string err = read_file(dir / ".bg.err");
  INFO(err);
  CHECK(std::regex_search(err, kFileProgress));
  // The summary follows the erased line.
  CHECK_THAT(err, Catch::Contains("\r\033[Kingot convert: 2,400,000 records"));
}

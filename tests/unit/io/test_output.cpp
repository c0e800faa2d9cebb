// OutputFile (io/output.h): written under a temporary name in the target directory and
// renamed over the final name only by commit(); an abort (destructor, error) leaves the
// final name as it was; devices and FIFOs are written in place; stale temporaries of
// dead processes are swept, live ones kept; write_all writes in pieces of kWritePiece; a
// remote name goes through the registered RemoteSink.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "ingot/io/decompress.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/util/error.h"
#include "support.h"

using namespace ingot;
using ingot_test::read_file;
using ingot_test::TempDir;
using ingot_test::write_file;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

// The message of the Error that f throws ("" when it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.message();
  }
  return "";
}

// A PID that is certainly no live process: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  REQUIRE(pid > 0);
  REQUIRE(::waitpid(pid, nullptr, 0) == pid);
  return pid;
}

}  // namespace

TEST_CASE("output: the data appears under the final name only at commit, the temporary beside it", "[output]") {
  TempDir d;
  const std::string path = d.str("out.csv");
  OutputFile f = OutputFile::create(path);
  CHECK(f.path() == path);
  CHECK_FALSE(f.is_stdout());
  const std::string tmp_prefix = d.str(".out.csv.ingot-tmp-" + std::to_string(::getpid()) + "-");
  CHECK(f.temp_path().rfind(tmp_prefix, 0) == 0);
  f.write("a,b\n");
  f.write(std::string(100000, 'x'));
  CHECK(f.bytes_written() == 100004);
  CHECK(names_in(d.path()) == std::vector<std::string>{fs::path(f.temp_path()).filename().string()});
  CHECK_FALSE(fs::exists(path));
  f.commit();
  CHECK(names_in(d.path()) == std::vector<std::string>{"out.csv"});
  CHECK(read_file(path) == "a,b\n" + std::string(100000, 'x'));
  f.commit();  // inert after the first
  CHECK(read_file(path).size() == 100004);
}

TEST_CASE("output: an abort leaves the final name as it was, with no temporary", "[output]") {
  TempDir d;
  const std::string path = d.str("out.csv");
  { OutputFile f = OutputFile::create(path); }  // empty, never committed
  CHECK(names_in(d.path()).empty());
  write_file(path, "old\n");
  {
    OutputFile f = OutputFile::create(path);
    f.write("new, half written");
  }
  CHECK(names_in(d.path()) == std::vector<std::string>{"out.csv"});
  CHECK(read_file(path) == "old\n");
  // An exception on the way out is an abort too.
  try {
    OutputFile f = OutputFile::create(path);
    f.write("new");
    throw std::runtime_error("the pipeline failed");
  } catch (const std::runtime_error&) {
  }
  CHECK(names_in(d.path()) == std::vector<std::string>{"out.csv"});
  CHECK(read_file(path) == "old\n");
  // Committed: replaced.
  OutputFile f = OutputFile::create(path);
  f.write("new\n");
  f.commit();
  CHECK(read_file(path) == "new\n");
}

TEST_CASE("output: a moved OutputFile is committed or discarded once, by its new owner", "[output]") {
  TempDir d;
  OutputFile a = OutputFile::create(d.str("a.txt"));
  a.write("one");
  OutputFile b = std::move(a);
  { OutputFile gone = std::move(a); }  // the moved-from object owns nothing: removes nothing
  CHECK(names_in(d.path()).size() == 1);
  b.write("two");
  b.commit();
  CHECK(read_file(d / "a.txt") == "onetwo");
  // Move-assigning over an uncommitted one discards its temporary.
  OutputFile c = OutputFile::create(d.str("c.txt"));
  c = OutputFile::create(d.str("e.txt"));
  c.commit();
  CHECK(names_in(d.path()) == std::vector<std::string>{"a.txt", "e.txt"});
}

TEST_CASE("output: without overwrite an existing name is refused, also one created before the commit", "[output]") {
  TempDir d;
  const std::string path = d.str("p-00001.txt");
  write_file(path, "mine\n");
  OutputOptions keep;
  keep.overwrite = false;
  CHECK(error_of([&] { OutputFile::create(path, keep); }) == path + ": output exists (use --force to overwrite)");
  fs::remove(path);
  OutputFile f = OutputFile::create(path, keep);
  f.write("ours\n");
  write_file(path, "theirs\n");  // another process got there between create and commit
  CHECK(error_of([&] { f.commit(); }) == path + ": cannot create output: File exists");
  CHECK(read_file(path) == "theirs\n");
  CHECK(names_in(d.path()) == std::vector<std::string>{"p-00001.txt"});
}

TEST_CASE("output: a directory, a missing directory, a full device", "[output]") {
  TempDir d;
  fs::create_directories(d / "sub");
  CHECK(error_of([&] { OutputFile::create(d.str("sub")); }) == d.str("sub") + ": output is a directory");
  CHECK(error_of([&] { OutputFile::create(d.str("nope/x.csv")); }) ==
        d.str("nope/x.csv") + ": output directory does not exist: " + d.str("nope"));
  // /dev/full is written in place (never renamed over) and reports ENOSPC as disk full.
  OutputFile full = OutputFile::create("/dev/full");
  CHECK(full.temp_path().empty());
  CHECK(error_of([&] { full.write("x"); }) == "/dev/full: disk full while writing");
}

TEST_CASE("output: a FIFO is written in place and never replaced", "[output]") {
  // (Not /dev/null: were this broken, the test would rename a file over the machine's
  // /dev/null. A FIFO in the test's directory shows the same.)
  TempDir d;
  // A FIFO with a reader (this test, non-blocking): the bytes go through it.
  const fs::path fifo = d / "f.pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  REQUIRE(rd >= 0);
  {
    OutputFile f = OutputFile::create(fifo.string());
    f.write("through the pipe");
    f.commit();
  }
  char buf[64];
  const ssize_t n = ::read(rd, buf, sizeof buf);
  ::close(rd);
  CHECK(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0) == "through the pipe");
  CHECK(names_in(d.path()) == std::vector<std::string>{"f.pipe"});
  struct stat after {};
  REQUIRE(::stat(fifo.c_str(), &after) == 0);
  CHECK(S_ISFIFO(after.st_mode));
}

TEST_CASE("output: write_all hands the kernel at most kWritePiece bytes per call, all bytes in order", "[output]") {
  // A SOCK_SEQPACKET socket keeps each write() call one message: the reader sees the
  // calls' sizes. 3 pieces and 7 bytes fit one message of the default buffer (208 KiB),
  // so a single write() of all of it would arrive whole.
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
  std::string data(3 * kWritePiece + 7, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  std::vector<std::size_t> sizes;
  std::string got;
  std::thread reader([&] {
    std::vector<char> buf(data.size() + 1);
    for (;;) {
      const ssize_t n = ::recv(sv[1], buf.data(), buf.size(), 0);
      if (n <= 0) break;
      sizes.push_back(static_cast<std::size_t>(n));
      got.append(buf.data(), static_cast<std::size_t>(n));
    }
  });
  write_all(sv[0], data.data(), data.size(), "socket");
  ::close(sv[0]);
  reader.join();
  ::close(sv[1]);
  CHECK(got == data);
  CHECK(sizes == std::vector<std::size_t>{kWritePiece, kWritePiece, kWritePiece, 7});
}

TEST_CASE("output: stdout is \"-\", with nothing on disk", "[output]") {
  OutputFile f = OutputFile::create("-");
  CHECK(f.is_stdout());
  CHECK(f.fd() == 1);
  CHECK(f.path() == "<stdout>");
  CHECK(f.temp_path().empty());
}

TEST_CASE("output: --compress writes the compressed stream, committed whole", "[output][compress]") {
  TempDir d;
  std::string data;
  for (int i = 0; i < 300000; ++i) data += std::to_string(i) + ",row\n";  // over the 1 MiB flush size
  for (Codec codec : {Codec::gzip, Codec::zstd}) {
    INFO(codec_name(codec));
    const std::string path = d.str(std::string("out.") + codec_name(codec));
    OutputOptions o;
    o.compress = codec;
    OutputFile f = OutputFile::create(path, o);
    f.write(data.substr(0, 12345));
    f.write(data.substr(12345));
    CHECK_FALSE(fs::exists(path));
    f.commit();
    CHECK(f.bytes_written() == fs::file_size(path));
    CHECK(f.bytes_written() < data.size() / 3);
    InputFile in = InputFile::open(path);  // decodes by the magic bytes
    std::string back, buf(65536, '\0');
    while (std::size_t n = in.read(buf.data(), buf.size())) back.append(buf.data(), n);
    CHECK(back == data);
  }
}

TEST_CASE("output: stale temporaries of dead processes are swept, live ones and other outputs' kept", "[output]") {
  TempDir d;
  const std::string dead = std::to_string(dead_pid()), self = std::to_string(::getpid()),
                    parent = std::to_string(::getppid());
  const std::vector<std::string> swept = {".out.csv.ingot-tmp-" + dead + "-0", ".out.csv.ingot-tmp-" + dead + "-17"};
  const std::vector<std::string> kept = {
      ".out.csv.ingot-tmp-" + self + "-9999",  // this process's own
      ".out.csv.ingot-tmp-" + parent + "-0",   // a live process's
      ".other.csv.ingot-tmp-" + dead + "-0",   // another output's (swept when that one is made)
      ".out.csv.ingot-tmp-x-0",                // not ingot's pattern
      ".out.csv.ingot-tmp-" + dead + "-",      // not ingot's pattern
      ".out.csv.ingot-tmp-12345678901-0",      // no PID has 11 digits
      "out.csv.ingot-tmp-" + dead + "-0",      // not a dot file
  };
  for (const auto& n : swept) write_file(d / n, "partial");
  for (const auto& n : kept) write_file(d / n, "partial");
  OutputFile f = OutputFile::create(d.str("out.csv"));
  f.commit();
  for (const auto& n : swept) {
    INFO(n);
    CHECK_FALSE(fs::exists(d / n));
  }
  for (const auto& n : kept) {
    INFO(n);
    CHECK(fs::exists(d / n));
  }
  // The directory is listed once per process; the other output's stale temporary is
  // still known and goes when that output is made.
  OutputFile g = OutputFile::create(d.str("other.csv"));
  CHECK_FALSE(fs::exists(d / (".other.csv.ingot-tmp-" + dead + "-0")));
}

TEST_CASE("output: parent_dir of bare, relative and absolute names", "[output]") {
  CHECK(parent_dir("out.csv") == ".");
  CHECK(parent_dir("a/out.csv") == "a");
  CHECK(parent_dir("a/b/out.csv") == "a/b");
  CHECK(parent_dir("/out.csv") == "/");
  CHECK(parent_dir("/tmp/out.csv") == "/tmp");
}

namespace {

// A RemoteSink that keeps what it is given, and says whether it was committed.
struct FakeStore {
  std::string written;
  bool committed = false, destroyed = false;
};
FakeStore g_store;

class FakeSink final : public RemoteSink {
 public:
  ~FakeSink() override { g_store.destroyed = true; }
  void write(const char* data, std::size_t n) override { g_store.written.append(data, n); }
  bool copy_from(const std::string&, const std::string&, std::uint64_t, std::uint64_t) override { return false; }
  std::uint64_t server_copied() const override { return 0; }
  void commit() override { g_store.committed = true; }
  std::string version() const override { return "v1"; }
};

void use_fake_store() {
  g_store = FakeStore{};
  set_remote_outputs(
      {[](const std::string&) -> std::unique_ptr<RemoteSink> { return std::make_unique<FakeSink>(); },
       [](const std::string&) -> std::optional<RemoteObject> {
         return RemoteObject{1, "v0"};
       },
       [](const std::string&) {},
       [](const std::string&, const std::string&, std::uint64_t, std::uint64_t) { return std::string(); }});
}

}  // namespace

TEST_CASE("output: a remote name is written through the registered RemoteSink, compressed as a file would be",
          "[output][remote]") {
  use_fake_store();
  {
    OutputFile f = OutputFile::create("s3://bucket/k.csv.gz", {.compress = Codec::gzip});
    CHECK(f.remote());
    CHECK(f.fd() == -1);
    f.write("a,b\n1,2\n");
    f.commit();
    CHECK(f.remote_sink()->version() == "v1");
  }
  CHECK(g_store.committed);
  CHECK(g_store.destroyed);
  TempDir d;
  write_file(d / "k.csv.gz", g_store.written);
  InputFile in = InputFile::open((d / "k.csv.gz").string());
  std::string back(64, '\0');
  back.resize(in.read(back.data(), back.size()));
  CHECK(back == "a,b\n1,2\n");
  // Not committed: the sink is destroyed uncommitted (it discards the upload).
  use_fake_store();
  { OutputFile f = OutputFile::create("s3://bucket/k.csv"); }
  CHECK(g_store.destroyed);
  CHECK_FALSE(g_store.committed);
  // overwrite = false asks the store first.
  try {
    OutputFile::create("s3://bucket/k.csv", {.overwrite = false});
    FAIL("an existing object was not refused");
  } catch (const Error& e) {
    CHECK(e.message() == "s3://bucket/k.csv: output exists (use --force to overwrite)");
  }
}

TEST_CASE("output: s3://bucket/dir/ as a destination takes the source's file name", "[output][remote]") {
  CHECK(destination_for("s3://b/dir/", "/data/taxi.csv") == "s3://b/dir/taxi.csv");
  CHECK(destination_for("s3://b/dir/", "s3://other/in/taxi.ndjson") == "s3://b/dir/taxi.ndjson");
  CHECK(destination_for("s3://b/dir/x.csv", "/data/taxi.csv") == "s3://b/dir/x.csv");
  CHECK(destination_for("local/dir/", "/data/taxi.csv") == "local/dir/");
  CHECK(destination_for("s3://b/dir/", "-") == "s3://b/dir/");
}

TEST_CASE("output: rewind() takes back what was written, from a file, a --compress stream and a remote sink",
          "[output][rewind]") {
  TempDir d;
  std::string data;
  for (int i = 0; i < 300000; ++i) data += std::to_string(i) + ",row\n";  // past the 1 MiB compressed flush
  for (Codec codec : {Codec::none, Codec::gzip, Codec::zstd}) {
    INFO(codec_name(codec));
    const std::string path = d.str(std::string("out.") + codec_name(codec));
    OutputFile f = OutputFile::create(path, {.compress = codec});
    REQUIRE(f.rewindable());
    f.write("stale,header\n");
    f.write(data);
    f.rewind();
    CHECK(f.bytes_written() == 0);
    f.write(data.substr(0, 100));
    f.write(data.substr(100));
    f.commit();
    CHECK_FALSE(f.rewindable());
    InputFile in = InputFile::open(path);
    std::string back, buf(65536, '\0');
    while (std::size_t n = in.read(buf.data(), buf.size())) back.append(buf.data(), n);
    CHECK(back == data);
    for (const std::string& n : names_in(d.path())) CHECK(n.find(".ingot-tmp-") == std::string::npos);
  }
  CHECK_FALSE(OutputFile::create("-").rewindable());
  {
    OutputFile null = OutputFile::create("/dev/null");  // keeps nothing, so nothing to take back
    CHECK(null.rewindable());
    null.write("x");
    null.rewind();
    null.commit();
  }
  ::mkfifo(d.str("fifo").c_str(), 0600);
  int rd = ::open(d.str("fifo").c_str(), O_RDONLY | O_NONBLOCK);
  CHECK_FALSE(OutputFile::create(d.str("fifo")).rewindable());
  ::close(rd);
  // A remote sink is dropped uncommitted and a new one opened.
  use_fake_store();
  {
    OutputFile f = OutputFile::create("s3://bucket/k.csv");
    REQUIRE(f.rewindable());
    f.write("old");
    f.rewind();
    CHECK(g_store.destroyed);
    CHECK_FALSE(g_store.committed);
    g_store = FakeStore{};
    f.write("new");
    f.commit();
  }
  CHECK(g_store.written == "new");
  CHECK(g_store.committed);
}

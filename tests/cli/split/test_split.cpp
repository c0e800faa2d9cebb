// ingot split through the real binary: names, manifest, stdin, --filter, refusing to
// overwrite, and the faults: bad input, bad output directory, a full disk, SIGINT.
#include <sys/stat.h>

#include "cli/cli.h"

#include <nlohmann/json.hpp>

using namespace ingot_test;

namespace {

const std::string kCsv =
    "id,city,note\n"
    "1,Paris,plain\n"
    "2,\"New\nYork\",\"two\nlines\"\n"
    "3,Rome,\"a \"\"quote\"\"\"\n"
    "4,Oslo,x\r\n"
    "5,Lima,last\n";

// Files in dir whose names start with `prefix`, sorted.
std::vector<std::string> listing(const TempDir& d, const std::string& sub = "") {
  std::vector<std::string> v;
  for (auto& e : fs::directory_iterator(d.path() / sub)) {
    std::string n = e.path().filename().string();
    if (n[0] != '.' || n.find("ingot-tmp") != std::string::npos) v.push_back(n);
  }
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("cli split: CSV pieces carry the header, are named prefix+index+ext, merge back exactly", "[cli][split]") {
  TempDir d;
  write_file(d / "taxi.csv", kCsv);
  fs::create_directories(d / "out");
  auto r = run_ingot(d, "split taxi.csv --records 2 --prefix out/taxi-");
  REQUIRE(r.code == 0);
  REQUIRE(r.err.rfind("ingot split: wrote 3 pieces (5 records, ", 0) == 0);
  REQUIRE(r.err.find(" s -> out/taxi-manifest.json\n") != std::string::npos);
  REQUIRE(listing(d, "out") ==
          std::vector<std::string>{"taxi-00000.csv", "taxi-00001.csv", "taxi-00002.csv", "taxi-manifest.json"});
  REQUIRE(read_file(d / "out/taxi-00000.csv") == "id,city,note\n1,Paris,plain\n2,\"New\nYork\",\"two\nlines\"\n");
  REQUIRE(read_file(d / "out/taxi-00001.csv") == "id,city,note\n3,Rome,\"a \"\"quote\"\"\"\n4,Oslo,x\r\n");
  REQUIRE(read_file(d / "out/taxi-00002.csv") == "id,city,note\n5,Lima,last\n");

  auto j = nlohmann::json::parse(read_file(d / "out/taxi-manifest.json"));
  REQUIRE(j["kind"] == "csv");
  REQUIRE(j["header"] == "id,city,note\n");
  REQUIRE(j["source"]["path"] == (d.path() / "taxi.csv").string());
  REQUIRE(j["source"]["size"] == kCsv.size());
  REQUIRE(j["pieces"][1]["path"] == "taxi-00001.csv");
  REQUIRE(j["pieces"][1]["offset"] == 52);
  REQUIRE(j["pieces"][1]["first_record"] == 3);
  REQUIRE(j["pieces"][1]["records"] == 2);
  REQUIRE(j["pieces"][1]["header_bytes"] == 13);
  REQUIRE(j["pieces"][1]["size"] == read_file(d / "out/taxi-00001.csv").size());
  REQUIRE(j["pieces"][1]["xxh3"].get<std::string>().size() == 16);

  auto m = run_ingot(d, "merge out/taxi-manifest.json -o back.csv --verify");
  REQUIRE(m.code == 0);
  REQUIRE(read_file(d / "back.csv") == kCsv);
  auto l = run_ingot(d, "merge out/taxi-00000.csv out/taxi-00001.csv out/taxi-00002.csv -o list.csv");
  REQUIRE(l.code == 0);
  REQUIRE(read_file(d / "list.csv") == kCsv);
}

TEST_CASE("cli split: existing pieces are refused without --force, replaced with it", "[cli][split]") {
  TempDir d;
  write_file(d / "t.txt", "a\nb\nc\n");
  REQUIRE(run_ingot(d, "split t.txt --records 1 -q").code == 0);
  REQUIRE(listing(d) ==
          std::vector<std::string>{"t-00000.txt", "t-00001.txt", "t-00002.txt", "t-manifest.json", "t.txt"});
  write_file(d / "t.txt", "x\ny\nz\n");
  auto again = run_ingot(d, "split t.txt --records 1");
  REQUIRE(again.code == 1);
  REQUIRE(again.err == "ingot split: error: t-00000.txt: output exists (use --force to overwrite)\n");
  REQUIRE(read_file(d / "t-00000.txt") == "a\n");
  REQUIRE(run_ingot(d, "split t.txt --records 1 --force -q").code == 0);
  REQUIRE(read_file(d / "t-00000.txt") == "x\n");
}

TEST_CASE("cli split: stdin --bytes and --records give the same pieces as the file", "[cli][split]") {
  TempDir d;
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 37, 'x') + "\"}\n";
  text += "{\"last\":true}";  // no final newline
  write_file(d / "in.ndjson", text);
  for (std::string mode : {"--bytes 3K", "--records 97"}) {
    INFO(mode);
    fs::remove_all(d / "f");
    fs::remove_all(d / "s");
    fs::create_directories(d / "f");
    fs::create_directories(d / "s");
    REQUIRE(run_ingot(d, "split in.ndjson -q --prefix f/p- " + mode).code == 0);
    // Through a pipe, so the streaming path runs (a redirected file would be seekable).
    auto s = run_sh(d, "cat in.ndjson | \"$INGOT\" split - --kind ndjson -q --chunk-size 1K --prefix s/p- " + mode);
    REQUIRE(s.code == 0);
    auto files = listing(d, "f");
    REQUIRE(files == listing(d, "s"));
    REQUIRE(files.size() > 5);
    for (auto& f : files) {
      if (f.find("manifest") != std::string::npos) continue;
      REQUIRE(read_file(d / ("f/" + f)) == read_file(d / ("s/" + f)));
    }
    auto mf = nlohmann::json::parse(read_file(d / "f/p-manifest.json"));
    auto ms = nlohmann::json::parse(read_file(d / "s/p-manifest.json"));
    REQUIRE(mf["pieces"] == ms["pieces"]);
    REQUIRE(ms["source"]["path"] == "-");
    REQUIRE(run_ingot(d, "merge s/p-manifest.json -o back.ndjson --verify -q").code == 0);
    REQUIRE(read_file(d / "back.ndjson") == text);
  }
}

TEST_CASE("cli split: usage errors exit 2 with one line", "[cli][split]") {
  TempDir d;
  write_file(d / "t.csv", kCsv);
  auto none = run_ingot(d, "split t.csv");
  REQUIRE(none.code == 2);
  REQUIRE(none.err == "ingot split: error: give exactly one of --bytes SIZE, --records N, --pieces N\n");
  REQUIRE(run_ingot(d, "split t.csv --bytes 1K --pieces 2").code == 2);
  auto bad = run_ingot(d, "split t.csv --bytes lots");
  REQUIRE(bad.code == 2);
  REQUIRE(bad.err == "ingot split: error: invalid --bytes: 'lots' (e.g. 180M, 64K, 1G)\n");
  // A pipe has no size (stdin redirected from a regular file is seekable and works).
  auto stdin_pieces = run_sh(d, "printf 'a\\nb\\n' | \"$INGOT\" split - --pieces 4");
  REQUIRE(stdin_pieces.code == 2);
  REQUIRE(stdin_pieces.err ==
          "ingot split: error: --pieces needs the input's size; it cannot read stdin (use --bytes or --records)\n");
  auto header = run_ingot(d, "split t.csv --bytes 13");
  REQUIRE(header.code == 2);
  REQUIRE(header.err ==
          "ingot split: error: --bytes 13 leaves no room for records after the 13-byte header every piece repeats\n");
  REQUIRE(run_ingot(d, "split t.csv --pieces 2 --kind xml").code == 2);
  REQUIRE(listing(d) == std::vector<std::string>{"t.csv"});
}

TEST_CASE("cli split: missing input, a directory, a missing or read-only output directory", "[cli][split]") {
  TempDir d;
  write_file(d / "t.txt", "a\nb\n");
  fs::create_directories(d / "adir");
  auto missing = run_ingot(d, "split nope.txt --pieces 2");
  REQUIRE(missing.code == 1);
  REQUIRE(missing.err == "ingot split: error: nope.txt: cannot open: No such file or directory\n");
  auto dir = run_ingot(d, "split adir --pieces 2");
  REQUIRE(dir.code == 1);
  REQUIRE(dir.err == "ingot split: error: adir: is a directory, not a file\n");
  // A missing directory of the prefix is created (mkdir -p); a file in its way is an error.
  auto outdir = run_ingot(d, "split t.txt --pieces 2 --prefix no/such/p- -q");
  REQUIRE(outdir.code == 0);
  REQUIRE(read_file(d / "no/such/p-00000.txt") + read_file(d / "no/such/p-00001.txt") == "a\nb\n");
  auto notdir = run_ingot(d, "split t.txt --pieces 2 --prefix t.txt/p-");
  REQUIRE(notdir.code == 1);
  REQUIRE(notdir.err == "ingot split: error: t.txt/p-manifest.json: not a directory: t.txt\n");
  if (::geteuid() != 0) {  // root writes anywhere; the check is for everyone else
    fs::create_directories(d / "ro");
    fs::permissions(d / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    auto ro = run_ingot(d, "split t.txt --pieces 2 --prefix ro/p-");
    REQUIRE(ro.code == 1);
    REQUIRE(ro.err.find("output directory is not writable: ro") != std::string::npos);
  }
}

TEST_CASE("cli split: a full disk mid-split leaves no manifest and no pieces", "[cli][split]") {
  TempDir d;
  std::string big;
  for (int i = 0; i < 20000; ++i) {
    big += "line " + std::to_string(i) + " of a file that does not fit\n";
    if (i == 12000) big += std::string(100000, 'B') + "\n";  // a record bigger than the disk has room for
  }
  write_file(d / "big.txt", big);
  fs::create_directories(d / "out");
  // ulimit -f (512-byte blocks) caps every file at 64 KiB: the 32 KiB pieces fit, the
  // piece holding the 100 KB record fails with EFBIG after many pieces were complete.
  for (std::string mode : {"--bytes 32K -j2", "--bytes 32K -j1", "--pieces 8"}) {
    INFO(mode);
    auto r = run_sh(d, "ulimit -f 128; exec \"$INGOT\" split big.txt --prefix out/p- " + mode);
    REQUIRE(r.code == 1);
    REQUIRE(r.err.rfind("ingot split: error: out/p-000", 0) == 0);
    REQUIRE(r.err.find(": file too large (file size limit reached) while writing\n") != std::string::npos);
    REQUIRE(lines_of(r.err).size() == 1);
    REQUIRE(listing(d, "out").empty());
  }
  // The same through stdin, where pieces are cut while streaming.
  auto s = run_sh(d, "ulimit -f 128; exec \"$INGOT\" split - --bytes 32K --prefix out/s- < big.txt");
  REQUIRE(s.code == 1);
  REQUIRE(s.err.find(": file too large (file size limit reached) while writing\n") != std::string::npos);
  REQUIRE(listing(d, "out").empty());
}

TEST_CASE("cli split: SIGINT removes the pieces written so far and writes no manifest", "[cli][split]") {
  TempDir d;
  std::string chunk;
  for (int i = 0; i < 4000; ++i) chunk += "record " + std::to_string(i) + "\n";
  fs::create_directories(d / "out");
  // stdin (a FIFO the test feeds) delivers some pieces' worth, then stalls for as long
  // as the test holds it open: ingot is mid-split when SIGINT comes.
  REQUIRE(mkfifo((d / "in.fifo").c_str(), 0600) == 0);
  pid_t pid = spawn_ingot(d, "split - --bytes 4K --chunk-size 1K --prefix out/p-", "in.fifo");
  const int fifo = open_fifo_writer(d / "in.fifo", "ingot split");
  CHECK(write_fifo(fifo, chunk));
  wait_until([&] { return listing(d, "out").size() > 3; }, 60s, "ingot split to write more than 3 pieces");
  REQUIRE(::kill(pid, SIGINT) == 0);
  const int code = wait_code(pid);
  ::close(fifo);
  REQUIRE(code == 128 + SIGINT);
  CHECK(read_file(d / ".bg.err") == "ingot: interrupted\n");  // ingot's handler, not the default action
  REQUIRE(listing(d, "out").empty());
}

TEST_CASE("cli split: --filter pipes every piece to the command with $FILE set", "[cli][split]") {
  TempDir d;
  write_file(d / "t.csv", kCsv);
  fs::create_directories(d / "plain");
  REQUIRE(run_ingot(d, "split t.csv --records 2 --prefix plain/t- -q").code == 0);
  auto r = run_ingot(d, "split t.csv --records 2 --prefix f- --filter 'cat > \"$FILE.copy\"' -q");
  REQUIRE(r.code == 0);
  for (std::string n : {"00000", "00001", "00002"}) {
    REQUIRE(read_file(d / ("f-" + n + ".csv.copy")) == read_file(d / ("plain/t-" + n + ".csv")));
    REQUIRE_FALSE(fs::exists(d / ("f-" + n + ".csv")));
  }
  auto j = nlohmann::json::parse(read_file(d / "f-manifest.json"));
  REQUIRE(j["filter"] == "cat > \"$FILE.copy\"");
  REQUIRE(j["pieces"][0]["xxh3"].is_null());
  REQUIRE(j["pieces"][0]["size"].is_null());
  REQUIRE(j["pieces"][0]["records"] == 2);
  auto m = run_ingot(d, "merge f-manifest.json -o x.csv");
  REQUIRE(m.code == 2);
  REQUIRE(m.err.find("went through --filter") != std::string::npos);
  auto bad = run_ingot(d, "split t.csv --records 2 --prefix g- --filter 'cat >/dev/null; exit 3'");
  REQUIRE(bad.code == 1);
  REQUIRE(bad.err == "ingot split: error: g-00000.csv: --filter command failed (exit status 3)\n");
  REQUIRE_FALSE(fs::exists(d / "g-manifest.json"));
}

TEST_CASE("cli split: --plan writes only the manifest, with the ranges of a real split", "[cli][split][plan]") {
  TempDir d;
  std::string text;
  for (int i = 0; i < 3000; ++i) text += std::to_string(i) + ",\"v\n" + std::string(i % 11, 'q') + "\"\n";
  write_file(d / "t.csv", "a,b\n" + text);
  fs::create_directories(d / "real");
  fs::create_directories(d / "plan");
  for (std::string mode : {"--bytes 10K", "--pieces 7", "--records 111"}) {
    INFO(mode);
    REQUIRE(run_ingot(d, "split t.csv --force -q --prefix real/p- " + mode).code == 0);
    auto r = run_ingot(d, "split t.csv --force --plan --prefix plan/p- " + mode);
    REQUIRE(r.code == 0);
    REQUIRE(r.err.find("ingot split: planned ") == 0);
    auto real = nlohmann::json::parse(read_file(d / "real/p-manifest.json"));
    auto plan = nlohmann::json::parse(read_file(d / "plan/p-manifest.json"));
    REQUIRE(plan["plan"] == true);
    REQUIRE(real["pieces"].size() == plan["pieces"].size());
    for (std::size_t i = 0; i < real["pieces"].size(); ++i) {
      REQUIRE(plan["pieces"][i]["offset"] == real["pieces"][i]["offset"]);
      REQUIRE(plan["pieces"][i]["length"] == real["pieces"][i]["length"]);
    }
  }
  REQUIRE(listing(d, "plan") == std::vector<std::string>{"p-manifest.json"});
  auto m = run_ingot(d, "merge plan/p-manifest.json -o x.csv");
  REQUIRE(m.code == 2);
  REQUIRE(m.err.find("this is a --plan manifest") != std::string::npos);
}

TEST_CASE("cli split: a record larger than --bytes is reported in the summary", "[cli][split]") {
  TempDir d;
  write_file(d / "t.txt", "a\n" + std::string(300, 'L') + "\nb\n");
  auto r = run_ingot(d, "split t.txt --bytes 100");
  REQUIRE(r.code == 0);
  REQUIRE(lines_of(r.err).at(1) ==
          "ingot split: 1 piece is larger than --bytes: a single record bigger than the limit (piece 2)");
  REQUIRE(read_file(d / "t-00001.txt") == std::string(300, 'L') + "\n");
  auto j = run_ingot(d, "split t.txt --bytes 100 --force --json -q");
  auto rep = nlohmann::json::parse(j.out);
  REQUIRE(rep["result"]["oversized"] == nlohmann::json::array({2}));
  REQUIRE(rep["result"]["pieces"] == 3);
}

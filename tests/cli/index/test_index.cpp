// ingot index through the binary: the index file, --verify, --part, manifest pieces,
// the same bytes for any -j and chunk size, and one-line errors with the right exit codes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support.h"

using namespace ingot_test;

namespace {

std::string numbered_lines(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i)
    s += "line " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i % 7), '.') + "\n";
  return s;
}

}  // namespace

TEST_CASE("cli index: writes FILE.idx, reports it, and --verify accepts it", "[cli][index]") {
  TempDir dir;
  write_file(dir / "in.txt", numbered_lines(1000));
  RunResult r = run_ingot(dir, "index in.txt --json");
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out)["result"];
  CHECK(j["status"] == "ok");
  CHECK(j["records"] == 1000);
  CHECK(j["kind"] == "lines");
  CHECK(j["index"] == "in.txt.idx");
  CHECK(j["index_bytes"] == fs::file_size(dir / "in.txt.idx"));
  CHECK(j["range"] == nlohmann::json::array({0, fs::file_size(dir / "in.txt")}));
  CHECK_THAT(r.err, Catch::StartsWith("ingot index: 1,000 records (lines), "));
  CHECK_THAT(r.err, Catch::Contains(" -> in.txt.idx ("));

  RunResult v = run_ingot(dir, "index --verify in.txt");
  CHECK(v.code == 0);
  CHECK(v.out.empty());
  CHECK(v.err == "ingot index: in.txt.idx is intact and matches in.txt (1,000 records)\n");
}

TEST_CASE("cli index: -j1 and -jN, tiny and default chunks write the same bytes", "[cli][index]") {
  TempDir dir;
  std::string csv = "a,b\n";
  for (int i = 0; i < 500; ++i) csv += std::to_string(i) + ",\"multi\nline " + std::to_string(i) + "\"\n";
  write_file(dir / "in.csv", csv);
  REQUIRE(run_ingot(dir, "index in.csv -q -o ref.idx").code == 0);
  const std::string ref = read_file(dir / "ref.idx");
  for (const char* args : {"-j1", "-j2", "-j1 --chunk-size 1", "-j2 --chunk-size 7", "-j0 --chunk-size 64K"}) {
    INFO(args);
    REQUIRE(run_ingot(dir, std::string("index in.csv -q -o x.idx ") + args).code == 0);
    CHECK(read_file(dir / "x.idx") == ref);
  }
  auto j = nlohmann::json::parse(run_ingot(dir, "index in.csv -q --json -o x.idx").out)["result"];
  CHECK(j["records"] == 500);  // records, not the 1001 lines
  CHECK(j["header_bytes"] == 4);
}

TEST_CASE("cli index: --part K/N writes FILE.part-K-of-N.idx and get numbers within the part", "[cli][index][part]") {
  TempDir dir;
  write_file(dir / "in.txt", numbered_lines(90));
  std::uint64_t total = 0;
  for (int k = 1; k <= 3; ++k) {
    RunResult r = run_ingot(dir, "index in.txt --part " + std::to_string(k) + "/3 --json -q");
    REQUIRE(r.code == 0);
    const std::string name = "in.txt.part-" + std::to_string(k) + "-of-3.idx";
    CHECK(fs::exists(dir / name));
    total += nlohmann::json::parse(r.out)["result"]["records"].get<std::uint64_t>();
  }
  CHECK(total == 90);
  // Part 2's record 1 follows part 1's last record.
  RunResult p1 = run_ingot(dir, "get in.txt -1 --index in.txt.part-1-of-3.idx");
  RunResult p2 = run_ingot(dir, "get in.txt 1 --index in.txt.part-2-of-3.idx");
  REQUIRE(p1.code == 0);
  REQUIRE(p2.code == 0);
  const auto all = lines_of(numbered_lines(90));
  auto pos = std::find(all.begin(), all.end(), p1.out.substr(0, p1.out.size() - 1));
  REQUIRE(pos != all.end());
  CHECK(*(pos + 1) + "\n" == p2.out);
  // A part's index is not FILE.idx: get without --index refuses to use it as the whole.
  fs::copy_file(dir / "in.txt.part-2-of-3.idx", dir / "in.txt.idx");
  RunResult g = run_ingot(dir, "get in.txt 1");
  CHECK(g.code == 1);
  CHECK_THAT(g.err, Catch::Contains("it indexes only bytes"));

  RunResult bad = run_ingot(dir, "index in.txt --part 4/3");
  CHECK(bad.code == 2);
  CHECK(bad.err == "ingot index: error: --part takes K/N with 1 <= K <= N, e.g. 3/8\n");
}

TEST_CASE("cli index: a split manifest's piece is indexed like a part", "[cli][index][manifest]") {
  TempDir dir;
  std::string csv = "id,v\n";
  for (int i = 1; i <= 60; ++i) csv += std::to_string(i) + ",\"x\ny\"\n";
  write_file(dir / "in.csv", csv);
  RunResult s = run_ingot(dir, "split in.csv --pieces 3 --plan -q");
  REQUIRE(s.code == 0);
  REQUIRE(fs::exists(dir / "in-manifest.json"));
  std::uint64_t total = 0;
  for (int k = 1; k <= 3; ++k) {
    RunResult r = run_ingot(dir, "index in-manifest.json --piece " + std::to_string(k) + " -o p.idx --json -q");
    REQUIRE(r.code == 0);
    auto j = nlohmann::json::parse(r.out)["result"];
    CHECK(j["header_bytes"] == 0);  // a piece's range holds records only
    total += j["records"].get<std::uint64_t>();
    RunResult first = run_ingot(dir, "get in.csv 1 --index p.idx");
    REQUIRE(first.code == 0);
    CHECK_THAT(first.out, Catch::EndsWith(",\"x\ny\"\n"));
  }
  CHECK(total == 60);
  RunResult bad = run_ingot(dir, "index in-manifest.json --piece 9");
  CHECK(bad.code == 2);
}

TEST_CASE("cli index: bad input gets one line and the documented exit code", "[cli][index][errors]") {
  TempDir dir;
  RunResult missing = run_ingot(dir, "index nope.txt");
  CHECK(missing.code == 1);
  CHECK(missing.err == "ingot index: error: nope.txt: cannot open: No such file or directory\n");

  for (bool from_file : {false, true}) {  // stdin as /dev/null, and redirected from a file
    RunResult stream = run_ingot(dir, "index -", "a\n", from_file);
    CHECK(stream.code == 2);
    CHECK(stream.err ==
          "ingot index: error: <stdin>: cannot index a stream: an index holds byte offsets into a file\n");
  }
  CHECK_FALSE(fs::exists(dir / "-.idx"));

  write_file(dir / "e.txt", "");
  RunResult empty = run_ingot(dir, "index e.txt --json -q");
  CHECK(empty.code == 0);
  CHECK(nlohmann::json::parse(empty.out)["result"]["records"] == 0);

  write_file(dir / "a.txt", "a\nb\n");
  REQUIRE(run_ingot(dir, "index a.txt -q").code == 0);
  write_file(dir / "a.txt", "a\nb\nc\n");
  RunResult stale = run_ingot(dir, "index --verify a.txt");
  CHECK(stale.code == 1);
  CHECK(stale.err ==
        "ingot index: error: a.txt: index a.txt.idx does not match: it was built for a file of 4 bytes, this one has "
        "6 (the file changed, or the index belongs to another file); rebuild it with 'ingot index'\n");

  REQUIRE(run_ingot(dir, "index a.txt -q").code == 0);
  const std::string idx = read_file(dir / "a.txt.idx");
  write_file(dir / "a.txt.idx", idx.substr(0, idx.size() - 3));
  RunResult trunc = run_ingot(dir, "index --verify a.txt");
  CHECK(trunc.code == 1);
  CHECK_THAT(trunc.err, Catch::Contains("a.txt: index a.txt.idx is truncated (" + std::to_string(idx.size() - 3) +
                                        " of " + std::to_string(idx.size()) + " bytes)"));
}

TEST_CASE("cli index: merge writes OUT.idx from fresh piece indexes, equal to a fresh index", "[cli][index][merge]") {
  TempDir dir;
  std::string csv = "id,note\n";
  for (int i = 1; i <= 700; ++i) csv += std::to_string(i) + (i % 3 ? ",plain\n" : ",\"two\nlines\"\n");
  write_file(dir / "in.csv", csv);
  REQUIRE(run_ingot(dir, "split in.csv --pieces 3 -q").code == 0);
  const std::string pieces = "in-00000.csv in-00001.csv in-00002.csv";
  for (const char* p : {"in-00000.csv", "in-00001.csv", "in-00002.csv"}) {
    REQUIRE(run_ingot(dir, std::string("index -q ") + p).code == 0);
  }
  RunResult m = run_ingot(dir, "merge " + pieces + " -o out.csv -q");
  REQUIRE(m.code == 0);
  REQUIRE(read_file(dir / "out.csv") == csv);
  REQUIRE(fs::exists(dir / "out.csv.idx"));
  REQUIRE(run_ingot(dir, "index -q out.csv -o fresh.idx").code == 0);
  CHECK(read_file(dir / "out.csv.idx") == read_file(dir / "fresh.idx"));
  CHECK(run_ingot(dir, "get out.csv 699").out == "699,\"two\nlines\"\n");

  // A piece without a fresh index: no OUT.idx (and get would not trust an old one).
  write_file(dir / "in-00001.csv.idx", "not an index");
  fs::remove(dir / "out.csv.idx");
  REQUIRE(run_ingot(dir, "merge " + pieces + " -o out2.csv -q").code == 0);
  CHECK(read_file(dir / "out2.csv") == csv);
  CHECK_FALSE(fs::exists(dir / "out2.csv.idx"));
}

// ingot get through the binary: exact records for every form, by index and by scan
// (the two must agree), sed's numbering and final-newline behaviour, and every kind of
// bad input with one line on stderr, nothing on stdout and the documented exit code.
#include <catch2/catch.hpp>

#include "support.h"

using namespace ingot_test;

namespace {

const std::string kText = "one\ntwo\n\nfour\nfive\n";

// get via index, via --scan, and via stdin must print the same bytes.
void check_get(TempDir& dir, const std::string& spec, const std::string& want) {
  INFO("get " << spec);
  RunResult idx = run_ingot(dir, "get in.txt " + spec);
  CHECK(idx.code == 0);
  CHECK(idx.err.empty());
  CHECK(idx.out == want);
  RunResult scan = run_ingot(dir, "get in.txt " + spec + " --scan --chunk-size 3");
  CHECK(scan.code == 0);
  CHECK(scan.out == want);
  if (spec[0] != '-') {
    RunResult in = run_ingot(dir, "get - " + spec, read_file(dir / "in.txt"), true);
    CHECK(in.code == 0);
    CHECK(in.out == want);
  }
}

}  // namespace

TEST_CASE("cli get: N, N-M, N+COUNT and -K print exactly those records", "[cli][get]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  check_get(dir, "1", "one\n");
  check_get(dir, "3", "\n");  // an empty line is a record, as sed counts it
  check_get(dir, "2-4", "two\n\nfour\n");
  check_get(dir, "4-99", "four\nfive\n");  // the end is clipped, like sed -n 4,99p
  check_get(dir, "2+2", "two\n\n");
  check_get(dir, "5+100", "five\n");
  check_get(dir, "-1", "five\n");
  check_get(dir, "-5", "one\n");
}

TEST_CASE("cli get: a file without a final newline and an empty file", "[cli][get]") {
  TempDir dir;
  write_file(dir / "in.txt", "a\nb\nlast");
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  check_get(dir, "-1", "last");  // printed as stored, like sed
  check_get(dir, "2-3", "b\nlast");

  write_file(dir / "e.txt", "");
  for (const char* extra : {"", " --scan"}) {
    RunResult r = run_ingot(dir, std::string("get e.txt 1") + extra);
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err == "ingot get: error: e.txt: record 1 is past the end: there are no records\n");
  }
  REQUIRE(run_ingot(dir, "index e.txt -q").code == 0);
  RunResult last = run_ingot(dir, "get e.txt -1");
  CHECK(last.code == 1);
  CHECK(last.err == "ingot get: error: e.txt: record -1 is before the start: there are no records\n");
}

TEST_CASE("cli get: CSV records span lines, --header prints the header first", "[cli][get][csv]") {
  TempDir dir;
  write_file(dir / "in.csv", "id,note\n1,\"a\nb\"\n2,plain\n3,\"x,\"\"y\"\"\"\n");
  REQUIRE(run_ingot(dir, "index in.csv -q").code == 0);
  CHECK(run_ingot(dir, "get in.csv 1").out == "1,\"a\nb\"\n");
  CHECK(run_ingot(dir, "get in.csv 2").out == "2,plain\n");
  CHECK(run_ingot(dir, "get in.csv -1 --header").out == "id,note\n3,\"x,\"\"y\"\"\"\n");
  CHECK(run_ingot(dir, "get in.csv -1 --header --scan").out == "id,note\n3,\"x,\"\"y\"\"\"\n");
  CHECK(run_ingot(dir, "get in.csv 1 --no-header --scan").out == "id,note\n");
  RunResult past = run_ingot(dir, "get in.csv 4 --header");
  CHECK(past.code == 1);
  CHECK(past.out.empty());  // not even the header
}

TEST_CASE("cli get: malformed and out-of-range numbers", "[cli][get][errors]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  for (const char* bad : {"0", "-0", "abc", "1.5", "3-2", "2+0", "99999999999999999999"}) {
    INFO(bad);
    RunResult r = run_ingot(dir, std::string("get in.txt ") + bad);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == std::string("ingot get: error: invalid record number '") + bad +
                       "': use N, N-M (M >= N), N+COUNT or -K (K-th from the end), numbers from 1 up to "
                       "18446744073709551615\n");
  }
  for (const char* extra : {"", " --scan"}) {
    RunResult past = run_ingot(dir, std::string("get in.txt 6") + extra);
    CHECK(past.code == 1);
    CHECK(past.out.empty());
    CHECK(past.err == "ingot get: error: in.txt: record 6 is past the end: there are 5 records\n");
    RunResult huge = run_ingot(dir, std::string("get in.txt 18446744073709551615") + extra);
    CHECK(huge.code == 1);
    CHECK(huge.err == "ingot get: error: in.txt: record 18446744073709551615 is past the end: there are 5 records\n");
    RunResult before = run_ingot(dir, std::string("get in.txt -6") + extra);
    CHECK(before.code == 1);
    CHECK(before.err == "ingot get: error: in.txt: record -6 is before the start: there are 5 records\n");
  }
  RunResult missing = run_ingot(dir, "get nope.txt 1");
  CHECK(missing.code == 1);
  CHECK(missing.err == "ingot get: error: nope.txt: cannot open: No such file or directory\n");
}

TEST_CASE("cli get: stale, foreign, truncated and corrupt indexes are refused, --reindex rebuilds",
          "[cli][get][stale]") {
  TempDir dir;
  write_file(dir / "in.txt", kText);
  write_file(dir / "other.txt", "x\ny\n");
  REQUIRE(run_ingot(dir, "index in.txt -q").code == 0);
  REQUIRE(run_ingot(dir, "index other.txt -q").code == 0);

  RunResult foreign = run_ingot(dir, "get in.txt 1 --index other.txt.idx");
  CHECK(foreign.code == 1);
  CHECK(foreign.out.empty());
  CHECK(foreign.err ==
        "ingot get: error: in.txt: index other.txt.idx is stale: it was built for a file of 4 bytes, this one has 19 "
        "(the file changed, or the index belongs to another file); run 'ingot index in.txt' or pass --reindex\n");

  const std::string good = read_file(dir / "in.txt.idx");
  write_file(dir / "in.txt.idx", good.substr(0, good.size() - 5));
  RunResult trunc = run_ingot(dir, "get in.txt 1");
  CHECK(trunc.code == 1);
  CHECK(trunc.out.empty());
  CHECK(trunc.err == "ingot get: error: in.txt: index in.txt.idx is truncated (" + std::to_string(good.size() - 5) +
                         " of " + std::to_string(good.size()) +
                         " bytes); rebuild it with 'ingot index' or pass --reindex\n");
  write_file(dir / "in.txt.idx", good.substr(0, 100));
  CHECK(run_ingot(dir, "get in.txt 1").err ==
        "ingot get: error: in.txt: index in.txt.idx is truncated (100 bytes, less than a header); rebuild it with "
        "'ingot index' or pass --reindex\n");

  std::string corrupt = good;
  corrupt[good.size() - 1] ^= 1;  // the last block's checksum
  write_file(dir / "in.txt.idx", corrupt);
  RunResult bad = run_ingot(dir, "get in.txt 1");
  CHECK(bad.code == 1);
  CHECK(bad.err ==
        "ingot get: error: in.txt: index in.txt.idx is corrupt (checksum mismatch in block 0); rebuild "
        "it with 'ingot index'\n");

  write_file(dir / "in.txt.idx", good);
  write_file(dir / "in.txt", "changed\n" + kText);
  RunResult stale = run_ingot(dir, "get in.txt 1");
  CHECK(stale.code == 1);
  CHECK(stale.out.empty());
  CHECK_THAT(stale.err, Catch::StartsWith("ingot get: error: in.txt: index in.txt.idx is stale: "));
  CHECK_THAT(stale.err, Catch::EndsWith("run 'ingot index in.txt' or pass --reindex\n"));

  RunResult re = run_ingot(dir, "get in.txt 1 --reindex");
  CHECK(re.code == 0);
  CHECK(re.out == "changed\n");
  CHECK(run_ingot(dir, "index --verify in.txt -q").code == 0);  // rebuilt in place

  fs::remove(dir / "in.txt.idx");
  CHECK(run_ingot(dir, "get in.txt -1 --reindex").out == "five\n");
  CHECK(fs::exists(dir / "in.txt.idx"));

  RunResult none = run_ingot(dir, "get in.txt 1 --index missing.idx");
  CHECK(none.code == 1);
  CHECK(none.err ==
        "ingot get: error: in.txt: index missing.idx does not exist; build it with 'ingot index' or pass --reindex\n");
}

TEST_CASE("cli get: a closed stdout pipe exits 0", "[cli][get][pipe]") {
  TempDir dir;
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "record number " + std::to_string(i) + "\n";
  write_file(dir / "big.txt", big);
  REQUIRE(run_ingot(dir, "index big.txt -q").code == 0);
  for (const char* extra : {"", " --scan"}) {
    const std::string cmd = "cd " + shell_quote(dir.path().string()) + " && bash -c " +
                            shell_quote(shell_quote(INGOT_BINARY) + " get big.txt 1-200000" + extra +
                                        " 2>err | head -1 >out; echo ${PIPESTATUS[0]} >code");
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(read_file(dir / "out") == "record number 0\n");
    CHECK(read_file(dir / "code") == "0\n");
    CHECK(read_file(dir / "err").empty());
  }
}

// NDJSON -> Parquet in one walk (convert_parquet.cpp, OneWalk): without --fields or
// --schema the columns and types are speculated from the chunks seen so far, the first
// row group is held while later chunks add columns or widen types, and a change after
// rows were written starts over with the two passes. The files, rejects, counts and
// --schema-out must be byte for byte those of the two-pass run (INGOT_SPECULATE=0) for
// every input, -j, chunk size and row-group size; the --json report's
// stats.column_union says which way ran, so a test of the held or restarted way cannot
// pass without it.
#include <algorithm>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/peak_rss.h"
#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

// n lines of one shape: an integer, a string, a date, a boolean and a nested number.
std::string lines(int from, int n) {
  std::string s;
  for (int i = from; i < from + n; ++i) {
    s += "{\"id\":" + std::to_string(i) + ",\"name\":\"n, " + std::to_string(i) + "\",\"day\":\"2024-01-" +
         std::to_string(10 + i % 20) + "\",\"ok\":" + (i % 3 ? "true" : "false") +
         ",\"geo\":{\"lat\":" + std::to_string(i % 90) + "}}\n";
  }
  return s;
}

struct Input {
  const char* name;
  std::string text;
  bool late_change;  // a line after the first few chunks adds a column or widens a type
  bool leafless;     // a leafless object at a column: the exact (cells) typing after the walk
};

std::vector<Input> inputs() {
  const std::string a = lines(0, 150), b = lines(150, 150);
  return {
      {"no change after the first chunk", lines(0, 300), false, false},
      {"an integer column widens to DOUBLE", a + "{\"id\":2.5}\n" + b, true, false},
      {"an integer column becomes STRING", a + "{\"id\":\"x\"}\n" + b, true, false},
      {"a DATE column becomes STRING (a timestamp)", a + "{\"day\":\"2024-01-02T10:00:00\"}\n" + b, true, false},
      {"a BOOLEAN column becomes STRING", a + "{\"ok\":1}\n" + b, true, false},
      {"a key first in a middle chunk", a + "{\"id\":8,\"mid\":true}\n" + b, true, false},
      {"a key first on the last line", lines(0, 300) + "{\"id\":9,\"late\":\"x\"}", true, false},
      {"a null-only key gets values later", "{\"id\":1,\"n\":null}\n" + a + "{\"n\":5}\n" + b + "{\"n\":null}\n", true,
       false},
      {"keys in another order later", a + "{\"geo\":{\"lat\":1},\"ok\":true,\"id\":7,\"zz\":1}\n" + b, true, false},
      {"integers beyond int64, -0 and an overflowing number",
       "{\"v\":-0}\n" + a + "{\"v\":12345678901234567890}\n" + b + "{\"w\":1}\n{\"w\":1e400}\n", true, false},
      {"a new key only in rejected lines", a + "{\"id\":1,\"bad\":1\n{\"bad2\":tru}\n[1]\n" + b, false, false},
      {"nested objects and arrays",
       a + "{\"id\":7,\"geo\":{\"lat\":1.5,\"deep\":{\"x\":[1,{\"y\":2}],\"z\":{}}}}\n" + b, true, false},
      {"a leafless object at a column", a + "{\"geo\":{}}\n{\"id\":{}}\n" + b, false, true},
      {"the first chunk has only broken lines", std::string(40, '\n') + "{\"id\":1,\n{\"x\":}\nnope\n" + lines(0, 200),
       false, false},
      {"blank lines, CRLF and a BOM", "\xEF\xBB\xBF\n  \r\n" + lines(0, 100) + "\r\n\t\n{\"new\":1}\r\n\n", true,
       false},
  };
}

// The files in dir but the test's input: a run must leave only its outputs.
std::vector<std::string> names(const TempDir& dir) { return files_left(dir, {"in.ndjson"}); }

struct Outcome {
  RunResult run;
  std::map<std::string, std::string> files;  // every output, by name
  nlohmann::json stats;                      // without seconds, mb_per_s and how the types were found
  std::string column_union;
  std::uint64_t restart_offset = 0;
};

Outcome convert(const TempDir& dir, const std::string& env, const std::string& args) {
  Outcome o;
  o.run = run_sh(dir, env + " \"$INGOT\" convert in.ndjson -o out.parquet --rejects r.rej --schema-out s.json " +
                          "--json -q " + args);
  INFO(env << " " << args << ": " << o.run.err);
  if (o.run.code == 0) {
    auto j = nlohmann::json::parse(o.run.out, nullptr, false);
    REQUIRE(!j.is_discarded());
    o.stats = j["result"]["stats"];
    o.column_union = o.stats.value("column_union", "");
    o.restart_offset = o.stats.value("restart_offset", std::uint64_t{0});
    for (const char* k : {"seconds", "mb_per_s", "column_union", "restart_offset"}) o.stats.erase(k);
  }
  for (const std::string& n : names(dir)) {
    o.files[n] = read_file(dir / n);
    fs::remove(dir / n);
  }
  return o;
}

void require_same(const Outcome& two, const Outcome& one) {
  REQUIRE(two.run.code == one.run.code);
  CHECK(two.run.err == one.run.err);
  CHECK(two.stats == one.stats);
  REQUIRE(two.files.size() == one.files.size());
  for (const auto& [name, bytes] : two.files) {
    INFO(name);
    REQUIRE(one.files.count(name));
    CHECK(one.files.at(name) == bytes);  // the files are identical, bytes and names: no temporary left
  }
}

}  // namespace

TEST_CASE("parquet one walk: every input gives the two-pass files, for any -j, chunk and row-group size",
          "[cli][parquet][speculate]") {
  TempDir dir;
  for (const Input& in : inputs()) {
    write_file(dir / "in.ndjson", in.text);
    for (const char* flatten : {"", "--no-flatten ", "--types string "}) {
      for (const char* group : {"", "--row-group-size 300 "}) {
        for (const char* how : {"-j1", "-j2 --chunk-size 64", "-j3 --chunk-size 300", "-j2 --chunk-size 1"}) {
          const std::string args = std::string(flatten) + group + how;
          INFO(in.name << ": " << args);
          Outcome two = convert(dir, "INGOT_SPECULATE=0", args);
          Outcome one = convert(dir, "", args);
          require_same(two, one);
          REQUIRE(one.run.code == 0);
          CHECK(two.column_union == "pre-pass");
          const bool whole = std::string_view(how) == "-j1";  // one chunk of the default size holds it all
          if (in.leafless && std::string_view(flatten) != "--no-flatten ") {
            CHECK(one.column_union == "restarted");  // found only when the walk ends
          } else if (whole) {
            CHECK(one.column_union == "first-chunk");
          } else if (std::string_view(how) == "-j2 --chunk-size 64" && in.late_change && !*flatten) {
            // Every row is held (the inputs are far below a default row group and the
            // 32 MiB hold): the change is absorbed. With row groups of 300 bytes the
            // held rows go to the writer after a few lines, so the change starts over.
            // (late_change is the default options' view: with --no-flatten or
            // --types string some of these changes are none.)
            CHECK(one.column_union == (*group ? "restarted" : "extended"));
          }
        }
      }
    }
  }
}

TEST_CASE("parquet one walk: held batches read again from the input when a type widens past them",
          "[cli][parquet][speculate]") {
  TempDir dir;
  // One line per chunk; "v" is an integer in 200 held chunks, then a string: each held
  // batch is converted again from its chunk, read from the input a second time.
  std::string text;
  for (int i = 0; i < 200; ++i) text += "{\"k\":" + std::to_string(i) + ",\"v\":" + std::to_string(i * 7) + "}\n";
  text += "{\"v\":\"seven\"}\n{\"k\":1.5}\n";
  write_file(dir / "in.ndjson", text);
  Outcome two = convert(dir, "INGOT_SPECULATE=0", "--chunk-size 16 -j2");
  Outcome one = convert(dir, "", "--chunk-size 16 -j2");
  require_same(two, one);
  CHECK(one.column_union == "extended");
  CHECK(one.restart_offset == text.find("{\"v\":\"seven"));
  CHECK(nlohmann::json::parse(one.files.at("s.json")) ==
        nlohmann::json::parse(R"([{"name":"k","type":"DOUBLE","line":202},{"name":"v","type":"STRING","line":201}])"));
}

TEST_CASE("parquet one walk: a restart with --max-file-size leaves only the files of the second run",
          "[cli][parquet][speculate]") {
  TempDir dir;
  // Row groups of ~300 bytes, files of ~1 KiB: several files exist when the last line
  // adds a column; they are dropped and written again with it.
  write_file(dir / "in.ndjson", lines(0, 400) + "{\"late\":true}\n");
  const std::string args = "--chunk-size 64 -j2 --row-group-size 300 --max-file-size 1K";
  Outcome two = convert(dir, "INGOT_SPECULATE=0", args);
  Outcome one = convert(dir, "", args);
  require_same(two, one);
  CHECK(one.column_union == "restarted");
  CHECK(one.files.count("out-00003.parquet"));
}

TEST_CASE("parquet one walk: fixed-seed random inputs take every way and give the two-pass files",
          "[cli][parquet][speculate]") {
  TempDir dir;
  std::mt19937 rng(20261204);
  // {} and {"in":{}} (leafless objects) send a run to the restart at its end: only in
  // every fourth round, so that most rounds hold or restart for a change of types.
  const char* values[] = {"1",
                          "-0",
                          "2.5",
                          "1e3",
                          "\"x\"",
                          "\"2024-02-03\"",
                          "\"2024-02-03T04:05:06Z\"",
                          "true",
                          "null",
                          "[1,2]",
                          "{\"in\":1}",
                          "99999999999999999999",
                          "{}",
                          "{\"in\":{}}"};
  std::map<std::string, int> ways;
  for (int round = 0; round < 40; ++round) {
    std::string text;
    const int n = 20 + static_cast<int>(rng() % 200);
    const int keys = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      if (rng() % 50 == 0) {
        text += "{\"broken\":\n";
        continue;
      }
      std::string line = "{";
      for (int k = 0; k < keys; ++k) {
        if (rng() % 4 == 0) continue;
        // Mostly the key's usual value, now and then another one.
        const std::size_t some = std::size(values) - (round % 4 ? 2 : 0);
        const std::size_t v = rng() % 8 == 0 ? rng() % some : static_cast<std::size_t>(k) % 3;
        if (line.size() > 1) line += ',';
        line += "\"k" + std::to_string(k) + "\":" + values[v];
      }
      text += line + "}\n";
    }
    write_file(dir / "in.ndjson", text);
    const std::string args =
        "-j2 --chunk-size " + std::to_string(16 + rng() % 300) + (round % 2 ? " --row-group-size 200" : "");
    INFO("round " << round << ": " << args << "\n" << text);
    Outcome two = convert(dir, "INGOT_SPECULATE=0", args);
    Outcome one = convert(dir, "", args);
    require_same(two, one);
    ++ways[one.column_union];
  }
  INFO("extended " << ways["extended"] << ", restarted " << ways["restarted"]);
  CHECK(ways["extended"] >= 5);
  CHECK(ways["restarted"] >= 5);
}

TEST_CASE("parquet one walk: stdout and INGOT_SPECULATE=0 take the two passes", "[cli][parquet][speculate]") {
  TempDir dir;
  write_file(dir / "in.ndjson", lines(0, 20));
  // With the file on stdout the report goes to stderr.
  auto r = run_ingot(dir, "convert in.ndjson --to parquet -o - --json -q");
  REQUIRE(r.code == 0);
  auto rep = nlohmann::json::parse(r.err.substr(0, r.err.find('\n')), nullptr, false);
  REQUIRE(!rep.is_discarded());
  CHECK(rep["result"]["stats"]["column_union"] == "pre-pass");
  Outcome file = convert(dir, "", "");
  CHECK(file.column_union == "first-chunk");
  CHECK(r.out.substr(0, 4) == "PAR1");
  CHECK(r.out == file.files.at("out.parquet"));
}

TEST_CASE("parquet one walk: --on-error fail and --max-errors fail as the two passes do, leaving nothing",
          "[cli][parquet][speculate]") {
  TempDir dir;
  // The broken line comes after the chunk that widens a type past the first row group:
  // the run that started over fails there.
  write_file(dir / "in.ndjson", lines(0, 50) + "{\"id\":0.5}\n" + lines(50, 50) + "{oops\n");
  for (const char* args : {"--on-error fail --chunk-size 64 --row-group-size 300", "--max-errors 0 --chunk-size 64 -j2",
                           "--on-error fail"}) {
    INFO(args);
    auto two = run_sh(dir, std::string("INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o out.parquet ") + args);
    auto one = run_sh(dir, std::string("\"$INGOT\" convert in.ndjson -o out.parquet ") + args);
    CHECK(two.code == 1);
    CHECK(one.code == two.code);
    CHECK(one.err == two.err);
    CHECK(names(dir).empty());
  }
}

TEST_CASE("parquet one walk: a restart to s3:// leaves one object, the two-pass file",
          "[cli][parquet][speculate][s3]") {
  S3Env s3;
  TempDir dir;
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
  write_file(dir / "in.ndjson", lines(0, 3000) + "{\"id\":1,\"late\":{\"x\":1}}\n");
  auto local = run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o expect.parquet -q --row-group-size 4K");
  REQUIRE(local.code == 0);
  auto r = run_ingot(
      dir, "convert in.ndjson -o " + s3.url("out.parquet") + " --json --chunk-size 4K -j2 --row-group-size 4K");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["column_union"] == "restarted");
  CHECK(s3.get("out.parquet", 4u << 20) == read_file(dir / "expect.parquet"));
  CHECK(s3.uploads("out.parquet").empty());
}

TEST_CASE("parquet one walk: lines without keys before the first key are held as rows of nulls, any hold",
          "[cli][parquet][speculate]") {
  TempDir dir;
  // 300 lines of {} (900 bytes) before the first key: more than the hold of a 300-byte
  // row group, but no writer can start before there is a column.
  std::string text;
  for (int i = 0; i < 300; ++i) text += i % 7 ? "{}\n" : "{\"e\":{}}\n";
  text += lines(0, 50);
  write_file(dir / "in.ndjson", text);
  for (const char* args : {"--chunk-size 64 -j2 --row-group-size 300", "--chunk-size 64 -j2", "-j1"}) {
    INFO(args);
    Outcome two = convert(dir, "INGOT_SPECULATE=0", args);
    Outcome one = convert(dir, "", args);
    require_same(two, one);
    REQUIRE(one.run.code == 0);
    CHECK(one.column_union == (std::string_view(args) == "-j1" ? "first-chunk" : "extended"));
  }
}

TEST_CASE("parquet one walk: a failing input fails alike, naming the first bad record in input order",
          "[cli][parquet][speculate]") {
  // The two passes meet some errors in their pre-pass, before a record is counted (no
  // column at all, a record too long); the one walk meets every error in input order.
  // Both fail (exit 1) and leave nothing; the one walk's message is the first problem.
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":\n{x}\n[1]\n");
  for (const auto& [args, first] :
       {std::pair<const char*, const char*>{"--on-error fail", "in.ndjson:1: invalid record"},
        {"--max-errors 1", "in.ndjson:2: more than 1 invalid records"}}) {
    INFO(args);
    auto two = run_sh(dir, std::string("INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o out.parquet ") + args);
    auto one = run_sh(dir, std::string("\"$INGOT\" convert in.ndjson -o out.parquet ") + args);
    CHECK(two.code == 1);
    CHECK(one.code == 1);
    CHECK(two.err.find("no columns to write") != std::string::npos);
    CHECK(one.err.find(first) != std::string::npos);
    CHECK(names(dir).empty());
  }
  write_file(dir / "in.ndjson", "{\"a\":1}\n{\"a\":\n" + lines(0, 30) + "{\"a\":\"" + std::string(3000, 'x') + "\"}\n");
  const std::string args = " convert in.ndjson -o out.parquet --max-record-size 1K --on-error fail -j2 --chunk-size 16";
  auto two = run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\"" + args);
  auto one = run_sh(dir, "\"$INGOT\"" + args);
  CHECK(two.code == 1);
  CHECK(one.code == 1);
  CHECK(two.err.find(":33: record longer than") != std::string::npos);
  CHECK(one.err.find(":2: invalid record") != std::string::npos);
  CHECK(names(dir).empty());
}

TEST_CASE("parquet one walk: holding the first rows adds little memory, even for one-byte values",
          "[cli][parquet][speculate][memory]") {
#ifdef INGOT_TEST_ASAN
  WARN("AddressSanitizer build (shadow memory, quarantine): peak RSS says nothing about ingot's bound; skipped");
  return;
#endif
  // 64 MiB of 11-byte lines {"b":true}: a held row takes about as much memory as its
  // line (a value, a level and an 8-byte row end), so the hold (32 MiB of input) adds
  // at most ~2 x 32 MiB to the two passes' peak; lines of {} only (before the first key)
  // are held as a count.
  TempDir d;
  std::string block;
  for (int i = 0; i < 100000; ++i) block += "{\"b\":true}\n";
  std::string nulls;
  for (int i = 0; i < 100000; ++i) nulls += "{}\n";
  {
    std::ofstream f(d / "narrow.ndjson", std::ios::binary);
    for (int k = 0; k < 61; ++k) f.write(block.data(), static_cast<std::streamsize>(block.size()));
    std::ofstream g(d / "empty.ndjson", std::ios::binary);
    for (int k = 0; k < 200; ++k) g.write(nulls.data(), static_cast<std::streamsize>(nulls.size()));
    g << "{\"a\":1}\n";
    REQUIRE((f.good() && g.good()));
  }
  constexpr std::uint64_t kMiB = 1 << 20;
  for (const char* name : {"narrow", "empty"}) {
    const std::string in = (d / (std::string(name) + ".ndjson")).string(), out = (d / "out.parquet").string();
    const Peak two = run_measured({"convert", in, "-o", out, "-j", "2"}, {"INGOT_SPECULATE=0"});
    const Peak one = run_measured({"convert", in, "-o", out, "-j", "2"});
    INFO(name << ": two passes " << two.rss / kMiB << " MiB, one walk " << one.rss / kMiB << " MiB");
    REQUIRE(two.code == 0);
    REQUIRE(one.code == 0);
    CHECK(one.rss < two.rss + (std::string_view(name) == "empty" ? 8 : 64) * kMiB);
  }
}

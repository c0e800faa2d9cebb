// Speculative columns (convert_ndjson.cpp): NDJSON -> CSV/TSV without --fields takes the
// first chunk's keys as the columns and starts over only when a later chunk has a valid
// line with another key. The output, rejects and counts must be byte for byte those of
// the two-pass run (INGOT_SPECULATE=0) for every input, -j and chunk size; the --json
// report's stats.column_union says which way the columns were found, so the restart
// tests cannot pass without a restart.
#include <algorithm>
#include <functional>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

// n lines {"id":i,"name":"n<i>","geo":{"lat":i}} (the shape most lines repeat).
std::string plain_lines(int from, int n) {
  std::string s;
  for (int i = from; i < from + n; ++i) {
    s += "{\"id\":" + std::to_string(i) + ",\"name\":\"n, " + std::to_string(i) +
         "\",\"geo\":{\"lat\":" + std::to_string(i % 90) + "}}\n";
  }
  return s;
}

struct Input {
  const char* name;
  std::string text;
  // stats.column_union of a default run at tiny chunks, with and without flattening
  // ("restarted": either way a chunk had another key).
  const char* flat_union;
  const char* noflat_union;
};

std::vector<Input> inputs() {
  return {
      {"no key after the first chunk", plain_lines(0, 300), "first-chunk", "first-chunk"},
      {"a key first in the last line", plain_lines(0, 300) + "{\"id\":9,\"late\":\"x\"}", "restarted", "restarted"},
      {"a key first in a middle chunk",
       plain_lines(0, 150) + "{\"id\":8,\"mid\":true,\"geo\":{\"lat\":1}}\n" + plain_lines(150, 150) +
           "{\"later\":1,\"mid\":false}\n" + plain_lines(300, 50),
       "restarted", "restarted"},
      {"a new key only in rejected lines",
       plain_lines(0, 150) + "{\"id\":1,\"bad\":1\n{\"bad2\":tru}\n[1]\n{\"bad3\":1} x\n" + plain_lines(150, 150),
       "first-chunk", "first-chunk"},
      {"a known key turns into an object",
       plain_lines(0, 150) + "{\"id\":7,\"name\":{\"first\":\"A\",\"last\":\"B\"}}\n" + plain_lines(150, 100),
       "restarted", "first-chunk"},
      {"nested new keys",
       plain_lines(0, 150) + "{\"id\":7,\"geo\":{\"lat\":1,\"lon\":2,\"deep\":{\"x\":[1,{\"y\":2}],\"z\":{}}}}\n" +
           plain_lines(150, 100),
       "restarted", "first-chunk"},
      {"an empty object under a new key adds no column when flattened",
       plain_lines(0, 150) + "{\"id\":7,\"e\":{},\"f\":{\"g\":{}}}\n" + plain_lines(150, 100), "first-chunk",
       "restarted"},
      {"the first chunk has only broken lines",
       std::string(40, '\n') + "{\"id\":1,\n{\"x\":}\nnope\n{\"id\":2} {}\n" + plain_lines(0, 200), "restarted",
       "restarted"},
      {"blank lines, CRLF and a BOM", "\xEF\xBB\xBF\n  \r\n" + plain_lines(0, 100) + "\r\n\t\n{\"new\":1}\r\n\n",
       "restarted", "restarted"},
  };
}

// The files in dir but the test's input: a run must leave only its outputs.
std::vector<std::string> names(const TempDir& dir) { return files_left(dir, {"in.ndjson"}); }

struct Outcome {
  RunResult run;
  std::string output;
  std::string rejects;
  nlohmann::json stats;  // without seconds, mb_per_s and how the columns were found
  std::string column_union;
};

Outcome convert(const TempDir& dir, const std::string& env, const std::string& args, const std::string& out) {
  Outcome o;
  o.run = run_sh(dir, env + " \"$INGOT\" convert in.ndjson -o " + out + " --rejects r.rej --json -q " + args);
  INFO(env << " " << args << ": " << o.run.err);
  if (o.run.code == 0) {
    auto j = nlohmann::json::parse(o.run.out, nullptr, false);
    REQUIRE(!j.is_discarded());
    o.stats = j["result"]["stats"];
    o.column_union = o.stats.value("column_union", "");
    for (const char* k : {"seconds", "mb_per_s", "column_union", "restart_offset"}) o.stats.erase(k);
  }
  o.output = read_file(dir / out);
  o.rejects = read_file(dir / "r.rej");
  const std::vector<std::string> expect = {out, "r.rej"};
  if (o.run.code == 0) CHECK(names(dir) == expect);  // no temporary left behind
  fs::remove(dir / out);
  fs::remove(dir / "r.rej");
  return o;
}

}  // namespace

TEST_CASE("convert speculate: columns from the first chunk give the two-pass output for every input",
          "[cli][convert][speculate]") {
  TempDir dir;
  for (const Input& in : inputs()) {
    write_file(dir / "in.ndjson", in.text);
    for (const char* flatten : {"", "--no-flatten "}) {
      for (const char* out : {"out.csv", "out.tsv", "out.csv.zst"}) {
        for (const char* how : {"-j1", "-j2 --chunk-size 64", "-j3 --chunk-size 300", "-j2 --chunk-size 1"}) {
          if (std::string_view(out) == "out.csv.zst" && std::string_view(how) == "-j3 --chunk-size 300") continue;
          const std::string args = std::string(flatten) + how;
          INFO(in.name << ": " << out << " " << args);
          Outcome two = convert(dir, "INGOT_SPECULATE=0", args, out);
          Outcome one = convert(dir, "", args, out);
          REQUIRE(two.run.code == one.run.code);
          CHECK(two.run.err == one.run.err);
          CHECK(two.output == one.output);
          CHECK(two.rejects == one.rejects);
          CHECK(two.stats == one.stats);
          CHECK(two.column_union == "pre-pass");
          // The default chunk holds the whole input: one pass, no restart.
          if (std::string_view(how) == "-j1") CHECK(one.column_union == "first-chunk");
          if (std::string_view(how) == "-j2 --chunk-size 64") {
            // A restart at the second chunk finds the first one still held: extended.
            const std::string want = *flatten ? in.noflat_union : in.flat_union;
            if (want == "restarted") {
              CHECK((one.column_union == "restarted" || one.column_union == "extended"));
            } else {
              CHECK(one.column_union == want);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("convert speculate: held rows get the new columns, exactly, or the output starts over",
          "[cli][convert][speculate]") {
  TempDir dir;
  // One line per chunk; the first chunks' rows are held up to 2 chunk sizes (32 bytes,
  // about two rows): new keys in the second and third lines are added to the held rows
  // (and the conversion goes on speculating), one in the 41st restarts the run, and so
  // does one past the held rows after keys were added to them.
  auto base = [](int from, int n) {
    std::string t;
    for (int i = from; i < from + n; ++i)
      t += "{\"abcdefgh\":" + std::to_string(i) + ",\"b\":\"x,y\",\"c\":null,\"d\":[1]}\n";
    return t;
  };
  const std::pair<std::string, const char*> cases[] = {
      {base(0, 2) + "{\"e\":{\"f\":1}}\n" + base(2, 10) + "{\"g\":true}\n", "restarted"},
      {base(0, 40) + "{\"g\":true}\n", "restarted"},
      // A held row whose "e" was {} holds no key, but its cell is "{}" once "e" is a
      // column: the held rows cannot just be given empty cells.
      {base(0, 1) + "{\"e\":{}}\n" + base(1, 1) + "{\"e\":\"x\"}\n" + base(2, 5), "restarted"}};
  for (const auto& [text, way] : cases) {
    INFO(way);
    write_file(dir / "in.ndjson", text);
    auto two = run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o expect.tsv -q");
    REQUIRE(two.code == 0);
    const std::string expect = read_file(dir / "expect.tsv");
    CHECK(expect.find("\n1\tx,y\t\t[1]\t") != std::string::npos);
    auto r = run_ingot(dir, "convert in.ndjson -o out.tsv --json -q --chunk-size 16");
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto rep = report(r);
    CHECK(rep["stats"]["column_union"] == way);
    CHECK(rep["stats"]["records"]["valid"] == std::count(text.begin(), text.end(), '\n'));
    CHECK(read_file(dir / "out.tsv") == expect);
  }
  const std::string last = read_file(dir / "expect.tsv");
  CHECK(last.substr(0, last.find('\n')) == "abcdefgh\tb\tc\td\te");
  CHECK(last.find("\n\t\t\t\t{}\n") != std::string::npos);
  // No column in the held rows: a row of n columns has n - 1 delimiters.
  write_file(dir / "in.ndjson", "{}\n{\"a\":1,\"b\":2}\n");
  auto r = run_ingot(dir, "convert in.ndjson -o out.csv --json -q --chunk-size 8");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["column_union"] == "extended");
  CHECK(report(r)["stats"]["restart_offset"] == 3);
  CHECK(read_file(dir / "out.csv") == "a,b\n,\n1,2\n");

  // Two chunks in a row each add a key while the rows before them are held (64-byte
  // chunks: lines of 42, 40 and 50 bytes are chunks 1, 2 and 3 + 4): the held rows get
  // the columns of each in turn, and no pre-pass runs.
  std::string two_keys = base(0, 1) + "{\"e\":{\"f\":\"" + std::string(25, 'a') + "\"}}\n{\"h\":\"" +
                         std::string(41, 'b') + "\"}\n" + base(1, 10);
  write_file(dir / "in.ndjson", two_keys);
  REQUIRE(run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o expect.csv -q").code == 0);
  auto twice = run_ingot(dir, "convert in.ndjson -o out.csv --json -q --chunk-size 64");
  REQUIRE(twice.code == 0);
  CHECK(report(twice)["stats"]["column_union"] == "extended");
  CHECK(report(twice)["stats"]["restart_offset"] == 42);
  CHECK(read_file(dir / "out.csv") == read_file(dir / "expect.csv"));
  CHECK(read_file(dir / "out.csv").starts_with("abcdefgh,b,c,d,e.f,h\n0,\"x,y\",,[1],,\n,,,," + std::string(25, 'a')));

  // Held rows that would outgrow the hold limit (2 chunk sizes) once given the new
  // columns are written as they are padded, and holding stops: 400 rows of 2 bytes
  // (chunk 1) get 150 empty cells each; a key after that restarts the run.
  std::string wide = "{\"a\":1";
  for (int i = 0; i < 150; ++i) wide += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  wide += "}\n";
  std::string many;
  for (int i = 0; i < 400; ++i) many += "{\"a\":1}\n";
  for (const auto& [text, way] : {std::pair<std::string, const char*>{many + wide + many, "extended"},
                                  {many + wide + many + "{\"z\":1}\n", "restarted"}}) {
    INFO(way);
    write_file(dir / "in.ndjson", text);
    REQUIRE(run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o expect.csv -q").code == 0);
    auto padded = run_ingot(dir, "convert in.ndjson -o out.csv --json -q --chunk-size 4K");
    REQUIRE(padded.code == 0);
    CHECK(report(padded)["stats"]["column_union"] == way);
    CHECK(report(padded)["stats"]["restart_offset"] == 3200);
    CHECK(read_file(dir / "out.csv") == read_file(dir / "expect.csv"));
  }
}

TEST_CASE("convert speculate: an empty or all-blank input writes nothing either way", "[cli][convert][speculate]") {
  TempDir dir;
  for (const char* text : {"", "\n\n \r\n"}) {
    write_file(dir / "in.ndjson", text);
    Outcome two = convert(dir, "INGOT_SPECULATE=0", "--chunk-size 1", "out.csv");
    Outcome one = convert(dir, "", "--chunk-size 1", "out.csv");
    REQUIRE(one.run.code == 0);
    REQUIRE(two.run.code == 0);
    CHECK(one.output.empty());
    CHECK(two.output.empty());
    CHECK(one.stats == two.stats);
  }
}

TEST_CASE("convert speculate: --on-error fail, --max-errors and no valid record fail alike",
          "[cli][convert][speculate]") {
  TempDir dir;
  // The broken line is after the chunk with the new key: the restarted run fails there.
  write_file(dir / "in.ndjson", plain_lines(0, 50) + "{\"new\":1}\n" + plain_lines(50, 50) + "{oops\n");
  for (const char* args : {"--on-error fail --chunk-size 64", "--max-errors 0 --chunk-size 64 -j2"}) {
    INFO(args);
    auto two = run_sh(dir, std::string("INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o out.csv ") + args);
    auto one = run_sh(dir, std::string("\"$INGOT\" convert in.ndjson -o out.csv ") + args);
    CHECK(two.code == 1);
    CHECK(one.code == two.code);
    CHECK(one.err == two.err);
    CHECK_FALSE(fs::exists(dir / "out.csv"));
    CHECK(names(dir).empty());
  }
  write_file(dir / "in.ndjson", "{x\n[1]\n");
  auto two = run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o out.csv --chunk-size 1");
  auto one = run_sh(dir, "\"$INGOT\" convert in.ndjson -o out.csv --chunk-size 1");
  CHECK(one.code == 1);
  CHECK(one.err == two.err);
  CHECK(names(dir).empty());
}

TEST_CASE("convert speculate: stdout and a FIFO keep the pre-pass, --fields needs none", "[cli][convert][speculate]") {
  TempDir dir;
  write_file(dir / "in.ndjson", plain_lines(0, 20) + "{\"late\":1}\n");
  auto file = run_ingot(dir, "convert in.ndjson -o out.csv --chunk-size 64 --json");
  REQUIRE(file.code == 0);
  const std::string way = report(file)["stats"]["column_union"];
  CHECK((way == "extended" || way == "restarted"));
  // To stdout the --json report goes to stderr.
  auto out = run_ingot(dir, "convert in.ndjson --chunk-size 64 --json");
  REQUIRE(out.code == 0);
  CHECK(out.out == read_file(dir / "out.csv"));
  CHECK(out.err.find("\"column_union\":\"pre-pass\"") != std::string::npos);
  auto fields = run_ingot(dir, "convert in.ndjson -o f.csv --fields id,late --json");
  REQUIRE(fields.code == 0);
  CHECK_FALSE(report(fields)["stats"].contains("column_union"));
  // A rejects file on stdout cannot be rewound either.
  auto rej = run_ingot(dir, "convert in.ndjson -o r.csv --rejects - --chunk-size 64 -q");
  REQUIRE(rej.code == 0);
  CHECK(read_file(dir / "r.csv") == read_file(dir / "out.csv"));
}

TEST_CASE("convert speculate: a restart to s3:// sends one object, the same bytes", "[cli][convert][speculate][s3]") {
  S3Env s3;
  TempDir dir;
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
  std::string text = plain_lines(0, 450000);  // ~10 MB of CSV: a part (8 MiB) sent before the restart
  text += "{\"id\":1,\"late\":{\"x\":1}}\n";
  write_file(dir / "in.ndjson", text);
  auto local = run_sh(dir, "INGOT_SPECULATE=0 \"$INGOT\" convert in.ndjson -o expect.csv -q");
  REQUIRE(local.code == 0);
  auto r = run_ingot(dir, "convert in.ndjson -o " + s3.url("out.csv") + " --json --chunk-size 1M -j2");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto rep = report(r);
  CHECK(rep["stats"]["column_union"] == "restarted");
  const std::string expect = read_file(dir / "expect.csv");
  // Parts of the first conversion were sent, then dropped with their upload.
  CHECK(expect.size() > (9u << 20));
  CHECK(rep["network"]["bytes_out"].get<std::uint64_t>() >= expect.size() + (8u << 20));
  CHECK(s3.get("out.csv", 4u << 20) == expect);
  CHECK(s3.uploads("out.csv").empty());
}

TEST_CASE("convert speculate: random lines give the two-pass output, whichever way the columns are found",
          "[cli][convert][speculate]") {
  // Lines of a few keys (dotted, escaped, empty) with nested, empty and repeated
  // objects, arrays, broken and blank lines: every way a later line can add a column,
  // or look like it does.
  const char* keys[] = {"a", "b", "c", "a.b", "x y", "q\\\"t", ""};
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    switch (depth < 3 ? pick(8) : 3 + pick(5)) {
      case 0:
      case 1: {
        std::string o = "{";
        for (int i = pick(3); i > 0; --i)
          o += std::string(o.size() > 1 ? "," : "") + "\"" + keys[pick(7)] + "\":" + value(depth + 1);
        return o + "}";
      }
      case 2: return "[" + value(depth + 1) + "]";
      case 3: return "null";
      case 4: return "true";
      case 5: return "\"x,y\"";
      case 6: return "\"a\\nb\"";
      default: return std::to_string(pick(100));
    }
  };
  TempDir dir;
  std::map<std::string, int> ways;
  for (int round = 0; round < 24; ++round) {
    std::string text;
    for (int n = pick(40); n > 0; --n) {
      const int kind = pick(20);
      if (kind < 10) {
        text += "{\"id\":" + std::to_string(n) + ",\"a\":{\"b\":2}}\n";
      } else if (kind == 10) {
        text += "{\"a\":\n";  // broken
      } else if (kind == 11) {
        text += "\n";
      } else {
        std::string o = "{";
        for (int i = pick(4); i > 0; --i)
          o += std::string(o.size() > 1 ? "," : "") + "\"" + keys[pick(7)] + "\":" + value(1);
        text += o + "}\n";
      }
    }
    write_file(dir / "in.ndjson", text);
    for (const char* args : {"--chunk-size 1", "--chunk-size 60 -j2", "--no-flatten --chunk-size 30"}) {
      INFO(text << args);
      Outcome two = convert(dir, "INGOT_SPECULATE=0", args, "out.csv");
      Outcome one = convert(dir, "", args, "out.csv");
      REQUIRE(two.run.code == one.run.code);
      CHECK(two.run.err == one.run.err);
      CHECK(two.output == one.output);
      CHECK(two.rejects == one.rejects);
      CHECK(two.stats == one.stats);
      ++ways[one.column_union];
    }
  }
  // All three ways were taken (the seed is fixed, so this does not vary).
  CHECK(ways["first-chunk"] > 0);
  CHECK(ways["extended"] > 0);
  CHECK(ways["restarted"] > 0);
}

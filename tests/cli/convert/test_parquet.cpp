// Parquet output read back by two independent readers, DuckDB and Polars (pinned npm
// packages, installed by scripts/install-test-readers.sh; without them these tests
// fail, they never skip): every type, nulls, empty strings, unicode, quotes and newlines
// in strings, 0 and 1 rows, many row groups with statistics, a column null in a whole
// row group, a key first seen on the last line, CSV sources, --schema/--schema-out,
// --max-file-size, dates and timestamps, each codec, byte-identical files for any -j
// and chunk size, and peak memory bounded by the row-group size, not the input.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>

#include "cli/peak_rss.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

const char* const kReaders[] = {"duckdb", "polars"};

// The reader's view of FILE (read_parquet.mjs): {"columns": [[name, type]], "rows": [[...]]}.
json read_back(const TempDir& d, const std::string& tool, const std::string& file) {
  const std::string script = std::string(INGOT_SOURCE_DIR) + "/tests/cli/convert/read_parquet.mjs";
  auto r = run_sh(d, "node " + shell_quote(script) + " " + tool + " " + shell_quote(file));
  INFO("reading " << file << " with " << tool << " failed (are the readers installed? run "
                  << "scripts/install-test-readers.sh): " << r.err);
  REQUIRE(r.code == 0);
  json j = json::parse(r.out, nullptr, false);
  REQUIRE(!j.is_discarded());
  return j;
}

// Both readers see exactly these columns (name, type) and rows.
void check_file(const TempDir& d, const std::string& file, const json& columns, const json& rows) {
  for (const char* tool : kReaders) {
    json got = read_back(d, tool, file);
    INFO(tool << " reading " << file);
    CHECK(got["columns"] == columns);
    REQUIRE(got["rows"].size() == rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      INFO("row " << i);
      CHECK(got["rows"][i] == rows[i]);
    }
  }
}

std::string parquet_name(int i) {
  char name[32];
  std::snprintf(name, sizeof name, "out-%05d.parquet", i);
  return name;
}

json convert_ok(const TempDir& d, const std::string& args) {
  auto r = run_ingot(d, "convert " + args + " --json");
  INFO(r.err);
  REQUIRE(r.code == 0);
  return report(r);
}

}  // namespace

TEST_CASE("cli parquet: NDJSON types, nulls, strings and a key on the last line read back by DuckDB and Polars",
          "[cli][parquet]") {
  TempDir d;
  write_file(d / "in.ndjson",
             "{\"id\":1,\"name\":\"alice\",\"score\":1.5,\"ok\":true,\"tags\":[1,2],\"addr\":{\"city\":\"Paris\","
             "\"zip\":\"75001\"},\"n\":1}\n"
             "{\"id\":2,\"name\":\"bob \\\"q\\\"\\nnl, \\t "
             "tab\",\"score\":2,\"ok\":false,\"addr\":{\"city\":\"Z\\u00fcrich\"},\"n\":1.0}\n"
             "\n"
             "{\"id\":3,\"name\":\"\",\"score\":null,\"ok\":null,\"mixed\":1,\"n\":-0.5e1}\n"
             "not json\n"
             "{\"id\":-9223372036854775808,\"name\":\"日本 "
             "🎉\",\"mixed\":\"x\",\"big\":18446744073709551616,\"n\":9223372036854775807}\n"
             "{\"id\":9223372036854775807,\"mixed\":true,\"big\":1,\"last\":\"only here\"}\n");
  json rep = convert_ok(d, "in.ndjson -o out.parquet --schema-out schema.json");
  CHECK(rep["to"] == "parquet");
  CHECK(rep["stats"]["records"]["valid"] == 5);
  CHECK(rep["stats"]["records"]["invalid"] == 1);
  const json columns = json::parse(R"([["id","INT64"],["name","STRING"],["score","DOUBLE"],["ok","BOOLEAN"],
    ["tags","STRING"],["addr.city","STRING"],["addr.zip","STRING"],["n","DOUBLE"],["mixed","STRING"],
    ["big","DOUBLE"],["last","STRING"]])");
  const json rows = json::parse(R"([
    ["1","alice",1.5,true,"[1,2]","Paris","75001",1.0,null,null,null],
    ["2","bob \"q\"\nnl, \t tab",2.0,false,null,"Zürich",null,1.0,null,null,null],
    ["3","",null,null,null,null,null,-5.0,"1",null,null],
    ["-9223372036854775808","日本 🎉",null,null,null,null,null,9223372036854775807.0,"x",18446744073709551616.0,null],
    ["9223372036854775807",null,null,null,null,null,null,null,"true",1.0,"only here"]])");
  check_file(d, "out.parquet", columns, rows);
  // --schema-out: each column's type and the line that widened it last.
  const json schema = json::parse(read_file(d / "schema.json"));
  REQUIRE(schema.size() == columns.size());
  const json want_lines = json::parse(R"({"id":1,"name":1,"score":1,"ok":1,"tags":1,"addr.city":1,"addr.zip":1,
    "n":2,"mixed":6,"big":6,"last":7})");
  for (std::size_t i = 0; i < schema.size(); ++i) {
    CHECK(schema[i]["name"] == columns[i][0]);
    CHECK(schema[i]["type"] == columns[i][1]);
    CHECK(schema[i]["line"] == want_lines[schema[i]["name"].get<std::string>()]);
  }
}

TEST_CASE("cli parquet: CSV and TSV sources typed from their text, empty field null, quoted empty field empty",
          "[cli][parquet]") {
  TempDir d;
  write_file(d / "in.csv",
             "a,b,c,d,e\n"
             "1,x,true,1.5,007\n"
             ",\"\",false,2,\"two\nlines, \"\"q\"\"\"\n"
             "-3,,,1e2,\n");
  convert_ok(d, "in.csv -o out.parquet");
  const json columns = json::parse(R"([["a","INT64"],["b","STRING"],["c","BOOLEAN"],["d","DOUBLE"],["e","STRING"]])");
  check_file(
      d, "out.parquet", columns,
      json::parse(R"([["1","x",true,1.5,"007"],[null,"",false,2.0,"two\nlines, \"q\""],["-3",null,null,100.0,null]])"));
  write_file(d / "in.tsv", "k\tv\nα\t1\nβ\t2\n");
  convert_ok(d, "in.tsv -o t.parquet --compression none");
  check_file(d, "t.parquet", json::parse(R"([["k","STRING"],["v","INT64"]])"), json::parse(R"([["α","1"],["β","2"]])"));
  // --types string: every value a string.
  convert_ok(d, "in.csv -o s.parquet --types string");
  check_file(
      d, "s.parquet", json::parse(R"([["a","STRING"],["b","STRING"],["c","STRING"],["d","STRING"],["e","STRING"]])"),
      json::parse(
          R"([["1","x","true","1.5","007"],[null,"","false","2","two\nlines, \"q\""],["-3",null,null,"1e2",null]])"));
}

TEST_CASE("cli parquet: 0 rows and 1 row", "[cli][parquet]") {
  TempDir d;
  write_file(d / "empty.csv", "a,b\n");
  json rep = convert_ok(d, "empty.csv -o empty.parquet");
  CHECK(rep["stats"]["records"]["valid"] == 0);
  check_file(d, "empty.parquet", json::parse(R"([["a","STRING"],["b","STRING"]])"), json::array());
  write_file(d / "one.ndjson", "{\"x\":42,\"y\":\"é\"}\n");
  convert_ok(d, "one.ndjson -o one.parquet");
  check_file(d, "one.parquet", json::parse(R"([["x","INT64"],["y","STRING"]])"), json::parse(R"([["42","é"]])"));
  // No column at all is an error, not an unreadable file.
  write_file(d / "none.ndjson", "{}\n{}\n");
  auto r = run_ingot(d, "convert none.ndjson -o none.parquet");
  CHECK(r.code == 1);
  CHECK(r.err.find("no columns") != std::string::npos);
  CHECK(!fs::exists(d / "none.parquet"));
}

// The one-walk pre-pass (ndjson_leaf_scan.cpp) must give each column the values the
// NDJSON converter gives its cells: a key twice in a record holds its last non-null
// value, a dotted key and a nested one meet in one column, and an object without leaves
// at a path that is a column but prefixes none is that column's JSON text (the case the
// scan hands back to the converter's cells). The CSV conversion of the same file is the
// oracle for the cell texts.
TEST_CASE("cli parquet: repeated keys, dotted paths and leafless objects hold the converter's cell values",
          "[cli][parquet]") {
  TempDir d;
  // No leafless object at a column: the scan's own path.
  write_file(d / "dup.ndjson",
             "{\"dup\":1,\"dup\":\"x\",\"e\":{},\"nl\":null}\n"
             "{\"dup\":null,\"dup\":2.5,\"nl\":3,\"nl\":null,\"e\":{\"f\":{}}}\n"
             "{\"dup\":[1]]}\n"
             "{\"a.b\":1,\"a\":{\"b\":\"y\"}}\n");
  convert_ok(d, "dup.ndjson -o dup.parquet --schema-out dup.json");
  check_file(d, "dup.parquet", json::parse(R"([["dup","STRING"],["nl","INT64"],["a.b","STRING"]])"),
             json::parse(R"([["x",null,null],["2.5","3",null],[null,null,"y"]])"));
  const json dup = json::parse(read_file(d / "dup.json"));
  CHECK(dup == json::parse(R"([{"name":"dup","type":"STRING","line":1},{"name":"nl","type":"INT64","line":2},
    {"name":"a.b","type":"STRING","line":4}])"));
  convert_ok(d, "dup.ndjson -o dup.csv");
  CHECK(read_file(d / "dup.csv") == "dup,nl,a.b\nx,,\n2.5,3,\n,,y\n");

  // {} at p, a column that prefixes none: its cell is the text "{}"; {"r":{}} at q too.
  write_file(d / "leafless.ndjson",
             "{\"p\":1,\"q\":{\"r\":{}}}\n"
             "{\"p\":{},\"s\":{}}\n"
             "{\"q\":2,\"s\":{\"t\":true}}\n");
  convert_ok(d, "leafless.ndjson -o leafless.parquet --schema-out leafless.json");
  check_file(d, "leafless.parquet", json::parse(R"([["p","STRING"],["q","STRING"],["s.t","BOOLEAN"]])"),
             json::parse(R"([["1","{\"r\":{}}",null],["{}",null,null],[null,"2",true]])"));
  CHECK(json::parse(read_file(d / "leafless.json")) ==
        json::parse(R"([{"name":"p","type":"STRING","line":2},{"name":"q","type":"STRING","line":1},
    {"name":"s.t","type":"BOOLEAN","line":3}])"));
  convert_ok(d, "leafless.ndjson -o leafless.csv");
  CHECK(read_file(d / "leafless.csv") == "p,q,s.t\n1,\"{\"\"r\"\":{}}\",\n{},,\n,2,true\n");

  // Many lines of one shape holding {} (the line-shape path), then a line that makes
  // its path a column: every one of those {} is that column's text.
  std::string many;
  json many_rows = json::array(), many2_rows = json::array();
  for (int i = 0; i < 60; ++i) {
    many += "{\"a\":" + std::to_string(i) + ",\"e\":{},\"g\":{\"h\":{}}}\n";
    many_rows.push_back(json::array({std::to_string(i), "{}"}));
    many2_rows.push_back(json::array({std::to_string(i)}));
  }
  write_file(d / "many2.ndjson", many);  // e is no column: its {} are nothing
  many += "{\"e\":1}\n";
  many_rows.push_back(json::array({nullptr, "1"}));
  write_file(d / "many.ndjson", many);
  convert_ok(d, "many.ndjson -o many.parquet -j2 --chunk-size 100");
  check_file(d, "many.parquet", json::parse(R"([["a","INT64"],["e","STRING"]])"), many_rows);
  convert_ok(d, "many2.ndjson -o many2.parquet -j2 --chunk-size 100");
  check_file(d, "many2.parquet", json::parse(R"([["a","INT64"]])"), many2_rows);

  for (const char* name : {"dup", "leafless", "many", "many2"}) {
    const std::string want = read_file(d / (std::string(name) + ".parquet"));
    for (const char* opts : {"-j1 --chunk-size 16", "-j2 --chunk-size 16", "-j3 --chunk-size 40"}) {
      convert_ok(d, std::string(name) + ".ndjson -o again.parquet " + opts);
      INFO(name << " " << opts);
      CHECK(read_file(d / "again.parquet") == want);
    }
  }
}

TEST_CASE("cli parquet: many row groups, their statistics, a column null in whole groups, any -j and chunk size",
          "[cli][parquet]") {
  TempDir d;
  const int n = 3000;
  std::string src;
  json rows = json::array();
  for (int i = 0; i < n; ++i) {
    char dtext[32];
    std::snprintf(dtext, sizeof dtext, "%d.%02d", i / 4, (i % 4) * 25);
    const std::string s = "s" + std::to_string(i % 37) + (i % 5 ? "" : " ü\\\"");
    const bool sparse = i < 10 || i == n - 1;
    src += "{\"i\":" + std::to_string(i) + ",\"d\":" + dtext + ",\"s\":\"" + s +
           "\",\"b\":" + (i % 3 ? "false" : "true") +
           (sparse ? ",\"sparse\":\"x" + std::to_string(i) + "\"" : std::string()) + "}\n";
    rows.push_back(json::array({std::to_string(i), i / 4.0, "s" + std::to_string(i % 37) + (i % 5 ? "" : " ü\""),
                                i % 3 == 0, sparse ? json("x" + std::to_string(i)) : json()}));
  }
  write_file(d / "in.ndjson", src);
  convert_ok(d, "in.ndjson -o out.parquet --row-group-size 4K -j2");
  check_file(d, "out.parquet",
             json::parse(R"([["i","INT64"],["d","DOUBLE"],["s","STRING"],["b","BOOLEAN"],["sparse","STRING"]])"), rows);

  // Row groups and statistics as DuckDB reads them from the footer.
  json meta = read_back(d, "meta", "out.parquet")["chunks"];
  std::size_t groups = 0, start = 0, all_null_groups = 0;
  for (std::size_t k = 0; k < meta.size(); k += 5) {
    ++groups;
    const json& id = meta[k];
    REQUIRE(id["path_in_schema"] == "i");
    const std::size_t count = std::stoul(id["num_values"].get<std::string>());
    CHECK(id["stats_min_value"] == std::to_string(start));
    CHECK(id["stats_max_value"] == std::to_string(start + count - 1));
    CHECK(id["stats_null_count"] == "0");
    CHECK(id["compression"] == "ZSTD");
    const json& sp = meta[k + 4];
    REQUIRE(sp["path_in_schema"] == "sparse");
    std::size_t nulls = 0;
    for (std::size_t r = start; r < start + count; ++r) nulls += rows[r][4].is_null();
    CHECK(sp["stats_null_count"] == std::to_string(nulls));
    if (nulls == count) {
      ++all_null_groups;
      CHECK(sp["stats_min_value"].is_null());
    }
    start += count;
  }
  CHECK(start == static_cast<std::size_t>(n));
  CHECK(groups > 10);
  CHECK(all_null_groups > 5);

  // The same bytes for any thread count and chunk size.
  const std::string want = read_file(d / "out.parquet");
  for (const char* opts : {"-j1", "-j1 --chunk-size 1K", "-j2 --chunk-size 1K", "-j2 --chunk-size 64M"}) {
    convert_ok(d, std::string("in.ndjson -o again.parquet --row-group-size 4K ") + opts);
    INFO(opts);
    CHECK(read_file(d / "again.parquet") == want);
  }
  // And one row group by default.
  convert_ok(d, "in.ndjson -o one.parquet");
  CHECK(read_back(d, "meta", "one.parquet")["chunks"].size() == 5);
}

TEST_CASE("cli parquet: --schema fixes types, a value that does not fit is a rejected record with its line",
          "[cli][parquet]") {
  TempDir d;
  write_file(d / "in.ndjson", "{\"a\":1,\"b\":\"x\"}\n{\"a\":2.5,\"b\":\"y\"}\n{\"a\":3,\"b\":4}\n{\"b\":\"z\"}\n");
  write_file(d / "schema.json", R"([{"name":"a","type":"INT64"},{"name":"b","type":"STRING"}])");
  auto r = run_ingot(d, "convert in.ndjson -o out.parquet --schema schema.json --rejects rej.ndjson --json");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"]["invalid"] == 1);
  check_file(d, "out.parquet", json::parse(R"([["a","INT64"],["b","STRING"]])"),
             json::parse(R"([["1","x"],["3","4"],[null,"z"]])"));
  auto rej = lines_of(read_file(d / "rej.ndjson"));
  REQUIRE(rej.size() == 1);
  json j = json::parse(rej[0]);
  CHECK(j["line"] == 2);
  CHECK(j["reason"].get<std::string>().find("column 'a' is INT64") != std::string::npos);

  // The found schema fed back gives the same file.
  convert_ok(d, "in.ndjson -o found.parquet --schema-out found.json");
  convert_ok(d, "in.ndjson -o again.parquet --schema found.json");
  CHECK(read_file(d / "again.parquet") == read_file(d / "found.parquet"));
  // A schema also lets a stream be converted (no pre-pass needed).
  r = run_sh(d, "cat in.ndjson | $INGOT convert - --from ndjson --to parquet --schema found.json -o s.parquet -q");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(read_file(d / "s.parquet") == read_file(d / "found.parquet"));
}

TEST_CASE("cli parquet: refusals", "[cli][parquet]") {
  TempDir d;
  write_file(d / "in.ndjson", "{\"a\":1}\n");
  auto r = run_ingot(d, "convert in.ndjson -o out.parquet --compress zst");
  CHECK(r.code == 2);
  r = run_sh(d, "cat in.ndjson | $INGOT convert - --from ndjson --to parquet -o out.parquet");
  CHECK(r.code == 2);
  CHECK(r.err.find("--schema") != std::string::npos);
  write_file(d / "in.csv", "a\n1\n");
  r = run_sh(d, "cat in.csv | $INGOT convert - --from csv --to parquet -o out.parquet");
  CHECK(r.code == 2);
  r = run_ingot(d, "convert in.ndjson -o out.parquet --part 1/2");
  CHECK(r.code == 2);
  CHECK(!fs::exists(d / "out.parquet"));
}

TEST_CASE("cli parquet: --max-file-size rolls into numbered files that together hold every row, for any -j",
          "[cli][parquet]") {
  TempDir d;
  std::string src;
  json rows = json::array();
  for (int i = 0; i < 2000; ++i) {
    src += "{\"k\":" + std::to_string(i) + ",\"v\":\"value " + std::to_string(i * 7919 % 1000) + "\"}\n";
    rows.push_back(json::array({std::to_string(i), "value " + std::to_string(i * 7919 % 1000)}));
  }
  write_file(d / "in.ndjson", src);
  convert_ok(d, "in.ndjson -o out.parquet --row-group-size 2K --max-file-size 3K -j2 --chunk-size 1K");
  CHECK(!fs::exists(d / "out.parquet"));
  std::vector<std::string> files;
  for (int i = 0; fs::exists(d / parquet_name(i)); ++i) files.push_back(parquet_name(i));
  REQUIRE(files.size() > 2);
  for (const char* tool : kReaders) {
    json all = json::array();
    for (std::size_t i = 0; i < files.size(); ++i) {
      json got = read_back(d, tool, files[i]);
      CHECK(got["columns"] == json::parse(R"([["k","INT64"],["v","STRING"]])"));
      CHECK(!got["rows"].empty());  // no empty trailing file
      for (auto& r : got["rows"]) all.push_back(r);
      if (i + 1 < files.size()) CHECK(fs::file_size(d / files[i]) >= 3 * 1024);
    }
    INFO(tool);
    CHECK(all == rows);
  }
  std::vector<std::string> want;
  for (auto& f : files) want.push_back(read_file(d / f));
  fs::create_directory(d / "j1");
  convert_ok(d, "in.ndjson -o j1/out.parquet --row-group-size 2K --max-file-size 3K -j1");
  for (std::size_t i = 0; i < files.size(); ++i) CHECK(read_file(d / "j1" / files[i]) == want[i]);
  CHECK(!fs::exists(d / "j1" / parquet_name(static_cast<int>(files.size()))));
}

TEST_CASE("cli parquet: ISO-8601 dates and timestamps become DATE, TIMESTAMP and TIMESTAMPTZ read back equal",
          "[cli][parquet]") {
  TempDir d;
  // Each column's source values (null: a missing key); the readers print a DATE as
  // YYYY-MM-DD and a timestamp with six fraction digits, a TIMESTAMPTZ in UTC with Z.
  write_file(
      d / "in.ndjson",
      "{\"d\":\"2024-02-29\",\"ts\":\"2023-10-08 19:50:19\",\"tz\":\"2023-10-08T19:50:19.5+02:00\","
      "\"mixed_zone\":\"2023-01-01T00:00:00\",\"date_ts\":\"2023-01-01\",\"bad\":\"2023-02-29\","
      "\"frac7\":\"2023-01-01T00:00:00.1234567\",\"num\":1}\n"
      "{\"d\":\"1969-12-31\",\"ts\":\"1969-12-31T23:59:59.999999\",\"tz\":\"2000-01-01T00:00:00Z\","
      "\"mixed_zone\":\"2023-01-01T00:00:00Z\",\"date_ts\":\"2023-01-01T00:00:00\",\"bad\":\"2023-01-01T24:00:00\","
      "\"frac7\":\"2023-01-01\",\"num\":\"2023-01-01\"}\n"
      "{\"d\":\"0001-01-01\",\"ts\":\"9999-12-31t23:59:59.1\",\"tz\":\"1970-01-01T00:00:00.000001-23:59\","
      "\"bad\":\"2023-1-01\"}\n"
      "{\"d\":\"9999-12-31\",\"ts\":null,\"tz\":\"2023-06-30T12:00:00z\",\"bad\":\" 2023-01-01\"}\n");
  json rep = convert_ok(d, "in.ndjson -o out.parquet --schema-out schema.json");
  const json columns = json::parse(R"([["d","DATE"],["ts","TIMESTAMP"],["tz","TIMESTAMPTZ"],["mixed_zone","STRING"],
    ["date_ts","STRING"],["bad","STRING"],["frac7","STRING"],["num","STRING"]])");
  const json rows = json::parse(R"([
    ["2024-02-29","2023-10-08T19:50:19.000000","2023-10-08T17:50:19.500000Z","2023-01-01T00:00:00","2023-01-01",
     "2023-02-29","2023-01-01T00:00:00.1234567","1"],
    ["1969-12-31","1969-12-31T23:59:59.999999","2000-01-01T00:00:00.000000Z","2023-01-01T00:00:00Z",
     "2023-01-01T00:00:00","2023-01-01T24:00:00","2023-01-01","2023-01-01"],
    ["0001-01-01","9999-12-31T23:59:59.100000","1970-01-01T23:59:00.000001Z",null,null,"2023-1-01",null,null],
    ["9999-12-31",null,"2023-06-30T12:00:00.000000Z",null,null," 2023-01-01",null,null]])");
  check_file(d, "out.parquet", columns, rows);
  const json schema = json::parse(read_file(d / "schema.json"));
  CHECK(schema[1]["type"] == "TIMESTAMP");
  CHECK(schema[2]["type"] == "TIMESTAMPTZ");
  CHECK(schema[3]["line"] == 2);  // the zoned value that made the naive column a string

  // CSV fields the same way (an unquoted empty field is null); --types string keeps text.
  write_file(d / "in.csv", "day,at\n2023-03-01,2023-03-01 10:00:00.25\n,\n1999-12-31,1999-12-31T23:59:59\n");
  convert_ok(d, "in.csv -o csv.parquet");
  check_file(d, "csv.parquet", json::parse(R"([["day","DATE"],["at","TIMESTAMP"]])"),
             json::parse(R"([["2023-03-01","2023-03-01T10:00:00.250000"],[null,null],
               ["1999-12-31","1999-12-31T23:59:59.000000"]])"));
  convert_ok(d, "in.csv -o text.parquet --types string");
  check_file(d, "text.parquet", json::parse(R"([["day","STRING"],["at","STRING"]])"),
             json::parse(R"([["2023-03-01","2023-03-01 10:00:00.25"],[null,null],
               ["1999-12-31","1999-12-31T23:59:59"]])"));

  // A type fixed by --schema: a value of another form is a rejected record.
  write_file(d / "fixed.json", R"([{"name":"day","type":"DATE"},{"name":"at","type":"TIMESTAMPTZ"}])");
  write_file(d / "z.csv", "day,at\n2023-03-01,2023-03-01T10:00:00Z\n2023-03-02,2023-03-02T10:00:00\n");
  auto r = run_ingot(d, "convert z.csv -o z.parquet --schema fixed.json --rejects rej.ndjson --json");
  INFO(r.err);
  REQUIRE(r.code == 0);
  check_file(d, "z.parquet", json::parse(R"([["day","DATE"],["at","TIMESTAMPTZ"]])"),
             json::parse(R"([["2023-03-01","2023-03-01T10:00:00.000000Z"]])"));
  auto rej = lines_of(read_file(d / "rej.ndjson"));
  REQUIRE(rej.size() == 1);
  CHECK(json::parse(rej[0])["line"] == 3);
  CHECK(json::parse(rej[0])["reason"].get<std::string>().find("a timestamp without offset") != std::string::npos);
}

TEST_CASE("cli parquet: --compression snappy, zstd and none read back equal, the codec in the footer",
          "[cli][parquet]") {
  TempDir d;
  std::string src;
  json rows = json::array();
  for (int i = 0; i < 5000; ++i) {
    const std::string s = "row " + std::to_string(i % 97) + std::string(static_cast<std::size_t>(i % 13), 'x');
    src += "{\"i\":" + std::to_string(i) + ",\"s\":\"" + s + "\",\"d\":" + std::to_string(i % 50) + ".5}\n";
    rows.push_back(json::array({std::to_string(i), s, i % 50 + 0.5}));
  }
  write_file(d / "in.ndjson", src);
  const json columns = json::parse(R"([["i","INT64"],["s","STRING"],["d","DOUBLE"]])");
  for (const char* codec : {"snappy", "zstd", "none"}) {
    const std::string out = std::string(codec) + ".parquet";
    convert_ok(d, "in.ndjson -o " + out + " --compression " + codec + " --row-group-size 16K");
    INFO(codec);
    check_file(d, out, columns, rows);
    const json meta = read_back(d, "meta", out)["chunks"];
    REQUIRE(meta.size() > 3);
    const std::string want = std::string(codec) == "none"     ? "UNCOMPRESSED"
                             : std::string(codec) == "snappy" ? "SNAPPY"
                                                              : "ZSTD";
    for (const json& c : meta) CHECK(c["compression"] == want);
  }
  CHECK(fs::file_size(d / "snappy.parquet") < fs::file_size(d / "none.parquet"));
}

TEST_CASE("cli parquet: peak RSS is bounded by the row-group size and the pipeline, not by the input",
          "[cli][parquet][memory]") {
#ifdef INGOT_TEST_ASAN
  WARN("AddressSanitizer build (shadow memory, quarantine): peak RSS says nothing about ingot's bound; skipped");
  return;
#endif
  // 64 MiB of NDJSON in row groups of 1 MiB: the bound is that of every conversion
  // (tests/cli/test_memory.cpp: 16 MiB + 2 x threads x 8 x chunk size) plus eight times
  // the row-group size (the group's column buffers, its encoded chunks, the encoder's
  // scratch, NDJSON's one walk holding the first group's batches), 32 MiB in all, half
  // the input. A writer that kept the groups would not fit.
  constexpr std::uint64_t kMiB = 1 << 20;
  constexpr std::uint64_t kBound = 16 * kMiB + 2 * 2 * 8 * (kMiB / 4) + 8 * kMiB;
  TempDir d;
  std::string block;
  for (int i = 0; i < 8000; ++i) {
    block += "{\"vendorid\":" + std::to_string(i % 3) + ",\"pickup\":\"2024-01-" + std::to_string(10 + i % 18) +
             " 10:" + std::to_string(10 + i % 50) + ":00\",\"distance\":" + std::to_string(i % 97) + "." +
             std::to_string(i % 89) + ",\"zone\":\"Zürich " + std::to_string(i % 263) +
             "\",\"note\":\"a, \\\"quoted\\\" text\",\"amount\":" + std::to_string(i % 500) + ".5}\n";
  }
  std::uint64_t rows = 0;
  {
    std::ofstream f(d / "big.ndjson", std::ios::binary);
    for (std::uint64_t n = 0; n < 64 * kMiB; n += block.size(), rows += 8000) f.write(block.data(), block.size());
    REQUIRE(f.good());
  }
  const std::string out = (d / "big.parquet").string(), in = (d / "big.ndjson").string();
  const Peak p = run_measured({"convert", in, "-o", out, "-j", "2", "--chunk-size", "256K", "--row-group-size", "1M"});
  const std::uint64_t rss = p.rss;
  std::fprintf(stderr, "parquet memory test: input %llu MiB, peak RSS %llu KiB, bound %llu KiB\n",
               static_cast<unsigned long long>(fs::file_size(in) / kMiB), static_cast<unsigned long long>(rss / 1024),
               static_cast<unsigned long long>(kBound / 1024));
  REQUIRE(p.code == 0);
  CHECK(rss > 0);
  CHECK(rss < kBound);
  // The run did the work: every row, in many row groups (DuckDB reads the footer).
  const json meta = read_back(d, "meta", out)["chunks"];
  INFO(meta.size() / 6 << " row groups");
  CHECK(meta.size() / 6 > 20);
  std::uint64_t counted = 0;
  for (const json& c : meta) {
    if (c["path_in_schema"] == "vendorid") counted += std::stoull(c["num_values"].get<std::string>());
  }
  CHECK(counted == rows);
}

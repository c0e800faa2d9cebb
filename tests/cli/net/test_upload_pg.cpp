// ingot upload to PostgreSQL against a real server on loopback (tests/servers.h):
// parallel workers, kill -9 midway then rerun gives the exact row count, rows the
// server refuses land in --rejects with their line numbers, NDJSON through convert.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/pg_env.h"
#include "servers.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

std::string fresh_table() {
  std::string t = "t" + std::to_string(std::random_device{}());
  psql("CREATE TABLE " + t + " (id bigint, name text, score double precision)");
  return t;
}

// rows 1..n, "name, i" quoted (a delimiter inside quotes).
std::string make_csv(int n) {
  std::string s = "id,name,score\n";
  for (int i = 1; i <= n; ++i) {
    s += std::to_string(i) + ",\"name, " + std::to_string(i) + "\"," + std::to_string(i) + ".5\n";
  }
  return s;
}

}  // namespace

TEST_CASE("upload pg: CSV over 1 and 3 workers loads every row once", "[upload][pg]") {
  TempDir dir;
  write_file(dir / "rows.csv", make_csv(5000));
  for (const char* w : {"1", "3"}) {
    std::string t = fresh_table();
    RunResult r = run_ingot(dir, "upload rows.csv " + shell_quote(servers().pg_url) + " --table public." + t +
                                     " --batch-rows 300 --json --workers " + w);
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["stats"]["records"] == 5000);
    CHECK(j["stats"]["units"] == 17);  // ceil(5000 / 300)
    CHECK(psql("SELECT count(*), count(DISTINCT id), sum(id), min(name) FROM " + t) == "5000|5000|12502500|name, 1");
    CHECK(psql("SELECT count(*), sum(records) FROM ingot_load_ledger WHERE target_table = 'public." + t + "'") ==
          "17|5000");
  }
}

TEST_CASE("upload pg: kill -9 midway, the same command again gives the exact row count", "[upload][pg][resume]") {
  TempDir dir;
  const int n = 200000;
  write_file(dir / "big.csv", make_csv(n));
  std::string t = fresh_table();
  const std::string args = "upload big.csv " + shell_quote(servers().pg_url) + " --table " + t +
                           " --batch-rows 500 --batch-bytes 8K --workers 2 --json";
  // The moment is the test's: every row after id 10,000 waits at a gate, so both
  // workers end up holding an uncommitted batch there when the kill comes. Chunks of
  // 8 KiB are batches of ~300 rows that reach the workers in source order, give or
  // take the few in flight: the 30-odd batches before the gate have committed (most
  // of them, at least one), none after it.
  Gate gate(t, "NEW.id > 10000");
  pid_t pid = spawn_ingot(dir, args);
  wait_for(gate.waiting_sql(), "2", "both workers holding a batch at the gate");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(wait_code(pid) == 128 + SIGKILL);
  // The held transactions end once their client is gone (COPY reads EOF).
  gate.open();
  wait_for(gate.waiting_sql(), "0", "the killed load's transactions to end");
  psql("DROP TRIGGER gate ON " + t);
  const int batches_before = std::stoi(psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));
  REQUIRE(batches_before >= 1);
  REQUIRE(std::stoi(psql("SELECT coalesce(max(id), 0) FROM " + t)) <= 10000);  // midway: nothing past the gate
  // Rows and ledger agree even for a killed run: they commit together.
  const std::string rows_before = psql("SELECT count(*) FROM " + t);
  CHECK(rows_before == psql("SELECT sum(records) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));

  RunResult r = run_ingot(dir, args);
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units_skipped"] == batches_before);
  CHECK(j["stats"]["records"] == n - std::stoi(rows_before));
  CHECK(psql("SELECT count(*), count(DISTINCT id), sum(id) FROM " + t) ==
        std::to_string(n) + "|" + std::to_string(n) + "|" + std::to_string(std::int64_t{n} * (n + 1) / 2));
}

TEST_CASE("upload pg: refused rows go to --rejects with line numbers, the rest load", "[upload][pg]") {
  TempDir dir;
  // A quoted field with a newline moves every later line number by one.
  std::string csv = "id,name,score\n1,\"two\nlines\",1\n2,b,2\nx3,c,3\n4,d,4\n5,e,oops\n";
  for (int i = 6; i <= 100; ++i) csv += std::to_string(i) + ",n," + std::to_string(i) + "\n";
  write_file(dir / "bad.csv", csv);
  std::string t = fresh_table();
  RunResult r = run_ingot(dir, "upload bad.csv " + shell_quote(servers().pg_url) + " --table " + t +
                                   " --batch-rows 7 --rejects rej.ndjson --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["records"] == 98);
  CHECK(j["stats"]["rejected"] == 2);
  CHECK(psql("SELECT count(*), sum(id) FROM " + t) == "98|" + std::to_string(5050 - 3 - 5));
  auto rej = lines_of(read_file(dir / "rej.ndjson"));
  REQUIRE(rej.size() == 2);
  json a = json::parse(rej[0]), b = json::parse(rej[1]);
  CHECK(a["line"] == 5);
  CHECK(a["raw"] == "x3,c,3");
  CHECK(a["reason"].get<std::string>().find("invalid input syntax for type bigint") != std::string::npos);
  CHECK(b["line"] == 7);
  CHECK(b["raw"] == "5,e,oops");

  // --on-error fail stops at the first bad batch, naming the line of its first row.
  std::string t2 = fresh_table();
  r = run_ingot(
      dir, "upload bad.csv " + shell_quote(servers().pg_url) + " --table " + t2 + " --batch-rows 7 --on-error fail");
  CHECK(r.code == 1);
  CHECK(r.err.rfind("ingot upload: error: bad.csv:5: batch 1 refused by the server: invalid input syntax", 0) == 0);

  // Not bad data but a wrong table: stops at once instead of bisecting every row away.
  psql("CREATE TABLE " + t2 + "_narrow (id bigint)");
  r = run_ingot(dir,
                "upload bad.csv " + shell_quote(servers().pg_url) + " --table " + t2 + "_narrow --rejects r2.ndjson");
  CHECK(r.code == 1);
  CHECK(r.err.find("column \"name\" of relation \"" + t2 + "_narrow\" does not exist (SQLSTATE 42703)") !=
        std::string::npos);
  CHECK(psql("SELECT count(*) FROM " + t2 + "_narrow") == "0");
}

TEST_CASE("upload pg: NDJSON source is converted by the engine, --create-table --infer-types", "[upload][pg]") {
  TempDir dir;
  std::string nd;
  for (int i = 1; i <= 1000; ++i)
    nd += "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i) + "\",\"ok\":true}\n";
  nd += "not json\n";
  // Refused by the server, not the converter: "ok" is not a boolean. Line 1003 of the
  // source (after a blank line), record 1001 of the converted CSV.
  nd += "\n{\"id\":1001,\"name\":\"late\",\"ok\":\"maybe\"}\n";
  write_file(dir / "rows.ndjson", nd);
  std::string t = "nd" + std::to_string(std::random_device{}());
  RunResult r =
      run_ingot(dir, "upload rows.ndjson " + shell_quote(servers().pg_url) + " --table " + t +
                         " --create-table --infer-types --workers 2 --batch-rows 100 --rejects rej.ndjson --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["records"] == 1000);
  CHECK(j["stats"]["rejected"] == 2);
  CHECK(psql("SELECT count(*), sum(id), count(*) FILTER (WHERE ok) FROM " + t) == "1000|500500|1000");
  CHECK(psql("SELECT string_agg(data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE "
             "table_name = '" +
             t + "'") == "bigint,text,boolean");
  auto rej = lines_of(read_file(dir / "rej.ndjson"));
  REQUIRE(rej.size() == 2);
  CHECK(json::parse(rej[0])["line"] == 1001);
  json late = json::parse(rej[1]);
  CHECK(late["line"] == 1003);
  CHECK(late["raw"] == "{\"id\":1001,\"name\":\"late\",\"ok\":\"maybe\"}");
  CHECK(late["reason"].get<std::string>().find("boolean") != std::string::npos);
}

TEST_CASE("upload pg: CSV from a pipe (--from csv) loads, but is not resumable", "[upload][pg]") {
  TempDir dir;
  std::string t = fresh_table();
  write_file(dir / "rows.csv", make_csv(1000));
  // A pipe, not a redirected file (which is seekable and so resumable).
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && cat rows.csv | " + shell_quote(INGOT_BINARY) +
                    " upload - " + shell_quote(servers().pg_url) + " --table " + t +
                    " --from csv --batch-rows 64 --workers 2 --json 2>/dev/null";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  json j = json::parse(out)["result"];
  CHECK(j["stats"]["records"] == 1000);
  CHECK(j["stats"]["units"] == 16);
  CHECK(j["note"] == "stdin: not resumable (a rerun loads everything again)");
  CHECK(psql("SELECT count(*), count(DISTINCT id) FROM " + t) == "1000|1000");
}

TEST_CASE("upload pg: --dry-run cuts the same batches without connecting", "[upload][pg]") {
  TempDir dir;
  // Line 3 holds a quoted newline: batches are cut on records, not lines.
  write_file(dir / "d.csv", "a,b\n1,x\n2,\"y\nz\"\n3,w\n4,v\n5,u\n");
  RunResult r =
      run_ingot(dir, "upload d.csv postgresql://nobody@127.0.0.1:1/none --table t --batch-rows 2 --dry-run --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  REQUIRE(j["plan"].size() == 3);
  CHECK(j["plan"][0] == json({{"number", 1}, {"offset", 4}, {"length", 12}}));  // "1,x\n2,\"y\nz\"\n"
  CHECK(j["plan"][1] == json({{"number", 2}, {"offset", 16}, {"length", 8}}));  // "3,w\n4,v\n"
  CHECK(j["plan"][2] == json({{"number", 3}, {"offset", 24}, {"length", 4}}));
  CHECK(j["stats"]["bytes_sent"] == 0);
}

namespace {

// NDJSON rows 1..n in every shape the converter handles: nested objects (flattened to
// "geo.lat"), arrays (JSON text), escapes and quotes, a comma and a newline inside a
// string, keys in another order, missing keys (NULL), CRLF line ends and blank lines.
// Every 97th row is broken JSON (the converter rejects it) and row 777 has an "ok" that
// is not a boolean (the server refuses it). `bad` gets the source lines of both kinds.
struct NdSource {
  std::string text;
  std::vector<std::uint64_t> broken;  // lines of invalid JSON
  std::uint64_t refused = 0;          // line of row 777
  std::int64_t rows = 0, id_sum = 0;  // what must load
};

NdSource make_ndjson(int n) {
  NdSource s;
  std::uint64_t line = 0;
  for (int i = 1; i <= n; ++i) {
    if (i % 50 == 0) {
      s.text += "\n";
      ++line;
    }
    ++line;
    const std::string id = std::to_string(i);
    std::string rec;
    if (i % 97 == 0) {
      rec = "{\"id\":" + id + ",\"name\":\"broken";
      s.broken.push_back(line);
    } else {
      std::string name = i % 13 == 0 ? "two\\nlines, \\\"q\\\" \\u00e9" : "n" + id;
      std::string ok = i == 777 ? "\"maybe\"" : (i % 2 ? "true" : "false");
      std::string geo = "\"geo\":{\"lat\":" + id + ".5,\"skip\":[1,{\"a\":null}]}";
      std::string tags = "\"tags\":[" + id + ",\"x,y\"]";
      if (i % 11 == 0)
        rec = "{\"id\":" + id + ",\"ok\":" + ok + "," + geo + "," + tags + "}";
      else if (i % 5 == 0)
        rec = "{" + tags + "," + geo + ",\"name\":\"" + name + "\",\"ok\":" + ok + ",\"id\":" + id + "}";
      else
        rec = "{\"id\":" + id + ",\"name\":\"" + name + "\",\"ok\":" + ok + "," + geo + "," + tags + "}";
      if (i == 777) {
        s.refused = line;
      } else {
        ++s.rows;
        s.id_sum += i;
      }
    }
    s.text += rec + (i % 7 == 0 ? "\r\n" : "\n");
  }
  return s;
}

std::string nd_table() {
  std::string t = "nd" + std::to_string(std::random_device{}());
  psql("CREATE TABLE " + t + " (id bigint, name text, ok boolean, \"geo.lat\" double precision, tags text)");
  return t;
}

// The reference loader: psql's own \copy of FILE (in dir) into the table.
RunResult psql_copy(const TempDir& dir, const std::string& table, const std::string& file, const std::string& options) {
  return run_sh(dir, "psql " + shell_quote(servers().pg_url) + " -qX -v ON_ERROR_STOP=1 -c " +
                         shell_quote("\\copy " + table + " FROM '" + file + "' WITH (" + options + ")"));
}

// The table's rows as text, in id order, hashed: equal hashes, equal contents.
std::string table_digest(const std::string& t) {
  return psql("SELECT count(*) || ' ' || md5(string_agg(x::text, E'\\n' ORDER BY id)) FROM " + t + " x");
}

std::vector<std::uint64_t> reject_lines(const std::string& path) {
  std::vector<std::uint64_t> out;
  for (const std::string& l : lines_of(read_file(path))) out.push_back(json::parse(l)["line"].get<std::uint64_t>());
  return out;
}

}  // namespace

TEST_CASE("upload pg: NDJSON is converted on the fly, the same table and rejects for any -j, workers and batch size",
          "[upload][pg][ndjson]") {
  TempDir dir;
  const NdSource src = make_ndjson(1500);
  write_file(dir / "rows.ndjson", src.text);

  // The reference: ingot convert, then psql's own COPY of that CSV (without row 777,
  // which the server refuses).
  std::string ref = nd_table();
  RunResult c = run_ingot(dir, "convert rows.ndjson -o ref.csv --fields id,name,ok,geo.lat,tags");
  REQUIRE(c.code == 0);
  REQUIRE(run_sh(dir, "grep -v maybe ref.csv > ref2.csv").code == 0);
  REQUIRE(psql_copy(dir, ref, "ref2.csv", "FORMAT csv, HEADER").code == 0);
  const std::string want = table_digest(ref);
  REQUIRE(want.rfind(std::to_string(src.rows) + " ", 0) == 0);

  std::vector<std::uint64_t> want_lines = src.broken;
  want_lines.push_back(src.refused);
  std::sort(want_lines.begin(), want_lines.end());

  std::string first_rejects;
  for (const char* opts : {"-j1 --workers 1", "-j2 --workers 2", "-j2 --workers 3 --batch-rows 7",
                           "-j1 --workers 2 --batch-bytes 64 --batch-rows 3", "-j2 --workers 1 --batch-bytes 1K"}) {
    INFO(opts);
    std::string t = nd_table();
    RunResult r = run_ingot(dir, "upload rows.ndjson " + shell_quote(servers().pg_url) + " --table " + t +
                                     " --rejects rej.ndjson --json " + opts);
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["stats"]["records"] == src.rows);
    CHECK(j["stats"]["rejected"] == src.broken.size() + 1);
    CHECK(table_digest(t) == want);
    CHECK(psql("SELECT sum(records) FROM ingot_load_ledger WHERE target_table = '" + t + "'") ==
          std::to_string(src.rows));
    // Rejects: exact source lines, in order, the same bytes for every setting.
    CHECK(reject_lines(dir.str("rej.ndjson")) == want_lines);
    std::string rej = read_file(dir / "rej.ndjson");
    if (first_rejects.empty()) first_rejects = rej;
    CHECK(rej == first_rejects);
  }
  auto rej = lines_of(first_rejects);
  json broken = json::parse(rej[0]);
  CHECK(broken["line"] == src.broken[0]);
  CHECK(broken["reason"] == "invalid JSON: unclosed string");
  CHECK(broken["raw"] == "{\"id\":97,\"name\":\"broken");
  CHECK(broken["offset"] == src.text.find("{\"id\":97,"));
  json refused;
  for (auto& x : rej) {
    if (json::parse(x)["line"] == src.refused) refused = json::parse(x);
  }
  CHECK(refused["reason"] == "invalid input syntax for type boolean: \"maybe\"");
  CHECK(refused["raw"].get<std::string>().find("\"id\":777,") != std::string::npos);
  CHECK(refused["offset"] == src.text.find(refused["raw"].get<std::string>()));
}

TEST_CASE("upload pg: NDJSON kill -9 midway, the same command again gives the exact rows and every invalid line",
          "[upload][pg][ndjson][resume]") {
  TempDir dir;
  const NdSource src = make_ndjson(100000);
  write_file(dir / "big.ndjson", src.text);
  std::string t = nd_table();
  const std::string args = "upload big.ndjson " + shell_quote(servers().pg_url) + " --table " + t +
                           " --batch-rows 500 --workers 2 -j2 --rejects rej.ndjson --json";
  // The moment is the test's: every row from id 60,000 on waits at a gate, so both
  // workers end up holding a batch there, uncommitted, when the kill comes.
  Gate gate(t, "NEW.id >= 60000");
  pid_t pid = spawn_ingot(dir, args);
  wait_for(gate.waiting_sql(), "2", "both workers holding a batch at the gate");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(wait_code(pid) == 128 + SIGKILL);
  const int before = std::stoi(psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));
  const int total = (static_cast<int>(src.rows) + 1 + 499) / 500;  // rows the server sees, incl. 777
  REQUIRE(before < total);                                         // really midway: the gated batches never committed
  // The held transactions end once their client is gone (COPY reads EOF).
  gate.open();
  wait_for(gate.waiting_sql(), "0", "the killed load's transactions to end");
  psql("DROP TRIGGER gate ON " + t);
  // Batches commit out of order (2 workers): was the one holding row 777 among them?
  // Row 777 is record 769 (8 broken rows before it): batch 2 of 500-row batches.
  const bool had_777 =
      psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "' AND batch = 2") == "1";
  CHECK(psql("SELECT count(*) FROM " + t) ==
        psql("SELECT sum(records) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));

  RunResult r = run_ingot(dir, args);
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units"] == total);
  CHECK(j["stats"]["units_skipped"] == before);
  CHECK(j["stats"]["units_sent"] == total - before);
  CHECK(j["stats"]["rejected"] == src.broken.size() + (had_777 ? 0 : 1));
  CHECK(psql("SELECT count(*), count(DISTINCT id), sum(id) FROM " + t) ==
        std::to_string(src.rows) + "|" + std::to_string(src.rows) + "|" + std::to_string(src.id_sum));
  // Invalid lines are found locally, so every run reports all of them; the server's
  // refusal of row 777 only if this run loaded its batch.
  std::vector<std::uint64_t> lines = reject_lines(dir.str("rej.ndjson"));
  std::vector<std::uint64_t> want = src.broken;
  if (!had_777) {
    want.push_back(src.refused);
    std::sort(want.begin(), want.end());
  }
  CHECK(lines == want);
}

TEST_CASE("upload pg: NDJSON columns from --fields, --schema or the key union, from a pipe, --on-error fail, --dry-run",
          "[upload][pg][ndjson]") {
  TempDir dir;
  const NdSource src = make_ndjson(300);
  write_file(dir / "rows.ndjson", src.text);
  const std::string url = shell_quote(servers().pg_url);

  // --fields picks and orders the columns; a pipe needs them (no pre-pass on a stream).
  std::string t = "nd" + std::to_string(std::random_device{}());
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && cat rows.ndjson | " + shell_quote(INGOT_BINARY) +
                    " upload - " + url + " --table " + t + " --from ndjson --create-table --fields geo.lat,id --json";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  CHECK(json::parse(out)["result"]["stats"]["records"] == src.rows);
  CHECK(psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE "
             "table_name = '" +
             t + "'") == "geo.lat,id");
  CHECK(psql("SELECT \"geo.lat\" FROM " + t + " WHERE id = '13'") == "13.5");

  RunResult r =
      run_sh(dir, "cat rows.ndjson | $INGOT upload - " + url + " --table " + t + "_x --from ndjson --create-table");
  CHECK(r.code == 2);
  CHECK(r.err.find("pass --fields or --schema") != std::string::npos);

  // --schema, as convert --schema-out writes it.
  REQUIRE(run_ingot(dir, "convert rows.ndjson --schema-only --schema-out cols.json").code == 0);
  std::string t2 = "nd" + std::to_string(std::random_device{}());
  r = run_ingot(dir, "upload rows.ndjson " + url + " --table " + t2 + " --create-table --schema cols.json --json");
  REQUIRE(r.code == 0);
  // The key union, first-seen order: the same columns without --schema.
  std::string t3 = "nd" + std::to_string(std::random_device{}());
  r = run_ingot(dir, "upload rows.ndjson " + url + " --table " + t3 + " --create-table --infer-types --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == src.rows);  // "maybe" is no boolean
  const std::string cols_sql =
      "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY ordinal_position) FROM "
      "information_schema.columns WHERE table_name = '";
  CHECK(psql(cols_sql + t2 + "'") == "id text,name text,ok text,geo.lat text,geo.skip text,tags text");
  CHECK(psql(cols_sql + t3 + "'") == "id bigint,name text,ok boolean,geo.lat double precision,geo.skip text,tags text");
  CHECK(psql("SELECT \"geo.skip\" || ' ' || tags FROM " + t3 + " WHERE id = 5") == "[1,{\"a\":null}] [5,\"x,y\"]");

  // A table that does not exist, without --create-table.
  r = run_ingot(dir, "upload rows.ndjson " + url + " --table nosuch" + t3);
  CHECK(r.code == 2);
  CHECK(r.err.find("does not exist; add --create-table") != std::string::npos);

  // --on-error fail stops at the first invalid line, naming it.
  r = run_ingot(dir, "upload rows.ndjson " + url + " --table " + nd_table() + " --on-error fail");
  CHECK(r.code == 1);
  CHECK(r.err == "ingot upload: error: rows.ndjson:" + std::to_string(src.broken[0]) +
                     ": invalid record: invalid JSON: unclosed string (--on-error fail)\n");

  // --dry-run: the batches of valid records, without a server.
  r = run_ingot(dir,
                "upload rows.ndjson postgresql://nobody@127.0.0.1:1/none --table t --batch-rows 100 --dry-run --json");
  REQUIRE(r.code == 0);
  json plan = report(r)["plan"];
  REQUIRE(plan.size() == 3);  // 300 rows - 3 broken = 297
  CHECK(plan[0]["offset"] == 0);
  CHECK(plan[2]["offset"].get<std::uint64_t>() + plan[2]["length"].get<std::uint64_t>() == src.text.size());
}

TEST_CASE("upload pg: CSV blank lines are not rows, a lone backslash-dot is a value, an unreachable server is exit 3",
          "[upload][pg]") {
  TempDir dir;
  // In a one-column table an empty COPY line would be a row of NULL.
  write_file(dir / "ids.csv", "id\n1\n\n2\n\n\n3\n");
  std::string t = "ids" + std::to_string(std::random_device{}());
  psql("CREATE TABLE " + t + " (id bigint)");
  RunResult r =
      run_ingot(dir, "upload ids.csv " + shell_quote(servers().pg_url) + " --table " + t + " --batch-rows 2 --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 3);
  CHECK(psql("SELECT count(*), count(id), sum(id) FROM " + t) == "3|3|6");
  // A last line "" without a line end is an empty string, not a blank line.
  write_file(dir / "empty.csv", "v\na\n\n\"\"");
  const std::string e = "es" + std::to_string(std::random_device{}());
  psql("CREATE TABLE " + e + " (v text)");
  r = run_ingot(dir, "upload empty.csv " + shell_quote(servers().pg_url) + " --table " + e + " --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 2);
  CHECK(psql("SELECT count(*), count(v), count(*) FILTER (WHERE v = '') FROM " + e) == "2|2|1");

  // A lone \. line is COPY's end of data even in CSV: the value "\." must load, and
  // the rows after it too (CSV, CRLF, and NDJSON converted to CSV).
  write_file(dir / "eod.csv", "v\na\n\\.\nafter\n\\.\r\nlast\n\\.");
  write_file(dir / "eod.ndjson", "{\"v\":\"a\"}\n{\"v\":\"\\\\.\"}\n{\"v\":\"after\"}\n");
  for (const char* file : {"eod.csv", "eod.ndjson"}) {
    INFO(file);
    std::string e = "eod" + std::to_string(std::random_device{}());
    psql("CREATE TABLE " + e + " (v text)");
    r = run_ingot(dir, std::string("upload ") + file + " " + shell_quote(servers().pg_url) + " --table " + e +
                           " --batch-rows 100 --json");
    REQUIRE(r.code == 0);
    const std::string want = std::string(file) == "eod.csv" ? "a|\\.|after|\\.|last|\\." : "a|\\.|after";
    CHECK(report(r)["stats"]["records"] == std::count(want.begin(), want.end(), '|') + 1);
    CHECK(psql("SELECT string_agg(v, '|' ORDER BY ctid) FROM " + e) == want);
  }

  // A client encoding whose characters may hold a backslash byte is refused.
  r = run_ingot(dir, "upload ids.csv " + shell_quote(servers().pg_url + "?client_encoding=SJIS") + " --table " + t);
  CHECK(r.code == 2);
  CHECK(r.err.find("client_encoding SJIS is not supported") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);

  r = run_ingot(dir, "upload ids.csv postgresql://ingot:secret@127.0.0.1:1/none --table " + t +
                         " --json -q");  // -q: no argv warning
  CHECK(r.code == 3);
  CHECK(r.err.rfind("ingot upload: error: postgresql://ingot:***@127.0.0.1:1/none: cannot connect: ", 0) == 0);
  CHECK(lines_of(r.err).size() == 1);
  json j = json::parse(r.out)["result"];
  CHECK(j["status"] == "error");
  CHECK(j["exit_code"] == 3);
}

TEST_CASE("upload pg: workers load in parallel, a dropped connection is exit 3, and a rerun completes exactly",
          "[upload][pg][resume]") {
  TempDir dir;
  const int n = 200000;
  write_file(dir / "big.csv", make_csv(n));
  std::string t = fresh_table();
  // The application name finds this run's connections among those of other tests.
  const std::string app = "ingotdrop" + t;
  const std::string url = servers().pg_url + "?application_name=" + app;
  const std::string args = "upload big.csv " + shell_quote(url) + " --table " + t + " --batch-rows 100 --workers 3";
  // The moment is the test's: the first row of every batch after the 30th waits at a
  // gate, so the 3 workers end up each inside a transaction at once (batches go to the
  // workers out of order, so how many of the first 30 committed by then varies).
  Gate gate(t, "NEW.id > 3000 AND NEW.id % 100 = 1");
  pid_t pid = spawn_ingot(dir, args);
  wait_for(gate.waiting_sql(), "3", "3 workers each holding a batch at the gate");
  CHECK(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "' AND state = 'active'") ==
        "3");
  psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + app + "'");
  CHECK(wait_code(pid, 120s) == 3);
  std::string err = read_file(dir / ".bg.err");
  CHECK(err.find("ingot upload: error: ") == 0);
  CHECK(err.find("connection") != std::string::npos);
  CHECK(lines_of(err).size() == 1);
  gate.open();
  psql("DROP TRIGGER gate ON " + t);
  const int before = std::stoi(psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));
  REQUIRE(before <= 30);
  CHECK(psql("SELECT count(*) FROM " + t) ==
        psql("SELECT coalesce(sum(records), 0) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));

  RunResult r = run_ingot(dir, args + " --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["units_skipped"] == before);
  CHECK(j["stats"]["records"] == n - 100 * before);
  CHECK(psql("SELECT count(*), count(DISTINCT id), sum(id) FROM " + t) ==
        std::to_string(n) + "|" + std::to_string(n) + "|" + std::to_string(std::int64_t{n} * (n + 1) / 2));
}

TEST_CASE("upload pg: CSV and TSV give the same table for any -j, workers and batch size", "[upload][pg]") {
  TempDir dir;
  std::string csv = make_csv(700);
  // A quoted newline, a doubled quote, a CRLF line end, an empty field (NULL).
  csv += "701,\"multi\nline \"\"q\"\"\",701.5\r\n702,,702.5\n703,\"tab\there\",\n";
  write_file(dir / "rows.csv", csv);
  // The same rows as TSV (RFC 4180 quoting with a tab delimiter), through convert.
  REQUIRE(run_ingot(dir, "convert rows.csv -o rows.ndjson --types string").code == 0);
  REQUIRE(run_ingot(dir, "convert rows.ndjson -o rows.tsv --fields id,name,score").code == 0);
  std::string want;
  for (const char* run :
       {"rows.csv -j1 --workers 1", "rows.csv -j2 --workers 3 --batch-rows 7",
        "rows.csv -j2 --workers 2 --batch-bytes 50 --batch-rows 2", "rows.tsv -j2 --workers 2 --batch-bytes 1K"}) {
    INFO(run);
    std::string t = fresh_table();
    RunResult r = run_ingot(
        dir, std::string("upload ") + run + " " + shell_quote(servers().pg_url) + " --table " + t + " --json");
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 703);
    std::string got = table_digest(t);
    if (want.empty()) want = got;
    CHECK(got == want);
  }
  CHECK(want.rfind("703 ", 0) == 0);
  std::string t = fresh_table();
  REQUIRE(run_ingot(dir, "upload rows.csv " + shell_quote(servers().pg_url) + " --table " + t).code == 0);
  CHECK(psql("SELECT name FROM " + t + " WHERE id = 701") == "multi\nline \"q\"");
  CHECK(psql("SELECT count(*) FROM " + t + " WHERE name IS NULL OR score IS NULL") == "2");
  CHECK(psql("SELECT name FROM " + t + " WHERE id = 703") == "tab\there");
}

TEST_CASE("upload pg: an NDJSON load's memory is bounded by the batch size, not the input", "[upload][pg][ndjson]") {
  TempDir dir;
  std::int64_t rows = 0;
  {
    // Freed before the fork: the child's peak RSS starts from this process's.
    const NdSource src = make_ndjson(400000);  // ~45 MB
    write_file(dir / "big.ndjson", src.text);
    rows = src.rows;
  }
  std::string t = nd_table();
  pid_t pid = spawn_ingot(dir, "upload big.ndjson " + shell_quote(servers().pg_url) + " --table " + t +
                                   " --batch-bytes 1M -j2 --workers 2 -q");
  int status = 0;
  struct rusage ru {};
  REQUIRE(::wait4(pid, &status, 0, &ru) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  CHECK(psql("SELECT count(*) FROM " + t) == std::to_string(rows));
  // Tokens (threads + workers = 4) x (1 MiB chunk + its COPY input), plus the
  // process itself: far below the input's size.
  INFO("peak RSS " << ru.ru_maxrss << " KiB");
#if defined(__SANITIZE_ADDRESS__)
  // An ASan build (its binary too) keeps shadow memory and a quarantine of freed
  // blocks: its RSS says nothing about ingot's.
  WARN("AddressSanitizer build: peak RSS " << ru.ru_maxrss << " KiB not checked");
#else
  CHECK(ru.ru_maxrss < 40 * 1024);
#endif
}

namespace {

// Random CSV rows whose values hold what COPY's text format escapes (backslash, tab, LF,
// CR), COPY's own markers (\N, \.), delimiters, quotes and UTF-8, around the writer's
// 16-byte words; an empty value is written unquoted (NULL) or as "" (empty string).
// Records end with `eol` (COPY's CSV wants one kind per file); the last has no line end
// and an empty last field.
std::string make_tricky_csv(int n, char delim, const std::string& eol, unsigned seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> atoms = {
      "a", "Zz", "\\", "\\N", "\\.", "\t", "\n", "\r", "\r\n", ",", "\"", "\xc3\xa9", " ", "0123456789abcdef", "\\\\t"};
  auto value = [&]() -> std::string {
    switch (rng() % 6) {
      case 0: return "";      // NULL
      case 1: return "\"\"";  // empty string
      default: break;
    }
    std::string v;
    const int parts = 1 + static_cast<int>(rng() % (rng() % 4 == 0 ? 40 : 4));
    for (int k = 0; k < parts; ++k) v += atoms[rng() % atoms.size()];
    // psql stops reading its input at a line starting \. even inside quotes (ingot's
    // text format escapes it): the reference must not hold one.
    for (std::size_t at; (at = v.find("\n\\.")) != std::string::npos;) v.insert(at + 1, "x");
    if (v.find_first_of(std::string("\"\r\n") + delim) == std::string::npos && rng() % 2) return v;
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  std::string s = std::string("id") + delim + "a" + delim + "b" + delim + "c" + eol;
  for (int i = 1; i <= n; ++i) {
    s += std::to_string(i) + delim + value() + delim + value() + delim + (i == n ? "" : value());
    if (i < n) s += eol;
  }
  return s;
}

}  // namespace

TEST_CASE("upload pg: CSV and TSV sent in COPY text format load the same rows as psql's own CSV COPY", "[upload][pg]") {
  TempDir dir;
  for (char delim : {',', '\t'}) {
    INFO("delimiter " << int(delim));
    const std::string file = delim == ',' ? "tricky.csv" : "tricky.tsv";
    write_file(dir / file, make_tricky_csv(3000, delim, delim == ',' ? "\r\n" : "\n", 7));
    auto table = [] {
      std::string t = "tt" + std::to_string(std::random_device{}());
      psql("CREATE TABLE " + t + " (id bigint, a text, b text, c text)");
      return t;
    };
    const std::string ref = table();
    const std::string opts = delim == ',' ? "FORMAT csv, HEADER" : "FORMAT csv, HEADER, DELIMITER E'\\t'";
    REQUIRE(psql_copy(dir, ref, file, opts).code == 0);
    const std::string want = table_digest(ref);
    REQUIRE(want.rfind("3000 ", 0) == 0);
    // NULLs and empty strings both occur, and are told apart.
    CHECK(std::stoi(psql("SELECT count(*) FROM " + ref + " WHERE a IS NULL")) > 100);
    CHECK(std::stoi(psql("SELECT count(*) FROM " + ref + " WHERE a = ''")) > 100);
    CHECK(psql("SELECT c IS NULL FROM " + ref + " WHERE id = 3000") == "t");
    for (const char* run : {"-j1 --workers 1", "-j2 --workers 2 --batch-rows 7", "-j2 --workers 1 --batch-bytes 1K"}) {
      INFO(run);
      const std::string t = table();
      RunResult r =
          run_ingot(dir, "upload " + file + " " + shell_quote(servers().pg_url) + " --table " + t + " --json " + run);
      REQUIRE(r.code == 0);
      CHECK(report(r)["stats"]["records"] == 3000);
      CHECK(table_digest(t) == want);
    }
  }
}

TEST_CASE("upload pg: a CSV record with a stray quote is a reject with its line, the rest load", "[upload][pg]") {
  TempDir dir;
  // Read with --strict-quotes (by default both records are data, as Python reads
  // them: tests/cli/convert/test_csv_grammar.cpp); each still ends at its own line end.
  write_file(dir / "q.csv", "id,name,score\n1,a,1\n2,\"two\nlines\",2\n3,b\"a\"d,3\n4,\"c\"x,4\n5,e,5\n");
  const std::string t = fresh_table();
  RunResult r = run_ingot(dir, "upload q.csv " + shell_quote(servers().pg_url) + " --table " + t +
                                   " --rejects rej.ndjson --json --strict-quotes");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 3);
  CHECK(report(r)["stats"]["rejected"] == 2);
  CHECK(psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM " + t) == "1,2,5");
  CHECK(read_file(dir / "rej.ndjson") ==
        "{\"line\":5,\"offset\":36,\"reason\":\"quote inside an unquoted field\",\"raw\":\"3,b\\\"a\\\"d,3\"}\n"
        "{\"line\":6,\"offset\":46,\"reason\":\"text after a closing quote\",\"raw\":\"4,\\\"c\\\"x,4\"}\n");
  r = run_ingot(dir, "upload q.csv " + shell_quote(servers().pg_url) + " --table " + fresh_table() +
                         " --on-error fail --strict-quotes");
  CHECK(r.code == 1);
  CHECK(r.err == "ingot upload: error: q.csv:5: invalid record: quote inside an unquoted field (--on-error fail)\n");
}

TEST_CASE("upload pg: --on-error fail reports the first bad line of the file and loads nothing after it, for any -j",
          "[upload][pg]") {
  TempDir dir;
  std::string csv = "id,name,score\n", malformed_only = csv;
  for (int i = 1; i <= 200; ++i) {
    const std::string id = std::to_string(i);
    std::string row = id + ",n" + id + "," + id + ".5\n";
    if (i == 150) row = id + ",b\"a\"d," + id + ".5\n";  // line 151: malformed (--strict-quotes), rejected by ingot
    malformed_only += row;
    if (i == 50) row = id + ",n" + id + ",oops\n";  // line 51: refused by the server
    csv += row;
  }
  write_file(dir / "both.csv", csv);
  write_file(dir / "malformed.csv", malformed_only);
  for (int run = 0; run < 3; ++run) {
    for (const char* file : {"both.csv", "malformed.csv"}) {
      INFO(file << " run " << run);
      const std::string t = fresh_table();
      RunResult r =
          run_ingot(dir, std::string("upload ") + file + " " + shell_quote(servers().pg_url) + " --table " + t +
                             " --on-error fail --strict-quotes -j2 --workers 2 --batch-bytes 256 --batch-rows 5");
      CHECK(r.code == 1);
      if (std::string(file) == "both.csv") {
        CHECK(r.err.rfind("ingot upload: error: both.csv:51: batch ", 0) == 0);
        CHECK(r.err.find("refused by the server: invalid input syntax for type double precision") != std::string::npos);
      } else {
        CHECK(r.err ==
              "ingot upload: error: malformed.csv:151: invalid record: quote inside an unquoted field "
              "(--on-error fail)\n");
      }
      CHECK(psql("SELECT count(*) FROM " + t + " WHERE id >= 150") == "0");
    }
  }
}

TEST_CASE("upload pg: --max-errors counts invalid and refused rows alike, --delimiter and --no-header read the CSV",
          "[upload][pg][max-errors]") {
  TempDir dir;
  // No header, ';' between fields and ',' inside them. Line 20 is malformed (with
  // --strict-quotes: rejected by ingot), lines 10, 30 and 40 are refused by the server.
  std::string csv;
  for (int i = 1; i <= 60; ++i) {
    const std::string id = std::to_string(i);
    std::string score = id + ".5";
    if (i == 10) score = "oops";
    if (i == 30) score = "x";
    if (i == 40) score = "bad";
    csv += i == 20 ? id + ";b\"a\"d;" + score + "\n" : id + ";a," + id + ";" + score + "\n";
  }
  write_file(dir / "semi.csv", csv);
  const std::string base = " " + shell_quote(servers().pg_url) + " --delimiter ';' --no-header --strict-quotes ";
  for (const char* run : {"-j1 --workers 1", "-j2 --workers 2 --batch-rows 7 --batch-bytes 256"}) {
    INFO(run);
    const std::string t = fresh_table();
    RunResult r = run_ingot(
        dir, "upload semi.csv" + base + "--table " + t + " --max-errors 4 --rejects rej.ndjson --json " + run);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 56);
    CHECK(report(r)["stats"]["rejected"] == 4);
    CHECK(psql("SELECT count(*), sum(id), min(name), sum(score) FROM " + t) == "56|1730|a,1|1758");
    CHECK(read_file(dir / "rej.ndjson") ==
          "{\"line\":10,\"offset\":90,\"reason\":\"invalid input syntax for type double precision: \\\"oops\\\"\","
          "\"raw\":\"10;a,10;oops\"}\n"
          "{\"line\":20,\"offset\":220,\"reason\":\"quote inside an unquoted field\",\"raw\":\"20;b\\\"a\\\"d;20.5\"}\n"
          "{\"line\":30,\"offset\":351,\"reason\":\"invalid input syntax for type double precision: \\\"x\\\"\","
          "\"raw\":\"30;a,30;x\"}\n"
          "{\"line\":40,\"offset\":478,\"reason\":\"invalid input syntax for type double precision: \\\"bad\\\"\","
          "\"raw\":\"40;a,40;bad\"}\n");
    // One more reject than allowed: the load stops at the line of that reject, and no
    // rejects file is left behind.
    r = run_ingot(
        dir, "upload semi.csv" + base + "--table " + fresh_table() + " --max-errors 3 --rejects rej3.ndjson " + run);
    CHECK(r.code == 1);
    CHECK(r.err ==
          "ingot upload: error: semi.csv:40: more than 3 invalid records (--max-errors); last: invalid input "
          "syntax for type double precision: \"bad\"\n");
    CHECK(!std::filesystem::exists(dir / "rej3.ndjson"));
  }
  // --no-header with --create-table: the columns are named as convert names the keys.
  const std::string t = "tn" + std::to_string(std::random_device{}());
  RunResult r = run_ingot(dir, "upload semi.csv " + shell_quote(servers().pg_url) +
                                   " --delimiter ';' --no-header "
                                   "--create-table --table " +
                                   t + " --json");
  REQUIRE(r.code == 0);
  CHECK(psql("SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '" + t +
             "'::regclass AND attnum > 0") == "col1,col2,col3");
  CHECK(psql("SELECT count(*), sum(col1::bigint), max(col2) FROM " + t) == "60|1830|b\"a\"d");
}

namespace {

// Random values of every type the binary format encodes (format/pg_copy_binary.h), in
// plain spellings, with NULLs (empty unquoted) and, for the text columns, "" and the
// bytes CSV quotes. Row i is given its line number in lines[i].
struct TypedCsv {
  std::string text;
  std::vector<std::uint64_t> lines;  // 1-based; lines[0] unused
  std::vector<std::string> rows;     // the same, each row's text with its line end
};
TypedCsv make_typed_csv(int n, unsigned seed, const std::map<int, std::string>& replace = {}) {
  std::mt19937_64 rng(seed);
  auto digits = [&](int k) {
    std::string s;
    for (int i = 0; i < k; ++i) s += static_cast<char>('0' + rng() % 10);
    return s;
  };
  auto pad = [](unsigned v, int w) {
    std::string s = std::to_string(v);
    return std::string(static_cast<std::size_t>(w) - std::min<std::size_t>(s.size(), w), '0') + s;
  };
  auto date = [&] {
    const unsigned y = 1 + static_cast<unsigned>(rng() % 9999), m = 1 + static_cast<unsigned>(rng() % 12);
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const unsigned d = m == 2 && leap && rng() % 4 == 0 ? 29 : 1 + static_cast<unsigned>(rng() % 28);
    return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2);
  };
  auto text = [&] {
    static const std::vector<std::string> atoms = {"a", "\"", ",", "\n", "\\", "\t", "\\N", "\xc3\xa9", " "};
    std::string v;
    for (int k = static_cast<int>(rng() % 5); k > 0; --k) v += atoms[rng() % atoms.size()];
    if (v.empty()) return std::string(rng() % 2 ? "" : "\"\"");
    std::string q = "\"";
    for (char c : v) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
  };
  TypedCsv out;
  out.text = "id,i4,i2,f,ok,d,ts,v,name\n";
  out.lines.push_back(0);
  out.rows.emplace_back();
  std::uint64_t line = 2;
  for (int i = 1; i <= n; ++i) {
    std::vector<std::string> f(9);
    f[0] = std::to_string(i);
    const long i4 = static_cast<long>(rng() % 4294967296ull) - 2147483648l;
    f[1] = rng() % 9 == 0 ? "" : std::to_string(i4 == 13 ? 14 : i4);
    f[2] = std::to_string(static_cast<int>(rng() % 65536) - 32768);
    switch (rng() % 6) {
      case 0: f[3] = ""; break;
      case 1: f[3] = std::to_string(static_cast<int>(rng() % 2000) - 1000); break;
      case 2: f[3] = (rng() % 2 ? "-" : "") + digits(1 + rng() % 18) + "." + digits(rng() % 18); break;
      case 3:
        f[3] = digits(1 + rng() % 3) + "." + digits(1 + rng() % 5) + "e" + std::to_string(int(rng() % 600) - 300);
        break;
      default: f[3] = "0." + digits(1 + rng() % 4); break;
    }
    static const char* bools[] = {"t", "f", "true", "FALSE", "on", "off", "1", "0", "yes", "No", ""};
    f[4] = bools[rng() % 11];
    f[5] = rng() % 10 == 0 ? "" : date();
    f[6] = date() + " " + pad(rng() % 24, 2) + ":" + pad(rng() % 60, 2) + ":" + pad(rng() % 60, 2);
    if (rng() % 2) f[6] += "." + digits(1 + rng() % 6);
    f[7] = text();
    f[8] = text();
    if (f[8].empty()) f[8] = "n";  // NOT NULL
    if (auto it = replace.find(i); it != replace.end()) {
      // "COL=VALUE"
      f[static_cast<std::size_t>(std::stoi(it->second.substr(0, it->second.find('='))))] =
          it->second.substr(it->second.find('=') + 1);
    }
    out.lines.push_back(line);
    std::string row;
    for (std::size_t k = 0; k < f.size(); ++k) row += (k ? "," : "") + f[k];
    line += 1 + static_cast<std::uint64_t>(std::count(row.begin(), row.end(), '\n'));
    out.rows.push_back(row + "\n");
    out.text += out.rows.back();
  }
  return out;
}

std::string typed_table() {
  std::string t = "ty" + std::to_string(std::random_device{}());
  psql("CREATE TABLE " + t +
       " (id bigint, i4 int CHECK (i4 <> 13), i2 smallint, f float8, ok boolean, d date, ts timestamp, v "
       "varchar(12), name text NOT NULL)");
  return t;
}

}  // namespace

TEST_CASE("upload pg: CSV into a typed table goes in COPY binary and lands what psql's CSV COPY lands",
          "[upload][pg]") {
  TempDir dir;
  const TypedCsv csv = make_typed_csv(3000, 17);
  write_file(dir / "typed.csv", csv.text);
  const std::string ref = typed_table();
  REQUIRE(psql_copy(dir, ref, "typed.csv", "FORMAT csv, HEADER").code == 0);
  const std::string want = table_digest(ref);
  REQUIRE(want.rfind("3000 ", 0) == 0);
  for (const char* run : {"-j1 --workers 1", "-j2 --workers 2 --batch-rows 7", "-j2 --workers 1 --batch-bytes 1K"}) {
    INFO(run);
    const std::string t = typed_table();
    RunResult r =
        run_ingot(dir, "upload typed.csv " + shell_quote(servers().pg_url) + " --table " + t + " --json " + run);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 3000);
    CHECK(table_digest(t) == want);
  }
}

TEST_CASE(
    "upload pg: in a binary load, values left to the server and rows it refuses give psql's rows and exact rejects",
    "[upload][pg]") {
  TempDir dir;
  // Spellings the client does not encode (the chunk goes in text) that the server takes,
  // and rows the server refuses: a value out of range (text path), a CHECK and a NOT NULL
  // violation in chunks that are otherwise binary.
  const std::map<int, std::string> odd = {{40, "1= 42"},
                                          {400, "3=NaN"},
                                          {700, "5=2023-1-5"},
                                          {1000, "2=32768"},
                                          {1500, "1=13"},
                                          {2500, "8="},
                                          {2600, "6=2023-10-08 24:00:00"}};
  const TypedCsv csv = make_typed_csv(3000, 23, odd);
  write_file(dir / "odd.csv", csv.text);
  // The reference: psql's COPY of the file without the three refused rows.
  std::string clean = "id,i4,i2,f,ok,d,ts,v,name\n";
  for (int i = 1; i <= 3000; ++i) {
    if (i != 1000 && i != 1500 && i != 2500) clean += csv.rows[static_cast<std::size_t>(i)];
  }
  write_file(dir / "clean.csv", clean);
  const std::string ref = typed_table();
  REQUIRE(psql_copy(dir, ref, "clean.csv", "FORMAT csv, HEADER").code == 0);
  const std::string want = table_digest(ref);
  REQUIRE(want.rfind("2997 ", 0) == 0);
  CHECK(psql("SELECT i4, f, d, ts FROM " + ref + " WHERE id IN (40, 400, 700, 2600) ORDER BY id").find("42|") == 0);
  for (const char* run : {"-j1 --workers 1 --batch-rows 50", "-j2 --workers 2 --batch-bytes 2K"}) {
    INFO(run);
    const std::string t = typed_table();
    RunResult r = run_ingot(dir, "upload odd.csv " + shell_quote(servers().pg_url) + " --table " + t +
                                     " --rejects rej.ndjson --json " + run);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 2997);
    CHECK(report(r)["stats"]["rejected"] == 3);
    CHECK(table_digest(t) == want);
    const auto rej = lines_of(read_file(dir / "rej.ndjson"));
    REQUIRE(rej.size() == 3);
    CHECK(json::parse(rej[0])["line"] == csv.lines[1000]);
    CHECK(json::parse(rej[0])["reason"] == "value \"32768\" is out of range for type smallint");
    CHECK(json::parse(rej[1])["line"] == csv.lines[1500]);
    CHECK(json::parse(rej[1])["reason"].get<std::string>().find("violates check constraint") != std::string::npos);
    CHECK(json::parse(rej[2])["line"] == csv.lines[2500]);
    CHECK(json::parse(rej[2])["reason"] ==
          "null value in column \"name\" of relation \"" + t + "\" violates not-null constraint");
  }
  // --on-error fail names the line of the first refused row, in a binary chunk too.
  const TypedCsv one = make_typed_csv(3000, 23, {{1500, "1=13"}});
  write_file(dir / "one.csv", one.text);
  RunResult r = run_ingot(dir, "upload one.csv " + shell_quote(servers().pg_url) + " --table " + typed_table() +
                                   " --on-error fail --batch-rows 100");
  CHECK(r.code == 1);
  CHECK(r.err.rfind("ingot upload: error: one.csv:" + std::to_string(one.lines[1500]) +
                        ": batch 15 refused by the server: new row for relation",
                    0) == 0);
}

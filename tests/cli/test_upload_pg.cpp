// ingot upload to PostgreSQL against a real server on loopback (tests/servers.h):
// parallel workers, kill -9 midway then rerun gives the exact row count, rows the
// server refuses land in --rejects with their line numbers, NDJSON through convert.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "servers.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

// psql -Atc: one value per line, for counts and sums.
std::string psql(const std::string& sql) {
  std::string cmd = "psql " + shell_quote(servers().pg_url) + " -qAtX -v ON_ERROR_STOP=1 -c " + shell_quote(sql) + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

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

json report(const RunResult& r) {
  INFO(r.err);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(!j.is_discarded());
  return j["result"];
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
    CHECK(psql("SELECT count(*), sum(records) FROM ingot_load_ledger WHERE target_table = 'public." + t + "'") == "17|5000");
  }
}

TEST_CASE("upload pg: kill -9 midway, the same command again gives the exact row count", "[upload][pg][resume]") {
  TempDir dir;
  const int n = 200000;
  write_file(dir / "big.csv", make_csv(n));
  std::string t = fresh_table();
  const std::string args = "upload big.csv " + shell_quote(servers().pg_url) + " --table " + t +
                           " --batch-rows 500 --workers 2 --json";
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string cmd = "cd " + shell_quote(dir.path().string()) + " && exec " + shell_quote(INGOT_BINARY) + " " + args +
                      " > /dev/null 2>&1";
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string committed;
  for (int i = 0; i < 2000; ++i) {
    committed = psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'");
    if (committed != "0" && std::stoi(committed) >= 20) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(::kill(pid, SIGKILL) == 0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  const int batches_before = std::stoi(psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));
  REQUIRE(batches_before >= 20);
  REQUIRE(batches_before < 400);  // really midway
  // Rows and ledger agree even for a killed run: they commit together.
  CHECK(psql("SELECT count(*) FROM " + t) ==
        psql("SELECT sum(records) FROM ingot_load_ledger WHERE target_table = '" + t + "'"));

  RunResult r = run_ingot(dir, args);
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units_skipped"] == batches_before);
  CHECK(j["stats"]["records"] == n - 500 * batches_before);
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
  r = run_ingot(dir, "upload bad.csv " + shell_quote(servers().pg_url) + " --table " + t2 +
                         " --batch-rows 7 --on-error fail");
  CHECK(r.code == 1);
  CHECK(r.err.rfind("ingot upload: error: bad.csv:2: batch 1 refused by the server: invalid input syntax", 0) == 0);

  // Not bad data but a wrong table: stops at once instead of bisecting every row away.
  psql("CREATE TABLE " + t2 + "_narrow (id bigint)");
  r = run_ingot(dir, "upload bad.csv " + shell_quote(servers().pg_url) + " --table " + t2 + "_narrow --rejects r2.ndjson");
  CHECK(r.code == 1);
  CHECK(r.err.find("column \"name\" of relation \"" + t2 + "_narrow\" does not exist (SQLSTATE 42703)") !=
        std::string::npos);
  CHECK(psql("SELECT count(*) FROM " + t2 + "_narrow") == "0");
}

TEST_CASE("upload pg: NDJSON source is converted by the engine, --create-table --infer-types", "[upload][pg]") {
  TempDir dir;
  std::string nd;
  for (int i = 1; i <= 1000; ++i) nd += "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i) + "\",\"ok\":true}\n";
  nd += "not json\n";
  // Refused by the server, not the converter: "ok" is not a boolean. Line 1003 of the
  // source (after a blank line), record 1001 of the converted CSV.
  nd += "\n{\"id\":1001,\"name\":\"late\",\"ok\":\"maybe\"}\n";
  write_file(dir / "rows.ndjson", nd);
  std::string t = "nd" + std::to_string(std::random_device{}());
  RunResult r = run_ingot(dir, "upload rows.ndjson " + shell_quote(servers().pg_url) + " --table " + t +
                                   " --create-table --infer-types --workers 2 --batch-rows 100 --rejects rej.ndjson --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["records"] == 1000);
  CHECK(j["stats"]["rejected"] == 2);
  CHECK(psql("SELECT count(*), sum(id), count(*) FILTER (WHERE ok) FROM " + t) == "1000|500500|1000");
  CHECK(psql("SELECT string_agg(data_type, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE "
             "table_name = '" + t + "'") == "bigint,text,boolean");
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
  RunResult r = run_ingot(dir, "upload d.csv postgresql://nobody@127.0.0.1:1/none --table t --batch-rows 2 --dry-run --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  REQUIRE(j["plan"].size() == 3);
  CHECK(j["plan"][0] == json({{"number", 1}, {"offset", 4}, {"length", 12}}));   // "1,x\n2,\"y\nz\"\n"
  CHECK(j["plan"][1] == json({{"number", 2}, {"offset", 16}, {"length", 8}}));   // "3,w\n4,v\n"
  CHECK(j["plan"][2] == json({{"number", 3}, {"offset", 24}, {"length", 4}}));
  CHECK(j["stats"]["bytes_sent"] == 0);
}

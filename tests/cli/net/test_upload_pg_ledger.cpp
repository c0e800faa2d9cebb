// ingot upload to PostgreSQL: what the load ledger recognises (the table across TRUNCATE,
// DROP + CREATE, VACUUM FULL; the source by content, not mtime), what "verified" checks,
// and --table names that are never pasted into SQL. Against a real server on loopback.
// A load is caught midway without timing: a row trigger on the target waits on an
// advisory lock the test holds, so the batch holding that row blocks until released.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/pg_env.h"
#include "ingot/io/input.h"
#include "ingot/util/hash.h"
#include "servers.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

std::string rnd() { return std::to_string(std::random_device{}()); }

std::string new_table() {
  std::string t = "lg" + rnd();
  psql("CREATE TABLE " + t + " (id bigint, name text, score double precision)");
  return t;
}

std::string make_csv(int n) {
  std::string s = "id,name,score\n";
  for (int i = 1; i <= n; ++i)
    s += std::to_string(i) + ",\"name, " + std::to_string(i) + "\"," + std::to_string(i) + ".5\n";
  return s;
}

std::string exact(int n) {
  return std::to_string(n) + "|" + std::to_string(n) + "|" + std::to_string(std::int64_t{n} * (n + 1) / 2);
}

std::string counts(const std::string& t) { return psql("SELECT count(*), count(DISTINCT id), sum(id) FROM " + t); }

std::string ledger_count(const std::string& t) {
  return psql("SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'");
}

}  // namespace

TEST_CASE(
    "upload pg ledger: TRUNCATE, DROP + CREATE and DELETE reload every row, VACUUM FULL and a rolled-back "
    "TRUNCATE load nothing",
    "[upload][pg][ledger]") {
  TempDir dir;
  const int n = 3000;
  write_file(dir / "rows.csv", make_csv(n));
  const std::string t = new_table();
  const std::string cmd =
      "upload rows.csv " + shell_quote(servers().pg_url) + " --table " + t + " --batch-rows 400 --workers 2 --json";
  RunResult r = run_ingot(dir, cmd);
  REQUIRE(r.code == 0);
  CHECK(report(r)["verified"] == true);
  CHECK(counts(t) == exact(n));
  const std::string load = report(r)["load_id"];

  // An intact rerun: nothing loads twice.
  r = run_ingot(dir, cmd);
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 0);
  CHECK(report(r)["stats"]["units_skipped"] == 8);
  CHECK(report(r)["verified"] == true);
  CHECK(counts(t) == exact(n));

  SECTION("TRUNCATE") {
    psql("TRUNCATE " + t);
    r = run_ingot(dir, cmd);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == n);
    CHECK(report(r)["note"] == "table " + t + " was truncated since load " + load + ": loading again");
    CHECK(counts(t) == exact(n));
    // Without --json: the summary and one line saying why.
    psql("TRUNCATE " + t);
    r = run_ingot(dir, "upload rows.csv " + shell_quote(servers().pg_url) + " --table " + t + " --batch-rows 400");
    REQUIRE(r.code == 0);
    CHECK(r.err.find("ingot upload: note: table " + t + " was truncated since load " + load + ": loading again\n") !=
          std::string::npos);
    CHECK(counts(t) == exact(n));
  }
  SECTION("DROP + CREATE") {
    psql("DROP TABLE " + t);
    psql("CREATE TABLE " + t + " (id bigint, name text, score double precision)");
    r = run_ingot(dir, cmd);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == n);
    CHECK(report(r)["note"] == "table " + t + " was dropped and created again since load " + load + ": loading again");
    CHECK(counts(t) == exact(n));
  }
  SECTION("DROP, then --create-table") {
    psql("DROP TABLE " + t);
    r = run_ingot(dir, cmd + " --create-table");
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == n);
    CHECK(report(r)["note"] == "table " + t + " was dropped since load " + load + ": loading again");
    CHECK(psql("SELECT count(*), count(DISTINCT id) FROM " + t) == std::to_string(n) + "|" + std::to_string(n));
    // The new table has the trigger too.
    psql("TRUNCATE " + t);
    r = run_ingot(dir, cmd);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == n);
  }
  SECTION("DELETE of every row") {
    psql("DELETE FROM " + t);
    r = run_ingot(dir, cmd);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == n);
    CHECK(report(r)["note"] == "table " + t + " is empty though load " + load + " committed " + std::to_string(n) +
                                   " rows into it: loading again");
    CHECK(counts(t) == exact(n));
  }
  SECTION("VACUUM FULL and CLUSTER keep the rows (a new relfilenode): nothing loads") {
    const std::string node = psql("SELECT pg_relation_filenode('" + t + "')");
    psql("VACUUM FULL " + t);
    CHECK(psql("SELECT pg_relation_filenode('" + t + "')") != node);
    r = run_ingot(dir, cmd);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 0);
    CHECK(report(r)["verified"] == true);
    CHECK(!report(r).contains("note"));
    CHECK(counts(t) == exact(n));
  }
  SECTION("a TRUNCATE rolled back: nothing loads") {
    CHECK(psql("BEGIN; TRUNCATE " + t + "; ROLLBACK;") == "");
    r = run_ingot(dir, cmd);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 0);
    CHECK(counts(t) == exact(n));
  }
}

TEST_CASE("upload pg ledger: kill -9 midway, touch, rerun loads each row once, a changed source is refused",
          "[upload][pg][ledger][resume]") {
  TempDir dir;
  const int n = 20000;
  const std::string original = make_csv(n);
  write_file(dir / "big.csv", original);
  const std::string t = new_table();
  const std::string cmd =
      "upload big.csv " + shell_quote(servers().pg_url) + " --table " + t + " --batch-rows 1000 --workers 2 --json";
  {
    // Batch 13 waits at the gate on one connection; the other loads the 19 others,
    // then the load can go no further: killed there.
    Gate gate(t, 12001);
    pid_t pid = spawn_ingot(dir, cmd);
    wait_for(
        gate.waiting_sql() + " UNION ALL " + "SELECT count(*) FROM ingot_load_ledger WHERE target_table = '" + t + "'",
        "1\n19", "19 batches committed and batch 13 at the gate");
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(wait_code(pid) == 128 + SIGKILL);
  }
  REQUIRE(ledger_count(t) == "19");
  // Every row but those of batch 13 (ids 12001..13000, which sum to 12,500,500).
  REQUIRE(counts(t) == "19000|19000|" + std::to_string(std::int64_t{n} * (n + 1) / 2 - 12500500));

  // The content of batch 3 changes (same size): refused before anything loads.
  std::string changed = original;
  changed[changed.find("2500,")] = '9';
  write_file(dir / "big.csv", changed);
  RunResult r = run_ingot(dir, cmd);
  CHECK(r.code == 1);
  INFO(r.err);
  CHECK(r.err.find("the source changed since load ") != std::string::npos);
  CHECK(r.err.find("(batch 3, bytes ") != std::string::npos);
  CHECK(r.err.find("restore it, or delete that load's rows from the table and DELETE FROM ingot_load_ledger WHERE "
                   "load_id = '") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(psql("SELECT count(*) FROM " + t) == "19000");
  // Shorter than a committed batch: refused too.
  write_file(dir / "big.csv", original.substr(0, original.size() / 2));
  r = run_ingot(dir, cmd);
  CHECK(r.code == 1);
  CHECK(r.err.find("the source changed since load ") != std::string::npos);
  CHECK(psql("SELECT count(*) FROM " + t) == "19000");

  // Restored (a new mtime): the same load resumes, each row once.
  write_file(dir / "big.csv", original);
  REQUIRE(run_sh(dir, "touch -d '2001-02-03 04:05:06' big.csv").code == 0);
  r = run_ingot(dir, cmd);
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units_skipped"] == 19);
  CHECK(j["stats"]["records"] == 1000);
  CHECK(j["verified"] == true);
  CHECK(counts(t) == exact(n));
  // touch again, rerun: nothing loads.
  REQUIRE(run_sh(dir, "touch big.csv").code == 0);
  r = run_ingot(dir, cmd);
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 0);
  CHECK(counts(t) == exact(n));
}

TEST_CASE("upload pg ledger: one table under any spelling is one load, the same name in another schema another",
          "[upload][pg][ledger]") {
  TempDir dir;
  const int n = 1000;
  write_file(dir / "rows.csv", make_csv(n));
  const std::string t = new_table();
  const std::string url = shell_quote(servers().pg_url);
  auto load = [&](const std::string& table, const std::string& at = servers().pg_url) {
    RunResult r = run_ingot(
        dir, "upload rows.csv " + shell_quote(at) + " --table " + shell_quote(table) + " --batch-rows 300 --json");
    INFO(table << ": " << r.err);
    REQUIRE(r.code == 0);
    return report(r);
  };
  CHECK(load(t)["stats"]["records"] == n);
  for (const std::string& same : {"public." + t, "\"" + t + "\"", "\"public\".\"" + t + "\""}) {
    const json j = load(same);
    CHECK(j["stats"]["records"] == 0);
    CHECK(j["stats"]["units_skipped"] == 4);
  }
  CHECK(counts(t) == exact(n));
  // A TRUNCATE seen through another spelling still reloads every row, once.
  psql("TRUNCATE " + t);
  CHECK(load("public." + t)["stats"]["records"] == n);
  CHECK(counts(t) == exact(n));

  // The same name in another schema, reached through search_path: another table, so
  // another load; the first table's ledger rows and rows stay as they are.
  const std::string schema = "s" + rnd();
  psql("CREATE SCHEMA " + schema + "; CREATE TABLE " + schema + "." + t +
       " (id bigint, name text, score double precision)");
  const std::string other = servers().pg_url + "?options=-csearch_path%3D" + schema;
  CHECK(load(t, other)["stats"]["records"] == n);
  CHECK(counts(schema + "." + t) == exact(n));
  CHECK(load(t)["stats"]["records"] == 0);
  CHECK(counts(t) == exact(n));
}

TEST_CASE("upload pg ledger: a TRUNCATE during the load leaves it unverified (exit 1)", "[upload][pg][ledger]") {
  TempDir dir;
  const int n = 5000;
  write_file(dir / "rows.csv", make_csv(n));
  const std::string t = new_table();
  Gate gate(t, 2001);
  pid_t pid = spawn_ingot(dir, "upload rows.csv " + shell_quote(servers().pg_url) + " --table " + t +
                                   " --batch-rows 500 --workers 1 --json");
  wait_for(gate.waiting_sql(), "1", "ingot's COPY at the gate");
  // The TRUNCATE queues behind ingot's open batch; opening the gate lets both through.
  const std::string app = "trunc" + t;
  TempDir side;
  pid_t trunc = ::fork();
  if (trunc == 0) {
    const std::string url = servers().pg_url + "?application_name=" + app;
    ::execlp("psql", "psql", url.c_str(), "-qAtX", "-c", ("TRUNCATE " + t).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  wait_for("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "' AND wait_event_type = 'Lock'",
           "1", "the TRUNCATE waiting for ingot's batch");
  gate.open();
  REQUIRE(wait_code(trunc) == 0);
  REQUIRE(wait_code(pid) == 1);
  const std::string err = read_file(dir / ".bg.err");
  INFO(err);
  CHECK(err.find(" is not verified: the ledger holds 10 batches") != std::string::npos);
  CHECK(lines_of(err).size() == 1);
  CHECK(json::parse(read_file(dir / ".bg.out"))["result"]["exit_code"] == 1);
}

TEST_CASE("upload pg ledger: --table is parsed, quoted by libpq, never pasted into SQL",
          "[upload][pg][ledger][security]") {
  TempDir dir;
  write_file(dir / "rows.csv", make_csv(10));
  const std::string victim = "victim" + rnd();
  psql("CREATE TABLE " + victim + " (x int); INSERT INTO " + victim + " VALUES (42)");
  const std::string t = new_table();
  const std::string url = shell_quote(servers().pg_url);
  for (const std::string& bad : std::vector<std::string>{
           "\"" + t + "\" (\"id\", \"name\") FROM STDIN; DROP TABLE " + victim + "; --", t + "; DROP TABLE " + victim,
           t + " ; DROP TABLE " + victim, t + "--", t + "/* x */", "public." + t + ".x", "\"" + t, "\"\"", "", ".",
           t + ".", "\"" + t + "\"x", t + "\n", "a b", "\"a\";\"b\"", std::string(64, 'a')}) {
    INFO("--table " << bad);
    RunResult r = run_ingot(dir, "upload rows.csv " + url + " --table " + shell_quote(bad) + " --create-table");
    CHECK(r.code == 2);
    CHECK(r.err.rfind("ingot upload: error: --table", 0) == 0);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(psql("SELECT x FROM " + victim) == "42");
  }
  CHECK(psql("SELECT count(*) FROM " + t) == "0");

  // Quoted names hold anything but NUL: a table of exactly that name.
  for (const std::string& name :
       std::vector<std::string>{t + "\"; DROP TABLE " + victim + "; --", t + " x.y", t + "'); DROP TABLE " + victim}) {
    INFO("table name " << name);
    std::string quoted = "\"";
    for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    quoted += "\"";
    RunResult r =
        run_ingot(dir, "upload rows.csv " + url + " --table " + shell_quote(quoted) + " --create-table --json");
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"] == 10);
    CHECK(psql("SELECT count(*) FROM " + quoted) == "10");
    CHECK(psql("SELECT x FROM " + victim) == "42");
  }
  CHECK(psql("SELECT count(*) FROM pg_class WHERE relname LIKE '" + t + "%'") == "4");

  // schema.table, bare and quoted (a dot inside quotes is part of the name).
  const std::string schema = "My Schema " + rnd();
  psql("CREATE SCHEMA \"" + schema + "\"");
  RunResult r = run_ingot(dir, "upload rows.csv " + url + " --table " + shell_quote("\"" + schema + "\".\"t.x\"") +
                                   " --create-table --json");
  REQUIRE(r.code == 0);
  CHECK(psql("SELECT count(*), sum(id::bigint) FROM \"" + schema + "\".\"t.x\"") == "10|55");
  const std::string plain = "s" + rnd();
  psql("CREATE SCHEMA " + plain + "; CREATE TABLE " + plain + ".tbl (id bigint, name text, score float8)");
  r = run_ingot(dir, "upload rows.csv " + url + " --table " + plain + ".tbl --json");
  REQUIRE(r.code == 0);
  CHECK(psql("SELECT count(*), sum(id) FROM " + plain + ".tbl") == "10|55");
  // Rerun: the same load, nothing twice.
  r = run_ingot(dir, "upload rows.csv " + url + " --table " + plain + ".tbl --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 0);
  CHECK(psql("SELECT x FROM " + victim) == "42");
}

TEST_CASE("upload pg ledger: a ledger of an older ingot gets the new columns, its load of this source is refused",
          "[upload][pg][ledger]") {
  TempDir dir;
  write_file(dir / "rows.csv", make_csv(100));
  // A schema of its own, first on the search_path: this ledger is not the other tests'.
  const std::string schema = "old" + rnd();
  psql("CREATE SCHEMA " + schema + "; CREATE TABLE " + schema +
       ".ingot_load_ledger (load_id text NOT NULL, source_fingerprint text NOT NULL, target_table text NOT NULL, "
       "batch bigint NOT NULL, first_record bigint NOT NULL, records bigint NOT NULL, bytes bigint NOT NULL, "
       "committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (load_id, batch)); CREATE TABLE " +
       schema + ".t (id bigint, name text, score float8)");
  const std::string url = shell_quote(servers().pg_url + "?options=-csearch_path%3D" + schema);
  // An older ingot's row for another source: no obstacle.
  psql("INSERT INTO " + schema +
       ".ingot_load_ledger VALUES ('0123456789abcdef', "
       "'{\"edge_xxh3\":\"0000000000000000\",\"mtime_ns\":1,\"size\":5}', 't', 1, 1, 5, 50)");
  RunResult r = run_ingot(dir, "upload rows.csv " + url + " --table t --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["verified"] == true);
  CHECK(psql("SELECT count(*) FROM " + schema + ".t") == "100");
  CHECK(psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE "
             "table_schema = '" +
             schema + "' AND table_name = 'ingot_load_ledger'") ==
        "load_id,source_fingerprint,target_table,batch,first_record,records,bytes,committed_at,byte_offset,"
        "source_xxh3,refused,table_oid,truncated_at");

  // An older ingot's (partial) load of this very source, whatever its mtime now: its
  // fingerprint was size, mtime and the xxh3 of the first and last 64 KiB.
  write_file(dir / "other.csv", make_csv(50));
  const ingot::Fingerprint f = ingot::InputFile::open(dir.str("other.csv")).fingerprint();
  const std::string old_fp = "{\"edge_xxh3\":\"" + ingot::xxh3_hex(f.edge_hash) +
                             "\",\"mtime_ns\":" + std::to_string(f.mtime_ns - 5000000000) +
                             ",\"size\":" + std::to_string(f.size) + "}";
  psql("INSERT INTO " + schema + ".ingot_load_ledger VALUES ('fedcba9876543210', '" + old_fp +
       "', 't', 1, 1, 20, 300)");
  r = run_ingot(dir, "upload other.csv " + url + " --table t --json");
  CHECK(r.code == 2);
  CHECK(r.err.find("load fedcba9876543210 of this source into t was begun by an older ingot") != std::string::npos);
  CHECK(r.err.find("DELETE FROM ingot_load_ledger WHERE load_id = 'fedcba9876543210'") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(psql("SELECT count(*) FROM " + schema + ".t") == "100");
  // Into another table it is another load.
  psql("CREATE TABLE " + schema + ".t2 (id bigint, name text, score float8)");
  r = run_ingot(dir, "upload other.csv " + url + " --table t2 --json");
  REQUIRE(r.code == 0);
  CHECK(psql("SELECT count(*) FROM " + schema + ".t2") == "50");
}

TEST_CASE(
    "upload pg ledger: a role that may not create the TRUNCATE trigger loads, says so, and still reloads an "
    "emptied table",
    "[upload][pg][ledger]") {
  TempDir dir;
  write_file(dir / "rows.csv", make_csv(200));
  const std::string t = new_table();
  const std::string role = "lim" + rnd();
  // May write the table and the ledger, may not own the table (nor make triggers on it).
  // A load by the owner first: the ledger and the trigger's function exist.
  const std::string scratch = new_table();
  REQUIRE(run_ingot(dir, "upload rows.csv " + shell_quote(servers().pg_url) + " --table " + scratch).code == 0);
  REQUIRE(psql("CREATE ROLE " + role + " LOGIN") == "");
  REQUIRE(psql("GRANT SELECT, INSERT ON " + t + " TO " + role) == "");
  REQUIRE(psql("GRANT SELECT, INSERT, UPDATE, DELETE ON ingot_load_ledger TO " + role) == "");
  std::string url = servers().pg_url;
  REQUIRE(url.find("ingot@") != std::string::npos);
  url.replace(url.find("ingot@"), 6, role + "@");
  const std::string cmd = "upload rows.csv " + shell_quote(url) + " --table " + t + " --json";
  RunResult r = run_ingot(dir, cmd);
  REQUIRE(r.code == 0);
  CHECK(report(r)["verified"] == true);
  CHECK(report(r)["note"] == "cannot install ingot's TRUNCATE trigger on " + t + " (permission denied for table " + t +
                                 "): a TRUNCATE of it will be noticed only when it leaves the table empty");
  CHECK(psql("SELECT count(*) FROM pg_trigger WHERE tgrelid = '" + t + "'::regclass") == "0");
  psql("TRUNCATE " + t);
  r = run_ingot(dir, cmd);
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["records"] == 200);
  CHECK(report(r)["note"].get<std::string>().find(" is empty though load ") != std::string::npos);
  CHECK(counts(t) == exact(200));
}

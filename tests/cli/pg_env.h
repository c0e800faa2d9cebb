// What the PostgreSQL tests share: psql against the fixture server, a bounded wait on
// a query, and a Gate that stops a COPY at chosen rows until the test opens it, so a
// test catches a load midway without depending on timing.
#pragma once

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>

#include "cli/cli.h"
#include "servers.h"

namespace ingot_test {

// psql -Atc: one value per line (columns joined by '|'), for counts and sums.
inline std::string psql(const std::string& sql) {
  std::string cmd =
      "psql " + shell_quote(servers().pg_url) + " -qAtX -v ON_ERROR_STOP=1 -c " + shell_quote(sql) + " 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Polls `sql` until it prints `want`, for at most 120 s (a busy machine under ASan).
inline void wait_for(const std::string& sql, const std::string& want, const std::string& what) {
  std::string got;
  wait_until([&] { return (got = psql(sql)) == want; }, 120s,
             [&] { return what + ": " + sql + " gave " + got + ", not " + want; }, 10ms);
}

// A session holding an advisory lock while the Gate is closed; a row trigger on `table`
// makes each inserted row for which `when` (an SQL condition on NEW) holds wait on it,
// so the transaction of the batch holding such a row blocks until open().
class Gate {
 public:
  Gate(const std::string& table, const std::string& when) : key_(std::to_string(std::random_device{}() % 1000000000)) {
    psql("CREATE FUNCTION " + table +
         "_gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM "
         "pg_advisory_xact_lock_shared(" +
         key_ + "); RETURN NEW; END $$");
    psql("CREATE TRIGGER gate BEFORE INSERT ON " + table + " FOR EACH ROW WHEN (" + when + ") EXECUTE FUNCTION " +
         table + "_gate()");
    // "e": the pipe is close-on-exec, so the processes the test starts later (ingot,
    // psql) do not hold it open: closing it is the holder's end of input.
    holder_ = ::popen(("psql " + shell_quote(servers().pg_url) + " -qAtX > /dev/null 2>&1").c_str(), "we");
    REQUIRE(holder_);
    std::fputs(("SELECT pg_advisory_lock(" + key_ + ");\n").c_str(), holder_);
    std::fflush(holder_);
    wait_for("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = " + key_ + " AND granted", "1",
             "the gate's lock");
  }
  // The row with id = `at` waits.
  Gate(const std::string& table, int at) : Gate(table, "NEW.id = " + std::to_string(at)) {}
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  ~Gate() { open(); }
  // Number of backends waiting at the gate.
  std::string waiting_sql() const {
    return "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = " + key_ + " AND NOT granted";
  }
  void open() {
    if (holder_) ::pclose(holder_);  // psql reads EOF, ends its session, the lock goes
    holder_ = nullptr;
  }

 private:
  std::string key_;
  FILE* holder_ = nullptr;
};

}  // namespace ingot_test

// ingot upload to PostgreSQL, on the engine's five-stage pipeline (run_pipeline with an
// I/O stage, pipeline.h):
//   Chunker (chunks of --batch-bytes whole records)
//   -> transform, parallel: the chunk's records rewritten in COPY's text format (which
//      the server parses ~12% faster than its CSV) by convert's row converter
//      (convert/chunk_converter.h), for NDJSON and CSV/TSV sources alike (the COPY
//      input is never written to disk)
//   -> sequence, serial in order: batches of at most --batch-rows numbered across the
//      source (BatchCutter), --create-table on the first chunk
//   -> io, at most --workers at once: each batch COPY'd and recorded in
//      ingot_load_ledger in ONE transaction; a batch the server refuses is bisected
//      under savepoints, in the same transaction, until the bad rows are isolated
//   -> consume, serial in order: rejects with exact source lines, counts, progress.
// A rerun cuts the same batches and skips those the ledger holds: exactly once.
// The ledger knows what it counted (docs/upload.md, "Exactly once"):
//   the source by its path and, batch by batch, the xxh3 of the bytes each committed
//     batch was cut from: a touch is the same load; a changed source is refused before
//     anything loads (exit 1);
//   the table by its OID (DROP + CREATE: a new OID, the old rows are forgotten) and an
//     AFTER TRUNCATE trigger ingot installs on it, which marks the table's ledger rows
//     in the TRUNCATE's own transaction. Not by pg_relation_filenode(): VACUUM FULL,
//     CLUSTER and rewriting ALTERs change it too, and keep the rows.
// "verified" = after the load the ledger holds exactly the plan's batches for that same
// table, their rows adding up to the records cut from the source.
// --table is parsed (name, schema.name, "quoted" parts) and every identifier reaches SQL
// through PQescapeIdentifier; values travel as statement parameters.
#include <libpq-fe.h>
#include <tbb/concurrent_queue.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "ingot/format/csv.h"
#include "ingot/format/pg_copy_binary.h"
#include "ingot/format/pg_copy_text.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/convert/convert.h"
#include "ingot/convert/chunk_converter.h"
#include "ingot/net/upload/upload_batch.h"
#include "ingot/net/upload/upload_target.h"
#include "ingot/util/hash.h"

namespace ingot::detail {

namespace {

// The ledger: one row per committed batch, written in the batch's transaction. The
// columns after committed_at came with ledger format 2 (source and table identity);
// an older ledger gets them by ALTER TABLE, its rows keep NULL there.
constexpr const char* kLedgerDdl =
    "CREATE TABLE IF NOT EXISTS ingot_load_ledger ("
    " load_id text NOT NULL, source_fingerprint text NOT NULL, target_table text NOT NULL,"
    " batch bigint NOT NULL, first_record bigint NOT NULL, records bigint NOT NULL, bytes bigint NOT NULL,"
    " committed_at timestamptz NOT NULL DEFAULT now(),"
    " byte_offset bigint, source_xxh3 text, refused bigint, table_oid oid, truncated_at timestamptz,"
    " PRIMARY KEY (load_id, batch))";
constexpr std::pair<const char*, const char*> kLedgerV2Columns[] = {{"byte_offset", "bigint"},
                                                                    {"source_xxh3", "text"},
                                                                    {"refused", "bigint"},
                                                                    {"table_oid", "oid"},
                                                                    {"truncated_at", "timestamptz"}};
// Installed on every table ingot loads into: a TRUNCATE marks the table's ledger rows
// in its own transaction (so a TRUNCATE rolled back marks nothing). SECURITY DEFINER:
// whoever truncates need not be allowed to write the ledger.
constexpr const char* kTruncateFunction = "ingot_load_ledger_truncated";
constexpr const char* kTruncateTrigger = "ingot_load_ledger_truncate";

std::string one_line(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& ch : m)
    if (ch == '\n' || ch == '\t') ch = ' ';
  return m;
}

struct Conn {
  PGconn* c = nullptr;
  explicit Conn(const std::string& url) {
    c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string m = one_line(PQerrorMessage(c));
      PQfinish(c);
      c = nullptr;
      throw remote_error("cannot connect: " + m);
    }
    // Server NOTICEs ("relation already exists, skipping") are not ours to print.
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
  }
  ~Conn() {
    if (c) PQfinish(c);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
};

struct PgResult {
  PGresult* r;
  explicit PgResult(PGresult* res) : r(res) {}
  ~PgResult() { PQclear(r); }
  ExecStatusType status() const { return PQresultStatus(r); }
  std::string sqlstate() const {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return s ? s : "";
  }
  std::string message() const { return one_line(PQresultErrorMessage(r)); }
  // The primary message without "ERROR:" and the COPY context (its line numbers count
  // within one COPY, not in the source).
  std::string primary() const {
    const char* m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    return m ? one_line(m) : message();
  }
};

// A statement that must succeed; connection loss is remote (exit 3), the rest data.
void exec(Conn& k, const std::string& sql, std::vector<std::string> params = {}) {
  std::vector<const char*> p;
  for (auto& s : params) p.push_back(s.c_str());
  PgResult r(PQexecParams(k.c, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(), nullptr, nullptr, 0));
  if (r.status() != PGRES_COMMAND_OK && r.status() != PGRES_TUPLES_OK) {
    if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost: " + r.message());
    throw data_error(r.message());
  }
}

std::vector<std::vector<std::string>> query(Conn& k, const std::string& sql, std::vector<std::string> params = {}) {
  std::vector<const char*> p;
  for (auto& s : params) p.push_back(s.c_str());
  PgResult r(PQexecParams(k.c, sql.c_str(), static_cast<int>(p.size()), nullptr, p.data(), nullptr, nullptr, 0));
  if (r.status() != PGRES_TUPLES_OK) {
    if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost: " + r.message());
    throw data_error(r.message());
  }
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < PQntuples(r.r); ++i) {
    std::vector<std::string> row;
    for (int j = 0; j < PQnfields(r.r); ++j) row.push_back(PQgetvalue(r.r, i, j));
    rows.push_back(std::move(row));
  }
  return rows;
}

// --table, parsed: `name`, `schema.name`, each part bare or in double quotes with ""
// for a quote inside. The parts reach SQL only through PQescapeIdentifier (or as a
// statement parameter), never as typed: a name is data, not SQL.
struct TableName {
  std::vector<std::string> parts;  // 1 or 2, unquoted

  // The identity of the target in a load id: the parts, not their spelling.
  std::string key() const { return nlohmann::json(parts).dump(); }
};

bool bare_ident_char(unsigned char c, bool first) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80 ||
         (!first && ((c >= '0' && c <= '9') || c == '$'));
}

TableName parse_table(const std::string& t) {
  constexpr const char* kForm = " (write name, schema.name or \"Quoted Name\", with \"\" for a quote inside quotes)";
  auto bad = [&](const std::string& what) { return usage_error("--table: " + what + kForm); };
  TableName n;
  std::size_t i = 0;
  while (true) {
    std::string part;
    if (i < t.size() && t[i] == '"') {
      for (++i;; ++i) {
        if (i >= t.size()) throw bad("a quoted name is not closed");
        if (t[i] == '"') {
          if (i + 1 < t.size() && t[i + 1] == '"') {
            part += '"';
            ++i;
            continue;
          }
          ++i;
          break;
        }
        if (t[i] == '\0') throw bad("a name cannot hold a NUL byte");
        part += t[i];
      }
      if (part.empty()) throw bad("an empty quoted name");
    } else {
      while (i < t.size() && bare_ident_char(static_cast<unsigned char>(t[i]), part.empty())) part += t[i++];
      if (part.empty()) {
        if (i >= t.size()) throw bad(n.parts.empty() ? "empty name" : "a name ends with '.'");
        const unsigned char c = static_cast<unsigned char>(t[i]);
        throw bad(c > ' ' && c < 0x7f ? std::string("unexpected '") + t[i] + "' at byte " + std::to_string(i + 1)
                                      : "unexpected byte " + std::to_string(c) + " at byte " + std::to_string(i + 1));
      }
    }
    // The server would cut a longer name to 63 bytes: two names would be one table.
    if (part.size() > 63) throw bad("a name longer than 63 bytes");
    n.parts.push_back(std::move(part));
    if (i == t.size()) break;
    if (t[i] != '.') {
      const unsigned char c = static_cast<unsigned char>(t[i]);
      throw bad(c > ' ' && c < 0x7f ? std::string("unexpected '") + t[i] + "' at byte " + std::to_string(i + 1)
                                    : "unexpected byte " + std::to_string(c) + " at byte " + std::to_string(i + 1));
    }
    if (n.parts.size() == 2) throw bad("more than two dot-separated parts");
    ++i;
  }
  return n;
}

std::string escape_ident(Conn& k, const std::string& s) {
  char* e = PQescapeIdentifier(k.c, s.data(), s.size());
  if (!e) throw usage_error("cannot quote the name '" + s + "': " + one_line(PQerrorMessage(k.c)));
  std::string q(e);
  PQfreemem(e);
  return q;
}

std::string escape_table(Conn& k, const TableName& n) {
  std::string q;
  for (const std::string& p : n.parts) q += (q.empty() ? "" : ".") + escape_ident(k, p);
  return q;
}

// Why a COPY failed; an empty message means it did not.
struct CopyFailure {
  std::string message;
  std::string state;      // SQLSTATE
  std::uint64_t row = 0;  // the 1-based row of the COPY input the server names, or 0
};

// "COPY t, line 5, column score: ..." -> 5. Rows of the text format are one line each.
std::uint64_t copy_context_row(const char* context) {
  if (!context) return 0;
  std::string_view c(context);
  const auto at = c.find(", line ");
  if (c.rfind("COPY ", 0) != 0 || at == std::string_view::npos) return 0;
  std::uint64_t n = 0;
  for (std::size_t i = at + 7; i < c.size() && c[i] >= '0' && c[i] <= '9'; ++i)
    n = n * 10 + static_cast<unsigned>(c[i] - '0');
  return n;
}

// One COPY of data: text-format rows, or binary tuples (sent between the format's
// header and trailer).
CopyFailure copy_rows(Conn& k, const std::string& copy_sql, std::string_view data, bool binary = false) {
  CopyFailure f;
  {
    PgResult r(PQexec(k.c, copy_sql.c_str()));
    if (r.status() != PGRES_COPY_IN) {
      f.state = r.sqlstate();
      if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost: " + r.message());
      f.message = r.primary();
      return f;
    }
  }
  if (binary) PQputCopyData(k.c, kCopyBinaryHeader.data(), static_cast<int>(kCopyBinaryHeader.size()));
  const std::size_t step = 64 << 10;  // like psql: the server parses while more arrives
  for (std::size_t off = 0; off < data.size(); off += step) {
    std::size_t n = std::min(step, data.size() - off);
    if (PQputCopyData(k.c, data.data() + off, static_cast<int>(n)) != 1) break;
  }
  if (binary) {
    PQputCopyData(k.c, kCopyBinaryTrailer.data(), static_cast<int>(kCopyBinaryTrailer.size()));
  } else if (!data.empty() && data.back() != '\n') {
    PQputCopyData(k.c, "\n", 1);  // a last record without a line end still ends the data
  }
  PQputCopyEnd(k.c, nullptr);
  while (PGresult* res = PQgetResult(k.c)) {
    PgResult r(res);
    if (r.status() != PGRES_COMMAND_OK && f.message.empty()) {
      f.state = r.sqlstate();
      f.message = r.primary();
      if (f.message.empty()) f.message = "COPY failed";
      f.row = copy_context_row(PQresultErrorField(r.r, PG_DIAG_CONTEXT));
    }
  }
  if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost during COPY: " + f.message);
  return f;
}

std::vector<std::string> header_fields(const std::string& header, char delim) {
  CsvTokenizer t(delim);
  std::string padded = header + std::string(kChunkPadding, '\0');
  t.reset(padded.data(), header.size());
  CsvRecord rec;
  std::vector<std::string> out;
  if (t.next(rec)) {
    for (auto f : rec.fields) out.emplace_back(f);
  }
  if (!out.empty() && out[0].size() >= 3 && out[0].rfind("\xEF\xBB\xBF", 0) == 0) out[0] = out[0].substr(3);
  return out;
}

std::string infer_type(const std::vector<std::string>& values) {
  bool all_int = true, all_num = true, all_bool = true, any = false;
  for (const std::string& v : values) {
    if (v.empty()) continue;
    any = true;
    char* end = nullptr;
    errno = 0;
    std::strtoll(v.c_str(), &end, 10);
    if (*end || errno) all_int = false;
    std::strtod(v.c_str(), &end);
    if (*end || v.find_first_of("xXnN") != std::string::npos) all_num = false;
    if (v != "true" && v != "false") all_bool = false;
  }
  if (!any) return "text";
  if (all_int) return "bigint";
  if (all_num) return "double precision";
  if (all_bool) return "boolean";
  return "text";
}

// A record of the COPY input: its bytes in the chunk's payload (from the previous
// record's end to out_end) and its source bytes in the chunk (for line numbers, rejects
// and the batch plan). Rows are in COPY's text format, whatever the source, or binary
// tuples for a CSV/TSV chunk into a table of types format/pg_copy_binary.h encodes.
using Row = ConvertedRow;

struct Refused {
  std::size_t row = 0;  // index in the chunk's rows
  std::string message;
};

struct BatchResult {
  std::uint64_t loaded = 0;
  bool conflict = false;  // a concurrent run committed this batch first
  std::vector<Refused> refused;
};

// Per token: the chunk's COPY input and what each stage learned about it.
struct Work {
  std::unique_ptr<RowConverter> converter;  // made by the first chunk the token carries
  const char* payload = nullptr;            // the converter's rows
  bool binary = false;                      // they are COPY binary tuples, not text rows
  std::vector<Row> rows;
  ChunkTally tally;                 // newlines, and the records rejected before the server
  std::uint64_t first_line = 0;     // absolute line of the chunk's first byte
  const Reject* stop_at = nullptr;  // --on-error fail: the chunk's first reject
  std::vector<Batch> batches;
  std::vector<BatchResult> results;

  std::size_t begin_of(std::size_t i) const { return i ? rows[i - 1].out_end : 0; }
  std::string_view data(std::size_t i, std::size_t j) const {
    return {payload + begin_of(i), rows[j - 1].out_end - begin_of(i)};
  }
};

// Newlines before each of the (ascending) chunk offsets, in one forward pass.
class LineCounter {
 public:
  explicit LineCounter(const Chunk& c) : c_(c) {}
  std::uint64_t before(std::size_t offset) {
    lines_ += static_cast<std::uint64_t>(std::count(c_.data + at_, c_.data + offset, '\n'));
    at_ = offset;
    return lines_;
  }

 private:
  const Chunk& c_;
  std::size_t at_ = 0;
  std::uint64_t lines_ = 0;
};

// One COPY'd batch with its ledger row, in one transaction. Returns what loaded; rows
// the server refuses are bisected out (--on-error skip) or stop the load (fail).
// What every batch of one load shares.
struct LoadContext {
  std::string copy_sql, copy_binary_sql;
  std::string load_id;
  std::string fp_text;    // the source's identity (ledger column source_fingerprint)
  std::string table_sql;  // the target, quoted: the ledger row names the table the COPY went into
  std::string source;     // the path, for messages
};

BatchResult load_batch(Conn& k, const Chunk& c, const Work& w, const Batch& b, const UploadOptions& o,
                       const LoadContext& ctx) {
  const std::string& copy_sql = w.binary ? ctx.copy_binary_sql : ctx.copy_sql;
  const std::string& source = ctx.source;
  // The batch's source bytes, which a rerun must find unchanged to skip it.
  const std::string hash = xxh3_hex(xxh3_64(c.data + (b.offset - c.offset), b.length));
  BatchResult res;
  exec(k, "BEGIN");
  const CopyFailure failed = copy_rows(k, copy_sql, w.data(b.row_begin, b.row_end), w.binary);
  std::uint64_t ok_rows = b.records();
  if (!failed.message.empty()) {
    exec(k, "ROLLBACK");
    // Only bad data (SQLSTATE classes 22 and 23) is worth bisecting; a missing column
    // or permission stops the load.
    const std::string& state = failed.state;
    if (state.rfind("22", 0) != 0 && state.rfind("23", 0) != 0) {
      throw data_error("COPY into " + o.table + " failed: " + failed.message + " (SQLSTATE " + state + ")");
    }
    if (o.on_error == OnError::fail) {
      // The line of the row the server names (else the batch's first).
      const std::size_t row = failed.row >= 1 && failed.row <= b.records() ? b.row_begin + failed.row - 1 : b.row_begin;
      throw data_error("batch " + std::to_string(b.number) + " refused by the server: " + failed.message)
          .at_path(source)
          .at_line(w.first_line + LineCounter(c).before(w.rows[row].src_begin));
    }
    exec(k, "BEGIN");
    ok_rows = 0;
    std::vector<std::pair<std::size_t, std::size_t>> todo = {{b.row_begin, b.row_end}};
    while (!todo.empty()) {
      auto [i, j] = todo.back();
      todo.pop_back();
      exec(k, "SAVEPOINT ingot_bisect");
      std::string m = copy_rows(k, copy_sql, w.data(i, j), w.binary).message;
      if (m.empty()) {
        exec(k, "RELEASE SAVEPOINT ingot_bisect");
        ok_rows += j - i;
        continue;
      }
      exec(k, "ROLLBACK TO SAVEPOINT ingot_bisect");
      if (j - i == 1) {
        res.refused.push_back({i, m});
      } else {
        std::size_t mid = i + (j - i) / 2;
        todo.push_back({mid, j});
        todo.push_back({i, mid});
      }
    }
  }
  // The ledger row commits with the rows. A concurrent run that committed the same
  // batch first makes the insert a no-op: roll ours back. The table's OID is looked up
  // here, after the COPY: its lock keeps the name on the same table until COMMIT.
  auto ins = query(k,
                   "INSERT INTO ingot_load_ledger (load_id, source_fingerprint, target_table, batch, first_record, "
                   "records, bytes, byte_offset, source_xxh3, refused, table_oid) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                   "$8, $9, $10, to_regclass($11)::oid) ON CONFLICT DO NOTHING RETURNING batch",
                   {ctx.load_id, ctx.fp_text, o.table, std::to_string(b.number), std::to_string(b.first_record),
                    std::to_string(ok_rows), std::to_string(b.length), std::to_string(b.offset), hash,
                    std::to_string(b.records() - ok_rows), ctx.table_sql});
  if (ins.empty()) {
    exec(k, "ROLLBACK");
    res.refused.clear();
    res.conflict = true;
    return res;
  }
  exec(k, "COMMIT");
  res.loaded = ok_rows;
  return res;
}

// Creates the ledger, or brings an older one to format 2 (new columns, NULL in old rows).
// Returns the schema it is in, quoted, for the truncate trigger's function.
std::string ensure_ledger(Conn& k) {
  // Looked up first: CREATE ... IF NOT EXISTS wants CREATE on the schema even when the
  // ledger is there, which a role that only loads may not have.
  if (query(k, "SELECT to_regclass('ingot_load_ledger')::text")[0][0].empty()) exec(k, kLedgerDdl);
  for (const auto& [name, type] : kLedgerV2Columns) {
    // Checked first: ALTER TABLE takes an exclusive lock even when it has nothing to do.
    if (query(k,
              "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('ingot_load_ledger') AND attname = $1 AND "
              "NOT attisdropped",
              {name})
            .empty()) {
      exec(k, std::string("ALTER TABLE ingot_load_ledger ADD COLUMN IF NOT EXISTS ") + name + " " + type);
    }
  }
  auto r = query(k,
                 "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = "
                 "to_regclass('ingot_load_ledger')");
  if (r.empty()) throw data_error("ingot_load_ledger was created but cannot be found on the search_path");
  return escape_ident(k, r[0][0]);
}

// The COPY columns' types when each has a binary encoding and one at least is not text
// (then the load goes binary), else none.
std::vector<CopyBinaryType> copy_binary_types(Conn& k, const std::string& oid,
                                              const std::vector<std::string>& columns) {
  std::map<std::string, std::uint32_t> type_of;
  for (auto& r : query(k,
                       "SELECT attname, atttypid::int8 FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND "
                       "NOT attisdropped",
                       {oid})) {
    type_of[r[0]] = static_cast<std::uint32_t>(std::stoul(r[1]));
  }
  std::vector<CopyBinaryType> types;
  bool typed = false;
  for (const std::string& c : columns) {
    const auto it = type_of.find(c);
    const auto t = it == type_of.end() ? std::nullopt : copy_binary_type(it->second);
    if (!t) return {};
    typed |= *t != CopyBinaryType::text;
    types.push_back(*t);
  }
  if (!typed) types.clear();
  return types;
}

// The table's OID as text, "" when it does not exist.
std::string table_oid(Conn& k, const std::string& table_sql) {
  auto r = query(k, "SELECT coalesce(to_regclass($1)::oid::text, '')", {table_sql});
  return r.empty() ? "" : r[0][0];
}

bool duplicate(const PgResult& r) {
  const std::string s = r.sqlstate();
  return s == "42710" || s == "42723" ||
         s == "23505";  // duplicate_object, duplicate_function, unique_violation (a race)
}

// Installs the AFTER TRUNCATE trigger on the target (once; a concurrent run may win the
// race). Returns "" or, when the role may not create it, the one-line note saying what
// that costs.
std::string ensure_truncate_trigger(Conn& k, const std::string& table_sql, const std::string& oid,
                                    const std::string& ledger_schema, const std::string& table_name) {
  if (!query(k, "SELECT 1 FROM pg_trigger WHERE tgrelid = $1::oid AND tgname = $2", {oid, kTruncateTrigger}).empty()) {
    return "";
  }
  const std::string fn = ledger_schema + "." + kTruncateFunction;
  auto fail = [&](const PgResult& r) {
    if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost: " + r.message());
    return "cannot install ingot's TRUNCATE trigger on " + table_name + " (" + r.primary() +
           "): a TRUNCATE of it will be noticed only when it leaves the table empty";
  };
  if (query(k, "SELECT to_regprocedure($1)::text", {fn + "()"})[0][0].empty()) {
    PgResult r(PQexec(k.c, ("CREATE FUNCTION " + fn +
                            "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
                            "SET search_path = " +
                            ledger_schema +
                            ", pg_temp AS $ingot$ BEGIN "
                            "IF to_regclass('ingot_load_ledger') IS NOT NULL THEN "
                            "UPDATE ingot_load_ledger SET truncated_at = now() WHERE table_oid = TG_RELID AND "
                            "truncated_at IS NULL; END IF; RETURN NULL; END $ingot$")
                               .c_str()));
    if (r.status() != PGRES_COMMAND_OK && !duplicate(r)) return fail(r);
  }
  PgResult r(PQexec(k.c, ("CREATE TRIGGER " + std::string(kTruncateTrigger) + " AFTER TRUNCATE ON " + table_sql +
                          " FOR EACH STATEMENT EXECUTE FUNCTION " + fn + "()")
                             .c_str()));
  if (r.status() != PGRES_COMMAND_OK && !duplicate(r)) return fail(r);
  return "";
}

void add_note(UploadReport& rep, const std::string& note) {
  if (note.empty()) return;
  rep.note += (rep.note.empty() ? "" : "; ") + note;
}

class PgTarget final : public UploadTarget {
 public:
  using UploadTarget::UploadTarget;

 private:
  const char* name() const override { return "postgresql"; }

  void check() override {
    if (o.table.empty()) throw usage_error("--table is needed for a PostgreSQL destination");
    if (o.workers == 0) throw usage_error("--workers must be at least 1");
    if (o.from)
      kind = *o.from;
    else if (auto k = record_kind_from_path(src.path))
      kind = *k;
    else
      throw usage_error("cannot tell the source format from '" + src.path + "'; pass --from csv|tsv|ndjson");
    if (kind == RecordKind::lines) throw usage_error("a PostgreSQL load reads csv, tsv or ndjson");
    if (!o.fields.empty() && !o.schema.empty()) throw usage_error("--fields and --schema exclude each other");
    if (kind != RecordKind::ndjson && (!o.fields.empty() || !o.schema.empty())) {
      throw usage_error("--fields and --schema apply to NDJSON sources (CSV/TSV columns come from the header)");
    }
    tname = parse_table(o.table);
  }

  // The source's identity, the connection, the table, the COPY columns and the load id:
  // what the batches are cut by and the ledger knows them by. The batches themselves are
  // cut as the source streams past (send).
  bool plan() override {
    // The source's identity: its absolute path (symlinks resolved). Its content is
    // checked batch by batch against the ledger (source_xxh3), so a touch changes
    // nothing and a changed source is refused. stdin cannot be read again after a crash:
    // its batches still commit with their ledger rows, but under a load id of their own,
    // so a rerun loads everything again.
    if (in->seekable()) {
      std::error_code ec;
      std::filesystem::path abs = std::filesystem::weakly_canonical(std::filesystem::absolute(src.path), ec);
      if (ec) abs = std::filesystem::absolute(src.path).lexically_normal();
      fp_text = nlohmann::json({{"path", abs.string()}}).dump();
    } else {
      fp_text = "{\"stdin\":" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "," +
                std::to_string(::getpid()) + "}";
      rep.note = "stdin: not resumable (a rerun loads everything again)";
    }

    // --dry-run cuts the batches exactly as a load would, without a connection.
    if (!o.dry_run) {
      main = std::make_unique<Conn>(o.dest);
      // In these client encodings a multibyte character may hold the byte of '\\', which
      // the text format doubles as an escape, corrupting the character.
      const std::string enc =
          PQparameterStatus(main->c, "client_encoding") ? PQparameterStatus(main->c, "client_encoding") : "";
      for (const char* unsafe : {"SJIS", "SHIFT_JIS_2004", "BIG5", "GBK", "UHC", "GB18030", "JOHAB"}) {
        if (enc == unsafe) {
          throw usage_error("client_encoding " + enc +
                            " is not supported (its characters may contain a backslash byte); " +
                            "convert the source to UTF-8, e.g. with iconv, and load it with client_encoding UTF8")
              .at_path(o.dest);
        }
      }
      table = escape_table(*main, tname);
      ledger_schema = ensure_ledger(*main);
      oid = table_oid(*main, table);
    }
    // The target's identity in the load id: schema and name as the server resolves them
    // (an existing table by its OID, a new one where CREATE TABLE puts it), so `t`,
    // `public.t` and `"t"` are one target, and `t` under another search_path another.
    std::vector<std::string> target = tname.parts;
    if (main && !oid.empty()) {
      target = query(*main,
                     "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
                     "c.oid = $1::oid",
                     {oid})[0];
    } else if (main && target.size() == 1) {
      target.insert(target.begin(), query(*main, "SELECT coalesce(current_schema(), '')")[0][0]);
    }

    // The COPY columns. CSV/TSV: the header. NDJSON: --fields/--schema, else the table's
    // columns, else (a table to create) the exact union of keys, as convert finds it.
    // A dry run needs none: which NDJSON lines are records does not depend on them.
    chunker.emplace(*in, kind, 0, kToEnd, batch_chunker_options(o.chunker, o.batch_bytes));
    delim = o.chunker.delimiter ? o.chunker.delimiter : default_delimiter(kind);  // CSV/TSV sources
    if (kind == RecordKind::ndjson) {
      columns = o.schema.empty() ? o.fields : read_schema(o.schema);
      if (columns.empty() && !o.dry_run) {
        for (auto& r : query(*main,
                             "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
                             "AND NOT a.attisdropped ORDER BY a.attnum",
                             {table})) {
          columns.push_back(r[0]);
        }
        if (columns.empty() && !o.create_table) {
          throw usage_error("table " + o.table + " does not exist; add --create-table");
        }
        if (columns.empty()) {
          if (!in->seekable() || in->compressed()) {
            throw usage_error(
                "the columns of a new table come from a pre-pass over the NDJSON, which a stream or "
                "compressed input does not allow; pass --fields or --schema")
                .at_path(src.path);
          }
          ConvertOptions co;
          co.pipeline = o.pipeline;
          co.chunker = o.chunker;
          columns = ndjson_key_union(*in, 0, kToEnd, co);
          if (columns.empty())
            throw data_error("no valid JSON object holds a key: no columns to create").at_path(src.path);
        }
      }
    } else if (o.header) {
      std::string header = chunker->take_first_record();
      columns = header_fields(header, delim);
      if (columns.empty()) throw data_error("no header record").at_path(src.path);
      rep.renamed_columns = rename_duplicate_columns(columns);
      line += static_cast<std::uint64_t>(std::count(header.begin(), header.end(), '\n'));
    } else if (!o.dry_run) {
      // --no-header: the table's columns in order, else (a table to create) col1, col2,
      // ... as convert names them, as many as the first record has fields.
      for (auto& r : query(*main,
                           "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
                           "AND NOT a.attisdropped ORDER BY a.attnum",
                           {table})) {
        columns.push_back(r[0]);
      }
      if (columns.empty() && !o.create_table)
        throw usage_error("table " + o.table + " does not exist; add --create-table");
      if (columns.empty()) {
        if (!in->seekable()) {
          throw usage_error(
              "--no-header --create-table reads the first record twice, which a stream does not allow; "
              "create the table first")
              .at_path(src.path);
        }
        ChunkerOptions copts = o.chunker;
        copts.delimiter = delim;
        Chunker head(*in, kind, 0, kToEnd, copts);
        columns = delimited_keys(head.take_first_record(), delim, false, o.chunker.strict_quotes, src.path);
        if (columns.empty()) throw data_error("no record: no columns to create").at_path(src.path);
      }
    }

    // CSV/TSV into an existing table whose columns all have a binary encoding, one at
    // least not text: COPY binary, so the server parses no numbers, dates or timestamps
    // (format/pg_copy_binary.h). A text-only table stays in the text format, which is
    // smaller and which the server reads faster there (docs/upload.md, "PostgreSQL").
    if (!o.dry_run && kind != RecordKind::ndjson && !oid.empty()) binary_types = copy_binary_types(*main, oid, columns);

    // The load id names this source + table + batch settings + columns: the same command
    // again finds its batches in the ledger. Not the source's mtime or content: a touch
    // is the same load, and a changed source is refused by the batch hashes, not taken
    // for a new load (which would load its rows twice).
    std::string id_text = "ingot ledger 2\n" + fp_text + "\n" + nlohmann::json(target).dump() + "\n" +
                          record_kind_name(kind) + "\n" + std::to_string(o.batch_rows) + "\n" +
                          std::to_string(o.batch_bytes) + "\n" + nlohmann::json(columns).dump();
    // How records become rows is part of the plan: since malformed CSV records are
    // rejected here rather than sent, a CSV chunk may hold other rows than it did for an
    // older ingot.
    if (kind != RecordKind::ndjson) id_text += "\nrows: malformed records rejected";
    // Other CSV readings cut other rows (older load ids stay what they were).
    if (kind != RecordKind::ndjson && delim != default_delimiter(kind))
      id_text += "\ndelimiter " + std::string(1, delim);
    if (kind != RecordKind::ndjson && !o.header) id_text += "\nno header";
    rep.load_id = xxh3_hex(xxh3_64(id_text.data(), id_text.size()));
    return true;
  }

  // What the ledger says earlier runs committed, checked against the source's bytes.
  bool resume() override {
    // Batches an earlier run committed: batch -> (offset, length), as cut then.
    if (!o.dry_run && in->seekable()) {
      // A load an older ingot began (format 1: no batch hashes, mtime in the fingerprint)
      // can be neither checked nor resumed: refused, not loaded a second time.
      const Fingerprint f = in->fingerprint();
      const std::string old_fp =
          "{\"edge_xxh3\":\"" + xxh3_hex(f.edge_hash) + "\",\"mtime_ns\":%,\"size\":" + std::to_string(f.size) + "}";
      auto old = query(*main,
                       "SELECT load_id FROM ingot_load_ledger WHERE source_xxh3 IS NULL AND target_table = $1 AND "
                       "source_fingerprint LIKE $2 LIMIT 1",
                       {o.table, old_fp});
      if (!old.empty()) {
        throw usage_error("load " + old[0][0] + " of this source into " + o.table +
                          " was begun by an older ingot, whose ledger rows cannot be checked against the source: if "
                          "it completed there is nothing to do; else delete its rows from the table and DELETE FROM "
                          "ingot_load_ledger WHERE load_id = '" +
                          old[0][0] + "', then load again")
            .at_path(o.dest);
      }
      // Ledger rows of this source whose rows are gone: the table was truncated (the
      // trigger marked them) or dropped (another OID, or none). Forgotten, said why.
      for (auto& r : query(*main,
                           "SELECT load_id, bool_or(truncated_at IS NOT NULL), bool_or(table_oid IS DISTINCT FROM "
                           "nullif($2, '')::oid) FROM ingot_load_ledger WHERE load_id = $1 AND source_xxh3 IS NOT NULL "
                           "AND (truncated_at IS NOT NULL OR table_oid IS DISTINCT FROM nullif($2, '')::oid) GROUP BY "
                           "load_id",
                           {rep.load_id, oid})) {
        const std::string why = oid.empty()   ? "was dropped"
                                : r[2] == "t" ? "was dropped and created again"
                                              : "was truncated";
        add_note(rep, "table " + o.table + " " + why + " since load " + r[0] + ": loading again");
        exec(*main,
             "DELETE FROM ingot_load_ledger WHERE load_id = $1 AND (truncated_at IS NOT NULL OR table_oid IS DISTINCT "
             "FROM nullif($2, '')::oid)",
             {r[0], oid});
      }
      // Another load of this source into this very table (by OID, whatever its spelling).
      auto others = oid.empty()
                        ? std::vector<std::vector<std::string>>{}
                        : query(*main,
                                "SELECT DISTINCT load_id FROM ingot_load_ledger WHERE source_fingerprint = $1 AND "
                                "table_oid = $2::oid AND truncated_at IS NULL AND load_id <> $3",
                                {fp_text, oid, rep.load_id});
      if (!others.empty()) {
        throw usage_error("this source was already (partly) loaded into " + o.table +
                          " with other batch settings or columns (load " + others[0][0] +
                          "); rerun with the same --batch-rows/--batch-bytes/--fields, or delete its ledger rows")
            .at_path(o.dest);
      }
      auto rows =
          query(*main,
                "SELECT batch, byte_offset, bytes, source_xxh3, records FROM ingot_load_ledger WHERE load_id = $1 "
                "ORDER BY batch",
                {rep.load_id});
      // Emptied some other way (DELETE, or a TRUNCATE without the trigger): the rows the
      // ledger holds are not there. One row of the table is enough to look at.
      std::uint64_t ledger_records = 0;
      for (auto& r : rows) ledger_records += std::stoull(r[4]);
      if (ledger_records > 0 && !oid.empty() && query(*main, "SELECT 1 FROM " + table + " LIMIT 1").empty()) {
        add_note(rep, "table " + o.table + " is empty though load " + rep.load_id + " committed " +
                          std::to_string(ledger_records) + " rows into it: loading again");
        exec(*main, "DELETE FROM ingot_load_ledger WHERE load_id = $1", {rep.load_id});
        rows.clear();
      }
      // The source must hold the bytes each committed batch was cut from, checked before
      // anything loads: a changed source is refused, with nothing of it loaded.
      for (auto& r : rows) {
        const std::uint64_t number = std::stoull(r[0]), offset = std::stoull(r[1]), length = std::stoull(r[2]);
        const auto stored = parse_xxh3_hex(r[3]);
        bool same = stored && offset + length <= in->size();
        if (same) {
          Xxh3 h;
          if (!in->direct()) {  // by ranges (a remote object, seekable zstd)
            std::string buf(std::min<std::uint64_t>(length, 1 << 20), '\0');
            for (std::uint64_t at = offset; at < offset + length;) {
              const std::size_t n =
                  in->read_at(buf.data(), std::min<std::uint64_t>(buf.size(), offset + length - at), at);
              if (n == 0) break;
              h.update(buf.data(), n);
              at += n;
            }
          } else {
            hash_file_range(h, in->fd(), offset, length, src.path);
          }
          same = h.digest() == *stored;
        }
        if (!same) {
          throw data_error("the source changed since load " + rep.load_id + " into " + o.table + " began (batch " +
                           r[0] + ", bytes " + std::to_string(offset) + "-" + std::to_string(offset + length) +
                           " differ): restore it, or delete that load's rows from the table and DELETE FROM "
                           "ingot_load_ledger WHERE load_id = '" +
                           rep.load_id + "' to load it again")
              .at_path(src.path);
        }
        committed[number] = {offset, length};
      }
    }
    rep.resumed = !committed.empty();
    if (!o.dry_run && !oid.empty()) add_note(rep, ensure_truncate_trigger(*main, table, oid, ledger_schema, o.table));

    return true;
  }

  void send() override {
    LoadContext ctx;
    ctx.load_id = rep.load_id;
    ctx.fp_text = fp_text;
    ctx.table_sql = table;
    ctx.source = src.path;
    std::vector<std::string> quoted_columns;
    if (!o.dry_run) {
      ctx.copy_sql = "COPY " + table + " (";
      for (std::size_t i = 0; i < columns.size(); ++i) {
        quoted_columns.push_back(escape_ident(*main, columns[i]));
        ctx.copy_sql += (i ? ", " : "") + quoted_columns.back();
      }
      ctx.copy_sql += ") FROM STDIN";  // text format, which every source is rewritten into
      ctx.copy_binary_sql = ctx.copy_sql + " WITH (FORMAT binary)";
    }

    // The connections, shared by the batches of every chunk in the I/O stage; a batch
    // waits (sleeping: the CPU stays with the converter and the server) for a free one.
    std::vector<std::unique_ptr<Conn>> conns;
    tbb::concurrent_bounded_queue<Conn*> pool;
    for (unsigned i = 0; i < (o.dry_run ? 0 : o.workers); ++i) {
      conns.push_back(std::make_unique<Conn>(o.dest));
      pool.push(conns.back().get());
    }
    // Rejects (invalid records and rows the server refused), --on-error and --max-errors
    // go through the engine's RecordLedger, as in convert.
    RecordLedger& record_ledger = open_ledger(src.path, line);

    std::set<std::uint64_t> done;
    for (const auto& kv : committed) done.insert(kv.first);
    cutter.emplace(o.batch_rows, std::move(done));
    bool table_checked = o.dry_run || !o.create_table;
    bool stopping = false;  // --on-error fail met a reject: no more rows are cut
    PipelineOptions popts = o.pipeline;
    popts.tokens_per_thread = 1;  // tokens hold a batch-bytes chunk and its COPY input

    run_pipeline<Work>(
        *chunker, popts, IoStage{o.workers},
        // Parallel: the chunk's records, converted to COPY input when they are NDJSON.
        [&](const Chunk& c, Work& w) {
          if (!w.converter) {
            w.converter = binary_types.empty()
                              ? make_row_converter(kind, RowFormat::copy_text, columns, delim, o.chunker.strict_quotes)
                              : make_copy_binary_converter(delim, o.chunker.strict_quotes, binary_types);
          }
          w.converter->convert(c, w.rows, w.tally);
          w.payload = w.converter->data();
          w.binary = w.converter->binary();
        },
        // Serial, in order: line numbers, batches, the table.
        [&](const Chunk& c, Work& w) {
          w.first_line = line;
          line += w.tally.newlines;
          // --on-error fail: only the rows before the chunk's first reject load, and the
          // error is raised by the in-order consumer, so that a row the server refused in
          // an earlier chunk (an earlier line) is the one reported, for any -j.
          // Later chunks then load nothing.
          w.stop_at = nullptr;
          if (stopping) w.rows.clear();
          if (o.on_error == OnError::fail && !w.tally.rejects.empty() && !stopping) {
            w.stop_at = &w.tally.rejects.front();
            const std::size_t at = w.stop_at->offset;
            w.rows.erase(
                std::partition_point(w.rows.begin(), w.rows.end(), [&](const Row& r) { return r.src_begin < at; }),
                w.rows.end());
            stopping = true;
          }
          w.batches.clear();
          cutter->cut(
              c, w.rows.size(),
              [&](std::size_t i) {
                return std::pair<std::size_t, std::size_t>(w.rows[i].src_begin, w.rows[i].src_end);
              },
              w.batches);
          w.results.assign(w.batches.size(), BatchResult{});
          for (const Batch& b : w.batches) {
            plan_bytes += b.length;
            // Its bytes were checked before the load; a change elsewhere that moves where
            // a committed batch is cut shows here.
            if (!b.skip) continue;
            const auto& [offset, length] = committed.at(b.number);
            if (offset != b.offset || length != b.length) {
              throw data_error("the source changed since load " + rep.load_id + " into " + o.table + " began (batch " +
                               std::to_string(b.number) + " is now cut at bytes " + std::to_string(b.offset) + "-" +
                               std::to_string(b.offset + b.length) + ", not " + std::to_string(offset) + "-" +
                               std::to_string(offset + length) +
                               "): restore it, or delete that load's rows from the "
                               "table and DELETE FROM ingot_load_ledger WHERE load_id = '" +
                               rep.load_id + "' to load it again")
                  .at_path(src.path);
            }
          }
          if (!table_checked) {
            // --create-table: text columns, or types inferred from up to 1,000 rows of the
            // first chunk, read back from the COPY input (so NDJSON and CSV alike; NULL and
            // empty values say nothing of the type).
            std::vector<std::vector<std::string>> sample;
            // (Binary rows only go to a table that existed before the load: nothing to infer.)
            const std::size_t n = o.infer_types && !w.binary ? std::min<std::size_t>(w.rows.size(), 1000) : 0;
            for (std::size_t r = 0; r < n; ++r) {
              std::string_view row = w.data(r, r + 1);
              row.remove_suffix(1);  // its '\n'
              std::vector<std::string> f;
              for (auto& v : parse_copy_text_row(row)) f.push_back(v.value_or(""));
              sample.push_back(std::move(f));
            }
            std::string ddl = "CREATE TABLE IF NOT EXISTS " + table + " (";
            for (std::size_t i = 0; i < columns.size(); ++i) {
              std::vector<std::string> vals;
              for (auto& r : sample) vals.push_back(i < r.size() ? r[i] : "");
              ddl += (i ? ", " : "") + quoted_columns[i] + " " + (o.infer_types ? infer_type(vals) : "text");
            }
            exec(*main, ddl + ")");
            if (oid.empty()) {
              oid = table_oid(*main, table);
              add_note(rep, ensure_truncate_trigger(*main, table, oid, ledger_schema, o.table));
            }
            table_checked = true;
          }
        },
        // At most --workers chunks at once; their batches in parallel over the --workers
        // connections (a chunk of --batch-bytes often holds several --batch-rows batches),
        // each in one transaction with its ledger row.
        [&](const Chunk& c, Work& w) {
          if (o.dry_run) return;
          // Isolated: while it waits for its batches, this thread must not pick up another
          // chunk's I/O stage, which could wait for the I/O slot this one holds.
          tbb::this_task_arena::isolate([&] {
            tbb::parallel_for(std::size_t{0}, w.batches.size(), [&](std::size_t i) {
              if (w.batches[i].skip) return;
              Conn* k = nullptr;
              pool.pop(k);  // blocks until a connection is free
              struct Back {
                tbb::concurrent_bounded_queue<Conn*>& p;
                Conn* k;
                ~Back() { p.push(k); }
              } back{pool, k};
              w.results[i] = load_batch(*k, c, w, w.batches[i], o, ctx);
            });
          });
        },
        // Serial, in order: counts, and the rejects by source offset, exact lines. Under
        // --on-error fail the ledger stops at the chunk's first reject (w.stop_at).
        [&](const Chunk& c, Work& w) {
          std::vector<const Refused*> refused;
          for (std::size_t i = 0; i < w.batches.size(); ++i) {
            const Batch& b = w.batches[i];
            const BatchResult& r = w.results[i];
            const bool skipped = b.skip || r.conflict;
            report_batch(rep, b, o.dry_run, skipped, skipped ? b.records() : r.loaded);
            if (!o.dry_run && !skipped) {
              for (const Refused& f : r.refused) refused.push_back(&f);
            }
          }
          rep.rejected += w.tally.rejects.size() + refused.size();
          // Two sorted lists (converter rejects, refused rows) merged by offset into the
          // chunk's tally for the ledger.
          ChunkTally& all = w.tally;
          if (!refused.empty()) {
            LineCounter lines(c);
            std::vector<Reject> merged;
            std::size_t a = 0, b = 0;
            auto& bad = w.tally.rejects;
            while (a < bad.size() || b < refused.size()) {
              const bool take_bad =
                  b == refused.size() || (a < bad.size() && bad[a].offset < w.rows[refused[b]->row].src_begin);
              if (take_bad) {
                merged.push_back(std::move(bad[a++]));
              } else {
                const Refused& f = *refused[b++];
                const Row& row = w.rows[f.row];
                Reject r;
                r.line = lines.before(row.src_begin);
                r.offset = row.src_begin;
                r.raw = std::string_view(c.data + row.src_begin, row.src_end - row.src_begin);
                r.reason = f.message;
                merged.push_back(std::move(r));
              }
            }
            all.rejects = std::move(merged);
          }
          record_ledger.add(c, all);
          bytes_done += c.size;
          progress(bytes_done, rep.records);
        });
  }

  // Verified: see the file's header.
  void finish() override {
    rep.bytes_total = in->seekable() ? in->size() : bytes_done;
    rep.units_total = cutter->batches();
    if (!o.dry_run) {
      // Verified: the ledger holds one row for every batch of the plan and no other, for
      // the table loaded into (the OID it has now, not truncated since), and their rows
      // loaded + refused add up to the records cut from the source, their bytes to the
      // plan's; the bytes of batches earlier runs committed were checked against their
      // hashes before the load.
      // Read under the table's ACCESS SHARE lock: it queues behind a TRUNCATE that was
      // waiting for the last batch, so the ledger is read after that TRUNCATE marked it
      // (a dropped table fails the lock; the OID check below then fails the load).
      exec(*main, "BEGIN");
      PgResult locked(PQexec(main->c, ("LOCK TABLE " + table + " IN ACCESS SHARE MODE").c_str()));
      if (locked.status() != PGRES_COMMAND_OK) {
        exec(*main, "ROLLBACK");
        exec(*main, "BEGIN");
      }
      const auto v =
          query(*main,
                "SELECT count(*), coalesce(max(batch), 0), coalesce(sum(records + coalesce(refused, 0)), 0), "
                "coalesce(sum(bytes), 0), count(*) FILTER (WHERE truncated_at IS NOT NULL OR table_oid IS "
                "DISTINCT FROM to_regclass($2)::oid OR source_xxh3 IS NULL) FROM ingot_load_ledger WHERE "
                "load_id = $1",
                {rep.load_id, table})[0];
      exec(*main, "COMMIT");
      const std::string want = std::to_string(cutter->batches()) + " " + std::to_string(cutter->batches()) + " " +
                               std::to_string(cutter->records()) + " " + std::to_string(plan_bytes) + " 0";
      const std::string got = v[0] + " " + v[1] + " " + v[2] + " " + v[3] + " " + v[4];
      if (got != want) {
        throw data_error("load " + rep.load_id + " into " + o.table + " is not verified: the ledger holds " + v[0] +
                         " batches (last " + v[1] + ") of " + v[2] + " records and " + v[3] + " bytes, " + v[4] +
                         " of them for a table truncated or replaced since, where the source gives " +
                         std::to_string(cutter->batches()) + " batches of " + std::to_string(cutter->records()) +
                         " records and " + std::to_string(plan_bytes) + " bytes")
            .at_path(o.dest);
      }
      rep.verified = true;
    }
  }

  RecordKind kind = RecordKind::ndjson;
  TableName tname;
  std::string fp_text;
  std::unique_ptr<Conn> main;  // none under --dry-run
  std::string table;           // quoted by libpq
  std::string ledger_schema, oid;
  std::optional<Chunker> chunker;
  std::vector<std::string> columns;
  std::vector<CopyBinaryType> binary_types;  // one per column when CSV/TSV goes binary
  std::uint64_t line = 1;                    // of the next chunk's first byte
  char delim = 0;                            // CSV/TSV sources
  // Batches an earlier run committed: batch -> (offset, length), as cut then.
  std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> committed;
  std::optional<BatchCutter> cutter;
  std::uint64_t plan_bytes = 0;  // of every batch cut, for the final check
  std::uint64_t bytes_done = 0;
};

}  // namespace

std::unique_ptr<UploadTarget> make_pg_target(const UploadOptions& o, const UploadSource& src) {
  return std::make_unique<PgTarget>(o, src);
}

}  // namespace ingot::detail

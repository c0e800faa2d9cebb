// ingot upload to PostgreSQL: the source is cut by the engine's Chunker into batches of
// whole records (--batch-bytes, then --batch-rows); each batch is COPY'd and recorded in
// ingot_load_ledger in ONE transaction, over --workers connections in parallel (the
// parallel stage of a TBB pipeline). A rerun skips batches the ledger holds, so the
// table gets every row exactly once. A batch the server refuses is bisected under
// savepoints, inside the same transaction, until the bad rows are isolated.
// NDJSON is first converted by convert() (the engine's converter) to a temporary CSV.
#include <libpq-fe.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "ingot/format/csv.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/ops/convert.h"
#include "ingot/ops/upload_internal.h"
#include "ingot/ops/upload_journal.h"
#include "ingot/util/hash.h"

namespace ingot::detail {

namespace {

constexpr const char* kLedgerDdl =
    "CREATE TABLE IF NOT EXISTS ingot_load_ledger ("
    " load_id text NOT NULL, source_fingerprint text NOT NULL, target_table text NOT NULL,"
    " batch bigint NOT NULL, first_record bigint NOT NULL, records bigint NOT NULL, bytes bigint NOT NULL,"
    " committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (load_id, batch))";

std::string one_line(std::string m) {
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  for (char& ch : m) if (ch == '\n' || ch == '\t') ch = ' ';
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
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
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

std::string quote_ident(const std::string& s) {
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

// "schema.table" -> "schema"."table"; a name already in double quotes is kept as is.
std::string quote_table(const std::string& t) {
  if (t.find('"') != std::string::npos) return t;
  auto dot = t.find('.');
  if (dot == std::string::npos) return quote_ident(t);
  return quote_ident(t.substr(0, dot)) + "." + quote_ident(t.substr(dot + 1));
}

// One COPY of data; empty string on success, else the server's message. Returns the
// SQLSTATE through `state`.
std::string copy_rows(Conn& k, const std::string& copy_sql, std::string_view data, std::string& state) {
  {
    PgResult r(PQexec(k.c, copy_sql.c_str()));
    if (r.status() != PGRES_COPY_IN) {
      state = r.sqlstate();
      if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost: " + r.message());
      return r.primary();
    }
  }
  const std::size_t step = 64 << 10;  // like psql: the server parses while more arrives
  for (std::size_t off = 0; off < data.size(); off += step) {
    std::size_t n = std::min(step, data.size() - off);
    if (PQputCopyData(k.c, data.data() + off, static_cast<int>(n)) != 1) break;
  }
  // A last record without a line end still ends the COPY data properly.
  if (!data.empty() && data.back() != '\n') PQputCopyData(k.c, "\n", 1);
  PQputCopyEnd(k.c, nullptr);
  std::string msg;
  while (PGresult* res = PQgetResult(k.c)) {
    PgResult r(res);
    if (r.status() != PGRES_COMMAND_OK && msg.empty()) {
      state = r.sqlstate();
      msg = r.primary();
      if (msg.empty()) msg = "COPY failed";
    }
  }
  if (PQstatus(k.c) != CONNECTION_OK) throw remote_error("connection lost during COPY: " + msg);
  return msg;
}

struct Row {
  std::size_t begin = 0, end = 0;  // offsets in the chunk
  std::uint64_t line = 0;          // absolute line number of the record's first line
};

struct Batch {
  std::uint64_t number = 0;        // 1-based, deterministic for a source and batch settings
  std::uint64_t first_record = 0;  // 1-based data record number
  std::vector<Row> rows;
  std::uint64_t bytes = 0;
  bool skip = false;               // committed by an earlier run
  // Filled by the loader:
  std::vector<std::pair<std::size_t, std::string>> rejects;  // row index, server message
  std::uint64_t loaded = 0;
};

struct Slot {
  Buffer buf;
  Chunk chunk;
  std::vector<Batch> batches;
};

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

// The rejects of an NDJSON load, by source line: the converter's (invalid JSON) as
// it wrote them, and the rows the server refused, known by their 1-based record
// number in the converted CSV. The n-th CSV record is the n-th line of the source
// that is neither blank nor rejected by the converter: one sequential pass finds them.
std::vector<nlohmann::json> ndjson_rejects(const std::string& source, const std::string& convert_rejects,
                                           const std::vector<std::pair<std::uint64_t, std::string>>& refused) {
  std::vector<nlohmann::json> out;
  std::set<std::uint64_t> bad_lines;
  if (!convert_rejects.empty() && std::filesystem::exists(convert_rejects)) {
    std::ifstream f(convert_rejects);
    for (std::string l; std::getline(f, l);) {
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_discarded()) continue;
      bad_lines.insert(j.value("line", std::uint64_t{0}));
      out.push_back(std::move(j));
    }
  }
  if (!refused.empty()) {
    std::ifstream f(source, std::ios::binary);
    std::uint64_t line = 0, record = 0;
    std::size_t next = 0;
    for (std::string l; next < refused.size() && std::getline(f, l);) {
      ++line;
      if (l.find_first_not_of(" \t\r") == std::string::npos || bad_lines.count(line)) continue;
      ++record;
      while (next < refused.size() && refused[next].first == record) {
        if (!l.empty() && l.back() == '\r') l.pop_back();
        out.push_back({{"line", line}, {"reason", refused[next].second}, {"raw", l}});
        ++next;
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("line", std::uint64_t{0}) < b.value("line", std::uint64_t{0});
  });
  return out;
}

}  // namespace

UploadReport upload_pg(const UploadOptions& o, const UploadSource& src) {
  UploadReport rep;
  rep.target = "postgresql";
  rep.source = o.source;
  rep.dest = o.dest;
  if (o.table.empty()) throw usage_error("--table is needed for a PostgreSQL destination");
  if (o.workers == 0) throw usage_error("--workers must be at least 1");
  RecordKind kind;
  if (o.from) kind = *o.from;
  else if (auto k = record_kind_from_path(src.path)) kind = *k;
  else throw usage_error("cannot tell the source format from '" + src.path + "'; pass --from csv|tsv|ndjson");
  if (kind == RecordKind::lines) throw usage_error("a PostgreSQL load reads csv, tsv or ndjson");
  const std::string table = quote_table(o.table);

  InputFile src_in = InputFile::open(src.path);
  // stdin cannot be read again after a crash: its batches still commit with their
  // ledger rows, but under a load id of their own, so a rerun loads everything again.
  const std::string fp_text =
      src_in.seekable() ? fingerprint_json(src_in.fingerprint()).dump()
                        : "{\"stdin\":" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) +
                              "," + std::to_string(::getpid()) + "}";
  if (!src_in.seekable()) rep.note = "stdin: not resumable (a rerun loads everything again)";

  if (o.dry_run && kind == RecordKind::ndjson) {
    rep.note = "NDJSON: converted first, then batches of up to " + std::to_string(o.batch_rows) + " rows / " + std::to_string(o.batch_bytes) +
               " bytes over " + std::to_string(o.workers) + " connections into " + table;
    rep.bytes_total = src_in.size();
    return rep;
  }

  // --dry-run cuts the batches exactly as a load would, without a connection.
  std::unique_ptr<Conn> main;
  if (!o.dry_run) {
    main = std::make_unique<Conn>(o.dest);
    exec(*main, kLedgerDdl);
  }

  // NDJSON goes through the engine's converter into a temporary CSV with the table's
  // columns (or the union of keys when the table is to be created).
  std::string load_path = src.path;
  std::string tmp_csv, convert_rejects;
  char delim = kind == RecordKind::tsv ? '\t' : ',';
  if (kind == RecordKind::ndjson) {
    std::string base = Journal::path_for(src.path, o.dest + "#" + o.table, o.state_dir);
    tmp_csv = base + ".csv";
    ConvertOptions co;
    co.input = src.path;
    co.output = tmp_csv;
    co.from = RecordKind::ndjson;
    co.to = RecordKind::csv;
    co.types = ValueTypes::string;
    co.pipeline = o.pipeline;
    co.chunker = o.chunker;
    if (!o.rejects.empty()) co.rejects = convert_rejects = base + ".convert-rejects";
    auto cols = query(*main, "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
                            "AND NOT a.attisdropped ORDER BY a.attnum",
                      {table});
    for (auto& r : cols) co.fields.push_back(r[0]);
    if (co.fields.empty() && !o.create_table) throw usage_error("table " + o.table + " does not exist; add --create-table");
    auto res = convert(co);
    if (!res) throw res.error();
    rep.rejected += res.value().records.invalid;
    load_path = tmp_csv;
    delim = ',';
  }

  InputFile in = InputFile::open(load_path);
  ChunkerOptions copts = o.chunker;
  copts.chunk_size = static_cast<std::size_t>(o.batch_bytes);
  Chunker chunker(in, kind == RecordKind::tsv ? RecordKind::tsv : RecordKind::csv, 0, kToEnd, copts);
  std::string header = chunker.take_first_record();
  std::vector<std::string> columns = header_fields(header, delim);
  if (columns.empty()) throw data_error("no header record").at_path(src.path);

  // The load id names this source + table + batch settings: the same command again
  // finds its batches in the ledger.
  std::string id_text = fp_text + "\n" + o.table + "\n" + record_kind_name(kind) + "\n" + std::to_string(o.batch_rows) +
                        "\n" + std::to_string(o.batch_bytes);
  rep.load_id = xxh3_hex(xxh3_64(id_text.data(), id_text.size()));
  auto others = o.dry_run ? std::vector<std::vector<std::string>>()
                         : query(*main,
                                 "SELECT DISTINCT load_id FROM ingot_load_ledger WHERE source_fingerprint = $1 AND "
                                 "target_table = $2 AND load_id <> $3",
                                 {fp_text, o.table, rep.load_id});
  if (!others.empty()) {
    throw usage_error("this source was already (partly) loaded into " + o.table + " with other batch settings (load " +
                      others[0][0] + "); rerun with the same --batch-rows/--batch-bytes, or delete its ledger rows")
        .at_path(o.dest);
  }
  std::set<std::uint64_t> committed;
  if (!o.dry_run) {
    for (auto& r : query(*main, "SELECT batch FROM ingot_load_ledger WHERE load_id = $1", {rep.load_id})) {
      committed.insert(std::stoull(r[0]));
    }
  }
  rep.resumed = !committed.empty();

  std::string copy_sql = "COPY " + table + " (";
  for (std::size_t i = 0; i < columns.size(); ++i) copy_sql += (i ? ", " : "") + quote_ident(columns[i]);
  copy_sql += ") FROM STDIN WITH (FORMAT csv" + std::string(delim == '\t' ? ", DELIMITER E'\\t'" : "") + ")";

  bool table_checked = o.dry_run || !o.create_table;
  std::vector<std::unique_ptr<Conn>> conns;
  // The connection pool. More TBB threads than connections may reach the parallel
  // stage (the reader's thread joins in): they sleep here rather than spin, so the
  // CPU stays with the server.
  std::vector<Conn*> pool;
  std::mutex pool_mu;
  std::condition_variable pool_cv;
  for (unsigned i = 0; i < (o.dry_run ? 0 : o.workers); ++i) {
    conns.push_back(std::make_unique<Conn>(o.dest));
    pool.push_back(conns.back().get());
  }

  std::optional<OutputFile> rejects;
  if (!o.rejects.empty() && !o.dry_run) {
    rejects = OutputFile::create(o.rejects);
  }
  // NDJSON: rows the server refused are known by their record number in the CSV;
  // their source lines are found after the load (see ndjson_reject_lines).
  std::vector<std::pair<std::uint64_t, std::string>> pending;

  const unsigned ntokens = std::max(2u, o.workers * 2);
  std::vector<Slot> slots(ntokens);
  std::uint64_t produced = 0, batch_no = 0, record_no = 0;
  std::uint64_t line = 1 + static_cast<std::uint64_t>(std::count(header.begin(), header.end(), '\n'));
  std::atomic<std::uint64_t> loaded{0}, skipped_rows{0}, bytes_done{0}, skipped_bytes{0};
  CsvTokenizer tok(delim);
  std::mutex progress_mu;

  tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                            std::max<std::size_t>(o.workers + 1, static_cast<std::size_t>(tbb::info::default_concurrency())));
  tbb::task_arena arena(static_cast<int>(o.workers + 1));
  arena.execute([&] {
    tbb::parallel_pipeline(
        ntokens,
        // Serial: next chunk, its records (CSV-aware), cut into numbered batches.
        tbb::make_filter<void, Slot*>(
            tbb::filter_mode::serial_in_order,
            [&](tbb::flow_control& fc) -> Slot* {
              Slot& s = slots[produced % ntokens];
              if (!chunker.next(s.buf, s.chunk)) {
                fc.stop();
                return nullptr;
              }
              ++produced;
              s.batches.clear();
              tok.reset(s.chunk.data, s.chunk.size);
              CsvRecord rec;
              std::vector<std::vector<std::string>> sample;
              while (tok.next(rec)) {
                if (rec.end - rec.begin <= 2 && rec.fields.size() <= 1 && (rec.fields.empty() || rec.fields[0].empty())) {
                  line += rec.newlines;  // blank line
                  continue;
                }
                if (s.batches.empty() || s.batches.back().rows.size() >= o.batch_rows) {
                  Batch b;
                  b.number = ++batch_no;
                  b.first_record = record_no + 1;
                  b.skip = committed.count(b.number) > 0;
                  s.batches.push_back(std::move(b));
                }
                Batch& b = s.batches.back();
                b.rows.push_back({rec.begin, rec.end, line});
                b.bytes += rec.end - rec.begin;
                ++record_no;
                line += rec.newlines;
                if (!table_checked && sample.size() < 1000) {
                  std::vector<std::string> f;
                  for (auto v : rec.fields) f.emplace_back(v);
                  sample.push_back(std::move(f));
                }
              }
              if (!table_checked) {
                // --create-table: text columns, or types inferred from the first batch.
                std::string ddl = "CREATE TABLE IF NOT EXISTS " + table + " (";
                for (std::size_t i = 0; i < columns.size(); ++i) {
                  std::vector<std::string> vals;
                  for (auto& r : sample) vals.push_back(i < r.size() ? r[i] : "");
                  ddl += (i ? ", " : "") + quote_ident(columns[i]) + " " + (o.infer_types ? infer_type(vals) : "text");
                }
                exec(*main, ddl + ")");
                table_checked = true;
              }
              return &s;
            }) &
            // Parallel: each batch in one transaction with its ledger row.
            tbb::make_filter<Slot*, Slot*>(
                tbb::filter_mode::parallel,
                [&](Slot* s) {
                  if (o.dry_run) return s;
                  Conn* k = nullptr;
                  {
                    std::unique_lock lock(pool_mu);
                    pool_cv.wait(lock, [&] { return !pool.empty(); });
                    k = pool.back();
                    pool.pop_back();
                  }
                  struct Back {
                    std::vector<Conn*>& p;
                    std::mutex& mu;
                    std::condition_variable& cv;
                    Conn* k;
                    ~Back() {
                      {
                        std::lock_guard lock(mu);
                        p.push_back(k);
                      }
                      cv.notify_one();
                    }
                  } back{pool, pool_mu, pool_cv, k};
                  for (Batch& b : s->batches) {
                    if (b.skip) {
                      skipped_rows += b.rows.size();
                      skipped_bytes += b.bytes;
                      continue;
                    }
                    auto data_of = [&](std::size_t i, std::size_t j) {
                      return std::string_view(s->chunk.data + b.rows[i].begin, b.rows[j - 1].end - b.rows[i].begin);
                    };
                    exec(*k, "BEGIN");
                    std::string state;
                    std::string msg = copy_rows(*k, copy_sql, data_of(0, b.rows.size()), state);
                    std::uint64_t ok_rows = b.rows.size();
                    if (!msg.empty()) {
                      exec(*k, "ROLLBACK");
                      // Only bad data (SQLSTATE classes 22 and 23) is worth bisecting; a
                      // missing column or permission stops the load.
                      if (state.rfind("22", 0) != 0 && state.rfind("23", 0) != 0) {
                        throw data_error("COPY into " + o.table + " failed: " + msg + " (SQLSTATE " + state + ")");
                      }
                      if (o.on_error == OnError::fail) {
                        throw data_error("batch " + std::to_string(b.number) + " refused by the server: " + msg)
                            .at_path(src.path)
                            .at_line(b.rows[0].line);
                      }
                      // Bisect under savepoints, all in the batch's one transaction.
                      exec(*k, "BEGIN");
                      ok_rows = 0;
                      std::vector<std::pair<std::size_t, std::size_t>> todo = {{0, b.rows.size()}};
                      while (!todo.empty()) {
                        auto [i, j] = todo.back();
                        todo.pop_back();
                        exec(*k, "SAVEPOINT ingot_bisect");
                        std::string st;
                        std::string m = copy_rows(*k, copy_sql, data_of(i, j), st);
                        if (m.empty()) {
                          exec(*k, "RELEASE SAVEPOINT ingot_bisect");
                          ok_rows += j - i;
                          continue;
                        }
                        exec(*k, "ROLLBACK TO SAVEPOINT ingot_bisect");
                        if (j - i == 1) {
                          b.rejects.emplace_back(i, m);
                        } else {
                          std::size_t mid = i + (j - i) / 2;
                          todo.push_back({mid, j});
                          todo.push_back({i, mid});
                        }
                      }
                    }
                    // The ledger row commits with the rows. A concurrent run that committed
                    // the same batch first makes the insert a no-op: roll ours back.
                    auto ins = query(*k,
                                     "INSERT INTO ingot_load_ledger (load_id, source_fingerprint, target_table, batch, "
                                     "first_record, records, bytes) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                                     "ON CONFLICT DO NOTHING RETURNING batch",
                                     {rep.load_id, fp_text, o.table, std::to_string(b.number),
                                      std::to_string(b.first_record), std::to_string(ok_rows), std::to_string(b.bytes)});
                    if (ins.empty()) {
                      exec(*k, "ROLLBACK");
                      skipped_rows += b.rows.size();
                      skipped_bytes += b.bytes;
                      b.rejects.clear();
                      continue;
                    }
                    exec(*k, "COMMIT");
                    b.loaded = ok_rows;
                  }
                  return s;
                }) &
            // Serial, in order: rejects with line numbers, counts, progress.
            tbb::make_filter<Slot*, void>(tbb::filter_mode::serial_in_order, [&](Slot* s) {
              for (Batch& b : s->batches) {
                if (o.dry_run && !b.rows.empty()) {
                  rep.plan.push_back({b.number, s->chunk.offset + b.rows.front().begin,
                                      b.rows.back().end - b.rows.front().begin});
                }
                loaded += b.loaded;
                for (auto& [i, m] : b.rejects) {
                  ++rep.rejected;
                  if (rejects && kind == RecordKind::ndjson) {
                    pending.emplace_back(b.first_record + i, m);
                  } else if (rejects) {
                    std::string_view raw(s->chunk.data + b.rows[i].begin, b.rows[i].end - b.rows[i].begin);
                    while (!raw.empty() && (raw.back() == '\n' || raw.back() == '\r')) raw.remove_suffix(1);
                    nlohmann::json j = {{"line", b.rows[i].line},
                                        {"reason", m},
                                        {"raw", std::string(raw)}};
                    rejects->write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
                  }
                }
              }
              bytes_done += s->chunk.size;
              if (o.progress) {
                std::lock_guard lock(progress_mu);
                o.progress(bytes_done, loaded);
              }
            }));
  });
  if (rejects && kind == RecordKind::ndjson) {
    for (const nlohmann::json& j : ndjson_rejects(src.path, convert_rejects, pending)) {
      rejects->write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    }
  }
  if (rejects) rejects->commit();
  if (!tmp_csv.empty()) {
    std::filesystem::remove(tmp_csv);
    if (!convert_rejects.empty()) std::filesystem::remove(convert_rejects);
  }
  rep.records = loaded;
  rep.records_skipped = skipped_rows;
  rep.bytes_total = in.size();
  rep.units_total = batch_no;
  rep.units_skipped = committed.size();
  rep.units_sent = batch_no - committed.size();
  rep.bytes_skipped = skipped_bytes;
  rep.bytes_sent = bytes_done - std::min<std::uint64_t>(bytes_done, skipped_bytes);
  rep.verified = !o.dry_run;
  if (o.dry_run) rep.bytes_sent = rep.units_sent = 0;
  return rep;
}

}  // namespace ingot::detail

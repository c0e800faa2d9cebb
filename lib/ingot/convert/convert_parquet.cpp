// NDJSON, CSV or TSV -> Parquet. Two passes over the input: the first finds every
// column's type from all of its values (the narrowest of BOOLEAN, INT64, DOUBLE and
// STRING that holds each one) and the line that widened it last; the second converts
// rows into typed column values in the pipeline's workers and hands them, in input
// order, to the writer (parquet/writer.h), which cuts row groups by size. NDJSON whose
// columns are the key union reads both through one walker (ndjson_leaf_scan.h), and
// where the output can be taken back does both in one pass (OneWalk, below); other
// NDJSON reads rows through the chunk converter's cells (RowFormat::cells), CSV/TSV
// through the tokenizer. ARCHITECTURE.md ("parquet/") has the type rules.
#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "ingot/convert/convert_internal.h"
#include "ingot/convert/delimited_records.h"
#include "ingot/format/csv.h"
#include "ingot/format/json_text.h"
#include "ingot/convert/ndjson_leaf_scan.h"
#include "ingot/parquet/datetime.h"
#include "ingot/parquet/numbers.h"
#include "ingot/parquet/writer.h"
#include "ingot/pipeline/pipeline.h"

namespace ingot::detail {
namespace {

using parquet::ColumnType;

using parquet::ValueType;
using VType = parquet::ValueType;
VType join(VType a, VType b) { return parquet::join_types(a, b); }
using parquet::number_type;

ColumnType column_type(VType t) {
  switch (t) {
    case VType::boolean: return ColumnType::boolean;
    case VType::int64: return ColumnType::int64;
    case VType::double_: return ColumnType::double_;
    case VType::date: return ColumnType::date;
    case VType::timestamp: return ColumnType::timestamp;
    case VType::timestamptz: return ColumnType::timestamptz;
    default: return ColumnType::string;  // a column with no value at all is STRING, all null
  }
}

// One cell of a row, as both passes see it.
struct CellView {
  CellKind kind;
  std::string_view text;
};

VType time_type(std::string_view text) { return parquet::text_type(text); }

// A string is a DATE, TIMESTAMP or TIMESTAMPTZ when it has one of parse_iso_time's
// forms (not with --types string).
VType value_type(const CellView& c, bool auto_types) {
  switch (c.kind) {
    case CellKind::null: return VType::none;
    case CellKind::boolean: return VType::boolean;
    case CellKind::number: return number_type(c.text);
    case CellKind::string: return auto_types ? time_type(c.text) : VType::string;
  }
  return VType::string;
}

// A CSV/TSV field: an unquoted empty field is null, a quoted one ("") the empty
// string; true/false BOOLEAN, a JSON number a number, anything else a string (with
// --types string everything but null is a string).
CellView csv_cell(std::string_view f, const char* input_end, bool auto_types) {
  if (f.empty()) return {csv_quoted_empty(f, input_end) ? CellKind::string : CellKind::null, f};
  if (!auto_types) return {CellKind::string, f};
  if (f == "true" || f == "false") return {CellKind::boolean, f};
  if (is_json_number(f)) return {CellKind::number, f};
  return {CellKind::string, f};
}

// Line numbers within a chunk, for offsets met in increasing order.
class LineCounter {
 public:
  explicit LineCounter(const Chunk& c) : base_(c.data) {}
  std::uint64_t at(std::size_t offset) {
    if (offset < pos_) {  // not expected; count again from the start
      pos_ = 0;
      line_ = 0;
    }
    for (const char* p = base_ + pos_;
         (p = static_cast<const char*>(std::memchr(p, '\n', offset - static_cast<std::size_t>(p - base_)))) != nullptr;
         ++p) {
      ++line_;
    }
    pos_ = offset;
    return line_;
  }

 private:
  const char* base_;
  std::size_t pos_ = 0;
  std::uint64_t line_ = 0;
};

// ---- rows of a chunk ------------------------------------------------------------------

// Reads the valid rows of a chunk and calls row(cells, offset, end) for each, with the
// chunk-local offsets of its source text; fills tally (counts, newlines, rejects).
struct RowReader {
  // NDJSON
  std::unique_ptr<NdjsonChunkConverter> ndjson;
  std::string out;
  std::vector<NdjsonRow> rows;
  // CSV/TSV
  CsvTokenizer tokenizer;
  CsvRecord rec;
  std::vector<CellView> cells;
  ChunkTally tally;
};

struct Source {
  RecordKind from;
  const std::vector<std::string>* columns;
  bool flatten;
  char delim;
  bool strict_quotes;
  bool auto_types;
  std::string expected;  // "expected N fields, found "

  template <class Row>
  void read(const Chunk& c, RowReader& r, Row&& row) const {
    const std::size_t n = columns->size();
    r.cells.resize(n);
    if (from == RecordKind::ndjson) {
      if (!r.ndjson) r.ndjson = make_ndjson_converter(*columns, RowFormat::cells, flatten);
      r.ndjson->convert(c, r.out, r.rows, r.tally);
      const char* p = r.out.data();
      for (const NdjsonRow& nr : r.rows) {
        for (std::size_t i = 0; i < n; ++i) {
          const auto kind = static_cast<CellKind>(*p++);
          if (kind == CellKind::null) {
            r.cells[i] = {kind, {}};
            continue;
          }
          std::uint32_t len;
          std::memcpy(&len, p, 4);
          r.cells[i] = {kind, std::string_view(p + 4, len)};
          p += 4 + len;
        }
        row(r.cells, nr.src_begin, nr.src_end);
      }
      return;
    }
    // CSV/TSV: the records DelimitedChunkConverter::convert accepts.
    const char* input_end = c.data + c.size;
    for_each_delimited_record(c, r.tokenizer, r.rec, delim, strict_quotes, n, expected, r.tally,
                              [&](const CsvRecord& rec, std::string_view, std::size_t skip) {
                                for (std::size_t i = 0; i < n; ++i) {
                                  r.cells[i] = csv_cell(rec.fields[i], input_end, auto_types);
                                }
                                row(r.cells, rec.begin + skip, rec.end + skip);
                              });
  }
};

// ---- pass 1: types --------------------------------------------------------------------

struct TypeEvent {
  std::uint32_t column;
  VType type;          // the chunk's type of the column from this row on
  std::size_t offset;  // the row's chunk-local offset
};

struct TypeWork {
  RowReader reader;
  std::vector<VType> types;
  std::vector<TypeEvent> events;
};

struct FoundType {
  VType type = VType::none;
  std::uint64_t line = 0;  // the line that widened it last
};

// The columns' types as the batch writer takes them (none: only nulls so far) and as
// the Parquet writer does (none: a STRING column of nulls).
std::vector<VType> value_types(const std::vector<FoundType>& found) {
  std::vector<VType> v;
  for (const FoundType& f : found) v.push_back(f.type);
  return v;
}
std::vector<ColumnType> column_types(const std::vector<FoundType>& found) {
  std::vector<ColumnType> v;
  for (const FoundType& f : found) v.push_back(column_type(f.type));
  return v;
}

std::vector<FoundType> find_types(ConvertRun& run, const Source& src, Chunker& chunker, std::uint64_t first_line) {
  const std::size_t n = src.columns->size();
  std::vector<FoundType> found(n);
  std::uint64_t line = first_line;
  run_pipeline<TypeWork>(
      chunker, run.opts.pipeline,
      [&](const Chunk& c, TypeWork& w) {
        w.types.assign(n, VType::none);
        w.events.clear();
        src.read(c, w.reader, [&](const std::vector<CellView>& cells, std::size_t offset, std::size_t) {
          for (std::size_t i = 0; i < n; ++i) {
            if (w.types[i] == VType::string) continue;  // as wide as it gets
            const VType t = join(w.types[i], value_type(cells[i], src.auto_types));
            if (t != w.types[i]) {
              w.types[i] = t;
              w.events.push_back({static_cast<std::uint32_t>(i), t, offset});
            }
          }
        });
      },
      [&](const Chunk& c, TypeWork& w) {
        // The file's type widens only where the chunk's running type does; walk those
        // points in order to find the line of the last widening.
        LineCounter lines(c);
        for (const TypeEvent& e : w.events) {
          FoundType& f = found[e.column];
          const VType t = join(f.type, e.type);
          if (t != f.type) {
            f.type = t;
            f.line = line + lines.at(e.offset);
          }
        }
        line += w.reader.tally.newlines;
      });
  return found;
}

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// NDJSON's columns (the key union, in first-seen order) and their types, joined from
// the chunks' scans (ndjson_leaf_scan.h) in input order.
struct KeyTypes {
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> index;
  std::vector<std::string> names;
  std::vector<FoundType> found;
  std::unordered_set<std::string, StringHash, std::equal_to<>> leafless;  // distinct paths: memory stays flat
  std::uint64_t line = 0;                                                 // of the next chunk's first line
  std::vector<std::uint32_t> global;                                      // scratch: chunk id -> column

  // Joins the next chunk's scan; true when it added a column or widened a type.
  bool merge(const Chunk& c, const LeafScan& s) {
    bool changed = false;
    global.assign(s.keys.size(), 0);
    for (std::uint32_t id : s.order) {
      auto [it, fresh] = index.try_emplace(s.keys[id], static_cast<std::uint32_t>(names.size()));
      if (fresh) {
        names.push_back(s.keys[id]);
        found.emplace_back();
        changed = true;
      }
      global[id] = it->second;
    }
    LineCounter lines(c);
    for (const LeafScan::Event& e : s.events) {
      FoundType& f = found[global[e.key]];
      const VType t = join(f.type, e.type);
      if (t != f.type) {
        f.type = t;
        f.line = line + lines.at(e.offset);
        changed = true;
      }
    }
    return changed;
  }
  void add_leafless(const std::string& path) {
    if (!leafless.count(path)) leafless.emplace(path);
  }
  // False when a leafless object sits at a path that is a column but prefixes none (the
  // converter would write it as that column's "{}" text; rare): the input is then typed
  // through the converter's cells, as find_types does.
  bool leafless_ok() const {
    for (const std::string& path : leafless) {
      if (!index.count(path)) continue;
      const std::string prefix = path + '.';
      const bool is_prefix = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
        return n.size() > prefix.size() && n.compare(0, prefix.size(), prefix) == 0;
      });
      if (!is_prefix) return false;
    }
    return true;
  }
};

// NDJSON whose columns are the key union: the union and the types in one walk
// (ndjson_leaf_scan.h). False when KeyTypes::leafless_ok() is.
bool scan_ndjson(ConvertRun& run, Chunker& chunker, bool auto_types, std::uint64_t first_line,
                 std::vector<std::string>& names, std::vector<FoundType>& found) {
  struct ScanWork {
    std::unique_ptr<NdjsonLeafScanner> scanner;
    LeafScan scan;
  };
  KeyTypes kt;
  kt.line = first_line;
  const ConvertOptions& opts = run.opts;
  run_pipeline<ScanWork>(
      chunker, opts.pipeline,
      [&](const Chunk& c, ScanWork& w) {
        if (!w.scanner) w.scanner = make_ndjson_leaf_scanner(opts.flatten, auto_types, opts.line_shapes);
        w.scanner->scan(c, w.scan);
      },
      [&](const Chunk& c, ScanWork& w) {
        kt.merge(c, w.scan);
        for (std::uint32_t id : w.scan.leafless) kt.add_leafless(w.scan.keys[id]);
        kt.line += w.scan.newlines;
      });
  const bool ok = kt.leafless_ok();
  names = std::move(kt.names);
  found = std::move(kt.found);
  return ok;
}

// ---- --schema and --schema-out ----------------------------------------------------------

struct TypedSchema {
  std::vector<std::string> names;
  std::vector<std::optional<ColumnType>> types;  // nullopt: find it
};

// --schema FILE: a JSON array whose entries are a column name, or an object
// {"name": ..., "type": ...} as --schema-out writes (other keys ignored); one name per
// line is read by read_schema and fixes no type.
TypedSchema read_typed_schema(const std::string& path) {
  TypedSchema s;
  s.names = read_schema(path);
  s.types.assign(s.names.size(), std::nullopt);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) return s;
  for (std::size_t i = 0; i < j.size() && i < s.names.size(); ++i) {
    if (!j[i].is_object() || !j[i].contains("type")) continue;
    const auto& t = j[i]["type"];
    std::optional<ColumnType> ct = t.is_string() ? parquet::parse_column_type(t.get<std::string>()) : std::nullopt;
    if (!ct) {
      throw data_error("schema: column '" + s.names[i] + "' has type " + t.dump() +
                       "; the types are BOOLEAN, INT64, DOUBLE, STRING, DATE, TIMESTAMP and TIMESTAMPTZ")
          .at_path(path);
    }
    s.types[i] = ct;
  }
  return s;
}

void write_typed_schema(const std::string& path, const std::vector<std::string>& names,
                        const std::vector<ColumnType>& types, const std::vector<FoundType>& found) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < names.size(); ++i) {
    nlohmann::ordered_json c;
    c["name"] = names[i];
    c["type"] = parquet::column_type_name(types[i]);
    if (i < found.size() && found[i].line) c["line"] = found[i].line;
    j.push_back(std::move(c));
  }
  OutputFile f = OutputFile::create(path);
  f.write(j.dump(2) + "\n");
  f.commit();
}

// ---- pass 2: rows -----------------------------------------------------------------------

struct WriteWork {
  RowReader reader;
  std::unique_ptr<NdjsonBatchWriter> ndjson;  // NDJSON typed by scan_ndjson
  std::vector<std::string> leafless;          // its paths (scan_ndjson reported them)
  parquet::RowBatch batch;
};

// Adds a cell to the batch as the column's type; false when the value does not fit it
// (only possible with a type from --schema).
bool add_cell(parquet::RowBatch& b, std::size_t col, ColumnType type, const CellView& c) {
  if (c.kind == CellKind::null) {
    b.add_null(col);
    return true;
  }
  switch (type) {
    case ColumnType::boolean:
      if (c.kind != CellKind::boolean) return false;
      b.add_bool(col, c.text[0] == 't');
      return true;
    // One parse, which also decides the fit: an INT64 value is all of the text read as
    // an int64 (a fraction or exponent stops from_chars early), a DOUBLE value a
    // number in range (number_type's rules).
    case ColumnType::int64: {
      if (c.kind != CellKind::number) return false;
      std::int64_t v = 0;
      if (!parquet::parse_int64(c.text, v)) return false;
      b.add_int64(col, v);
      return true;
    }
    case ColumnType::double_: {
      if (c.kind != CellKind::number) return false;
      double v = 0;
      if (!parquet::parse_double(c.text, v)) return false;
      b.add_double(col, v);
      return true;
    }
    case ColumnType::date:
    case ColumnType::timestamp:
    case ColumnType::timestamptz: {
      if (c.kind != CellKind::string) return false;
      const parquet::TimeValue v = parquet::parse_iso_time(c.text);
      if (type == ColumnType::date) {
        if (v.kind != parquet::TimeKind::date) return false;
        b.add_int32(col, static_cast<std::int32_t>(v.value));
      } else {
        if (v.kind != (type == ColumnType::timestamp ? parquet::TimeKind::timestamp : parquet::TimeKind::timestamptz))
          return false;
        b.add_int64(col, v.value);
      }
      return true;
    }
    case ColumnType::string: b.add_string(col, c.text); return true;
  }
  return false;
}

std::string kind_name(const CellView& c) {
  switch (c.kind) {
    case CellKind::boolean: return "a boolean";
    case CellKind::number: return number_type(c.text) == VType::int64 ? "an integer" : "a number";
    default:
      switch (time_type(c.text)) {
        case VType::date: return "a date";
        case VType::timestamp: return "a timestamp without offset";
        case VType::timestamptz: return "a timestamp with offset";
        default: return "a string";
      }
  }
}

// ---- writing ---------------------------------------------------------------------------

void require_columns(const ConvertRun& run, const std::vector<std::string>& names) {
  if (names.empty()) {
    throw data_error("no columns to write: Parquet needs at least one (the input has no keys or header)")
        .at_path(run.in.display_name());
  }
}

// The run's Parquet writer: --max-file-size's next files are kept uncommitted
// (temporary names) until the run succeeds, like `out`.
std::unique_ptr<parquet::Writer> open_writer(ConvertRun& run, const std::vector<std::string>& names,
                                             const std::vector<ColumnType>& types) {
  require_columns(run, names);
  const ConvertOptions& opts = run.opts;
  std::vector<parquet::ColumnSpec> specs;
  for (std::size_t i = 0; i < names.size(); ++i) specs.push_back({names[i], types[i]});
  parquet::WriterOptions wo;
  wo.compression = opts.parquet_compression;
  wo.row_group_bytes = std::max<std::uint64_t>(1, opts.row_group_size);
  wo.created_by = "ingot version " INGOT_VERSION;
  wo.max_file_bytes = opts.max_file_size;
  auto writer = std::make_unique<parquet::Writer>(std::move(specs), wo,
                                                  [&run](std::string_view b) { run.out.write(b.data(), b.size()); });
  writer->next_file = [&run]() -> parquet::Writer::Sink {
    OutputFile& f = run.more_outputs.emplace_back(
        OutputFile::create(parquet_part_name(run.opts.output, run.more_outputs.size() + 1)));
    return [&f](std::string_view b) { f.write(b.data(), b.size()); };
  };
  return writer;
}

const char* const kChanged = "changed while it was converted (a value no longer fits its column's type); run again";
// A chunk that does not fit the keys and types found in it: a bug, not the input's fault.
const char* const kMisfit = "internal error: a chunk does not fit the columns found in it";

// ---- NDJSON in one walk ---------------------------------------------------------------------

// The columns and types a batch of the one walk was converted with.
struct Speculated {
  std::vector<std::string> names;
  std::vector<VType> types;
};
using SpeculatedPtr = std::shared_ptr<const Speculated>;

// How much input the one walk holds the batches of: a row group's worth, at most
// 32 MiB. Counted in input bytes, so where the hold ends depends on the input alone,
// never on which columns a worker's batch had. A held batch takes ~0.5x its input for
// taxi NDJSON, at worst ~5x (a 3-byte line {} is an 8-byte row end in a vector that may
// be twice its size). Holding 128 MiB of values (a whole default row group, ~256 MiB of
// taxi NDJSON) took 34k more page faults at 1 GiB (each held batch is fresh memory),
// 0.25 s of 1.5 s.
std::uint64_t hold_limit(const ConvertOptions& opts) { return std::min(opts.row_group_size, std::uint64_t{32} << 20); }

// Thrown by the one walk's consumer at a chunk that adds a column or widens a type
// once the writer has rows.
struct TypesMissed {
  std::uint64_t offset;  // the chunk's source offset
};

// NDJSON whose columns are the key union, written in one walk of the input instead of
// a pre-pass and a writing pass (ARCHITECTURE.md, "parquet/"): each worker converts its
// chunk with the columns and types known when it starts (the consumer's, which has
// joined every chunk before); a chunk with another key or a wider value is scanned
// (ndjson_leaf_scan.h) and converted with its own keys and types added. The consumer
// joins the chunks' scans in order, as scan_ndjson does, so it ends with the same
// columns, types and lines. It holds the first batches (hold_limit), then gives them to
// the writer in the file's columns and types: a batch converted with fewer columns gets
// columns of nulls, one whose column holds values of a narrower type is converted again
// from its chunk (read again for a held one). A change once the writer has rows
// (TypesMissed), or a leafless object KeyTypes::leafless_ok refuses, makes convert()
// return false: the caller takes the output back and runs the two passes.
class OneWalk {
 public:
  OneWalk(ConvertRun& run, bool auto_types)
      : run_(run), opts_(run.opts), auto_types_(auto_types), current_(std::make_shared<const Speculated>()) {
    kt_.line = opts_.first_line;
  }

  // False (and restart_offset) when the input must be converted the exact way.
  bool convert(std::uint64_t& restart_offset) {
    Chunker chunker(run_.in, RecordKind::ndjson, run_.begin, run_.end, opts_.chunker);
    try {
      run_pipeline<Work>(
          chunker, opts_.pipeline, [&](const Chunk& c, Work& w) { convert_chunk(c, w); },
          [&](const Chunk& c, Work& w) { take(c, w); });
    } catch (const TypesMissed& m) {
      restart_offset = m.offset;
      return false;
    }
    if (!kt_.leafless_ok()) {
      restart_offset = run_.begin;
      return false;
    }
    if (!writer_) write_held();
    writer_->finish();
    return true;
  }

  KeyTypes& found() { return kt_; }
  std::uint64_t bytes() const { return done_; }
  // Whether a chunk after the first added a column or widened a type (the first such
  // chunk's source offset).
  bool changed_after_first() const { return changed_after_first_; }
  std::uint64_t first_change() const { return first_change_; }

 private:
  struct Work {
    SpeculatedPtr writer_schema;  // what `writer` converts with
    std::unique_ptr<NdjsonBatchWriter> writer;
    std::unique_ptr<NdjsonLeafScanner> scanner;
    LeafScan scan;
    bool scanned = false;  // the chunk did not fit the columns it started with
    SpeculatedPtr schema;  // the batch's
    parquet::RowBatch batch;
    ChunkTally tally;
    std::vector<std::string> leafless;
  };
  struct Held {
    parquet::RowBatch batch;
    SpeculatedPtr schema;
    Chunk chunk;  // without data (gone): read again if needed
    // A batch made with no column (its valid records had no leaf, as {} has): only its
    // row count is kept, rows of nulls in any columns.
    std::size_t empty_rows = 0;
  };

  SpeculatedPtr published() {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }

  std::unique_ptr<NdjsonBatchWriter> batch_writer(const Speculated& s) const {
    return make_ndjson_batch_writer(s.names, s.types, opts_.flatten, opts_.line_shapes);
  }

  void convert_chunk(const Chunk& c, Work& w) {
    SpeculatedPtr s = published();
    w.scanned = false;
    if (!s->names.empty()) {
      if (w.writer_schema != s) {
        w.writer = batch_writer(*s);
        w.writer_schema = s;
      }
      if (w.writer->convert(c, w.batch, w.tally, w.leafless)) {
        w.schema = std::move(s);
        return;
      }
    }
    // Another key or a wider value (or no column known yet): the chunk's own keys and
    // types, added to s's, convert it.
    if (!w.scanner) w.scanner = make_ndjson_leaf_scanner(opts_.flatten, auto_types_, opts_.line_shapes);
    w.scanner->scan(c, w.scan);
    w.scanned = true;
    auto mine = std::make_shared<Speculated>(*s);
    std::unordered_map<std::string_view, std::uint32_t> at;  // views into *s and w.scan.keys, which stay
    for (std::size_t i = 0; i < s->names.size(); ++i) at.emplace(s->names[i], static_cast<std::uint32_t>(i));
    std::vector<std::uint32_t> column(w.scan.keys.size(), 0);
    for (std::uint32_t id : w.scan.order) {
      auto [it, fresh] = at.try_emplace(w.scan.keys[id], static_cast<std::uint32_t>(mine->names.size()));
      if (fresh) {
        mine->names.push_back(w.scan.keys[id]);
        mine->types.push_back(VType::none);
      }
      column[id] = it->second;
    }
    for (const LeafScan::Event& e : w.scan.events) {
      VType& t = mine->types[column[e.key]];
      t = join(t, e.type);
    }
    if (!batch_writer(*mine)->convert(c, w.batch, w.tally, w.leafless)) {
      throw io_error(kMisfit).at_path(run_.in.display_name());
    }
    w.schema = std::move(mine);
  }

  void take(const Chunk& c, Work& w) {
    const bool changed = w.scanned && kt_.merge(c, w.scan);
    kt_.line += w.tally.newlines;
    for (const std::string& path : w.leafless) kt_.add_leafless(path);
    run_.ledger.add(c, w.tally);
    done_ += c.size;
    if (opts_.progress) opts_.progress(done_, run_.ledger.counts().total());
    if (changed) {
      if (writer_) throw TypesMissed{c.offset};
      if (c.seq > 0 && !changed_after_first_) {
        changed_after_first_ = true;
        first_change_ = c.offset;
      }
      auto s = std::make_shared<Speculated>(Speculated{kt_.names, value_types(kt_.found)});
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = std::move(s);
    }
    if (writer_) {
      conform(
          w.batch, *w.schema, [&]() -> const Chunk& { return c; }, false);
      writer_->write(w.batch);
      return;
    }
    held_input_ += c.size;
    const Chunk gone{c.seq, c.offset, nullptr, c.size, c.last};
    if (w.batch.columns() == 0) {
      held_.push_back(Held{parquet::RowBatch(), nullptr, gone, w.batch.rows()});
    } else {
      held_.push_back(Held{std::move(w.batch), std::move(w.schema), gone});
      w.batch = parquet::RowBatch();
    }
    // No writer before there is a column: lines of {} alone are held as counts.
    if (held_input_ >= hold_limit(opts_) && !kt_.names.empty()) write_held();
  }

  // The held batches to a new writer, in the columns and types known now.
  void write_held() {
    writer_ = open_writer(run_, kt_.names, column_types(kt_.found));
    for (Held& h : held_) {
      if (!h.schema) {
        h.batch.reset(kt_.names.size());
        for (std::size_t r = 0; r < h.empty_rows; ++r) {
          for (std::size_t i = 0; i < kt_.names.size(); ++i) h.batch.add_null(i);
          h.batch.end_row();
        }
      } else {
        conform(
            h.batch, *h.schema, [&]() -> const Chunk& { return read_again(h.chunk); }, true);
      }
      writer_->write(h.batch);
      h.batch = parquet::RowBatch();
    }
    held_ = std::vector<Held>();
  }

  const Chunk& read_again(const Chunk& c) {
    again_.reserve(c.size);
    for (std::size_t got = 0; got < c.size;) {
      const std::size_t n = run_.in.read_at(again_.data() + got, c.size - got, c.offset + got);
      if (n == 0) throw data_error(kChanged).at_path(run_.in.display_name());
      got += n;
    }
    std::memset(again_.data() + c.size, 0, kChunkPadding);
    again_chunk_ = c;
    again_chunk_.data = again_.data();
    return again_chunk_;
  }

  // Makes a batch converted with `from` one of the columns and types known now (the
  // chunk: the one in memory, or a held one read again, when the input may have changed).
  template <class GetChunk>
  void conform(parquet::RowBatch& batch, const Speculated& from, GetChunk&& chunk, bool read_again) {
    const Speculated& to = *current_;
    if (&from == &to) return;
    std::unordered_map<std::string_view, std::int32_t> at;
    for (std::size_t j = 0; j < from.names.size(); ++j) at.emplace(from.names[j], static_cast<std::int32_t>(j));
    std::vector<std::int32_t> plan(to.names.size(), -1);
    bool same = to.names.size() == from.names.size();
    bool again = false;
    const bool empty = batch.rows() == 0;
    for (std::size_t i = 0; i < to.names.size(); ++i) {
      auto it = at.find(to.names[i]);
      if (it == at.end()) {
        same = false;
        continue;
      }
      const auto j = static_cast<std::size_t>(it->second);
      plan[i] = it->second;
      same &= j == i;
      // A column with only nulls in the batch (no PLAIN bytes) takes any type as it is.
      again |= from.types[j] != to.types[i] && !empty && batch.column(j).plain.size() > 0;
    }
    if (again) {
      if (fixer_schema_ != current_) {
        fixer_ = batch_writer(to);
        fixer_schema_ = current_;
      }
      ChunkTally tally;
      std::vector<std::string> leafless;
      if (!fixer_->convert(chunk(), batch, tally, leafless)) {
        throw(read_again ? data_error(kChanged) : io_error(kMisfit)).at_path(run_.in.display_name());
      }
      return;
    }
    // Every column of the batch is a column of the file (the file's only grow).
    assert(static_cast<std::size_t>(std::count_if(plan.begin(), plan.end(), [](std::int32_t j) { return j >= 0; })) ==
           from.names.size());
    if (!same) batch.reorder(plan);
  }

  ConvertRun& run_;
  const ConvertOptions& opts_;
  bool auto_types_;
  KeyTypes kt_;
  std::mutex mutex_;
  SpeculatedPtr current_;  // kt_'s columns and types; the workers read it under mutex_
  std::uint64_t done_ = 0;
  bool changed_after_first_ = false;
  std::uint64_t first_change_ = 0;
  std::vector<Held> held_;
  std::uint64_t held_input_ = 0;  // the input bytes of held_
  std::unique_ptr<parquet::Writer> writer_;
  SpeculatedPtr fixer_schema_;
  std::unique_ptr<NdjsonBatchWriter> fixer_;  // converts batches again with current_
  Buffer again_;
  Chunk again_chunk_;
};

}  // namespace

std::string parquet_part_name(const std::string& output, std::size_t i) {
  char num[32];
  std::snprintf(num, sizeof num, "-%05zu", i);
  const std::size_t slash = output.rfind('/');
  const std::size_t dot = output.rfind('.');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash + 1);
  return has_ext ? output.substr(0, dot) + num + output.substr(dot) : output + num;
}

void convert_to_parquet(ConvertRun& run) {
  const ConvertOptions& opts = run.opts;
  if ((!run.in.seekable() || run.in.compressed()) && opts.schema_in.empty()) {
    throw usage_error(
        "Parquet types come from a pre-pass over the whole input, which a stream or compressed input "
        "does not allow; pass --schema FILE with types (write one with --schema-out), or convert a file");
  }
  if (run.from != RecordKind::ndjson && (!run.in.seekable() || run.in.compressed())) {
    // The header is read apart from the records, which a stream allows only once.
    throw usage_error("Parquet from CSV/TSV needs a file, not a stream or compressed input");
  }
  Source src;
  src.from = run.from;
  src.flatten = opts.flatten;
  src.auto_types = opts.types == ValueTypes::auto_detect;
  ChunkerOptions copts = opts.chunker;
  std::uint64_t first_line = opts.first_line;
  std::uint64_t header_len = 0;

  TypedSchema schema;
  if (!opts.schema_in.empty()) schema = read_typed_schema(opts.schema_in);
  std::vector<std::string> names = run.columns;  // --fields or --schema (NDJSON)
  std::vector<FoundType> scanned;                // the types, when found with the key union
  bool types_scanned = false;
  if (run.from == RecordKind::ndjson) {
    if (names.empty() && run.out.rewindable() && run.ledger.can_restart() && speculation_allowed()) {
      std::uint64_t restart_offset = 0;
      {
        OneWalk walk(run, src.auto_types);
        if (walk.convert(restart_offset)) {
          KeyTypes& kt = walk.found();
          run.columns = std::move(kt.names);
          for (std::size_t i = 0; i < run.columns.size(); ++i) {
            if (kt.found[i].type == VType::none) run.empty_columns.push_back(run.columns[i]);
          }
          run.column_union = walk.changed_after_first() ? ColumnUnion::extended : ColumnUnion::first_chunk;
          run.restart_offset = walk.first_change();
          run.bytes = walk.bytes();
          if (!opts.schema_out.empty())
            write_typed_schema(opts.schema_out, run.columns, column_types(kt.found), kt.found);
          return;
        }
      }
      // Rows were written with columns or types the rest of the input widened: start over.
      run.more_outputs.clear();
      run.out.rewind();
      run.ledger.restart();
      run.column_union = ColumnUnion::restarted;
      run.restart_offset = restart_offset;
    }
    if (names.empty()) {
      if (run.column_union == ColumnUnion::none) run.column_union = ColumnUnion::pre_pass;
      Chunker chunker(run.in, run.from, run.begin, run.end, copts);
      types_scanned = scan_ndjson(run, chunker, src.auto_types, first_line, names, scanned);
    }
  } else {
    src.delim = opts.delimiter.value_or(default_delimiter(run.from));
    copts.delimiter = src.delim;
    src.strict_quotes = copts.strict_quotes;
    // The header comes from the file's first record, as in convert_delimited.
    std::string first;
    {
      Chunker head(run.in, run.from, 0, kToEnd, copts);
      first = head.take_first_record();
    }
    names = delimited_keys(first, src.delim, opts.header, copts.strict_quotes, run.in.display_name());
    run.renamed_columns = rename_duplicate_columns(names);
    if (opts.header) {
      header_len = first.size();
      if (run.begin < header_len) {
        run.begin = header_len;
        const auto header_lines = static_cast<std::uint64_t>(std::count(first.begin(), first.end(), '\n'));
        run.ledger.skip_lines(header_lines);
        first_line += header_lines;
      }
    }
    if (!schema.names.empty() && schema.names != names) {
      throw usage_error("--schema names other columns than the header of " + run.in.display_name());
    }
    src.expected = "expected " + std::to_string(names.size()) + " fields, found ";
  }
  require_columns(run, names);
  run.columns = names;
  src.columns = &run.columns;
  const std::size_t ncols = names.size();

  // Pass 1, unless --schema fixed every type.
  std::vector<FoundType> found(ncols);
  const bool all_fixed = !schema.types.empty() &&
                         std::all_of(schema.types.begin(), schema.types.end(), [](auto& t) { return t.has_value(); });
  if (types_scanned) {
    found = std::move(scanned);
  } else if (!all_fixed) {
    Chunker chunker(run.in, run.from, run.begin, run.end, copts);
    found = find_types(run, src, chunker, first_line);
  }
  std::vector<ColumnType> types(ncols);
  for (std::size_t i = 0; i < ncols; ++i) {
    types[i] = i < schema.types.size() && schema.types[i] ? *schema.types[i] : column_type(found[i].type);
    if (!all_fixed && found[i].type == VType::none) run.empty_columns.push_back(names[i]);
  }

  // Pass 2.
  std::unique_ptr<parquet::Writer> writer = open_writer(run, names, types);
  Chunker chunker(run.in, run.from, run.begin, run.end, copts);
  std::uint64_t done = 0;
  run_pipeline<WriteWork>(
      chunker, opts.pipeline,
      [&](const Chunk& c, WriteWork& w) {
        if (types_scanned) {
          if (!w.ndjson) w.ndjson = make_ndjson_batch_writer(names, value_types(found), opts.flatten, opts.line_shapes);
          // A record that does not fit: the input changed since the pre-pass.
          if (!w.ndjson->convert(c, w.batch, w.reader.tally, w.leafless)) {
            throw data_error(kChanged).at_path(run.in.display_name());
          }
          return;
        }
        w.batch.reset(ncols);
        std::optional<LineCounter> lines;
        std::vector<Reject> misfits;
        src.read(c, w.reader, [&](const std::vector<CellView>& cells, std::size_t offset, std::size_t end) {
          for (std::size_t i = 0; i < ncols; ++i) {
            if (add_cell(w.batch, i, types[i], cells[i])) continue;
            // A value the --schema type cannot hold: the record is rejected, as a bad one.
            w.batch.drop_row();
            if (!lines) lines.emplace(c);
            Reject r;
            r.line = lines->at(offset);
            r.offset = offset;
            r.raw = std::string_view(c.data + offset, end - offset);
            r.reason = "column '" + names[i] + "' is " + parquet::column_type_name(types[i]) +
                       " (--schema), the value is " + kind_name(cells[i]) + ": " +
                       std::string(cells[i].text.substr(0, 64));
            misfits.push_back(std::move(r));
            return;
          }
          w.batch.end_row();
        });
        if (!misfits.empty()) {
          ChunkTally& t = w.reader.tally;
          t.counts.valid -= misfits.size();
          for (Reject& r : misfits) t.rejects.push_back(std::move(r));
          std::stable_sort(t.rejects.begin(), t.rejects.end(),
                           [](const Reject& a, const Reject& b) { return a.offset < b.offset; });
        }
      },
      [&](const Chunk& c, WriteWork& w) {
        run.ledger.add(c, w.reader.tally);
        writer->write(w.batch);
        done += c.size;
        if (opts.progress) opts.progress(done, run.ledger.counts().total());
      });
  writer->finish();
  run.bytes = done + header_len;
  if (!opts.schema_out.empty()) write_typed_schema(opts.schema_out, names, types, found);
}

}  // namespace ingot::detail

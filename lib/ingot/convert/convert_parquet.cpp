// NDJSON, CSV or TSV -> Parquet. Two passes over the input: the first finds every
// column's type from all of its values (the narrowest of BOOLEAN, INT64, DOUBLE and
// STRING that holds each one) and the line that widened it last; the second converts
// rows into typed column values in the pipeline's workers and hands them, in input
// order, to the writer (parquet/writer.h), which cuts row groups by size. Both passes
// read rows the same way: NDJSON through the chunk converter's cells (RowFormat::cells),
// CSV/TSV through the tokenizer. ARCHITECTURE.md ("parquet/") has the type rules.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
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

// NDJSON whose columns are the key union: the union and the types in one walk
// (ndjson_leaf_scan.h). False when a leafless object sits at a path that is a column
// but prefixes none (the converter would write it as that column's "{}" text; rare):
// the caller then types the input through the converter's cells, as find_types does.
bool scan_ndjson(ConvertRun& run, Chunker& chunker, bool auto_types, std::uint64_t first_line,
                 std::vector<std::string>& names, std::vector<FoundType>& found) {
  struct ScanWork {
    std::unique_ptr<NdjsonLeafScanner> scanner;
    LeafScan scan;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> index;
  std::unordered_set<std::string, StringHash, std::equal_to<>> leafless;  // distinct paths: memory stays flat
  std::vector<std::uint32_t> global;
  std::uint64_t line = first_line;
  const ConvertOptions& opts = run.opts;
  run_pipeline<ScanWork>(
      chunker, opts.pipeline,
      [&](const Chunk& c, ScanWork& w) {
        if (!w.scanner) w.scanner = make_ndjson_leaf_scanner(opts.flatten, auto_types, opts.line_shapes);
        w.scanner->scan(c, w.scan);
      },
      [&](const Chunk& c, ScanWork& w) {
        const LeafScan& s = w.scan;
        global.assign(s.keys.size(), 0);
        for (std::uint32_t id : s.order) {
          auto [it, fresh] = index.try_emplace(s.keys[id], static_cast<std::uint32_t>(names.size()));
          if (fresh) {
            names.push_back(s.keys[id]);
            found.emplace_back();
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
          }
        }
        for (std::uint32_t id : s.leafless) {
          if (!leafless.count(s.keys[id])) leafless.emplace(s.keys[id]);
        }
        line += s.newlines;
      });
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
    if (names.empty()) {
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
  if (names.empty()) {
    throw data_error("no columns to write: Parquet needs at least one (the input has no keys or header)")
        .at_path(run.in.display_name());
  }
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
  std::vector<parquet::ColumnSpec> specs;
  for (std::size_t i = 0; i < ncols; ++i) specs.push_back({names[i], types[i]});
  parquet::WriterOptions wo;
  wo.compression = opts.parquet_compression;
  wo.row_group_bytes = std::max<std::uint64_t>(1, opts.row_group_size);
  wo.created_by = "ingot version " INGOT_VERSION;
  wo.max_file_bytes = opts.max_file_size;
  parquet::Writer writer(std::move(specs), wo, [&](std::string_view b) { run.out.write(b.data(), b.size()); });
  writer.next_file = [&]() -> parquet::Writer::Sink {
    // Kept uncommitted (temporary names) until the run succeeds, like `out`.
    OutputFile& f =
        run.more_outputs.emplace_back(OutputFile::create(parquet_part_name(opts.output, run.more_outputs.size() + 1)));
    return [&f](std::string_view b) { f.write(b.data(), b.size()); };
  };
  Chunker chunker(run.in, run.from, run.begin, run.end, copts);
  std::uint64_t done = 0;
  run_pipeline<WriteWork>(
      chunker, opts.pipeline,
      [&](const Chunk& c, WriteWork& w) {
        if (types_scanned) {
          if (!w.ndjson) w.ndjson = make_ndjson_batch_writer(names, types, opts.flatten, opts.line_shapes);
          try {
            w.ndjson->convert(c, w.batch, w.reader.tally);
          } catch (Error& e) {  // a value that no longer fits: the input changed since the pre-pass
            if (e.path().empty()) e.at_path(run.in.display_name());
            throw;
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
        writer.write(w.batch);
        done += c.size;
        if (opts.progress) opts.progress(done, run.ledger.counts().total());
      });
  writer.finish();
  run.bytes = done + header_len;
  if (!opts.schema_out.empty()) write_typed_schema(opts.schema_out, names, types, found);
}

}  // namespace ingot::detail

// ingot convert: NDJSON -> CSV/TSV and CSV/TSV -> NDJSON (and CSV <-> TSV), on the
// engine's chunker and pipeline, with exact valid/invalid/blank counts and a rejects
// file whose line numbers are exact for any thread count and chunk size.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/io/decompress.h"
#include "ingot/parquet/writer.h"
#include "ingot/pipeline/records.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot {

enum class ValueTypes { auto_detect, string };

struct ConvertOptions {
  std::string input = "-";
  std::string output = "-";
  std::optional<RecordKind> from;  // default: from the input's extension
  std::optional<RecordKind> to;    // default: from the output's extension
  std::optional<Codec> compress;   // output compression; default: by the output's .gz/.zst suffix

  // NDJSON -> CSV
  std::vector<std::string> fields;  // explicit columns; empty = union of keys
  std::string schema_in;            // read the column list from this file
  std::string schema_out;           // write the column list used to this file
  bool flatten = true;              // nested objects -> dot paths; false: JSON text
  bool schema_only = false;         // only find the columns and write schema_out
  // Reuse the shape of earlier valid lines (convert/ndjson_shape.h); false parses every
  // line with simdjson. The output is the same either way: the tests compare both.
  bool line_shapes = true;

  // Parquet output: with to_parquet (--to parquet) or an output named *.parquet
  bool to_parquet = false;
  parquet::Compression parquet_compression = parquet::Compression::zstd;
  std::uint64_t row_group_size = std::uint64_t{128} << 20;  // data bytes per row group
  std::uint64_t max_file_size = 0;                          // roll into numbered files past this; 0: one file

  // CSV/TSV input
  bool header = true;
  std::optional<char> delimiter;  // input delimiter; default by kind
  ValueTypes types = ValueTypes::auto_detect;

  ErrorPolicy errors;
  std::string rejects;  // rejects file path; empty = none

  std::optional<PartSpec> part;    // process only the K-th of N record-aligned ranges
  std::optional<ByteRange> range;  // or this explicit byte range (a manifest piece)
  std::uint64_t first_line = 1;    // line number of the range's first byte, when known

  PipelineOptions pipeline;
  ChunkerOptions chunker;
  ProgressFn progress;  // called from the serial stage with bytes done
};

// NDJSON -> CSV/TSV without --fields/--schema: how the columns (the key union) were found.
enum class ColumnUnion {
  none,         // given (--fields, --schema), or not NDJSON -> CSV/TSV
  pre_pass,     // a pass over the whole input before the conversion
  first_chunk,  // the first chunk's keys, and no later chunk had another: one pass
  extended,     // a chunk had another key: after a pre-pass from that chunk, the rows before it (still held)
                // got the new columns, and the conversion went on from there
  restarted,    // a chunk had another key: the output started over, after a pre-pass from that chunk
};
const char* column_union_name(ColumnUnion u);  // "pre-pass", "first-chunk", "extended", "restarted"; "" for none

struct ConvertReport {
  std::string input;
  std::string output;
  std::string from;
  std::string to;
  RecordCounts records;
  std::uint64_t bytes = 0;  // input bytes processed
  std::size_t columns = 0;
  std::vector<std::string> empty_columns;    // NDJSON: columns that never got a value
  std::vector<std::string> renamed_columns;  // CSV: duplicate header names renamed ("id -> id_1 (column 3)")
  ColumnUnion column_union = ColumnUnion::none;
  std::uint64_t restart_offset = 0;  // extended, restarted: the source offset of the chunk that had another key
  double seconds = 0;
};

Result<ConvertReport> convert(const ConvertOptions& opts);

// Reads a column list written by --schema-out (one JSON array of strings, or one name per line).
// Throws Error naming the file when it cannot be read or is not such a list.
std::vector<std::string> read_schema(const std::string& path);

}  // namespace ingot

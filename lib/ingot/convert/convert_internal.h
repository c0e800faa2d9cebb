// Shared between convert.cpp and the two converter directions; not public API.
#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ingot/format/csv.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/convert/convert.h"
#include "ingot/pipeline/records.h"
#include "ingot/util/byte_buffer.h"

namespace ingot::detail {

struct ConvertRun {
  const ConvertOptions& opts;
  InputFile& in;
  RecordKind from;
  RecordKind to;
  std::uint64_t begin;  // byte range of the input to convert
  std::uint64_t end;
  OutputFile& out;
  RecordLedger& ledger;
  std::uint64_t bytes = 0;  // filled by the converter
  std::vector<std::string> columns;
  std::vector<std::string> empty_columns;    // columns no valid record gave a value
  std::vector<std::string> renamed_columns;  // CSV header names made unique (rename_duplicate_columns)
  std::deque<OutputFile> more_outputs;       // Parquet with --max-file-size: the files after `out`
};

// NDJSON -> CSV/TSV. run.columns holds the columns; empty means "find the union first".
// simdjson On-Demand fixes its SIMD kernel at compile time, so convert_ndjson.cpp is
// compiled once per CPU variant and these entry points pick one at run time.
void convert_ndjson(ConvertRun& run);
// The exact union of keys of all valid records in first-seen order (flattened unless !flatten).
std::vector<std::string> ndjson_key_union(InputFile& in, std::uint64_t begin, std::uint64_t end,
                                          const ConvertOptions& opts);
// The name of the variant convert_ndjson() uses on this CPU ("x86-64-v3", "generic").
const char* ndjson_variant();

// One converted row: its bytes in the output and the source line it came from.
struct NdjsonRow {
  std::size_t out_end = 0;    // end of the row in the output (it begins where the previous row ended)
  std::size_t src_begin = 0;  // chunk-local offset of the source line
  std::size_t src_end = 0;    // end of the source line, its line end included
};

// How the NDJSON converter writes a row: CSV or TSV as convert writes them, or
// PostgreSQL COPY's text format (format/pg_copy_text.h; an absent, null or "" value is
// \N, NULL, as the CSV's empty field is for COPY's CSV format).
enum class RowFormat { csv, tsv, copy_text, cells };
// RowFormat::cells (the Parquet writer's input): each cell's kind byte, then, unless
// null, its text's 4-byte length and the text (a string unescaped; a number or literal
// as written; an array or object as compact JSON, kind string).
enum class CellKind : char { null = 0, string = 1, number = 2, boolean = 3 };

// The conversion of convert_ndjson, one chunk at a time, for callers that run their own
// pipeline stages around it (upload to PostgreSQL converts chunks straight into COPY
// input). One per thread (it owns the simdjson parser); the rows hold the same values
// convert_ndjson writes for the chunk (in CSV/TSV: the same bytes), without the header.
class NdjsonChunkConverter {
 public:
  virtual ~NdjsonChunkConverter() = default;
  // Fills out with one row per valid record, rows with one entry per row, and tally
  // with counts, newlines and the rejects (chunk-local line numbers).
  virtual void convert(const Chunk& c, std::string& out, std::vector<NdjsonRow>& rows, ChunkTally& tally) = 0;
};
std::unique_ptr<NdjsonChunkConverter> make_ndjson_converter(const std::vector<std::string>& columns, RowFormat format,
                                                            bool flatten);

#define INGOT_DECLARE_NDJSON_VARIANT(ns)                                                               \
  namespace ns {                                                                                       \
  void convert_ndjson(ConvertRun& run);                                                                \
  std::vector<std::string> ndjson_key_union(InputFile& in, std::uint64_t begin, std::uint64_t end,     \
                                            const ConvertOptions& opts);                               \
  std::unique_ptr<NdjsonChunkConverter> make_ndjson_converter(const std::vector<std::string>& columns, \
                                                              RowFormat format, bool flatten);         \
  }
INGOT_DECLARE_NDJSON_VARIANT(generic)
#if defined(__x86_64__)
INGOT_DECLARE_NDJSON_VARIANT(x86_64_v3)
#endif
// CSV/TSV -> NDJSON or CSV/TSV.
void convert_delimited(ConvertRun& run);
// NDJSON, CSV or TSV -> Parquet (convert_parquet.cpp): types from a pre-pass over the
// whole input (or --schema), then row groups in input order.
void convert_to_parquet(ConvertRun& run);
// The i-th file of a Parquet output rolled by --max-file-size: x.parquet -> x-00000.parquet.
std::string parquet_part_name(const std::string& output, std::size_t i);

// The keys of a CSV/TSV source from its first record: the header's fields, or col1..colN
// when !header. Throws a data Error at line 1 for a malformed or non-UTF-8 header.
std::vector<std::string> delimited_keys(std::string_view first, char delim, bool header, bool strict_quotes,
                                        const std::string& path);

struct KeyPrefixes;
// The record conversion of convert_delimited, one chunk at a time, for callers that run
// their own pipeline around it (upload to an HTTP endpoint sends a CSV source's chunks
// as NDJSON). Shared by the pipeline's threads (const); each thread brings its own
// tokenizer and buffers. out gets the bytes convert writes for the chunk's records
// (without the header); tally the counts, newlines and rejects (chunk-local lines).
class DelimitedChunkConverter {
 public:
  DelimitedChunkConverter(const std::vector<std::string>& keys, char in_delim, RecordKind to, ValueTypes types,
                          bool strict_quotes);
  ~DelimitedChunkConverter();
  void convert(const Chunk& c, CsvTokenizer& tokenizer, CsvRecord& rec, ChunkTally& tally, ByteBuffer& out) const;

 private:
  using RecordWriter = char* (*)(char*, const KeyPrefixes&, std::span<const std::string_view>);
  std::unique_ptr<KeyPrefixes> prefixes_;
  RecordWriter write_record_ = nullptr;
  std::size_t nkeys_;
  char in_delim_;
  bool strict_quotes_;
  bool to_json_;
  char out_delim_;
  std::string expected_;  // "expected N fields, found "
};

// Strips a UTF-8 byte order mark at the very start of the source.
inline std::size_t bom_length(const char* p, std::size_t n, std::uint64_t source_offset) {
  return source_offset == 0 && n >= 3 && static_cast<unsigned char>(p[0]) == 0xEF &&
                 static_cast<unsigned char>(p[1]) == 0xBB && static_cast<unsigned char>(p[2]) == 0xBF
             ? 3
             : 0;
}

}  // namespace ingot::detail

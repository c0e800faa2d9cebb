// convert's per-chunk converters, public for callers that run their own pipeline stages
// around them (upload to PostgreSQL rewrites chunks into COPY input, upload to an HTTP
// endpoint sends a CSV source's chunks as NDJSON). Each converts one chunk of whole
// records the way `ingot convert` converts it, with the same rejects and counts, and
// leaves line numbers chunk-local (the caller's in-order stage adds the running count).
// convert_ndjson.cpp is compiled once per CPU level (ARCHITECTURE.md, "CPU dispatch"),
// so the NDJSON converter stays in convert/ rather than moving down to format/. The
// names are in ingot::detail, where convert's sources define them.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/convert/convert.h"
#include "ingot/format/csv.h"
#include "ingot/format/pg_copy_binary.h"
#include "ingot/io/input.h"
#include "ingot/pipeline/records.h"
#include "ingot/util/byte_buffer.h"

namespace ingot::detail {

// One converted row: its bytes in the output and the source record it came from.
struct ConvertedRow {
  std::size_t out_end = 0;    // end of the row in the output (it begins where the previous row ended)
  std::size_t src_begin = 0;  // chunk-local offset of the source record
  std::size_t src_end = 0;    // end of the source record, its line end included
};

// How a converter writes a row: CSV or TSV as convert writes them, or PostgreSQL COPY's
// text format (format/pg_copy_text.h). In COPY text an absent, null or "" NDJSON value
// is \N, NULL, as is an empty unquoted CSV field; a quoted empty CSV field ("") is an
// empty string, as COPY's CSV format reads them.
enum class RowFormat { csv, tsv, copy_text, cells };
// RowFormat::cells (the Parquet writer's input): each cell's kind byte, then, unless
// null, its text's 4-byte length and the text (a string unescaped; a number or literal
// as written; an array or object as compact JSON, kind string).
enum class CellKind : char { null = 0, string = 1, number = 2, boolean = 3 };

// NDJSON -> rows, one chunk at a time. One per thread (it owns the simdjson parser); the
// rows hold the same values convert_ndjson writes for the chunk (in CSV/TSV: the same
// bytes), without the header.
class NdjsonChunkConverter {
 public:
  virtual ~NdjsonChunkConverter() = default;
  // Fills out with one row per valid record, rows with one entry per row, and tally
  // with counts, newlines and the rejects (chunk-local line numbers).
  virtual void convert(const Chunk& c, std::string& out, std::vector<ConvertedRow>& rows, ChunkTally& tally) = 0;
};
// Picks the variant for this CPU (convert_dispatch.cpp).
std::unique_ptr<NdjsonChunkConverter> make_ndjson_converter(const std::vector<std::string>& columns, RowFormat format,
                                                            bool flatten);

// The exact union of keys of all valid records in first-seen order (flattened unless
// !opts.flatten): the columns of an NDJSON source. Reads [begin, end) of the input once.
std::vector<std::string> ndjson_key_union(InputFile& in, std::uint64_t begin, std::uint64_t end,
                                          const ConvertOptions& opts);

// The keys of a CSV/TSV source from its first record: the header's fields, or col1..colN
// when !header. Throws a data Error at line 1 for a malformed or non-UTF-8 header.
std::vector<std::string> delimited_keys(std::string_view first, char delim, bool header, bool strict_quotes,
                                        const std::string& path);

struct KeyPrefixes;
// CSV/TSV -> NDJSON or CSV/TSV, one chunk at a time: the record conversion of
// convert_delimited. Shared by the pipeline's threads (const); each thread brings its
// own tokenizer and buffers. out gets the bytes convert writes for the chunk's records
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

// Rows of one format from any record source, one chunk at a time, for a caller that
// needs each row's bytes and source record (upload to PostgreSQL: batches of rows,
// bisected by row when the server refuses one). One per thread.
class RowConverter {
 public:
  virtual ~RowConverter() = default;
  // Rewrites the chunk's records into rows (one entry each in rows; their bytes in
  // data()), tally the counts, newlines and rejects (chunk-local lines).
  virtual void convert(const Chunk& c, std::vector<ConvertedRow>& rows, ChunkTally& tally) = 0;
  // The last convert's rows, back to back; valid until the next convert.
  virtual const char* data() const = 0;
  // Whether the last convert's rows are COPY binary tuples rather than the converter's
  // own format (make_copy_binary_converter).
  virtual bool binary() const { return false; }
};
// NDJSON: any RowFormat, with these columns (flattened). CSV/TSV (delim; columns unused):
// RowFormat::copy_text only, one row per record whatever its field count (the server
// checks the count); a blank line is no row, a malformed record (a stray quote under
// strict_quotes) is rejected with the tokenizer's reason.
std::unique_ptr<RowConverter> make_row_converter(RecordKind from, RowFormat format,
                                                 const std::vector<std::string>& columns, char delim,
                                                 bool strict_quotes);
// CSV/TSV -> COPY binary tuples (format/pg_copy_binary.h) for a table whose columns have
// these types, one per field: a chunk whose every valid record has as many fields and
// every value an encoding goes out binary (binary() true), any other chunk as COPY text,
// exactly as make_row_converter(RowFormat::copy_text) writes it, so that the server
// reads and judges those values itself. Rejects, blank lines and counts as there.
std::unique_ptr<RowConverter> make_copy_binary_converter(char delim, bool strict_quotes,
                                                         std::vector<CopyBinaryType> types);

}  // namespace ingot::detail

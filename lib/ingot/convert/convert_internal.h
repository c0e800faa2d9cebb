// Shared between convert.cpp and the two converter directions; not public API (what
// other folders may use of them is in chunk_converter.h).
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
#include "ingot/convert/chunk_converter.h"
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
  std::vector<std::string> columns{};
  bool columns_found = false;                  // columns is the key union already (a first pass over compressed input)
  std::vector<std::string> empty_columns{};    // columns no valid record gave a value
  std::vector<std::string> renamed_columns{};  // CSV header names made unique (rename_duplicate_columns)
  std::deque<OutputFile> more_outputs{};       // Parquet with --max-file-size: the files after `out`
  ColumnUnion column_union = ColumnUnion::none;  // how convert_ndjson found the columns
  std::uint64_t restart_offset = 0;              // extended, restarted: where the new key's chunk starts
};

// NDJSON -> CSV/TSV. run.columns holds the columns; empty means "find the union first".
// simdjson On-Demand fixes its SIMD kernel at compile time, so convert_ndjson.cpp is
// compiled once per CPU variant and these entry points pick one at run time.
void convert_ndjson(ConvertRun& run);
// The name of the variant convert_ndjson() uses on this CPU ("x86-64-v3", "generic").
const char* ndjson_variant();

// convert_ndjson.cpp's name for a converted row (the converters' public declarations:
// chunk_converter.h).
using NdjsonRow = ConvertedRow;

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
// Whether a conversion may speculate (NDJSON's columns, Parquet's types) and start over
// when wrong; INGOT_SPECULATE=0 forces the pre-pass (tests and benchmarks compare both).
bool speculation_allowed();
// CSV/TSV -> NDJSON or CSV/TSV.
void convert_delimited(ConvertRun& run);
// NDJSON, CSV or TSV -> Parquet (convert_parquet.cpp): types from every value of the
// input (a pre-pass, or speculated and checked in one pass) or --schema, then row groups
// in input order.
void convert_to_parquet(ConvertRun& run);
// The i-th file of a Parquet output rolled by --max-file-size: x.parquet -> x-00000.parquet.
std::string parquet_part_name(const std::string& output, std::size_t i);

// Strips a UTF-8 byte order mark at the very start of the source.
inline std::size_t bom_length(const char* p, std::size_t n, std::uint64_t source_offset) {
  return source_offset == 0 && n >= 3 && static_cast<unsigned char>(p[0]) == 0xEF &&
                 static_cast<unsigned char>(p[1]) == 0xBB && static_cast<unsigned char>(p[2]) == 0xBF
             ? 3
             : 0;
}

}  // namespace ingot::detail

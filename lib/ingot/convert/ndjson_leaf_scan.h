// The Parquet pre-pass over NDJSON in one walk: the key union (flattened leaf paths, in
// first-seen order among valid records, as ndjson_key_union finds it) and, for each key,
// the types of its values (parquet/numbers.h), with where in the chunk they widened.
// Before it, the pre-pass walked the input twice (the key union, then the cells of the
// chunk converter for the types). ndjson_leaf_scan.cpp is built once per CPU level, as
// convert_ndjson.cpp is; convert_dispatch.cpp picks the variant.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/parquet/numbers.h"
#include "ingot/parquet/writer.h"
#include "ingot/pipeline/records.h"

namespace ingot::detail {

// What one chunk's valid records hold.
struct LeafScan {
  struct Event {
    std::uint32_t key;        // index in keys
    parquet::ValueType type;  // the chunk's type of the key from this record on
    std::size_t offset;       // the record's chunk-local offset
  };
  std::vector<std::string> keys;        // leaf paths by chunk-local id (rejected records' keys too)
  std::vector<std::uint32_t> order;     // the ids of valid records' keys, in first-seen order
  std::vector<Event> events;            // where the chunk's running types widened, in record order
  std::vector<std::uint32_t> leafless;  // ids of paths (flattening) whose object held no leaf, each once
  std::uint64_t newlines = 0;           // '\n' bytes in the chunk
};

// leafless: the converter (convert_ndjson.cpp) flattens an object only at a path that
// prefixes some column, so an object without leaves ({} or {"a":{}}) at a path that is
// itself a column but prefixes none becomes that column's text ("{}", a STRING) there.
// The scan cannot know the columns while it runs; its caller checks the leafless paths
// against the union found and, where one is such a column, types the input the exact
// (slower) way.

// One per pipeline token (it owns the simdjson parser).
class NdjsonLeafScanner {
 public:
  virtual ~NdjsonLeafScanner() = default;
  virtual void scan(const Chunk& c, LeafScan& out) = 0;
};
// flatten: as --no-flatten leaves it; auto_types: strings may be dates and timestamps
// (not with --types string); line_shapes: ConvertOptions::line_shapes.
std::unique_ptr<NdjsonLeafScanner> make_ndjson_leaf_scanner(bool flatten, bool auto_types, bool line_shapes);

// The writing pass over the same walk: each valid record becomes a row of the batch,
// the counts and rejects (with the converter's reasons) go to the tally, as the chunk
// converter's cells would give them, without the cells. convert() returns false when a
// valid record does not fit the columns: a leaf path that is no column, or a value its
// column's type does not hold (a column of type none holds only nulls); the batch is
// then unusable. With the types of make_ndjson_leaf_scanner's pass over the whole input
// every record fits (one that does not means the input changed); with speculated types
// (convert_parquet.cpp's one walk) the caller scans the chunk and converts it again.
// `leafless` gets the chunk's paths (flattening) whose object held no leaf, each once.
class NdjsonBatchWriter {
 public:
  virtual ~NdjsonBatchWriter() = default;
  [[nodiscard]] virtual bool convert(const Chunk& c, parquet::RowBatch& batch, ChunkTally& tally,
                                     std::vector<std::string>& leafless) = 0;
};
std::unique_ptr<NdjsonBatchWriter> make_ndjson_batch_writer(const std::vector<std::string>& columns,
                                                            std::vector<parquet::ValueType> types, bool flatten,
                                                            bool line_shapes);

#define INGOT_DECLARE_NDJSON_LEAF_SCAN_VARIANT(ns)                                                                 \
  namespace ns {                                                                                                   \
  std::unique_ptr<NdjsonLeafScanner> make_ndjson_leaf_scanner(bool flatten, bool auto_types, bool line_shapes);    \
  std::unique_ptr<NdjsonBatchWriter> make_ndjson_batch_writer(const std::vector<std::string>& columns,             \
                                                              std::vector<parquet::ValueType> types, bool flatten, \
                                                              bool line_shapes);                                   \
  }
INGOT_DECLARE_NDJSON_LEAF_SCAN_VARIANT(generic)
#if defined(__x86_64__)
INGOT_DECLARE_NDJSON_LEAF_SCAN_VARIANT(x86_64_v3)
#endif

}  // namespace ingot::detail

// ingot index: an offset index of every record start of a file (or of one record-aligned
// part of it), built in parallel on the engine's chunker and pipeline: the parallel stage
// lists each chunk's record ends, the serial in-order stage turns them into absolute
// offsets and streams them into the index (format in index_format.h).
// Also: verifying an index, and the index of a merged file written from its pieces'
// indexes without reading the data again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/index/index_format.h"
#include "ingot/pipeline/records.h"  // ProgressFn
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot {

inline constexpr std::size_t kIndexChunkSize = std::size_t{256} << 10;

// Whether the default index can sit beside the input: a local file, or an s3://
// object (s3://b/k -> s3://b/k.idx, built locally, then uploaded). An http(s):// URL is
// read-only (and a query string, a signature, ends its name): its index is a path given.
bool index_beside(const std::string& input);

// FILE -> FILE.idx; a part K of N -> FILE.part-K-of-N.idx.
std::string default_index_path(const std::string& input, const std::optional<PartSpec>& part = std::nullopt);

// The kind for a file when none is given: from the extension, else lines.
RecordKind index_kind_for(const std::string& path, std::optional<RecordKind> given);

struct IndexOptions {
  std::string input;
  std::string output;              // empty: default_index_path(input, part); may be s3://
  std::optional<RecordKind> kind;  // default: index_kind_for(input)
  bool header = true;              // CSV/TSV: the range's first record is a header, not counted
  std::optional<PartSpec> part;    // index only the K-th of N record-aligned ranges
  std::optional<ByteRange> range;  // or this explicit record-aligned range (a manifest piece)
  PipelineOptions pipeline;
  // Small chunks: a chunk is scanned right after it is read, while still in cache
  // (measured on 1 GB NDJSON: 256K is ~30% faster than the engine's 4M default).
  ChunkerOptions chunker{kIndexChunkSize};
  ProgressFn progress;
};

struct IndexReport {
  std::string input;
  std::string output;
  IndexMeta meta;
  double seconds = 0;
  double bytes_per_record() const {
    return meta.records ? static_cast<double>(meta.index_size) / static_cast<double>(meta.records) : 0;
  }
};

Result<IndexReport> build_index(const IndexOptions& opts);

// Opens `index` (default: input + ".idx"), checks every checksum and that it matches the
// input as it is now.
Result<IndexReport> verify_index(const std::string& input, const std::string& index = {});

// One piece of a merged file: its own file and fresh index, and where its bytes landed
// in the merged file. `skip` bytes at the piece's start (its repeated CSV header) were
// not copied; the rest was copied whole to [out_offset, out_offset + size - skip).
struct MergePiece {
  std::string path;
  std::string index;  // empty: path + ".idx"
  std::uint64_t out_offset = 0;
  std::uint64_t skip = 0;
};

// The layout `ingot merge` writes: pieces concatenated in order; for CSV/TSV with a
// header, the first piece's header kept and every later piece's header dropped. Reads
// only the pieces' index headers. Throws when a piece has no fresh, whole-file index.
std::vector<MergePiece> concat_layout(const std::vector<std::string>& pieces);

// Writes the index of `merged` (already complete, its mtime final) from the pieces'
// indexes, rebasing offsets: no byte of data is read but the fingerprint's edges. The
// result is byte-identical to `ingot index merged` (tests/unit/index/test_index_merge.cpp).
Result<IndexReport> merge_indexes(const std::vector<MergePiece>& pieces, const std::string& merged,
                                  const std::string& merged_index = {});

// For `ingot merge`, after the merged file is committed: when every piece has a fresh
// index (path + ".idx" matching the piece as it is now), writes merged + ".idx" and
// returns its report; otherwise writes nothing and returns nullopt. An error is only
// a failure to write an index that should have been written.
Result<std::optional<IndexReport>> merge_indexes_if_fresh(const std::vector<MergePiece>& pieces,
                                                          const std::string& merged);

}  // namespace ingot

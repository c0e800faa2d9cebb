// ingot split: cuts a file into pieces that each end on a record boundary (lines,
// NDJSON, RFC 4180 CSV/TSV), by size, by record count or into N nearly equal parts,
// and writes a manifest last. Seekable inputs are planned first (cut points found by
// looking only near them, or by one parallel scan for --records) and the pieces then
// copied in parallel with copy_file_range; stdin is streamed through the pipeline.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/io/decompress.h"
#include "ingot/split/manifest.h"
#include "ingot/pipeline/records.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot {

enum class SplitBy { bytes, records, pieces };

struct SplitOptions {
  std::string input = "-";
  SplitBy by = SplitBy::bytes;
  std::uint64_t amount = 0;        // bytes per piece (upper bound), records per piece, or piece count
  std::string prefix;              // empty: "<input stem>-" in the current directory
  std::optional<RecordKind> kind;  // default: from the input's extension, else lines
  bool header = true;              // CSV/TSV: the first record is a header, repeated in every piece
  bool force = false;              // overwrite existing pieces and manifest
  bool plan = false;               // write only the manifest of byte ranges
  std::string manifest;            // empty: <prefix>manifest.json
  std::string filter;              // pipe each piece to `sh -c filter` with $FILE set
  Codec compress = Codec::none;    // compress every piece (one gzip member / zstd frame each)
  PipelineOptions pipeline;
  ChunkerOptions chunker;
  ProgressFn progress;  // bytes of the source done, records counted so far
};

struct SplitReport {
  Manifest manifest;  // as written
  std::string manifest_path;
  std::uint64_t bytes = 0;               // source bytes covered
  std::optional<std::uint64_t> records;  // data records, when counted
  std::vector<std::uint64_t> oversized;  // 1-based pieces holding one record larger than --bytes
  double seconds = 0;
};

Result<SplitReport> split(const SplitOptions& opts);

// The record-aligned byte ranges a split of `in` would produce (what --plan writes),
// after a header of header_bytes. Exposed for tests and for callers that want ranges
// without a manifest. records is set only when the cut needed counting (--records).
struct PlannedPiece {
  ByteRange range;
  std::optional<std::uint64_t> records;
  bool oversized = false;
};
Result<std::vector<PlannedPiece>> plan_split(InputFile& in, RecordKind kind, std::uint64_t header_bytes, SplitBy by,
                                             std::uint64_t amount, const PipelineOptions& pipeline,
                                             const ChunkerOptions& chunker);

}  // namespace ingot

// ingot get: prints records N, N-M, N+COUNT or -K of a file. With a fresh FILE.idx it
// reads one or two index blocks and preads just the records (O(1) in the file size);
// without one it scans from the start with the engine's chunker and stops as soon as
// the last wanted record is out (O(N), documented as slow).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/format/range_spec.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot {

struct GetOptions {
  std::string input;  // "-" = stdin (always scanned)
  std::string index;  // empty: input + ".idx" when it exists (an s3:// object's beside it)
  RangeSpec spec;
  std::optional<RecordKind> kind;  // for scans and --reindex; default: the index's, else by extension
  bool header = true;              // CSV/TSV: the first record is a header, not counted
  bool print_header = false;       // print the CSV/TSV header before the records
  bool reindex = false;            // build or rebuild a missing or stale index, then use it
  bool scan = false;               // ignore any index and scan (the slow path; tests compare the two)
  PipelineOptions pipeline;        // for --reindex
  ChunkerOptions chunker;
};

struct GetReport {
  enum class Path { index, scan, reindexed };
  Path path = Path::scan;
  std::uint64_t first = 0, last = 0;  // 1-based records printed
  std::uint64_t bytes = 0;            // bytes written
};

// Writes the records to out_fd. Past the end: a data Error and nothing written.
Result<GetReport> get_records(const GetOptions& opts, int out_fd = 1);

}  // namespace ingot

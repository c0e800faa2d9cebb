// ingot merge: stitches pieces back together with copy_file_range, in the order given
// or the manifest's, keeping the first CSV/TSV header and dropping the (identical)
// headers of the other pieces. With a manifest it checks that the pieces on disk are
// the ones listed (size always; xxh3 with verify) before writing anything. s3:// pieces
// into an s3:// output are stitched on the server (io/output.h RemoteSink::copy_from).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/record_kind.h"
#include "ingot/pipeline/records.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot {

struct MergeOptions {
  std::vector<std::string> pieces;  // piece files in output order, or:
  std::string manifest;             // a split manifest (its pieces, in its order)
  std::string output = "-";
  std::optional<RecordKind> kind;  // piece list: default from the first piece's extension
  bool header = true;              // CSV/TSV pieces start with a header (piece list only)
  char delimiter = 0;              // CSV/TSV field delimiter, which decides where a quoted header
                                   // ends (piece list only; 0: the kind's default)
  bool verify = false;             // check every piece's xxh3 (and that no piece is extra) first
  PipelineOptions pipeline;        // threads for --verify hashing and the copy
  ProgressFn progress;             // output bytes written so far
};

// Where each piece landed in the output: what an index rebaser needs (offsets in a
// piece's own .idx map to output offsets without rescanning any data).
struct MergePieceLayout {
  std::string path;
  std::uint64_t skipped = 0;                  // bytes at the top of the piece not copied (its repeated header)
  std::uint64_t output_offset = 0;            // output offset of piece byte `skipped`
  std::uint64_t bytes = 0;                    // bytes copied from the piece
  std::optional<std::uint64_t> records;       // data records in the piece, when the manifest says
  std::optional<std::uint64_t> first_record;  // 1-based output record number of its first record
  // Output offset of piece offset `piece_offset` (>= skipped).
  std::uint64_t to_output(std::uint64_t piece_offset) const { return piece_offset - skipped + output_offset; }
};

struct MergeLayout {
  std::string kind;                // lines, ndjson, csv, tsv
  std::uint64_t header_bytes = 0;  // header at the top of the output (from the first piece)
  std::uint64_t output_size = 0;
  std::vector<MergePieceLayout> pieces;
};

struct MergeReport {
  std::string output;
  std::uint64_t bytes = 0;  // written to the output
  bool verified = false;
  std::uint64_t server_side_bytes = 0;  // copied on the server (s3:// pieces into an s3:// output)
  MergeLayout layout;
  double seconds = 0;
};

Result<MergeReport> merge(const MergeOptions& opts);

// True when `path` looks like a split manifest (a JSON object with "ingot_manifest"),
// so `ingot merge FILE` can tell a manifest from a single piece.
bool is_manifest_file(const std::string& path);

}  // namespace ingot

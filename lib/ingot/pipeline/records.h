// Per-record bookkeeping shared by every record-processing command: chunk-local
// tallies filled by the parallel stage, and the serial RecordLedger that turns them
// into absolute line numbers, applies --on-error / --max-errors, and writes the
// rejects file (NDJSON: {"line","offset","reason","raw"} per bad record).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/io/output.h"

namespace ingot {

enum class OnError { skip, fail };

struct ErrorPolicy {
  OnError on_error = OnError::skip;
  std::optional<std::uint64_t> max_errors;  // fail once more than this many are invalid
};

using ProgressFn = std::function<void(std::uint64_t bytes_done, std::uint64_t records)>;

// A blank line: nothing but its terminator (or nothing, at the end of the input). It is
// counted as blank, neither a record nor a reject.
inline bool is_blank_record(std::string_view raw) { return raw.empty() || raw == "\n" || raw == "\r\n" || raw == "\r"; }

struct RecordCounts {
  std::uint64_t valid = 0;
  std::uint64_t invalid = 0;
  std::uint64_t blank = 0;
  std::uint64_t total() const { return valid + invalid; }
};

struct Reject {
  std::uint64_t line = 0;    // chunk-local: newlines before the record in its chunk
  std::uint64_t offset = 0;  // chunk-local byte offset
  std::string_view raw;      // points into the chunk buffer (alive until consumed)
  std::string reason;
};

// Filled by the parallel stage for one chunk.
struct ChunkTally {
  RecordCounts counts;
  std::uint64_t newlines = 0;  // '\n' bytes in the chunk
  std::vector<Reject> rejects;
  void clear() {
    counts = {};
    newlines = 0;
    rejects.clear();
  }
};

// Appends s in base64 (RFC 4648, padded): the rejects file's raw_base64, and S3's
// Content-MD5 (the one base64 of the tree; `ingot` itself does not link OpenSSL).
void append_base64(std::string& out, std::string_view s);

// Appends one rejects-file line: {"line","offset","reason","raw"} ("raw_base64" when the
// record is not UTF-8), raw without its line end. Used by RecordLedger and by upload.
void append_reject_line(std::string& out, std::uint64_t line, std::uint64_t offset, std::string_view reason,
                        std::string_view raw);

class RecordLedger {
 public:
  // first_line: line number of the first byte of the first chunk.
  RecordLedger(std::string input_name, ErrorPolicy policy, const std::string& rejects_path, std::uint64_t first_line);
  // Serial, in chunk order. Throws a data Error when the policy says stop.
  void add(const Chunk& chunk, const ChunkTally& tally);
  // Lines that precede the first chunk but are not records (a CSV header).
  void skip_lines(std::uint64_t n) { line_ += n; }
  // Commits the rejects file.
  void finish();
  // Whether restart() can take back what add() did (the rejects file, if any, can be
  // rewound: not stdout or a FIFO).
  bool can_restart() const { return !rejects_ || rejects_->rewindable(); }
  // Forgets every chunk added: counts, line numbers and the rejects written, as if
  // just constructed (a conversion that starts over with other columns).
  void restart();
  const RecordCounts& counts() const { return counts_; }
  std::uint64_t next_line() const { return line_; }
  // The first invalid record (line 0 and no reason before there is one).
  std::uint64_t first_reject_line() const { return first_reject_line_; }
  const std::string& first_reject_reason() const { return first_reject_reason_; }

 private:
  std::string input_;
  ErrorPolicy policy_;
  std::optional<OutputFile> rejects_;
  std::string buf_;
  RecordCounts counts_;
  std::uint64_t line_;
  std::uint64_t first_line_;
  std::uint64_t first_reject_line_ = 0;
  std::string first_reject_reason_;
};

}  // namespace ingot

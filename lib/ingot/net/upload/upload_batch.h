// Batches of records, for the PostgreSQL and HTTP targets (internal to upload*.cpp):
// how both cut a source into numbered batches and count them into the report.
#pragma once

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ingot/net/upload/upload.h"

namespace ingot::detail {

// Batches, for PostgreSQL and HTTP alike. The engine's Chunker cuts the source into
// chunks of about --batch-bytes whole records (batch_chunker_options); each chunk is
// cut further into batches of at most max_rows records (0: the whole chunk). Numbers
// and first records run across chunks, so BatchCutter runs in the pipeline's serial
// sequence stage. For one source and one set of batch settings the batches are the same
// on every run, which is what lets a rerun skip exactly the batches an earlier run
// committed (PostgreSQL ledger) or had acknowledged (HTTP journal).
struct Batch {
  std::uint64_t number = 0;                // 1-based, in source order
  std::uint64_t first_record = 0;          // 1-based number of its first record
  std::size_t row_begin = 0, row_end = 0;  // its records in the chunk's record list
  std::uint64_t offset = 0, length = 0;    // its source bytes
  bool skip = false;                       // done by an earlier run
  std::uint64_t records() const { return row_end - row_begin; }
  PlanItem plan() const { return {number, offset, length}; }
};

// Counts one batch of a PostgreSQL or HTTP load into the report: its plan line under
// --dry-run, else its bytes and records as skipped (an earlier run committed it) or sent.
inline void report_batch(UploadReport& rep, const Batch& b, bool dry_run, bool skipped, std::uint64_t records) {
  if (dry_run) {
    rep.plan.push_back(b.plan());
  } else if (skipped) {
    rep.bytes_skipped += b.length;
    rep.records_skipped += records;
    ++rep.units_skipped;
  } else {
    rep.bytes_sent += b.length;
    rep.records += records;
    ++rep.units_sent;
  }
}

inline ChunkerOptions batch_chunker_options(ChunkerOptions base, std::uint64_t batch_bytes) {
  base.chunk_size = static_cast<std::size_t>(batch_bytes);
  return base;
}

class BatchCutter {
 public:
  BatchCutter(std::uint64_t max_rows, std::set<std::uint64_t> done) : max_rows_(max_rows), done_(std::move(done)) {}

  // Serial, in chunk order: appends the batches of a chunk holding nrecords records.
  // span(i) gives record i's chunk-local source bytes [begin, end), line end included;
  // it is asked only for the first and last record of each batch.
  template <class Span>
  void cut(const Chunk& c, std::size_t nrecords, Span&& span, std::vector<Batch>& out) {
    for (std::size_t i = 0; i < nrecords;) {
      const std::size_t n =
          max_rows_ ? static_cast<std::size_t>(std::min<std::uint64_t>(max_rows_, nrecords - i)) : nrecords - i;
      Batch b;
      b.number = ++batches_;
      b.first_record = records_ + 1;
      b.row_begin = i;
      b.row_end = i + n;
      const std::pair<std::size_t, std::size_t> first = span(i), last = span(i + n - 1);
      b.offset = c.offset + first.first;
      b.length = last.second - first.first;
      b.skip = done_.count(b.number) > 0;
      records_ += n;
      i += n;
      out.push_back(b);
    }
  }
  std::uint64_t batches() const { return batches_; }
  std::uint64_t records() const { return records_; }
  std::size_t done() const { return done_.size(); }

 private:
  std::uint64_t max_rows_;
  std::set<std::uint64_t> done_;
  std::uint64_t batches_ = 0;
  std::uint64_t records_ = 0;
};

}  // namespace ingot::detail

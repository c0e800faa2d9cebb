// Where records end. All functions assume the bytes start on a record boundary; for
// CSV/TSV that means outside any quoted field. Quote semantics are RFC 4180 read
// strictly: every '"' toggles the quoted state (a doubled "" toggles twice), so the
// cut found here always agrees with the tokenizer in format/csv, for any chunk size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ingot/chunk/record_kind.h"

namespace ingot {

// Number of occurrences of byte c in [p, p+n).
std::size_t count_byte(const char* p, std::size_t n, char c);

// One past the terminator of the last complete record in [p, p+n), or 0 when the
// bytes hold no complete record (a record longer than the chunk).
std::size_t last_record_end(const char* p, std::size_t n, RecordKind kind);

// Scans records from a boundary, counting complete records and finding the end of
// the first one; shared by split --records, index and the CSV header reader.
struct RecordScan {
  std::size_t records = 0;   // complete records (terminated by '\n' outside quotes)
  std::size_t first_end = 0; // one past the first record's terminator, 0 if none
};
RecordScan scan_records(const char* p, std::size_t n, RecordKind kind);

// Calls on_record_end(pos) with one past each record terminator in [p, p+n), in order.
template <class F>
void for_each_record_end(const char* p, std::size_t n, RecordKind kind, F&& on_record_end);

}  // namespace ingot

#include "ingot/chunk/boundary_inl.h"

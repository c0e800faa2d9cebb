// Where records end. All functions assume the bytes start on a record boundary.
//
// CSV/TSV follow the grammar of Python's csv module (strict=False) and DuckDB: a '"'
// opens a quoted field only at the start of a field (the record's first byte, right
// after a delimiter, or right after a closing quote, where it is the second half of a
// doubled quote); anywhere else outside quotes it is an ordinary byte. Inside quotes
// the next '"' closes (a doubled "" closes and reopens). A '\n' outside quotes ends a
// record. As far as record ends go this is a 3-state DFA (CsvState); the tokenizer in
// format/csv reads the same grammar, so the cut found here always agrees with it, for
// any chunk size. See ARCHITECTURE.md, "Record kinds and CSV quoting".
#pragma once

#include <cstddef>
#include <cstdint>

#include "ingot/chunk/record_kind.h"

namespace ingot {

// The grammar's state before a byte. After a closing quote the reading is the same as
// at a field start (a '"' there reopens the field, a delimiter or '\n' ends it, any
// other byte continues it unquoted), so the two share one state.
enum class CsvState : std::uint8_t { field_start, unquoted, quoted };

// One byte of the grammar; the reference the fast scans are tested against.
inline CsvState csv_step(CsvState s, char c, char delim) {
  if (s == CsvState::quoted) return c == '"' ? CsvState::field_start : CsvState::quoted;
  if (c == delim || c == '\n') return CsvState::field_start;
  if (c == '"' && s == CsvState::field_start) return CsvState::quoted;
  return CsvState::unquoted;
}

// The delimiter the grammar uses: d, or the kind's default when d is 0.
inline char grammar_delimiter(RecordKind kind, char d) { return d ? d : default_delimiter(kind); }

// Reads [p, p+n) from state s and returns the state after it. The '\n' bytes read
// outside quotes (the record ends) are reported 64-byte block by block:
// on_ends(base, mask) means a record ends after p[base + i] for each bit i of mask.
// The blocks are classified with SIMD masks and only quotes cost work, so a chunk
// without quotes costs about a vectorised byte count.
template <class F>
CsvState csv_scan(const char* p, std::size_t n, char delim, CsvState s, F&& on_ends);

// Number of occurrences of byte c in [p, p+n).
std::size_t count_byte(const char* p, std::size_t n, char c);

// A UTF-8 byte order mark at the input's first byte is not data: the grammar starts
// after it, as the tokenizer does, so a '"' right after it opens a quoted field. The
// length of that mark when [p, p+n) starts at source offset `offset` (0: no mark, or
// not the input's start, where those bytes are data). The scans below take it as
// `from`: the grammar starts at p[from], and what they report stays relative to p.
inline std::size_t leading_bom(const char* p, std::size_t n, std::uint64_t offset) {
  return offset == 0 && n >= 3 && static_cast<unsigned char>(p[0]) == 0xEF &&
                 static_cast<unsigned char>(p[1]) == 0xBB && static_cast<unsigned char>(p[2]) == 0xBF
             ? 3
             : 0;
}

// One past the terminator of the last complete record in [p, p+n), or 0 when the
// bytes hold no complete record (a record longer than the chunk). delim 0: the kind's.
std::size_t last_record_end(const char* p, std::size_t n, RecordKind kind, char delim = 0, std::size_t from = 0);

// Complete records (terminated) in [p, p+n).
std::uint64_t count_record_ends(const char* p, std::size_t n, RecordKind kind, char delim = 0, std::size_t from = 0);

// Scans records from a boundary, counting complete records and finding the end of
// the first one; shared by split --records, index and the CSV header reader.
struct RecordScan {
  std::size_t records = 0;    // complete records (terminated by '\n' outside quotes)
  std::size_t first_end = 0;  // one past the first record's terminator, 0 if none
};
RecordScan scan_records(const char* p, std::size_t n, RecordKind kind, char delim = 0, std::size_t from = 0);

// Calls on_record_end(pos) with one past each record terminator in [p, p+n), in order.
template <class F>
void for_each_record_end(const char* p, std::size_t n, RecordKind kind, F&& on_record_end, char delim = 0,
                         std::size_t from = 0);

}  // namespace ingot

#include "ingot/chunk/boundary_inl.h"

// The one chunker: cuts a byte range of an input into chunks of about chunk_size bytes
// that start and end on record boundaries. A record longer than chunk_size makes a
// bigger chunk, so every record is handled whole. It also enforces the two rules no
// worker could check alone: no record longer than max_record bytes (its terminator not
// counted), and no CSV/TSV quote left open at the end of the input.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "ingot/chunk/boundary.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/io/input.h"
#include "ingot/util/big_alloc.h"

namespace ingot {

// Bytes readable after the end of every chunk; simdjson needs SIMDJSON_PADDING (64).
inline constexpr std::size_t kChunkPadding = 64;
inline constexpr std::size_t kDefaultChunkSize = std::size_t{4} << 20;
inline constexpr std::size_t kDefaultMaxRecord = std::size_t{256} << 20;
inline constexpr std::uint64_t kToEnd = std::numeric_limits<std::uint64_t>::max();

// A growable byte buffer that always has kChunkPadding readable bytes past its capacity.
class Buffer {
 public:
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  std::size_t capacity() const { return capacity_; }
  // Grows to at least n bytes, keeping the first `keep` bytes.
  void reserve(std::size_t n, std::size_t keep = 0);

 private:
  BigPtr data_;
  std::size_t capacity_ = 0;
};

struct Chunk {
  std::uint64_t seq = 0;     // 0-based order of the chunk in the range
  std::uint64_t offset = 0;  // source offset of data[0]
  const char* data = nullptr;
  std::size_t size = 0;  // data[size .. size + kChunkPadding) is readable
  bool last = false;
};

struct ChunkerOptions {
  std::size_t chunk_size = kDefaultChunkSize;
  // A record longer than this (without its '\n' or "\r\n" terminator) stops the run
  // with an error naming its line, whatever the chunk size.
  std::size_t max_record = kDefaultMaxRecord;
  char delimiter = 0;  // CSV/TSV: the field delimiter (0: the kind's default)
  // CSV/TSV, for the tokenizers that read the chunks: a quote inside an unquoted field
  // or text after a closing quote makes the record invalid. Cuts are the same either way.
  bool strict_quotes = false;
};

class Chunker {
 public:
  // Range [begin, end) of a seekable input (end = kToEnd: to its end); streams take begin = 0.
  Chunker(InputFile& in, RecordKind kind, std::uint64_t begin = 0, std::uint64_t end = kToEnd,
          ChunkerOptions opts = {});

  // Removes the first record from the front of the range and returns it (with its
  // terminator); for the CSV header. Must come before the first next().
  std::string take_first_record();

  // Fills `buf` with the next chunk; false when the range is exhausted.
  bool next(Buffer& buf, Chunk& out);

  // Source offset of the first byte not yet handed out.
  std::uint64_t position() const { return pos_ - carry_.size(); }

 private:
  std::size_t fill(char* dst, std::size_t n);
  // Scans p[from, n) in `state`; returns one past the last record end in it (0: none).
  std::size_t scan(const char* p, std::size_t from, std::size_t n, CsvState& state) const;
  void scan_state(const char* p, std::size_t n, CsvState& state) const;
  // Throws when a record of p (a buffer at source offset p_offset, starting on a record
  // boundary, cut at `cut`, n bytes read) is over the limit, or the input ends in quotes.
  void check_records(const char* p, std::uint64_t p_offset, std::size_t cut, std::size_t n, bool at_eof,
                     CsvState state) const;
  // The state after p[from, to) read from a record start; `opened`: where the last
  // quoted field opened.
  CsvState state_after(const char* p, std::size_t from, std::size_t to, std::size_t& opened) const;
  static std::size_t content_length(const char* rec, std::size_t n, bool terminated);
  [[noreturn]] void record_too_long(const char* p, std::uint64_t p_offset, std::size_t rec, std::size_t n) const;
  [[noreturn]] void unclosed_quote(const char* p, std::uint64_t p_offset, std::size_t rec, std::size_t n) const;
  // 1-based line of a source offset inside (or before) the buffer p at p_offset.
  std::uint64_t line_at(const char* p, std::uint64_t p_offset, std::uint64_t offset) const;

  InputFile& in_;
  RecordKind kind_;
  char delim_;
  std::uint64_t pos_;  // source offset of the next byte to read
  std::uint64_t end_;
  ChunkerOptions opts_;
  std::string carry_;  // bytes read past the last cut, handed out first next time
  std::uint64_t seq_ = 0;
  std::uint64_t lines_before_ = 0;  // streams: '\n' bytes handed out so far
  bool eof_ = false;
};

// Record-aligned byte ranges of a seekable input, for --part K/N and split --plan.
// align_to_record(pos) is a record start after pos, a deterministic and nondecreasing
// function of the file and pos (0 and size map to themselves), so part K's end is part
// K+1's start. Lines/NDJSON: the first line start after pos - 1. CSV/TSV: the grammar
// is run from pos - 1 under all three states it could be in there; the first record
// end after the runs agree is certain. When they do not agree within
// kAlignConvergeWindow bytes, the first record end after the window, found with the
// exact state from a scan from the start of the file (ARCHITECTURE.md has the proof).
inline constexpr std::uint64_t kAlignConvergeWindow = std::uint64_t{1} << 20;
std::uint64_t align_to_record(const InputFile& in, std::uint64_t pos, RecordKind kind, char delim = 0);
// The CSV/TSV case from byte q with a given window; exposed for the tests.
std::uint64_t align_csv(const InputFile& in, std::uint64_t q, char delim, std::uint64_t window);

struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const { return end - begin; }
};
// `--part K/N`: the K-th (1-based) of N record-aligned ranges of nearly equal size.
struct PartSpec {
  std::uint64_t k = 1;  // 1-based
  std::uint64_t n = 1;
};
ByteRange part_range(const InputFile& in, RecordKind kind, std::uint64_t k, std::uint64_t n, char delim = 0);

}  // namespace ingot

// The one chunker: cuts a byte range of an input into chunks of about chunk_size bytes
// that start and end on record boundaries. A record longer than chunk_size makes a
// bigger chunk (up to max_record bytes), so every record is handled whole.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "ingot/chunk/record_kind.h"
#include "ingot/io/input.h"

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
  std::unique_ptr<char[]> data_;
  std::size_t capacity_ = 0;
};

struct Chunk {
  std::uint64_t seq = 0;     // 0-based order of the chunk in the range
  std::uint64_t offset = 0;  // source offset of data[0]
  const char* data = nullptr;
  std::size_t size = 0;      // data[size .. size + kChunkPadding) is readable
  bool last = false;
};

struct ChunkerOptions {
  std::size_t chunk_size = kDefaultChunkSize;
  std::size_t max_record = kDefaultMaxRecord;
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

  InputFile& in_;
  RecordKind kind_;
  std::uint64_t pos_;  // source offset of the next byte to read
  std::uint64_t end_;
  ChunkerOptions opts_;
  std::string carry_;  // bytes read past the last cut, handed out first next time
  std::uint64_t seq_ = 0;
  bool eof_ = false;
};

// Record-aligned byte ranges of a seekable input, for --part K/N and split --plan.
// align_to_record(pos) is the first record start at or after pos (0 and size map to
// themselves). Lines/NDJSON look only near pos; CSV/TSV must know the quote state at
// pos, which is resolved by a speculative parse near pos, verified, falling
// back to an exact quote-parity scan from the start of the file when ambiguous.
std::uint64_t align_to_record(const InputFile& in, std::uint64_t pos, RecordKind kind);

struct ByteRange {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::uint64_t size() const { return end - begin; }
};
// The k-th (1-based) of n record-aligned ranges of nearly equal size.
ByteRange part_range(const InputFile& in, RecordKind kind, std::uint64_t k, std::uint64_t n);

}  // namespace ingot

// zstd files with random access: the zstd "seekable format" (zstd's
// contrib/seekable_format/zstd_seekable_compression_format.md). The data is a run of
// independent zstd frames, each of a bounded decoded size, followed by one skippable
// frame holding the seek table: every frame's compressed and decoded size, then a
// footer (frame count, descriptor, magic 0x8F92EAB1). Any zstd decoder reads such a
// file as plain zstd (it skips the table); ingot writes every .zst this way
// (compress.cpp) and, when a .zst file or object ends in a table that matches its
// size exactly, reads it as a seekable input of its decoded bytes (input.cpp), so
// --part K/N, index, get and serve work on it. libzstd does not ship the seekable
// API (it lives in zstd's contrib/, not in Debian's libzstd-dev), hence this file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ingot {

// Decoded bytes per frame that compress.cpp writes: a random read decodes at most this.
inline constexpr std::size_t kSeekableFrameBytes = 4u << 20;

struct SeekFrame {
  std::uint32_t compressed = 0;
  std::uint32_t decoded = 0;
};

// The skippable frame holding the seek table of `frames` (no per-frame checksums: every
// frame carries zstd's own content checksum).
std::string seek_table_frame(const std::vector<SeekFrame>& frames);

// Reads up to n stored (compressed) bytes at offset; fewer only at the end.
using StoredReader = std::function<std::size_t(char* dst, std::size_t n, std::uint64_t offset)>;

class SeekableZstd {
 public:
  // nullptr when the last bytes of the `stored_size` bytes are not a seek table whose
  // frames add up to exactly the rest (a plain zstd file; or pieces of ingot's .zst
  // output concatenated, whose last table covers only the last piece).
  static std::unique_ptr<SeekableZstd> open(StoredReader read, std::uint64_t stored_size, std::string display);
  ~SeekableZstd();

  std::uint64_t size() const { return decoded_starts_.back(); }
  // Up to n decoded bytes at offset (fewer only at the end). Thread-safe. Throws a data
  // Error for a frame that does not decode to its recorded size.
  std::size_t read_at(char* dst, std::size_t n, std::uint64_t offset) const;

 private:
  SeekableZstd() = default;
  std::shared_ptr<const std::string> frame(std::size_t i) const;

  StoredReader read_;
  std::string display_;
  std::vector<std::uint64_t> stored_starts_;   // frame i's compressed bytes begin here; one more entry: the end
  std::vector<std::uint64_t> decoded_starts_;  // frame i's first decoded byte; one more entry: the size
  mutable std::mutex mu_;
  mutable std::size_t cached_index_ = SIZE_MAX;  // the last frame decoded, kept for the next read
  mutable std::shared_ptr<const std::string> cached_;
};

}  // namespace ingot

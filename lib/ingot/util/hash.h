// xxh3-64 helpers shared by split, merge and the manifest: the hex spelling written
// into manifests, a streaming hasher, and the hash of a byte range of an open file.
// xxhash.h stays out of this header so callers need not find libxxhash themselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ingot {

// 16 lowercase hex digits, most significant first (XXH64_canonical order).
std::string xxh3_hex(std::uint64_t h);
// Inverse of xxh3_hex; nullopt unless exactly 16 hex digits.
std::optional<std::uint64_t> parse_xxh3_hex(std::string_view text);

std::uint64_t xxh3_64(const void* data, std::size_t n);

// Streaming xxh3-64: update() in any pieces gives the same digest as one xxh3_64 call.
class Xxh3 {
 public:
  Xxh3();
  ~Xxh3();
  Xxh3(Xxh3&& other) noexcept;
  Xxh3& operator=(Xxh3&& other) noexcept;
  Xxh3(const Xxh3&) = delete;
  Xxh3& operator=(const Xxh3&) = delete;

  void update(const void* data, std::size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::uint64_t digest() const;

 private:
  void* state_;  // XXH3_state_t
};

// Feeds [offset, offset + length) of fd into h, read with pread in 4 MiB blocks.
// Throws Error naming `path` on a read error or when the file is shorter than that.
void hash_file_range(Xxh3& h, int fd, std::uint64_t offset, std::uint64_t length, const std::string& path);

}  // namespace ingot

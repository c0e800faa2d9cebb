// Word-at-a-time byte search (SWAR) for the short strings of the hot loops: JSON keys
// and values are mostly under 32 bytes, where a libc call costs more than the scan.
#pragma once

#include <cstdint>
#include <cstring>

namespace ingot::swar {

inline constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
inline constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

inline std::uint64_t load(const char* p) {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// High bit set in the lowest byte of w equal to c (bytes above it may also be marked;
// only the lowest mark is exact, which is all find_* use).
inline std::uint64_t match(std::uint64_t w, unsigned char c) {
  std::uint64_t x = w ^ (kOnes * c);
  return (x - kOnes) & ~x & kHighs;
}

// Index of the first byte in [p, p+n) equal to a or b, or n.
inline std::size_t find2(const char* p, std::size_t n, char a, char b) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = load(p + i);
    std::uint64_t m = match(w, static_cast<unsigned char>(a)) | match(w, static_cast<unsigned char>(b));
    if (m) return i + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
  }
  for (; i < n; ++i) {
    if (p[i] == a || p[i] == b) return i;
  }
  return n;
}

// Index of the first byte in [p, p+n) equal to any of a, b, c, d, or n.
inline std::size_t find4(const char* p, std::size_t n, char a, char b, char c, char d) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = load(p + i);
    std::uint64_t m = match(w, static_cast<unsigned char>(a)) | match(w, static_cast<unsigned char>(b)) |
                      match(w, static_cast<unsigned char>(c)) | match(w, static_cast<unsigned char>(d));
    if (m) return i + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
  }
  for (; i < n; ++i) {
    if (p[i] == a || p[i] == b || p[i] == c || p[i] == d) return i;
  }
  return n;
}

// Index of the first a, b or c in [p, p+n), or n, reading whole words: up to 7 bytes
// past p+n are read, so the caller guarantees that much readable padding.
inline std::size_t find3_padded(const char* p, std::size_t n, char a, char b, char c) {
  for (std::size_t i = 0; i < n; i += 8) {
    std::uint64_t w = load(p + i);
    std::uint64_t m = match(w, static_cast<unsigned char>(a)) | match(w, static_cast<unsigned char>(b)) |
                      match(w, static_cast<unsigned char>(c));
    if (m) {
      std::size_t at = i + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
      return at < n ? at : n;
    }
  }
  return n;
}

// Index of the first '"' or '\\' at or after p, reading whole words: the caller
// guarantees one exists and that reads up to 7 bytes past it stay in the buffer.
inline std::size_t find_quote_or_backslash_padded(const char* p) {
  for (std::size_t i = 0;; i += 8) {
    std::uint64_t w = load(p + i);
    std::uint64_t m = match(w, '"') | match(w, '\\');
    if (m) return i + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
  }
}

// Index of the first byte in [p, p+n) that JSON strings must escape ('"', '\\', or a
// control byte below 0x20), or n. Bytes >= 0x80 (UTF-8) never match.
inline std::size_t find_json_escape(const char* p, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = load(p + i);
    std::uint64_t below20 = (w - kOnes * 0x20) & ~w & kHighs;
    std::uint64_t m = below20 | match(w, '"') | match(w, '\\');
    if (m) return i + static_cast<std::size_t>(__builtin_ctzll(m) >> 3);
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return n;
}

}  // namespace ingot::swar

// Word-at-a-time byte search (SWAR) for the short strings of the hot loops: JSON keys
// and values are mostly under 32 bytes, where a libc call costs more than the scan.
// Plus one 64-byte SIMD classifier (SSE2, present on every x86-64; a byte loop elsewhere).
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// Bit i set when p[i] is a, b or c, for i in [0, 64); reads exactly 64 bytes.
inline std::uint64_t mask64_eq3(const char* p, char a, char b, char c) {
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
  std::uint64_t m = 0;
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i x = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)), _mm_cmpeq_epi8(v, vc));
    m |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(x))) << (16 * i);
  }
  return m;
#else
  std::uint64_t m = 0;
  for (int i = 0; i < 64; ++i) {
    m |= static_cast<std::uint64_t>(p[i] == a || p[i] == b || p[i] == c) << i;
  }
  return m;
#endif
}

// Classifies the JSON number grammar for the common spellings, 16 bytes at once:
// [p, p+n) with 1 <= n <= 16, and 16 bytes readable from p. Returns 1 when the bytes
// are only digits and dots and form a JSON number (3, 0.5, 12.04), 0 when they are
// only digits and dots but do not ("00", "1.", ".5", "1.2.3"), and -1 when other bytes
// occur (a sign, an exponent, text): the caller then applies the full grammar.
// Always inlined: an out-of-line copy could be shared with a TU built for a higher
// CPU level (see ARCHITECTURE.md, CPU dispatch).
[[gnu::always_inline]] inline int digits_dot_number16(const char* p, std::size_t n) {
#if defined(__SSE2__)
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const unsigned len = (1u << n) - 1;
  const __m128i t = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  const auto digits = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t)));
  const unsigned other = ~digits & len;
  // All digits: a leading 0 only as "0".
  if (other == 0) return p[0] != '0' || n == 1;
  const auto dots = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))));
  if (other != (dots & len)) return -1;
  // Digits and dots: one dot, not first or last; a leading 0 only as "0.<digits>".
  return (other & (other - 1)) == 0 && other != 1 && other <= (len >> 1) && (p[0] != '0' || other == 2);
#else
  (void)p;
  (void)n;
  return -1;
#endif
}

}  // namespace ingot::swar

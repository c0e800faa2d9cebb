// Template bodies for boundary.h.
#pragma once

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ingot {

namespace detail {

// Bits [a, b) of a 64-bit mask, 0 <= a <= b <= 64.
inline std::uint64_t bit_range(unsigned a, unsigned b) {
  const std::uint64_t below_b = b >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << b) - 1;
  const std::uint64_t below_a = a >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << a) - 1;
  return below_b & ~below_a;
}

struct CsvMasks {
  std::uint64_t quote = 0, sep = 0, nl = 0;  // '"'; delimiter or '\n'; '\n'
};

// The three masks of 64 bytes at p (all readable).
inline CsvMasks csv_masks64(const char* p, char delim) {
  CsvMasks m;
#if defined(__SSE2__)
  const __m128i vq = _mm_set1_epi8('"'), vd = _mm_set1_epi8(delim), vn = _mm_set1_epi8('\n');
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i n = _mm_cmpeq_epi8(v, vn);
    const auto sh = static_cast<unsigned>(16 * i);
    m.quote |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vq)))) << sh;
    m.nl |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(n))) << sh;
    m.sep |=
        static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(n, _mm_cmpeq_epi8(v, vd)))))
        << sh;
  }
#else
  for (unsigned i = 0; i < 64; ++i) {
    m.quote |= static_cast<std::uint64_t>(p[i] == '"') << i;
    m.nl |= static_cast<std::uint64_t>(p[i] == '\n') << i;
    m.sep |= static_cast<std::uint64_t>(p[i] == '\n' || p[i] == delim) << i;
  }
#endif
  return m;
}

// One block of `len` bytes (masks cleared past len) from state s: the '\n' read outside
// quotes, and the state after the block. Only quotes cost work: a block without any
// is three compares and a test.
inline std::uint64_t csv_block(const CsvMasks& m, unsigned len, CsvState& s) {
  if (m.quote == 0) {  // no quote: all in the state the block started in
    if (s == CsvState::quoted) return 0;
    if (len > 0) s = (m.sep >> (len - 1)) & 1 ? CsvState::field_start : CsvState::unquoted;
    return m.nl;
  }
  {
    // Read as RFC 4180 first, every quote toggling (a prefix XOR). That reading is
    // the grammar's whenever each quote it opens stands at a field start: after a
    // delimiter or '\n', after a closing quote (the second half of "") or at the
    // block's start in field_start. Only a block with a stray quote takes the loop.
    std::uint64_t x = m.quote;
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    const std::uint64_t in = s == CsvState::quoted ? ~x : x;  // bit i: inside after byte i
    const std::uint64_t opening = m.quote & in;
    const std::uint64_t closing = m.quote & ~in;
    const std::uint64_t allowed = (m.sep << 1) | (closing << 1) | (s == CsvState::field_start ? 1 : 0);
    if ((opening & ~allowed) == 0) {
      const std::uint64_t last = std::uint64_t{1} << (len - 1);
      if (in & last) {
        s = CsvState::quoted;
      } else {
        s = (m.sep | closing) & last ? CsvState::field_start : CsvState::unquoted;
      }
      return m.nl & ~in;
    }
  }
  std::uint64_t inside = 0;
  std::uint64_t q = m.quote;
  unsigned pos = 0;  // bytes before pos are done; s is the state before byte pos
  // A quote at i > pos opens when byte i - 1 (outside quotes, as all of [pos, i) is)
  // is a delimiter or '\n'; at pos, when s is field_start.
  const std::uint64_t starts = m.sep << 1;
  while (q) {
    if (s == CsvState::quoted) {
      const auto c = static_cast<unsigned>(__builtin_ctzll(q));
      q &= q - 1;
      inside |= bit_range(pos, c);
      pos = c + 1;
      s = CsvState::field_start;  // after a closing quote, a '"' reopens (a doubled quote)
      continue;
    }
    const std::uint64_t open =
        q & (starts | (s == CsvState::field_start ? bit_range(pos, pos + 1) : 0)) & ~bit_range(0, pos);
    if (!open) break;  // every quote left is literal
    const auto o = static_cast<unsigned>(__builtin_ctzll(open));
    q &= ~bit_range(0, o + 1);
    pos = o + 1;
    s = CsvState::quoted;
  }
  if (s == CsvState::quoted) {
    inside |= bit_range(pos, len);
  } else if (pos < len) {
    // Outside from pos to the end: the last byte decides.
    s = (m.sep >> (len - 1)) & 1 ? CsvState::field_start : CsvState::unquoted;
  }
  return m.nl & ~inside;
}

}  // namespace detail

template <class F>
CsvState csv_scan(const char* p, std::size_t n, char delim, CsvState s, F&& on_ends) {
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const std::uint64_t ends = detail::csv_block(detail::csv_masks64(p + i, delim), 64, s);
    if (ends) on_ends(i, ends);
  }
  if (i < n) {
    const auto len = static_cast<unsigned>(n - i);
    char tail[64] = {};
    std::memcpy(tail, p + i, len);
    detail::CsvMasks m = detail::csv_masks64(tail, delim);
    const std::uint64_t valid = detail::bit_range(0, len);
    m.quote &= valid;
    m.sep &= valid;
    m.nl &= valid;
    const std::uint64_t ends = detail::csv_block(m, len, s);
    if (ends) on_ends(i, ends);
  }
  return s;
}

template <class F>
void for_each_record_end(const char* p, std::size_t n, RecordKind kind, F&& on_record_end, char delim,
                         std::size_t from) {
  auto lines = [&](std::size_t a, std::size_t b) {
    for (const char* s = p + a; s < p + b;) {
      const char* nl = static_cast<const char*>(std::memchr(s, '\n', static_cast<std::size_t>(p + b - s)));
      if (!nl) return;
      on_record_end(static_cast<std::size_t>(nl + 1 - p));
      s = nl + 1;
    }
  };
  if (!is_delimited(kind)) {
    lines(from, n);
    return;
  }
  csv_scan(p + from, n - from, grammar_delimiter(kind, delim), CsvState::field_start,
           [&](std::size_t base, std::uint64_t ends) {
             for (; ends; ends &= ends - 1)
               on_record_end(from + base + static_cast<std::size_t>(__builtin_ctzll(ends)) + 1);
           });
}

}  // namespace ingot

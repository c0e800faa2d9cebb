// Line shapes: the NDJSON fast path. Lines of one file almost always repeat the same
// keys in the same order with other values, so a valid line parsed by simdjson is kept
// as a shape: its bytes with the scalar values cut out (literals, then one slot per
// scalar, each slot knowing its column). A later line that has the same literal bytes
// and a JSON scalar in every slot is the same object with other values, so it is
// valid JSON with the same key paths, and its cells are the slots' texts: no stage 1,
// no On-Demand walk. A line that differs anywhere, or has a value the slot reader does
// not take (a string with a backslash, a control byte, a bad number), goes to simdjson
// as before, which gives the exact reject reason. ARCHITECTURE.md has the argument.
//
// The matcher's three scans (literal bytes equal, a string's body, an atom's end) take
// 32 bytes at a time with AVX2 in the x86-64-v3 variant, and 8 (word loops) in the
// generic one; both decide every line alike (tests/unit/convert, "SIMD and generic
// variants", run both through INGOT_NDJSON_VARIANT).
//
// Compiled once per CPU variant, inside its namespace: include only from
// convert_ndjson.cpp and ndjson_leaf_scan.cpp, which are built per CPU level (inline code
// shared by TUs of different CPU levels could be linked from the wrong one).
#pragma once

#ifndef INGOT_NDJSON_VARIANT
#error "include only from the per-CPU-level files (convert_ndjson.cpp, ndjson_leaf_scan.cpp)"
#endif

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__AVX2__) && defined(__BMI2__)
#include <immintrin.h>
#define INGOT_SHAPE_AVX2 1
#endif

#include "ingot/format/json_text.h"
#include "ingot/util/swar.h"

namespace ingot::detail::INGOT_NDJSON_VARIANT {

// A scalar value of the line a shape is learned from: its token (trimmed) and column.
struct LeafSpan {
  const char* begin;
  const char* end;
  int column;
};

enum class SlotKind : std::uint8_t { string, number, boolean, null };

// Readable bytes past a shape's literals: the matcher loads whole 32-byte words.
inline constexpr std::size_t kShapePadding = 32;

struct LineShape {
  std::string text;                    // the literals, back to back, then kShapePadding bytes
  std::size_t text_len = 0;            // without the padding
  std::vector<std::uint32_t> lit_end;  // slot i follows the literal ending at text[lit_end[i]]
  std::vector<int> column;             // slot i's column, -1 for none
  bool ordered = false;                // the slots' columns (those >= 0) rise strictly

  bool operator==(const LineShape& o) const {
    return text_len == o.text_len && lit_end == o.lit_end && column == o.column &&
           std::memcmp(text.data(), o.text.data(), text_len) == 0;
  }
};

#if defined(INGOT_SHAPE_AVX2)
inline __m256i load32(const char* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// n bytes of a and b equal; both readable for 32 bytes past n (chunks and shapes are padded).
inline bool equal_padded(const char* a, const char* b, std::size_t n) {
  for (;;) {
    const auto neq = ~static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(load32(a), load32(b))));
    if (n <= 32) return _bzhi_u32(neq, static_cast<unsigned>(n)) == 0;
    if (neq) return false;
    a += 32, b += 32, n -= 32;
  }
}

// Index of the first '"', '\\' or control byte in [p, p + n), or n; reads up to 31
// bytes past p + n.
inline std::size_t string_body_len(const char* p, std::size_t n) {
  const __m256i quote = _mm256_set1_epi8('"'), backslash = _mm256_set1_epi8('\\'), c1f = _mm256_set1_epi8(0x1F);
  for (std::size_t i = 0; i < n; i += 32) {
    const __m256i v = load32(p + i);
    const __m256i m = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(v, quote), _mm256_cmpeq_epi8(v, backslash)),
                                      _mm256_cmpeq_epi8(_mm256_max_epu8(v, c1f), c1f));
    if (const auto bits = static_cast<unsigned>(_mm256_movemask_epi8(m))) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(bits));
      return at < n ? at : n;
    }
  }
  return n;
}

// Index of the first byte of [p, p + n) that ends an atom (kAtomEnds below: ,:{}[]" and
// JSON white space), or n; reads up to 31 bytes past p + n. Classified by two nibble
// lookups as simdjson's stage 1 does: a byte is in the set when the bits its low and
// high nibble select overlap (bit 0: \t \n \r; bit 1: space " ,; bit 2: ':';
// bit 3: [ ] { }).
inline std::size_t atom_len(const char* p, std::size_t n) {
  const __m256i lo_tab = _mm256_setr_epi8(2, 0, 2, 0, 0, 0, 0, 0, 0, 1, 1 | 4, 8, 2, 1 | 8, 0, 0,  //
                                          2, 0, 2, 0, 0, 0, 0, 0, 0, 1, 1 | 4, 8, 2, 1 | 8, 0, 0);
  const __m256i hi_tab = _mm256_setr_epi8(1, 0, 2, 4, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                          1, 0, 2, 4, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  for (std::size_t i = 0; i < n; i += 32) {
    const __m256i v = load32(p + i);
    const __m256i lo = _mm256_shuffle_epi8(lo_tab, _mm256_and_si256(v, nibble));
    const __m256i hi = _mm256_shuffle_epi8(hi_tab, _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble));
    const __m256i none = _mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256());
    if (const auto bits = ~static_cast<unsigned>(_mm256_movemask_epi8(none))) {
      const std::size_t at = i + static_cast<std::size_t>(__builtin_ctz(bits));
      return at < n ? at : n;
    }
  }
  return n;
}
// Whether [p, p + n) holds byte c; reads up to 31 bytes past p + n.
inline bool contains_byte(const char* p, std::size_t n, char c) {
  const __m256i vc = _mm256_set1_epi8(c);
  for (std::size_t i = 0; i < n; i += 32) {
    const auto bits = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(load32(p + i), vc)));
    if (bits) return i + static_cast<std::size_t>(__builtin_ctz(bits)) < n;
  }
  return false;
}
#else
// Whether [p, p + n) holds byte c.
inline bool contains_byte(const char* p, std::size_t n, char c) { return swar::find2(p, n, c, c) != n; }

// n bytes of a and b equal; both readable for 8 bytes past n (chunks and shapes are padded).
inline bool equal_padded(const char* a, const char* b, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    if (swar::load(a + i) != swar::load(b + i)) return false;
  }
  if (i < n) {
    const std::uint64_t mask = (std::uint64_t{1} << (8 * (n - i))) - 1;
    if ((swar::load(a + i) ^ swar::load(b + i)) & mask) return false;
  }
  return true;
}

inline std::size_t string_body_len(const char* p, std::size_t n) { return swar::find_json_escape(p, n); }
#endif

// Bytes that end a non-string scalar, as they end an atom for simdjson's stage 1:
// structural characters, quotes and JSON white space.
struct AtomEnds {
  bool table[256] = {};
  constexpr AtomEnds() {
    for (unsigned char c : std::string_view(",:{}[]\" \t\r\n")) table[c] = true;
  }
};
inline constexpr AtomEnds kAtomEnds{};

#if !defined(INGOT_SHAPE_AVX2)
inline std::size_t atom_len(const char* p, std::size_t n) {
  std::size_t k = 0;
  while (k < n && !kAtomEnds.table[static_cast<unsigned char>(p[k])]) ++k;
  return k;
}
#endif

// Builds the shape of the line [p, p + len) from its scalar values in document order.
inline void build_shape(LineShape& s, const char* p, std::size_t len, const std::vector<LeafSpan>& spans) {
  s.text.clear();
  s.lit_end.clear();
  s.column.clear();
  const char* at = p;
  for (const LeafSpan& sp : spans) {
    s.text.append(at, static_cast<std::size_t>(sp.begin - at));
    s.lit_end.push_back(static_cast<std::uint32_t>(s.text.size()));
    s.column.push_back(sp.column);
    at = sp.end;
  }
  s.text.append(at, static_cast<std::size_t>(p + len - at));
  s.text_len = s.text.size();
  s.text.append(kShapePadding, '\0');
  s.ordered = true;
  int last = -1;
  for (int c : s.column) {
    if (c < 0) continue;
    if (c <= last) s.ordered = false;
    last = c;
  }
}

// Number classes match_shape_classified gives a number slot (0 for other slots).
enum NumberClass : int { kNumberOther = 0, kNumberDigits = 1, kNumberDecimal = 2 };

// The walk both matchers below share: each slot's literal must match, a string slot's
// body (the first quote, backslash or control byte must be its closing quote) goes to
// slot(i, SlotKind::string, body, kNumberOther); any other slot goes to
// atom(i, v, rest), which returns the atom's length (0: no match) after handing it to
// slot itself. Then the literal after the last slot must end the line.
template <class Slot, class Atom>
[[gnu::always_inline]] inline bool match_shape_walk(const LineShape& s, const char* p, std::size_t len, Slot& slot,
                                                    Atom&& atom) {
  // Locals, not members: the slots' stores could alias the vectors' pointers.
  const char* lit = s.text.data();
  const std::uint32_t* lit_end = s.lit_end.data();
  std::size_t pos = 0, from = 0;
  const std::size_t nslots = s.lit_end.size();
  for (std::size_t i = 0; i < nslots; ++i) {
    const std::size_t to = lit_end[i];
    const std::size_t n = to - from;
    if (pos + n >= len || !equal_padded(p + pos, lit + from, n)) return false;
    pos += n;
    from = to;
    const char* v = p + pos;
    if (*v == '"') {
      const std::size_t body = string_body_len(v + 1, len - pos - 1);
      if (body == len - pos - 1 || v[1 + body] != '"') return false;
      slot(i, SlotKind::string, std::string_view(v + 1, body), kNumberOther);
      pos += body + 2;
      continue;
    }
    const std::size_t k = atom(i, v, len - pos);
    if (k == 0) return false;
    pos += k;
  }
  const std::size_t n = s.text_len - from;
  return pos + n == len && equal_padded(p + pos, lit + from, n);
}

// Matches the line [p, p + len) (readable for 32 bytes past len) against shape s, calling
// slot(i, kind, text) for each slot in order: text is a string's body without its quotes,
// or a number's or literal's token. Validate: each slot must hold a JSON scalar as
// simdjson would accept it (a string without backslash or control byte; the caller
// checks UTF-8 for the whole chunk); without it, any string or atom fills a slot (the
// key union only needs the key paths, which the literals fix). False on any difference;
// slot() may have been called for earlier slots then.
template <bool Validate, class Slot>
bool match_shape(const LineShape& s, const char* p, std::size_t len, Slot&& slot) {
  auto slot4 = [&](std::size_t i, SlotKind kind, std::string_view text, int) { slot(i, kind, text); };
  return match_shape_walk(s, p, len, slot4, [&](std::size_t i, const char* v, std::size_t rest) -> std::size_t {
    const std::size_t k = atom_len(v, rest);
    if (k == 0) return 0;
    const std::string_view tok(v, k);
    SlotKind kind = SlotKind::number;
    if (*v == 't' || *v == 'f') {
      if (Validate && tok != "true" && tok != "false") return 0;
      kind = SlotKind::boolean;
    } else if (*v == 'n') {
      if (Validate && tok != "null") return 0;
      kind = SlotKind::null;
    } else if (Validate) {
      const int fast = k <= 16 ? swar::digits_dot_number16(v, k) : -1;
      if (fast == 0 || (fast < 0 && !is_json_number(tok))) return 0;
    }
    slot(i, kind, tok);
    return k;
  });
}

// match_shape<true>, the same lines and slots, for the Parquet pre-pass and writer
// (ndjson_leaf_scan.cpp): slot(i, kind, text, number_class) also gets how a number is
// spelled, kNumberDigits (1 to 16 digits: an integer no wider than int64), kNumberDecimal
// (digits, a dot and digits, at most 16 bytes) or kNumberOther (anything else; negative
// numbers too), found with its validation. With AVX2 an atom's end and its validation
// come from one 32-byte load.
template <class Slot>
bool match_shape_classified(const LineShape& s, const char* p, std::size_t len, Slot&& slot) {
#if defined(INGOT_SHAPE_AVX2)
  const __m256i lo_tab = _mm256_setr_epi8(2, 0, 2, 0, 0, 0, 0, 0, 0, 1, 1 | 4, 8, 2, 1 | 8, 0, 0,  //
                                          2, 0, 2, 0, 0, 0, 0, 0, 0, 1, 1 | 4, 8, 2, 1 | 8, 0, 0);
  const __m256i hi_tab = _mm256_setr_epi8(1, 0, 2, 4, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                          1, 0, 2, 4, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i nibble = _mm256_set1_epi8(0x0F);
  return match_shape_walk(s, p, len, slot, [&](std::size_t i, const char* v, std::size_t rest) -> std::size_t {
    // atom_len's answer, from the first 32 bytes where the atom ends within them.
    const __m256i x = load32(v);
    const __m256i lo = _mm256_shuffle_epi8(lo_tab, _mm256_and_si256(x, nibble));
    const __m256i hi = _mm256_shuffle_epi8(hi_tab, _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble));
    const auto ends = ~static_cast<unsigned>(
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_and_si256(lo, hi), _mm256_setzero_si256())));
    std::size_t k;
    if (ends) {
      k = static_cast<std::size_t>(__builtin_ctz(ends));
      if (k > rest) k = rest;
    } else {
      k = rest <= 32 ? rest : 32 + atom_len(v + 32, rest - 32);
    }
    if (k == 0) return 0;
    const std::string_view tok(v, k);
    if (*v == 't' || *v == 'f') {
      if (tok != "true" && tok != "false") return 0;
      slot(i, SlotKind::boolean, tok, kNumberOther);
    } else if (*v == 'n') {
      if (tok != "null") return 0;
      slot(i, SlotKind::null, tok, kNumberOther);
    } else {
      // swar::digits_dot_number16 on the same bytes (its low 16).
      int cls = kNumberOther;
      if (k <= 16) {
        const __m256i t = _mm256_sub_epi8(x, _mm256_set1_epi8('0'));
        const auto digits =
            static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(t, _mm256_set1_epi8(9)), t)));
        const unsigned in = (1u << k) - 1;
        const unsigned other = ~digits & in;
        if (other == 0) {
          if (v[0] == '0' && k != 1) return 0;
          cls = kNumberDigits;
        } else {
          const auto dots = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8('.'))));
          if (other == (dots & in)) {
            if (!((other & (other - 1)) == 0 && other != 1 && other <= (in >> 1) && (v[0] != '0' || other == 2)))
              return 0;
            cls = kNumberDecimal;
          }
        }
      }
      if (cls == kNumberOther && !is_json_number(tok)) return 0;
      slot(i, SlotKind::number, tok, cls);
    }
    return k;
  });
#else
  return match_shape<true>(
      s, p, len, [&](std::size_t i, SlotKind kind, std::string_view text) { slot(i, kind, text, kNumberOther); });
#endif
}

// The few shapes a worker saw last, most recent first.
class ShapeCache {
 public:
  static constexpr std::size_t kMax = 4;

  void clear() { count_ = 0; }
  std::size_t size() const { return count_; }
  const LineShape& operator[](std::size_t i) const { return shapes_[i]; }
  // Moves shape i to the front (a line just matched it).
  void touch(std::size_t i) {
    for (; i > 0; --i) std::swap(shapes_[i], shapes_[i - 1]);
  }
  // A candidate shape to fill before adopt().
  LineShape& candidate() { return candidate_; }
  // Index of a live shape equal to candidate(), or size().
  std::size_t find_candidate() const {
    for (std::size_t i = 0; i < count_; ++i) {
      if (shapes_[i] == candidate_) return i;
    }
    return count_;
  }
  // Makes candidate() the newest shape, dropping the oldest when full.
  void adopt() {
    const std::size_t i = count_ < kMax ? count_++ : kMax - 1;
    std::swap(shapes_[i], candidate_);
    touch(i);
  }

 private:
  LineShape shapes_[kMax];
  LineShape candidate_;
  std::size_t count_ = 0;
};

}  // namespace ingot::detail::INGOT_NDJSON_VARIANT

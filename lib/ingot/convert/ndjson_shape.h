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
// Compiled once per CPU variant, inside its namespace: include only from
// convert_ndjson.cpp (inline code shared by TUs of different CPU levels could be linked
// from the wrong one).
#pragma once

#ifndef INGOT_NDJSON_VARIANT
#error "include only from convert_ndjson.cpp"
#endif

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

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

struct LineShape {
  std::string text;                    // the literals, back to back, then 8 bytes of padding
  std::size_t text_len = 0;            // without the padding
  std::vector<std::uint32_t> lit_end;  // slot i follows the literal ending at text[lit_end[i]]
  std::vector<int> column;             // slot i's column, -1 for none

  bool operator==(const LineShape& o) const {
    return text_len == o.text_len && lit_end == o.lit_end && column == o.column &&
           std::memcmp(text.data(), o.text.data(), text_len) == 0;
  }
};

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

// Bytes that end a non-string scalar, as they end an atom for simdjson's stage 1:
// structural characters, quotes and JSON white space.
struct AtomEnds {
  bool table[256] = {};
  constexpr AtomEnds() {
    for (unsigned char c : std::string_view(",:{}[]\" \t\r\n")) table[c] = true;
  }
};
inline constexpr AtomEnds kAtomEnds{};

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
  s.text.append(8, '\0');
}

// Matches the line [p, p + len) (readable for 8 bytes past len) against shape s, calling
// slot(i, kind, text) for each slot in order: text is a string's body without its quotes,
// or a number's or literal's token. Validate: each slot must hold a JSON scalar as
// simdjson would accept it (a string without backslash or control byte; the caller
// checks UTF-8 for the whole chunk); without it, any string or atom fills a slot (the
// key union only needs the key paths, which the literals fix). False on any difference;
// slot() may have been called for earlier slots then.
template <bool Validate, class Slot>
bool match_shape(const LineShape& s, const char* p, std::size_t len, Slot&& slot) {
  const char* lit = s.text.data();
  std::size_t pos = 0, from = 0;
  const std::size_t nslots = s.lit_end.size();
  for (std::size_t i = 0; i < nslots; ++i) {
    const std::size_t to = s.lit_end[i];
    const std::size_t n = to - from;
    if (pos + n >= len || !equal_padded(p + pos, lit + from, n)) return false;
    pos += n;
    from = to;
    const char* v = p + pos;
    if (*v == '"') {
      // The first quote, backslash or control byte must be the closing quote.
      const std::size_t body = swar::find_json_escape(v + 1, len - pos - 1);
      if (body == len - pos - 1 || v[1 + body] != '"') return false;
      slot(i, SlotKind::string, std::string_view(v + 1, body));
      pos += body + 2;
      continue;
    }
    std::size_t k = 0;
    while (pos + k < len && !kAtomEnds.table[static_cast<unsigned char>(v[k])]) ++k;
    if (k == 0) return false;
    const std::string_view tok(v, k);
    SlotKind kind = SlotKind::number;
    if (*v == 't' || *v == 'f') {
      if (Validate && tok != "true" && tok != "false") return false;
      kind = SlotKind::boolean;
    } else if (*v == 'n') {
      if (Validate && tok != "null") return false;
      kind = SlotKind::null;
    } else if (Validate) {
      const int fast = k <= 16 ? swar::digits_dot_number16(v, k) : -1;
      if (fast == 0 || (fast < 0 && !is_json_number(tok))) return false;
    }
    slot(i, kind, tok);
    pos += k;
  }
  const std::size_t n = s.text_len - from;
  return pos + n == len && equal_padded(p + pos, lit + from, n);
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

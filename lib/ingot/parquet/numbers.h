// The types `ingot convert` gives values on the way to Parquet, and the number parsing
// both passes share: the pre-pass types each value (the rules in
// docs/parquet.md, "How the types are found"), the writing pass parses it into its
// column's type. The text is always a valid JSON number (NDJSON: the walker checked
// it; CSV/TSV: is_json_number), so the fast paths need only the grammar's shapes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ingot::parquet {

// The inline functions are always inlined: ndjson_leaf_scan.cpp is also compiled for
// x86-64-v3, and an out-of-line copy from that object could be the one the linker keeps
// for every caller (ARCHITECTURE.md, "CPU dispatch").

// What one value needs; none for null. Ordered as the pre-pass's events store them.
enum class ValueType : std::uint8_t { none, boolean, int64, double_, date, timestamp, timestamptz, string };

// The narrowest type holding both: INT64 with DOUBLE is DOUBLE, any other two
// different types meet in STRING.
[[gnu::always_inline]] inline ValueType join_types(ValueType a, ValueType b) {
  if (a == b || b == ValueType::none) return a;
  if (a == ValueType::none) return b;
  if ((a == ValueType::int64 && b == ValueType::double_) || (a == ValueType::double_ && b == ValueType::int64)) {
    return ValueType::double_;
  }
  return ValueType::string;
}

namespace numbers_detail {
ValueType number_type_slow(std::string_view tok);
bool parse_int64_slow(std::string_view tok, std::int64_t& v);
bool parse_double_slow(std::string_view tok, double& v);
[[gnu::always_inline]] inline bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }
inline constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
}  // namespace numbers_detail

// A JSON number: INT64 when written without fraction or exponent and within int64;
// else DOUBLE when it is a finite double (integers beyond int64 too, rounded to the
// nearest double); else (overflow, underflow) STRING, its text as written. Inline for
// the common spellings: up to 18 digits always fit int64, and without an exponent only
// a number of over 300 digits can pass the double range.
[[gnu::always_inline]] inline ValueType number_type(std::string_view tok) {
  using numbers_detail::is_digit;
  const char* p = tok.data();
  const char* e = p + tok.size();
  p += p < e && *p == '-';
  const char* d = p;
  while (p < e && is_digit(*p)) ++p;
  if (p == e && e - d <= 18) return ValueType::int64;
  if (p < e && *p == '.') {
    ++p;
    while (p < e && is_digit(*p)) ++p;
    if (p == e && tok.size() < 300) return ValueType::double_;
  }
  return numbers_detail::number_type_slow(tok);
}

// A string's text: DATE, TIMESTAMP or TIMESTAMPTZ in one of parse_iso_time's forms,
// else STRING.
ValueType text_type(std::string_view text);

// The token as an int64: false unless all of it is an integer within int64 (a fraction
// or an exponent makes it no INT64 value). The same answers as std::from_chars.
[[gnu::always_inline]] inline bool parse_int64(std::string_view tok, std::int64_t& v) {
  const char* p = tok.data();
  const char* e = p + tok.size();
  const bool neg = p < e && *p == '-';
  if (tok.size() - neg - 1 < 18) {  // 1 to 18 digits: no overflow
    std::uint64_t u = 0;
    for (const char* q = p + neg; q < e; ++q) {
      if (!numbers_detail::is_digit(*q)) return false;  // a fraction or exponent: from_chars stops here
      u = u * 10 + static_cast<unsigned>(*q - '0');
    }
    v = neg ? -static_cast<std::int64_t>(u) : static_cast<std::int64_t>(u);
    return true;
  }
  return numbers_detail::parse_int64_slow(tok, v);
}

// The token as a finite double, correctly rounded (std::from_chars' answer); false out
// of the double range. Clinger's fast path inline: up to 15 digits and at most 22 after
// the dot, no exponent: the digits as an integer (exact below 2^53) divided by an exact
// power of ten, one correctly rounded IEEE operation, is the correctly rounded value.
[[gnu::always_inline]] inline bool parse_double(std::string_view tok, double& v) {
  using numbers_detail::is_digit;
  const char* p = tok.data();
  const char* e = p + tok.size();
  const bool neg = p < e && *p == '-';
  const char* q = p + neg;
  std::uint64_t m = 0;
  const char* d = q;
  while (q < e && is_digit(*q)) m = m * 10 + static_cast<unsigned>(*q++ - '0');
  std::ptrdiff_t digits = q - d;
  std::ptrdiff_t frac = 0;
  if (q < e && *q == '.') {
    const char* f = ++q;
    while (q < e && is_digit(*q)) m = m * 10 + static_cast<unsigned>(*q++ - '0');
    frac = q - f;
    digits += frac;
  }
  if (q == e && digits > 0 && digits <= 15 && frac <= 22) {
    double x = static_cast<double>(m);
    if (frac > 0) x /= numbers_detail::kPow10[frac];
    v = neg ? -x : x;
    return true;
  }
  return numbers_detail::parse_double_slow(tok, v);
}

}  // namespace ingot::parquet

#include "ingot/parquet/numbers.h"

#include <charconv>

#include "ingot/parquet/datetime.h"

namespace ingot::parquet {
namespace {

inline bool is_digit(char c) { return static_cast<unsigned char>(c - '0') < 10; }

}  // namespace

// Most answers need no parse: up to 18 digits always fit int64, and without an exponent
// only a number of over 300 digits can pass the double range.
ValueType number_type(std::string_view tok) {
  bool fraction = false;
  bool exponent = false;
  for (char ch : tok) {
    fraction |= ch == '.';
    exponent |= (ch | 0x20) == 'e';
  }
  if (!fraction && !exponent) {
    if (tok.size() - (tok[0] == '-') <= 18) return ValueType::int64;
    std::int64_t v;
    if (parse_int64(tok, v)) return ValueType::int64;
  }
  if (!exponent && tok.size() < 300) return ValueType::double_;
  double d;
  return parse_double(tok, d) ? ValueType::double_ : ValueType::string;
}

ValueType text_type(std::string_view text) {
  // Every form starts with four digits and a '-': most strings fail at once.
  if (text.size() < 10 || text[4] != '-' || !is_digit(text[0])) return ValueType::string;
  switch (parse_iso_time(text).kind) {
    case TimeKind::date: return ValueType::date;
    case TimeKind::timestamp: return ValueType::timestamp;
    case TimeKind::timestamptz: return ValueType::timestamptz;
    case TimeKind::none: break;
  }
  return ValueType::string;
}

bool parse_int64(std::string_view tok, std::int64_t& v) {
  const char* p = tok.data();
  const char* e = p + tok.size();
  const bool neg = p < e && *p == '-';
  const std::size_t digits = tok.size() - neg;
  if (digits - 1 < 18) {  // 1 to 18 digits: no overflow
    std::uint64_t u = 0;
    for (const char* q = p + neg; q < e; ++q) {
      if (!is_digit(*q)) return false;  // a fraction or exponent: from_chars would stop here
      u = u * 10 + static_cast<unsigned>(*q - '0');
    }
    v = neg ? -static_cast<std::int64_t>(u) : static_cast<std::int64_t>(u);
    return true;
  }
  auto r = std::from_chars(p, e, v);
  return r.ec == std::errc() && r.ptr == e;
}

bool parse_double(std::string_view tok, double& v) {
  // Clinger's fast path: up to 15 digits and a fraction of up to 22 digits, without
  // exponent: the digits as an integer (exact below 2^53) divided by an exact power of
  // ten, one correctly rounded IEEE operation, is the correctly rounded value.
  static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  const char* p = tok.data();
  const char* e = p + tok.size();
  const bool neg = p < e && *p == '-';
  std::uint64_t m = 0;
  int digits = 0;
  int frac = -1;  // digits after the dot, -1 before it
  const char* q = p + neg;
  for (; q < e; ++q) {
    const char c = *q;
    if (is_digit(c)) {
      m = m * 10 + static_cast<unsigned>(c - '0');
      ++digits;
      if (frac >= 0) ++frac;
    } else if (c == '.' && frac < 0) {
      frac = 0;
    } else {
      break;
    }
  }
  if (q == e && digits > 0 && digits <= 15 && frac <= 22) {
    double d = static_cast<double>(m);
    if (frac > 0) d /= kPow10[frac];
    v = neg ? -d : d;
    return true;
  }
  auto r = std::from_chars(p, e, v);
  return r.ec == std::errc() && r.ptr == e;
}

}  // namespace ingot::parquet

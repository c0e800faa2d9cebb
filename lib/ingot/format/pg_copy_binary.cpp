// COPY binary fields from CSV text (pg_copy_binary.h): each parser accepts only the plain
// spellings whose value the server's input function is certain to give, and says no to
// the rest (whitespace, "NaN", "1e400", "2023-1-5", "24:00:00", time zones, ...).
#include "ingot/format/pg_copy_binary.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace ingot {

namespace {

char* put_u32(char* o, std::uint32_t v) {
  o[0] = static_cast<char>(v >> 24);
  o[1] = static_cast<char>(v >> 16);
  o[2] = static_cast<char>(v >> 8);
  o[3] = static_cast<char>(v);
  return o + 4;
}

char* put_u64(char* o, std::uint64_t v) {
  o = put_u32(o, static_cast<std::uint32_t>(v >> 32));
  return put_u32(o, static_cast<std::uint32_t>(v));
}

// [+-]?digits, in [lo, hi] (pg_strtoint16/32/64 without the whitespace they skip).
bool parse_int(std::string_view v, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  std::size_t i = 0;
  bool neg = false;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) {
    neg = v[0] == '-';
    i = 1;
  }
  // Up to 19 digits fit in a uint64 (leading zeros beyond that: the server's to read).
  if (i == v.size() || v.size() - i > 19) return false;
  std::uint64_t acc = 0;
  for (; i < v.size(); ++i) {
    const unsigned d = static_cast<unsigned char>(v[i]) - '0';
    if (d > 9) return false;
    acc = acc * 10 + d;
  }
  if (neg) {
    if (acc > static_cast<std::uint64_t>(-(lo + 1)) + 1) return false;
    out = acc == 0 ? 0 : -static_cast<std::int64_t>(acc - 1) - 1;
  } else {
    if (acc > static_cast<std::uint64_t>(hi)) return false;
    out = static_cast<std::int64_t>(acc);
  }
  return true;
}

// [+-]?(digits[.digits?]|.digits)([eE][+-]?digits)? read as float8in reads it
// (strtod: correctly rounded, as std::from_chars). Out of range, zero from non-zero
// digits, subnormal, infinite and NaN results are the server's to judge.
bool parse_float8(std::string_view v, double& out) {
  std::size_t i = 0;
  if (!v.empty() && (v[0] == '-' || v[0] == '+')) i = 1;
  bool digits = false, nonzero = false;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
    digits = true;
    nonzero |= v[i] != '0';
  }
  if (i < v.size() && v[i] == '.') {
    for (++i; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
      digits = true;
      nonzero |= v[i] != '0';
    }
  }
  if (!digits) return false;
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '-' || v[i] == '+')) ++i;
    const std::size_t exp_start = i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') ++i;
    if (i == exp_start) return false;
  }
  if (i != v.size()) return false;
  // from_chars takes no '+': parse what follows it and keep the sign ourselves.
  const char* first = v.data() + (v[0] == '+' ? 1 : 0);
  double d = 0;
  const auto r = std::from_chars(first, v.data() + v.size(), d, std::chars_format::general);
  if (r.ec != std::errc() || r.ptr != v.data() + v.size()) return false;
  const int cls = std::fpclassify(d);
  if (cls == FP_NAN || cls == FP_INFINITE || cls == FP_SUBNORMAL) return false;
  if (cls == FP_ZERO && nonzero) return false;
  out = d;
  return true;
}

bool two_digits(std::string_view v, std::size_t at, unsigned& out) {
  const unsigned a = static_cast<unsigned char>(v[at]) - '0', b = static_cast<unsigned char>(v[at + 1]) - '0';
  if (a > 9 || b > 9) return false;
  out = a * 10 + b;
  return true;
}

// Days from 2000-01-01 (PostgreSQL's epoch) to y-m-d of the proleptic Gregorian calendar.
std::int64_t days_from_2000(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return std::int64_t{era} * 146097 + static_cast<std::int64_t>(doe) - 719468 - 10957;
}

// YYYY-MM-DD, year 0001-9999 (ISO: read alike under every DateStyle), a real day.
bool parse_date(std::string_view v, std::int64_t& days) {
  if (v.size() < 10 || v[4] != '-' || v[7] != '-') return false;
  unsigned y1, y2, m, d;
  if (!two_digits(v, 0, y1) || !two_digits(v, 2, y2) || !two_digits(v, 5, m) || !two_digits(v, 8, d)) return false;
  const int y = static_cast<int>(y1 * 100 + y2);
  if (y == 0 || m < 1 || m > 12 || d < 1) return false;
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[m - 1] + (m == 2 && leap ? 1 : 0)) return false;
  days = days_from_2000(y, m, d);
  return true;
}

// YYYY-MM-DD HH:MM:SS[.f up to 6 digits], hours 00-23, seconds 00-59: microseconds
// from 2000-01-01 00:00:00.
bool parse_timestamp(std::string_view v, std::int64_t& us) {
  std::int64_t days;
  if (v.size() < 19 || !parse_date(v.substr(0, 10), days) || v[10] != ' ' || v[13] != ':' || v[16] != ':') return false;
  unsigned h, mi, s;
  if (!two_digits(v, 11, h) || !two_digits(v, 14, mi) || !two_digits(v, 17, s) || h > 23 || mi > 59 || s > 59)
    return false;
  std::int64_t frac = 0;
  if (v.size() > 19) {
    if (v[19] != '.' || v.size() == 20 || v.size() > 26) return false;
    std::int64_t scale = 1000000;
    for (std::size_t i = 20; i < v.size(); ++i) {
      const unsigned dg = static_cast<unsigned char>(v[i]) - '0';
      if (dg > 9) return false;
      scale /= 10;
      frac += dg * scale;
    }
  }
  us = ((days * 24 + h) * 60 + mi) * 60 * std::int64_t{1000000} + std::int64_t{s} * 1000000 + frac;
  return true;
}

// t/f, true/false, yes/no, on/off, 1/0 in any case (boolin takes these and more).
bool parse_bool(std::string_view v, bool& out) {
  char low[6];
  if (v.empty() || v.size() > 5) return false;
  for (std::size_t i = 0; i < v.size(); ++i) low[i] = static_cast<char>(v[i] | (v[i] >= 'A' && v[i] <= 'Z' ? 0x20 : 0));
  const std::string_view s(low, v.size());
  if (s == "t" || s == "true" || s == "yes" || s == "on" || s == "1") {
    out = true;
    return true;
  }
  if (s == "f" || s == "false" || s == "no" || s == "off" || s == "0") {
    out = false;
    return true;
  }
  return false;
}

}  // namespace

std::optional<CopyBinaryType> copy_binary_type(std::uint32_t oid) {
  switch (oid) {
    case 16: return CopyBinaryType::boolean;
    case 21: return CopyBinaryType::int2;
    case 23: return CopyBinaryType::int4;
    case 20: return CopyBinaryType::int8;
    case 701: return CopyBinaryType::float8;
    case 25:    // text
    case 1043:  // varchar
    case 1042:  // bpchar
      return CopyBinaryType::text;
    case 1082: return CopyBinaryType::date;
    case 1114: return CopyBinaryType::timestamp;
    default: return std::nullopt;
  }
}

char* write_copy_binary_value(char* o, CopyBinaryType t, std::string_view v) {
  std::int64_t i = 0;
  switch (t) {
    case CopyBinaryType::text:
      // A NUL byte is refused or cut short by the text format, kept by binary: the
      // server's text path decides.
      if (std::memchr(v.data(), 0, v.size())) return nullptr;
      o = put_u32(o, static_cast<std::uint32_t>(v.size()));
      std::memcpy(o, v.data(), v.size());
      return o + v.size();
    case CopyBinaryType::int8:
      if (!parse_int(v, INT64_MIN, INT64_MAX, i)) return nullptr;
      return put_u64(put_u32(o, 8), static_cast<std::uint64_t>(i));
    case CopyBinaryType::int4:
      if (!parse_int(v, INT32_MIN, INT32_MAX, i)) return nullptr;
      return put_u32(put_u32(o, 4), static_cast<std::uint32_t>(i));
    case CopyBinaryType::int2:
      if (!parse_int(v, INT16_MIN, INT16_MAX, i)) return nullptr;
      o = put_u32(o, 2);
      o[0] = static_cast<char>(static_cast<std::uint16_t>(i) >> 8);
      o[1] = static_cast<char>(i);
      return o + 2;
    case CopyBinaryType::float8: {
      double d;
      if (!parse_float8(v, d)) return nullptr;
      std::uint64_t bits;
      std::memcpy(&bits, &d, 8);
      return put_u64(put_u32(o, 8), bits);
    }
    case CopyBinaryType::boolean: {
      bool b;
      if (!parse_bool(v, b)) return nullptr;
      o = put_u32(o, 1);
      *o = b ? 1 : 0;
      return o + 1;
    }
    case CopyBinaryType::date:
      if (v.size() != 10 || !parse_date(v, i)) return nullptr;
      return put_u32(put_u32(o, 4), static_cast<std::uint32_t>(i));
    case CopyBinaryType::timestamp:
      if (!parse_timestamp(v, i)) return nullptr;
      return put_u64(put_u32(o, 8), static_cast<std::uint64_t>(i));
  }
  return nullptr;
}

}  // namespace ingot

// The slow paths of numbers.h: std::from_chars where the inline shortcuts do not decide.
#include "ingot/parquet/numbers.h"

#include <charconv>

#include "ingot/parquet/datetime.h"

namespace ingot::parquet {
namespace numbers_detail {

ValueType number_type_slow(std::string_view tok) {
  bool fraction = false;
  bool exponent = false;
  for (char ch : tok) {
    fraction |= ch == '.';
    exponent |= (ch | 0x20) == 'e';
  }
  if (!fraction && !exponent) {
    if (tok.size() - (tok[0] == '-') <= 18) return ValueType::int64;
    std::int64_t v;
    if (parse_int64_slow(tok, v)) return ValueType::int64;
  }
  if (!exponent && tok.size() < 300) return ValueType::double_;
  double d;
  return parse_double_slow(tok, d) ? ValueType::double_ : ValueType::string;
}

bool parse_int64_slow(std::string_view tok, std::int64_t& v) {
  const char* e = tok.data() + tok.size();
  auto r = std::from_chars(tok.data(), e, v);
  return r.ec == std::errc() && r.ptr == e;
}

bool parse_double_slow(std::string_view tok, double& v) {
  const char* e = tok.data() + tok.size();
  auto r = std::from_chars(tok.data(), e, v);
  return r.ec == std::errc() && r.ptr == e;
}

}  // namespace numbers_detail

ValueType text_type(std::string_view text) {
  switch (parse_iso_time(text).kind) {
    case TimeKind::date: return ValueType::date;
    case TimeKind::timestamp: return ValueType::timestamp;
    case TimeKind::timestamptz: return ValueType::timestamptz;
    case TimeKind::none: break;
  }
  return ValueType::string;
}

}  // namespace ingot::parquet

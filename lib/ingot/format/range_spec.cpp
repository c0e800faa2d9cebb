#include "ingot/format/range_spec.h"

#include <charconv>

namespace ingot {
namespace {

// Digits only (no sign, no spaces, no "0x"); nullopt on overflow or an empty string.
std::optional<std::uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> parse_positive(std::string_view s) {
  auto v = parse_u64(s);
  if (!v || *v == 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<RangeSpec> parse_range_spec(std::string_view text) {
  RangeSpec r;
  if (!text.empty() && text[0] == '-') {
    auto k = parse_positive(text.substr(1));
    if (!k) return std::nullopt;
    r.form = RangeSpec::Form::from_end;
    r.a = *k;
    return r;
  }
  const auto sep = text.find_first_of("-+");
  auto a = parse_positive(text.substr(0, sep));
  if (!a) return std::nullopt;
  r.a = *a;
  if (sep == std::string_view::npos) {
    r.form = RangeSpec::Form::single;
    r.b = *a;
    return r;
  }
  auto b = parse_positive(text.substr(sep + 1));
  if (!b) return std::nullopt;
  r.b = *b;
  if (text[sep] == '-') {
    if (*b < *a) return std::nullopt;
    r.form = RangeSpec::Form::span;
  } else {
    r.form = RangeSpec::Form::count;
  }
  return r;
}

RangeSpec range_spec_or_throw(std::string_view text) {
  if (auto r = parse_range_spec(text)) return *r;
  throw usage_error("invalid record number '" + std::string(text) +
                    "': use N, N-M (M >= N), N+COUNT or -K (K-th from the end), numbers from 1 up to " +
                    "18446744073709551615");
}

std::optional<RecordSpan> resolve_range(const RangeSpec& spec, std::uint64_t records) {
  RecordSpan s;
  switch (spec.form) {
    case RangeSpec::Form::from_end:
      if (spec.a > records) return std::nullopt;
      s.first = s.last = records - spec.a + 1;
      return s;
    case RangeSpec::Form::single:
    case RangeSpec::Form::span:
      if (spec.a > records) return std::nullopt;
      s.first = spec.a;
      s.last = std::min(spec.form == RangeSpec::Form::single ? spec.a : spec.b, records);
      return s;
    case RangeSpec::Form::count:
      if (spec.a > records) return std::nullopt;
      s.first = spec.a;
      // a + b - 1 may not fit; records - a + 1 >= 1 records remain from a.
      s.last = spec.a + std::min(spec.b, records - spec.a + 1) - 1;
      return s;
  }
  return std::nullopt;
}

std::string describe_range(const RangeSpec& spec) {
  switch (spec.form) {
    case RangeSpec::Form::single: return "record " + std::to_string(spec.a);
    case RangeSpec::Form::span: return "records " + std::to_string(spec.a) + "-" + std::to_string(spec.b);
    case RangeSpec::Form::count: return "records " + std::to_string(spec.a) + "+" + std::to_string(spec.b);
    case RangeSpec::Form::from_end: return "record -" + std::to_string(spec.a);
  }
  return {};
}

std::string out_of_range_message(const RangeSpec& spec, std::uint64_t records) {
  const bool plural = spec.form == RangeSpec::Form::span || spec.form == RangeSpec::Form::count;
  std::string what = describe_range(spec) + (plural ? " are" : " is") +
                     (spec.form == RangeSpec::Form::from_end ? " before the start: " : " past the end: ");
  if (records == 0) return what + "there are no records";
  return what + "there " + (records == 1 ? "is 1 record" : "are " + std::to_string(records) + " records");
}

}  // namespace ingot

// The types `ingot convert` gives values on the way to Parquet, and the number parsing
// both passes share: the pre-pass types each value (the rules in
// docs/parquet.md, "How the types are found"), the writing pass parses it into its
// column's type. The text is always a valid JSON number (NDJSON: the walker checked
// it; CSV/TSV: is_json_number), so the fast paths need only the grammar's shapes.
#pragma once

#include <cstdint>
#include <string_view>

namespace ingot::parquet {

// What one value needs; none for null. Ordered as the pre-pass's events store them.
enum class ValueType : std::uint8_t { none, boolean, int64, double_, date, timestamp, timestamptz, string };

// The narrowest type holding both: INT64 with DOUBLE is DOUBLE, any other two
// different types meet in STRING.
inline ValueType join_types(ValueType a, ValueType b) {
  if (a == b || b == ValueType::none) return a;
  if (a == ValueType::none) return b;
  if ((a == ValueType::int64 && b == ValueType::double_) || (a == ValueType::double_ && b == ValueType::int64)) {
    return ValueType::double_;
  }
  return ValueType::string;
}

// A JSON number: INT64 when written without fraction or exponent and within int64;
// else DOUBLE when it is a finite double (integers beyond int64 too, rounded to the
// nearest double); else (overflow, underflow) STRING, its text as written.
ValueType number_type(std::string_view tok);

// A string's text: DATE, TIMESTAMP or TIMESTAMPTZ in one of parse_iso_time's forms,
// else STRING.
ValueType text_type(std::string_view text);

// The token as an int64: false unless all of it is an integer within int64 (a fraction
// or an exponent makes it no INT64 value). The same answers as std::from_chars.
bool parse_int64(std::string_view tok, std::int64_t& v);

// The token as a finite double, correctly rounded (std::from_chars' answer, reached
// without it for the common short decimals); false out of the double range.
bool parse_double(std::string_view tok, double& v);

}  // namespace ingot::parquet

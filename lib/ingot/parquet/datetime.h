// ISO-8601 dates and timestamps as Parquet's DATE and TIMESTAMP values: the forms
// `ingot convert` types as DATE, TIMESTAMP or TIMESTAMPTZ (docs/parquet.md, "How the
// types are found"). Anything else, however date-like, is not one of them.
#pragma once

#include <cstdint>
#include <string_view>

namespace ingot::parquet {

enum class TimeKind : std::uint8_t {
  none,         // not one of the forms below
  date,         // YYYY-MM-DD
  timestamp,    // YYYY-MM-DD(T| )HH:MM:SS[.f{1,6}]          a wall-clock time
  timestamptz,  // the same with Z or +HH:MM / -HH:MM         an instant
};

struct TimeValue {
  TimeKind kind = TimeKind::none;
  // date: days since 1970-01-01; timestamp: micros since 1970-01-01T00:00:00 of the
  // same wall clock; timestamptz: micros since the UTC epoch (the offset applied).
  std::int64_t value = 0;
};

// Years 0001-9999, real calendar days (leap years), hours 00-23, no leap second, at most
// six fraction digits (microseconds: more would not be exact), offsets within
// +-23:59; 'T'/'t', 'Z'/'z' in either case.
TimeValue parse_iso_time(std::string_view s);

}  // namespace ingot::parquet

// Which records a user asked for: `N`, `N-M`, `N+COUNT` or `-K` (K-th from the end;
// -1 is the last), numbered from 1 as sed numbers lines. Shared by `ingot get` and the
// URL paths of `ingot serve`, so both accept and reject exactly the same text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ingot/util/error.h"

namespace ingot {

struct RangeSpec {
  enum class Form { single, span, count, from_end };
  Form form = Form::single;
  std::uint64_t a = 1;  // N, or K for from_end
  std::uint64_t b = 1;  // M for span, COUNT for count; unused otherwise
};

// Parses the text; nullopt when it is not one of the four forms, when a number is 0 or
// does not fit in 64 bits, or when M < N / COUNT = 0.
std::optional<RangeSpec> parse_range_spec(std::string_view text);

// The same, but a usage Error that names the text and lists the forms.
RangeSpec range_spec_or_throw(std::string_view text);

// 1-based inclusive records [first, last] of a file with `records` records.
struct RecordSpan {
  std::uint64_t first = 1;
  std::uint64_t last = 1;
  std::uint64_t count() const { return last - first + 1; }
};

// Resolves a spec against the record count. The end of N-M and N+COUNT is clipped to
// the last record (as `sed -n 5,99p` stops at the end); a start past the end, or -K
// with K > records, is out of range: nullopt.
std::optional<RecordSpan> resolve_range(const RangeSpec& spec, std::uint64_t records);

// "record 12" / "records 3-9" / "records 3+5" / "record -2": for messages.
std::string describe_range(const RangeSpec& spec);

// The message for an unresolvable spec: says how many records there are.
std::string out_of_range_message(const RangeSpec& spec, std::uint64_t records);

}  // namespace ingot

// The get/serve range parser on arbitrary text. Properties: parse_range_spec and
// range_spec_or_throw agree; a parsed spec has no zero numbers and M >= N; resolving it
// against any record count gives 1 <= first <= last <= records, or nothing.
#include <limits>
#include <string>
#include <string_view>

#include "fuzz_util.h"
#include "ingot/format/range_spec.h"
#include "ingot/util/error.h"

using namespace ingot;

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "property failed: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto spec = parse_range_spec(text);
  bool threw = false;
  try {
    (void)range_spec_or_throw(text);
  } catch (const Error& e) {
    threw = true;
    if (e.kind() != ErrorKind::usage) fail("range_spec_or_throw: not a usage error");
  }
  if (threw == spec.has_value()) fail("parse_range_spec and range_spec_or_throw disagree");
  if (!spec) return 0;
  if (spec->a == 0) fail("zero N");
  if (spec->form == RangeSpec::Form::span && spec->b < spec->a) fail("M < N");
  if (spec->form == RangeSpec::Form::count && spec->b == 0) fail("COUNT = 0");
  (void)describe_range(*spec);
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  for (std::uint64_t records :
       {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{7}, spec->a, spec->a - 1, spec->b, max}) {
    const auto span = resolve_range(*spec, records);
    if (!span) {
      (void)out_of_range_message(*spec, records);
      continue;
    }
    if (span->first < 1 || span->first > span->last || span->last > records) fail("resolved span outside the records");
  }
  return 0;
}

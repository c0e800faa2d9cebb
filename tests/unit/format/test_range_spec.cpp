// The record-range grammar shared by `ingot get` and `ingot serve`: exact accept/reject
// and exact resolution against a record count, including the clipped and overflowing ends.
#include <catch2/catch.hpp>

#include "ingot/format/range_spec.h"

using namespace ingot;

namespace {

std::string resolved(const std::string& text, std::uint64_t records) {
  auto spec = parse_range_spec(text);
  if (!spec) return "invalid";
  auto span = resolve_range(*spec, records);
  if (!span) return "out of range";
  return std::to_string(span->first) + ".." + std::to_string(span->last);
}

}  // namespace

TEST_CASE("range_spec: the four forms resolve against the record count", "[range_spec]") {
  CHECK(resolved("1", 10) == "1..1");
  CHECK(resolved("10", 10) == "10..10");
  CHECK(resolved("3-7", 10) == "3..7");
  CHECK(resolved("4-4", 10) == "4..4");
  CHECK(resolved("3+2", 10) == "3..4");
  CHECK(resolved("3+1", 10) == "3..3");
  CHECK(resolved("-1", 10) == "10..10");
  CHECK(resolved("-10", 10) == "1..1");
  CHECK(resolved("007", 10) == "7..7");
}

TEST_CASE("range_spec: ends past the last record are clipped, starts past it are out of range", "[range_spec]") {
  CHECK(resolved("8-20", 10) == "8..10");
  CHECK(resolved("8+100", 10) == "8..10");
  CHECK(resolved("10+18446744073709551615", 10) == "10..10");
  CHECK(resolved("11", 10) == "out of range");
  CHECK(resolved("11-12", 10) == "out of range");
  CHECK(resolved("11+1", 10) == "out of range");
  CHECK(resolved("-11", 10) == "out of range");
  CHECK(resolved("1", 0) == "out of range");
  CHECK(resolved("-1", 0) == "out of range");
  CHECK(resolved("18446744073709551615", 10) == "out of range");
}

TEST_CASE("range_spec: malformed text is rejected", "[range_spec]") {
  for (const char* bad : {"",
                          "0",
                          "-0",
                          "0-3",
                          "3-0",
                          "5-4",
                          "3+0",
                          "+3",
                          "--1",
                          "-",
                          "1-",
                          "1+",
                          "-1-2",
                          "1-2-3",
                          "1+2+3",
                          "abc",
                          "1a",
                          " 1",
                          "1 ",
                          "0x10",
                          "1.5",
                          "1e3",
                          "18446744073709551616",
                          "99999999999999999999",
                          "1-18446744073709551616",
                          "-18446744073709551616"}) {
    INFO("text '" << bad << "'");
    CHECK_FALSE(parse_range_spec(bad).has_value());
  }
  CHECK(parse_range_spec("18446744073709551615").has_value());
}

TEST_CASE("range_spec: messages say what was asked and how many records there are", "[range_spec]") {
  CHECK(out_of_range_message(*parse_range_spec("12"), 10) == "record 12 is past the end: there are 10 records");
  CHECK(out_of_range_message(*parse_range_spec("12-15"), 1) == "records 12-15 are past the end: there is 1 record");
  CHECK(out_of_range_message(*parse_range_spec("-3"), 2) == "record -3 is before the start: there are 2 records");
  CHECK(out_of_range_message(*parse_range_spec("1"), 0) == "record 1 is past the end: there are no records");
  try {
    range_spec_or_throw("x");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::usage);
    CHECK(std::string(e.what()).rfind("invalid record number 'x': use N, N-M", 0) == 0);
  }
}

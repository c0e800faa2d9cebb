// PostgreSQL COPY binary fields (format/pg_copy_binary.h): each value encoded as the
// server's input function reads its text (dates and timestamps checked against Python's
// datetime, float8 against glibc's strtod, which float8in calls, integers against
// strtoll), and every spelling the encoder is not certain of refused.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>

#include "ingot/format/pg_copy_binary.h"

using namespace ingot;

namespace {

// The field as written (length + bytes), or "NO" when the encoder refused the value.
std::string field(CopyBinaryType t, std::string_view v) {
  std::string out(copy_binary_field_max(v.size()), '\0');
  char* end = write_copy_binary_value(out.data(), t, v);
  if (!end) return "NO";
  return out.substr(0, static_cast<std::size_t>(end - out.data()));
}

std::string be(std::uint64_t v, int bytes) {
  std::string s(4, '\0');
  s[3] = static_cast<char>(bytes);
  for (int i = bytes - 1; i >= 0; --i) s += static_cast<char>(v >> (8 * i));
  return s;
}

std::uint64_t bits(double d) {
  std::uint64_t b;
  std::memcpy(&b, &d, 8);
  return b;
}

}  // namespace

TEST_CASE("pg copy binary: dates and timestamps are days and microseconds from 2000-01-01", "[pg][format]") {
  // Expected values: (datetime.fromisoformat(s) - datetime(2000, 1, 1)) in Python.
  const std::pair<const char*, std::int64_t> timestamps[] = {
      {"2023-10-08 19:50:19", 750109819000000},           {"1999-12-31 23:59:59.999999", -1},
      {"2024-02-29 00:00:00.5", 762480000500000},         {"0001-01-01 00:00:00", -63082281600000000},
      {"9999-12-31 23:59:59.000001", 252455615999000001}, {"1970-01-01 00:00:00.123", -946684799877000}};
  for (const auto& [s, us] : timestamps) {
    INFO(s);
    CHECK(field(CopyBinaryType::timestamp, s) == be(static_cast<std::uint64_t>(us), 8));
  }
  const std::pair<const char*, std::int64_t> dates[] = {{"2000-01-01", 0},       {"1999-12-31", -1},
                                                        {"2024-02-29", 8825},    {"0001-01-01", -730119},
                                                        {"9999-12-31", 2921939}, {"1900-03-01", -36465}};
  for (const auto& [s, days] : dates) {
    INFO(s);
    CHECK(field(CopyBinaryType::date, s) == be(static_cast<std::uint32_t>(days), 4));
  }
}

TEST_CASE("pg copy binary: float8 is strtod's double, integers strtoll's, in range", "[pg][format]") {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    // Random plain spellings: sign, integer digits, fraction, exponent.
    std::string s;
    if (rng() % 3 == 0) s += '-';
    const int ilen = static_cast<int>(rng() % 20);
    for (int k = 0; k < ilen; ++k) s += static_cast<char>('0' + rng() % 10);
    if (rng() % 2 || ilen == 0) {
      s += '.';
      const int flen = static_cast<int>(rng() % 20) + (ilen == 0);
      for (int k = 0; k < flen; ++k) s += static_cast<char>('0' + rng() % 10);
    }
    if (rng() % 3 == 0) s += "e" + std::to_string(static_cast<int>(rng() % 40) - 20);
    INFO(s);
    errno = 0;
    const double want = std::strtod(s.c_str(), nullptr);
    REQUIRE(errno == 0);
    REQUIRE(field(CopyBinaryType::float8, s) == be(bits(want), 8));
  }
  CHECK(field(CopyBinaryType::float8, "+2.5") == be(bits(2.5), 8));
  CHECK(field(CopyBinaryType::float8, "-0") == be(bits(-0.0), 8));
  CHECK(field(CopyBinaryType::float8, "1.7976931348623157e308") == be(bits(1.7976931348623157e308), 8));
  for (const char* s : {"0", "-1", "+7", "9223372036854775807", "-9223372036854775808", "0000000000000000042"}) {
    INFO(s);
    CHECK(field(CopyBinaryType::int8, s) == be(static_cast<std::uint64_t>(std::strtoll(s, nullptr, 10)), 8));
  }
  CHECK(field(CopyBinaryType::int4, "-2147483648") == be(0x80000000u, 4));
  CHECK(field(CopyBinaryType::int4, "2147483647") == be(0x7fffffffu, 4));
  CHECK(field(CopyBinaryType::int2, "-32768") == be(0x8000u, 2));
  CHECK(field(CopyBinaryType::int2, "-1") == be(0xffffu, 2));
  CHECK(field(CopyBinaryType::boolean, "TRUE") == std::string("\0\0\0\1\1", 5));
  CHECK(field(CopyBinaryType::boolean, "off") == std::string("\0\0\0\1\0", 5));
  CHECK(field(CopyBinaryType::text, "a\tb\\") == std::string("\0\0\0\4a\tb\\", 8));
  CHECK(field(CopyBinaryType::text, "") == std::string("\0\0\0\0", 4));
}

TEST_CASE("pg copy binary: every spelling the server might read otherwise is left to it", "[pg][format]") {
  const std::pair<CopyBinaryType, const char*> refused[] = {
      {CopyBinaryType::int8, " 5"},
      {CopyBinaryType::int8, "5 "},
      {CopyBinaryType::int8, ""},
      {CopyBinaryType::int8, "-"},
      {CopyBinaryType::int8, "1_000"},
      {CopyBinaryType::int8, "0x10"},
      {CopyBinaryType::int8, "1.0"},
      {CopyBinaryType::int8, "9223372036854775808"},
      {CopyBinaryType::int8, "-9223372036854775809"},
      {CopyBinaryType::int8, "00000000000000000001"},
      {CopyBinaryType::int4, "2147483648"},
      {CopyBinaryType::int2, "32768"},
      {CopyBinaryType::int2, "-32769"},
      {CopyBinaryType::float8, "1e400"},
      {CopyBinaryType::float8, "-1e400"},
      {CopyBinaryType::float8, "1e-400"},
      {CopyBinaryType::float8, "4.9e-324"},  // subnormal
      {CopyBinaryType::float8, "NaN"},
      {CopyBinaryType::float8, "inf"},
      {CopyBinaryType::float8, "-Infinity"},
      {CopyBinaryType::float8, "0x1p3"},
      {CopyBinaryType::float8, " 1"},
      {CopyBinaryType::float8, "1 "},
      {CopyBinaryType::float8, "."},
      {CopyBinaryType::float8, "1e"},
      {CopyBinaryType::float8, "e5"},
      {CopyBinaryType::float8, ""},
      {CopyBinaryType::boolean, "tru"},
      {CopyBinaryType::boolean, "yes "},
      {CopyBinaryType::boolean, ""},
      {CopyBinaryType::date, "2023-1-05"},
      {CopyBinaryType::date, "2023-02-29"},
      {CopyBinaryType::date, "2024-02-30"},
      {CopyBinaryType::date, "2023-13-01"},
      {CopyBinaryType::date, "0000-01-01"},
      {CopyBinaryType::date, "10000-01-01"},
      {CopyBinaryType::date, "2023-10-08 00:00:00"},
      {CopyBinaryType::date, "20231008"},
      {CopyBinaryType::date, "epoch"},
      {CopyBinaryType::timestamp, "2023-10-08"},
      {CopyBinaryType::timestamp, "2023-10-08T19:50:19"},
      {CopyBinaryType::timestamp, "2023-10-08 24:00:00"},
      {CopyBinaryType::timestamp, "2023-10-08 19:60:00"},
      {CopyBinaryType::timestamp, "2023-10-08 19:50:60"},
      {CopyBinaryType::timestamp, "2023-10-08 19:50:19."},
      {CopyBinaryType::timestamp, "2023-10-08 19:50:19.1234567"},
      {CopyBinaryType::timestamp, "2023-10-08 19:50:19+02"},
      {CopyBinaryType::timestamp, "2023-10-08 19:50:19 BC"},
      {CopyBinaryType::timestamp, "2023-10-08 9:50:19"},
      {CopyBinaryType::timestamp, "infinity"},
  };
  for (const auto& [t, s] : refused) {
    INFO(static_cast<int>(t) << " '" << s << "'");
    CHECK(field(t, s) == "NO");
  }
  CHECK(field(CopyBinaryType::text, std::string_view("a\0b", 3)) == "NO");
  // The types that have an encoding, and some that do not.
  CHECK(copy_binary_type(20) == CopyBinaryType::int8);
  CHECK(copy_binary_type(1043) == CopyBinaryType::text);
  CHECK(copy_binary_type(1114) == CopyBinaryType::timestamp);
  CHECK_FALSE(copy_binary_type(700));   // float4
  CHECK_FALSE(copy_binary_type(1700));  // numeric
  CHECK_FALSE(copy_binary_type(1184));  // timestamptz
}

// The number fast paths (parquet/numbers.h) give std::from_chars' answers: the int64
// shortcut for up to 18 digits, Clinger's exact division for short decimals, and the
// types the pre-pass gives JSON numbers. Checked value by value against from_chars on
// hand-picked edges and on random JSON number spellings (the oracle is the standard
// library's correctly rounded parse).
#include <catch2/catch.hpp>

#include <charconv>
#include <cstring>
#include <random>
#include <string>

#include "ingot/parquet/numbers.h"

using namespace ingot::parquet;

namespace {

bool oracle_int64(const std::string& s, std::int64_t& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool oracle_double(const std::string& s, double& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

void check_same(const std::string& s) {
  INFO(s);
  std::int64_t a = 0, b = 0;
  const bool ok_a = parse_int64(s, a);
  const bool ok_b = oracle_int64(s, b);
  CHECK(ok_a == ok_b);
  if (ok_a && ok_b) CHECK(a == b);
  double x = 0, y = 0;
  const bool ok_x = parse_double(s, x);
  const bool ok_y = oracle_double(s, y);
  CHECK(ok_x == ok_y);
  if (ok_x && ok_y) CHECK(std::memcmp(&x, &y, sizeof x) == 0);  // bit for bit: -0.0 too
}

}  // namespace

TEST_CASE("parquet numbers: fast paths agree with from_chars on the edges", "[parquet][numbers]") {
  for (const char* s : {"0",
                        "-0",
                        "7",
                        "-7",
                        "123456789012345678",
                        "-123456789012345678",
                        "999999999999999999",
                        "1234567890123456789",
                        "9223372036854775807",
                        "-9223372036854775808",
                        "9223372036854775808",
                        "-9223372036854775809",
                        "12345678901234567890",
                        "0.0",
                        "-0.0",
                        "0.1",
                        "1.5",
                        "-2.25",
                        "5.86",
                        "42.4",
                        "123456789.123",
                        "999999999999999.9",
                        "9007199254740993",
                        "0.30000000000000004",
                        "1.000000000000000000001",
                        "0.0000000000000000000001",
                        "0.00000000000000000000001",
                        "123456789012345.6",
                        "1234567890123456.7",
                        "1e3",
                        "1E3",
                        "-1.5e-7",
                        "2.5e+10",
                        "1e308",
                        "1e309",
                        "1e400",
                        "1e-400",
                        "4.9e-324",
                        "2.2250738585072014e-308"}) {
    check_same(s);
  }
}

TEST_CASE("parquet numbers: random JSON numbers agree with from_chars", "[parquet][numbers]") {
  std::mt19937_64 rng(16);
  auto digits = [&](int n, bool lead_nonzero) {
    std::string d;
    for (int i = 0; i < n; ++i) d += static_cast<char>('0' + (i == 0 && lead_nonzero ? 1 + rng() % 9 : rng() % 10));
    return d;
  };
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    if (rng() % 2) s += '-';
    const int int_digits = 1 + static_cast<int>(rng() % 20);
    s += int_digits == 1 ? digits(1, false) : digits(int_digits, true);
    if (rng() % 3) s += '.' + digits(1 + static_cast<int>(rng() % 24), false);
    if (rng() % 8 == 0) s += 'e' + std::to_string(static_cast<int>(rng() % 700) - 350);
    check_same(s);
  }
}

TEST_CASE("parquet numbers: the types of JSON numbers", "[parquet][numbers]") {
  CHECK(number_type("0") == ValueType::int64);
  CHECK(number_type("-9223372036854775808") == ValueType::int64);
  CHECK(number_type("9223372036854775808") == ValueType::double_);
  CHECK(number_type("1.0") == ValueType::double_);
  CHECK(number_type("1e3") == ValueType::double_);
  CHECK(number_type("1E3") == ValueType::double_);
  CHECK(number_type("1e400") == ValueType::string);
  CHECK(number_type("1e-400") == ValueType::string);
  CHECK(text_type("2023-01-02") == ValueType::date);
  CHECK(text_type("2023-01-02 10:00:00") == ValueType::timestamp);
  CHECK(text_type("2023-01-02T10:00:00+02:00") == ValueType::timestamptz);
  CHECK(text_type("2023-02-29") == ValueType::string);
  CHECK(text_type("") == ValueType::string);
  CHECK(join_types(ValueType::int64, ValueType::double_) == ValueType::double_);
  CHECK(join_types(ValueType::none, ValueType::date) == ValueType::date);
  CHECK(join_types(ValueType::boolean, ValueType::int64) == ValueType::string);
  CHECK(join_types(ValueType::timestamp, ValueType::timestamptz) == ValueType::string);
}

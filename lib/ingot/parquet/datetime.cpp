// ISO-8601 text to Parquet DATE / TIMESTAMP values (see datetime.h).
#include "ingot/parquet/datetime.h"

#include <cstdint>

namespace ingot::parquet {
namespace {

// n digits at s[at..]: their value, or -1.
int digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    const unsigned d = static_cast<unsigned char>(s[i]) - '0';
    if (d > 9) return -1;
    v = v * 10 + static_cast<int>(d);
  }
  return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil,
// the algorithm behind std::chrono::sys_days, without its general-purpose checks).
std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return std::int64_t{era} * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

TimeValue parse_iso_time(std::string_view s) {
  // Most strings fail at the first test.
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return {};
  const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return {};
  static constexpr int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > kMonthDays[mo - 1] + (mo == 2 && is_leap(y))) return {};
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (s.size() == 10) return {TimeKind::date, days};

  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return {};
  if (s.size() < 19 || s[13] != ':' || s[16] != ':') return {};
  const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return {};
  std::size_t at = 19;
  std::int64_t micros = 0;
  if (at < s.size() && s[at] == '.') {
    std::size_t n = 0;
    ++at;
    while (at + n < s.size() && n <= 6 && s[at + n] >= '0' && s[at + n] <= '9') ++n;
    if (n == 0 || n > 6) return {};
    micros = digits(s, at, n);
    for (std::size_t i = n; i < 6; ++i) micros *= 10;
    at += n;
  }
  std::int64_t v = ((days * 24 + h) * 60 + mi) * 60 + sec;
  v = v * 1000000 + micros;
  if (at == s.size()) return {TimeKind::timestamp, v};
  if ((s[at] == 'Z' || s[at] == 'z') && at + 1 == s.size()) return {TimeKind::timestamptz, v};
  if ((s[at] == '+' || s[at] == '-') && at + 6 == s.size() && s[at + 3] == ':') {
    const int oh = digits(s, at + 1, 2), om = digits(s, at + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return {};
    const std::int64_t offset = (std::int64_t{oh} * 60 + om) * 60 * 1000000;
    return {TimeKind::timestamptz, s[at] == '+' ? v - offset : v + offset};
  }
  return {};
}

}  // namespace ingot::parquet

// ISO-8601 text to Parquet DATE / TIMESTAMP values (see datetime.h).
#include "ingot/parquet/datetime.h"

#include <chrono>

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

}  // namespace

TimeValue parse_iso_time(std::string_view s) {
  // Most strings fail at the first test.
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return {};
  const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  if (y < 1 || mo < 0 || d < 0) return {};
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(mo)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return {};
  const std::int64_t days = std::chrono::sys_days{ymd}.time_since_epoch().count();
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

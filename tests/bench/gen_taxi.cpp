// gen_taxi — synthetic NYC-taxi-shaped NDJSON / CSV generator for ingot benchmarks.
//
// Usage:
//   gen_taxi --size 1G [--seed N] [--broken-rate 0.001] [--format ndjson|csv]
//            [--crlf] [--meta-after N] -o FILE|-
//
// Standard library only. Output is fully deterministic for the same arguments
// (same seed, size, format, broken rate). Sizes accept K/M/G/T suffixes
// (binary: 1K = 1024). Generation stops after the first record that makes the
// output reach --size, so the file is a few hundred bytes larger than asked.
//
// NDJSON record keys, in order (one object per line):
//   vendorid, tpep_pickup_datetime, tpep_dropoff_datetime, passenger_count,
//   trip_distance, ratecodeid, store_and_fwd_flag, pulocationid, dolocationid,
//   payment_type, fare_amount, extra, mta_tax, tip_amount, tolls_amount,
//   improvement_surcharge, total_amount, congestion_surcharge, airport_fee,
//   notes, [meta]
// * ~2.5% of records have passenger_count, ratecodeid, congestion_surcharge and
//   airport_fee = null (like the real TLC data).
// * ~1% of records omit airport_fee entirely.
// * ~0.5% of records end with "meta":{"src":"x","v":2}, but none of the first
//   --meta-after records (default 10000, ~4 MiB), so a key-union pass that
//   only samples the head of the file misses it.
// * ~2% of records have a "notes" value with an escaped quote, a comma, an
//   escaped newline, an escaped tab, raw UTF-8 (é, 東京, emoji), or a \u00e9 /
//   surrogate-pair escape.
// * ~0.3% of records have one float written in exponent form (1e-05 ...).
// * ~0.5% of records are refunds (negative amounts).
// * --broken-rate of the lines are broken (truncated object, bare word, JSON
//   array, trailing garbage, unterminated string); ~0.01% of lines are blank.
//
// CSV (--format csv): header row + the same records as RFC 4180 CSV, one
// column per key above (21 columns, "meta" holds the JSON text of the nested
// object or is empty). null and missing values are empty fields. With the
// same --seed/--broken-rate/--meta-after, CSV record k is the k-th valid
// record of the NDJSON output (broken/blank lines skipped). Fields
// containing , " CR or LF are quoted with doubled quotes; notes may contain
// real newlines inside quotes. No broken or blank lines. Line ends are LF
// (CRLF with --crlf).

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kVersion = "gen_taxi 1";

// ---------------------------------------------------------------- PRNG
struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
};

struct Xoshiro256ss {
  uint64_t s[4];
  explicit Xoshiro256ss(uint64_t seed) {
    SplitMix64 sm{seed};
    for (auto& x : s) x = sm.next();
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }
  // Uniform in [0, n), n < 2^32 (multiply-shift, negligible bias).
  uint32_t below(uint32_t n) { return uint32_t(((next() >> 32) * uint64_t(n)) >> 32); }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + int64_t(below(uint32_t(hi - lo + 1))); }
  // Uniform double in [0, 1).
  double unit() { return double(next() >> 11) * 0x1.0p-53; }
};

// Probability p as a 64-bit threshold: event happens when rng.next() < thr.
uint64_t threshold(double p) {
  if (p <= 0) return 0;
  if (p >= 1) return UINT64_MAX;
  return uint64_t(p * 18446744073709551616.0);
}

// ---------------------------------------------------------------- output buffer
class Out {
 public:
  Out(std::FILE* f, size_t cap) : f_(f), buf_(cap + kSlack), cap_(cap) { p_ = buf_.data(); }
  ~Out() = default;

  void lit(std::string_view s) {
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void ch(char c) { *p_++ = c; }
  void uint(uint64_t v) {  // digits written in place, no memcpy call
    int n = 1;
    for (uint64_t t = v; t >= 10; t /= 10) ++n;
    char* e = p_ + n;
    char* b = e;
    do {
      *--b = char('0' + v % 10);
      v /= 10;
    } while (v);
    p_ = e;
  }
  void sint(int64_t v) {
    if (v < 0) {
      ch('-');
      uint(uint64_t(-v));
    } else {
      uint(uint64_t(v));
    }
  }
  void two(unsigned v) {  // 2 digits, zero padded
    p_[0] = char('0' + v / 10);
    p_[1] = char('0' + v % 10);
    p_ += 2;
  }
  // Amount in cents written the way Python's repr(float) writes it:
  // 12.0, 12.5, 12.34, -5.5, 0.0
  void cents(int64_t c) {
    if (c < 0) {
      ch('-');
      c = -c;
    }
    uint(uint64_t(c / 100));
    ch('.');
    const unsigned frac = unsigned(c % 100);
    ch(char('0' + frac / 10));
    if (frac % 10) ch(char('0' + frac % 10));
  }

  template <size_t N>
  void fixed(const char* s) {  // constant size: inlined copy
    std::memcpy(p_, s, N);
    p_ += N;
  }

  char* pos() { return p_; }
  void set_pos(char* p) { p_ = p; }
  size_t line_len_since(const char* start) const { return size_t(p_ - start); }

  // Flushes when more than cap bytes are buffered. Call between records only.
  void maybe_flush() {
    if (size_t(p_ - buf_.data()) >= cap_) flush();
  }
  void flush() {
    const size_t n = size_t(p_ - buf_.data());
    if (n && std::fwrite(buf_.data(), 1, n, f_) != n) {
      std::perror("gen_taxi: write");
      std::exit(1);
    }
    written_ += n;
    p_ = buf_.data();
  }
  uint64_t total() const { return written_ + uint64_t(p_ - buf_.data()); }

 private:
  static constexpr size_t kSlack = 1 << 16;  // > max record size (~1.5 KB)
  std::FILE* f_;
  std::vector<char> buf_;
  size_t cap_;
  char* p_;
  uint64_t written_ = 0;
};

// ---------------------------------------------------------------- data tables
constexpr int kDaysBefore[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

// "2023-MM-DD " for each day of the year.
struct DayTable {
  char s[365][12];
  DayTable() {
    int m = 0;
    for (int d = 0; d < 365; ++d) {
      while (d >= kDaysBefore[m + 1]) ++m;
      const int md = d - kDaysBefore[m] + 1;
      std::memcpy(s[d], "2023-00-00 ", 12);
      s[d][5] = char('0' + (m + 1) / 10);
      s[d][6] = char('0' + (m + 1) % 10);
      s[d][8] = char('0' + md / 10);
      s[d][9] = char('0' + md % 10);
    }
  }
};
const DayTable kDays;

// Writes "2023-MM-DD HH:MM:SS" for t seconds since 2023-01-01 00:00:00.
void datetime(Out& o, int64_t t) {
  const int day = int(t / 86400);
  const int sec = int(t % 86400);
  o.fixed<11>(kDays.s[day]);
  o.two(unsigned(sec / 3600));
  o.ch(':');
  o.two(unsigned(sec / 60 % 60));
  o.ch(':');
  o.two(unsigned(sec % 60));
}

// Plain notes: printable ASCII, nothing that needs escaping or CSV quoting.
constexpr std::string_view kPlainNotes[] = {
    "",        "",           "",           "",           "ok",          "cash",
    "card",    "no tip",     "airport",    "short trip", "rush hour",   "receipt sent",
    "regular", "late night", "tolls paid", "meter ok",   "app booking", "street hail",
    "rain",    "2 bags",     "quiet ride", "wait time",  "via bridge",  "downtown loop",
};
constexpr size_t kNumPlainNotes = sizeof kPlainNotes / sizeof kPlainNotes[0];

// Special notes: JSON text (already escaped) and the decoded text for CSV.
struct SpecialNote {
  std::string_view json;
  std::string_view text;
};
constexpr SpecialNote kSpecialNotes[] = {
    {R"(driver said \"thanks\")", R"(driver said "thanks")"},
    {R"(\"quoted\" only)", R"("quoted" only)"},
    {"pickup at 5th Ave, corner", "pickup at 5th Ave, corner"},
    {"a,b,c", "a,b,c"},
    {R"(line one\nline two)", "line one\nline two"},
    {R"(lost item:\nblack umbrella\n)", "lost item:\nblack umbrella\n"},
    {R"(col1\tcol2)", "col1\tcol2"},
    {"café stop", "café stop"},
    {"Zürich → Montréal", "Zürich → Montréal"},
    {"東京 tourist", "東京 tourist"},
    {"great ride 🚕👍", "great ride 🚕👍"},
    {R"(caf\u00e9 latte)", "café latte"},
    {R"(taxi \ud83d\ude95 emoji escape)", "taxi 🚕 emoji escape"},
    {R"(all \"of\" it, at once\n\tnaïve 東京 🚕)", "all \"of\" it, at once\n\tnaïve 東京 🚕"},
};
constexpr size_t kNumSpecialNotes = sizeof kSpecialNotes / sizeof kSpecialNotes[0];

constexpr std::string_view kSciValues[] = {"1e-05", "-1e-05", "2.5e-05", "1e-06", "3.3e-07", "5e-05"};
constexpr size_t kNumSci = sizeof kSciValues / sizeof kSciValues[0];

constexpr std::string_view kBareWords[] = {"garbage", "undefined",          "None", "<html>", "#comment",
                                           "N/A",     "ERROR: record lost", "nul"};
constexpr std::string_view kTrailing[] = {"xyz", ",", " {\"a\":1}", "]", "}", " trailing", ";"};

// ---------------------------------------------------------------- record model
enum Field : int {
  kTripDistance,
  kFare,
  kExtra,
  kMtaTax,
  kTip,
  kTolls,
  kImprovement,
  kTotal,
  kCongestion,
  kAirport,
  kNumAmounts
};

struct Record {
  int vendor;
  int64_t pickup, dropoff;
  int passengers;  // -1 = null
  int ratecode;    // -1 = null
  bool store_fwd;
  int pu, dol;
  int payment;
  int64_t amt[kNumAmounts];  // cents (trip_distance: hundredths of a mile)
  bool amt_null[kNumAmounts];
  int sci_field;  // -1 or index into amt written as a kSciValues entry
  int sci_value;
  bool has_airport;
  bool has_meta;
  int special_note;  // -1 = plain
  int plain_note;
};

struct Config {
  uint64_t size = 0;
  uint64_t seed = 42;
  double broken_rate = 0.001;
  bool csv = false;
  bool crlf = false;
  uint64_t meta_after = 10000;
  std::string out;
};

class Generator {
 public:
  explicit Generator(const Config& c)
      : rng_(c.seed),
        aux_(c.seed ^ 0xA5A5A5A5DEADBEEFULL),
        mangle_(c.seed ^ 0x5A5A5A5A0BADF00DULL),
        meta_after_(c.meta_after),
        t_broken_(threshold(c.broken_rate)),
        t_blank_(threshold(0.0001)),
        t_null_(threshold(0.025)),
        t_no_airport_(threshold(0.01)),
        t_meta_(threshold(0.005)),
        t_special_(threshold(0.02)),
        t_sci_(threshold(0.003)),
        t_refund_(threshold(0.005)) {}

  void make(Record& r) {
    r.vendor = rng_.below(100) < 72 ? 2 : 1;
    // Distance: exponential with mean ~3.2 mi, 1.5% zero-distance trips.
    int64_t dist = 0;
    if (rng_.below(1000) >= 15) {
      dist = int64_t(-std::log(1.0 - rng_.unit()) * 320.0) + 1;
      if (dist > 9000) dist = 9000 - rng_.below(1000);
    }
    const int64_t dur = 60 + dist * int64_t(100 + rng_.below(200)) / 100 + rng_.below(600);
    r.pickup = int64_t(rng_.below(365u * 86400u - 14400u));
    r.dropoff = r.pickup + dur;

    const bool nulls = rng_.next() < t_null_;
    r.passengers = nulls ? -1 : pick_passengers();
    r.ratecode = nulls ? -1 : pick_ratecode();
    r.store_fwd = rng_.below(1000) < 5;
    r.pu = int(rng_.range(1, 265));
    r.dol = int(rng_.range(1, 265));

    r.payment = nulls ? 0 : pick_payment();
    const bool refund = rng_.next() < t_refund_;
    if (refund) r.payment = rng_.below(2) ? 3 : 4;

    int64_t fare;
    if (r.ratecode == 2) {
      fare = 7000;
    } else {
      fare = 300 + dist * 350 / 100 + dur * 35 / 60;
      fare = fare / 10 * 10;
      if (r.ratecode == 5) fare = int64_t(rng_.range(20, 150)) * 100;
    }
    int64_t extra;
    switch (rng_.below(10)) {
      case 0:
      case 1:
      case 2:
      case 3: extra = 0; break;
      case 4:
      case 5: extra = 100; break;
      case 6: extra = 250; break;
      case 7: extra = 350; break;
      case 8: extra = 50; break;
      default: extra = 600; break;
    }
    const int64_t mta = rng_.below(100) < 96 ? 50 : 0;
    int64_t tip = 0;
    if (r.payment == 1 && rng_.below(100) >= 18) tip = fare * int64_t(rng_.range(5, 30)) / 100 + rng_.below(100);
    int64_t tolls = 0;
    if (uint32_t u = rng_.below(100); u < 5)
      tolls = 655;
    else if (u < 6)
      tolls = int64_t(rng_.range(100, 3000));
    const uint32_t ui = rng_.below(100);
    const int64_t improvement = ui < 97 ? 100 : ui < 99 ? 30 : 0;
    const int64_t congestion = rng_.below(100) < 86 ? 250 : 0;
    const int64_t airport = (r.ratecode == 2 || rng_.below(100) < 8) ? 125 : 0;

    int64_t total = fare + extra + mta + tip + tolls + improvement + congestion + airport;
    r.amt[kTripDistance] = dist;
    r.amt[kFare] = fare;
    r.amt[kExtra] = extra;
    r.amt[kMtaTax] = mta;
    r.amt[kTip] = tip;
    r.amt[kTolls] = tolls;
    r.amt[kImprovement] = improvement;
    r.amt[kTotal] = total;
    r.amt[kCongestion] = congestion;
    r.amt[kAirport] = airport;
    if (refund) {
      for (int i = kFare; i < kNumAmounts; ++i) r.amt[i] = -r.amt[i];
    }
    for (bool& b : r.amt_null) b = false;
    if (nulls) r.amt_null[kCongestion] = r.amt_null[kAirport] = true;

    r.sci_field = -1;
    if (rng_.next() < t_sci_) {
      static constexpr int kSciFields[] = {kTripDistance, kExtra, kTip, kTolls, kImprovement, kAirport};
      r.sci_field = kSciFields[rng_.below(6)];
      r.sci_value = int(rng_.below(kNumSci));
      r.amt_null[r.sci_field] = false;
    }
    r.has_airport = rng_.next() >= t_no_airport_;
    r.has_meta = rng_.next() < t_meta_ && made_ >= meta_after_;
    ++made_;
    r.special_note = rng_.next() < t_special_ ? int(rng_.below(kNumSpecialNotes)) : -1;
    r.plain_note = int(rng_.below(kNumPlainNotes));
  }

  // What to write for the next NDJSON line.
  enum class LineKind { kRecord, kBlank, kBroken };
  // Line kinds and broken-line mangling use their own PRNG streams so that
  // the record stream (and the CSV output) does not depend on them.
  LineKind next_kind() {
    if (aux_.next() < t_broken_) return LineKind::kBroken;
    if (aux_.next() < t_blank_) return LineKind::kBlank;
    return LineKind::kRecord;
  }

  Xoshiro256ss& mangle() { return mangle_; }

 private:
  int pick_passengers() {
    const uint32_t u = rng_.below(1000);
    if (u < 15) return 0;
    if (u < 740) return 1;
    if (u < 880) return 2;
    if (u < 920) return 3;
    if (u < 940) return 4;
    if (u < 970) return 5;
    if (u < 999) return 6;
    return 8;
  }
  int pick_ratecode() {
    const uint32_t u = rng_.below(1000);
    if (u < 935) return 1;
    if (u < 965) return 2;
    if (u < 970) return 3;
    if (u < 975) return 4;
    if (u < 994) return 5;
    if (u < 995) return 6;
    return 99;
  }
  int pick_payment() {
    const uint32_t u = rng_.below(100);
    if (u < 78) return 1;
    if (u < 96) return 2;
    if (u < 98) return 3;
    return 4;
  }

  Xoshiro256ss rng_;     // record contents
  Xoshiro256ss aux_;     // line kinds
  Xoshiro256ss mangle_;  // broken-line variants
  uint64_t meta_after_;
  uint64_t made_ = 0;
  uint64_t t_broken_, t_blank_, t_null_, t_no_airport_, t_meta_, t_special_, t_sci_, t_refund_;
};

// ---------------------------------------------------------------- writers
void json_amount(Out& o, const Record& r, int f) {
  if (r.sci_field == f) {
    o.lit(kSciValues[r.sci_value]);
  } else if (r.amt_null[f]) {
    o.lit("null");
  } else {
    o.cents(r.amt[f]);
  }
}

// Writes the JSON object (no newline). close_notes=false leaves the notes
// string unterminated (used for broken lines).
void write_json(Out& o, const Record& r, bool close_notes = true) {
  o.lit("{\"vendorid\":");
  o.uint(unsigned(r.vendor));
  o.lit(",\"tpep_pickup_datetime\":\"");
  datetime(o, r.pickup);
  o.lit("\",\"tpep_dropoff_datetime\":\"");
  datetime(o, r.dropoff);
  o.lit("\",\"passenger_count\":");
  if (r.passengers < 0)
    o.lit("null");
  else
    o.uint(unsigned(r.passengers));
  o.lit(",\"trip_distance\":");
  json_amount(o, r, kTripDistance);
  o.lit(",\"ratecodeid\":");
  if (r.ratecode < 0)
    o.lit("null");
  else
    o.uint(unsigned(r.ratecode));
  o.lit(r.store_fwd ? ",\"store_and_fwd_flag\":\"Y\"" : ",\"store_and_fwd_flag\":\"N\"");
  o.lit(",\"pulocationid\":");
  o.uint(unsigned(r.pu));
  o.lit(",\"dolocationid\":");
  o.uint(unsigned(r.dol));
  o.lit(",\"payment_type\":");
  o.uint(unsigned(r.payment));
  o.lit(",\"fare_amount\":");
  json_amount(o, r, kFare);
  o.lit(",\"extra\":");
  json_amount(o, r, kExtra);
  o.lit(",\"mta_tax\":");
  json_amount(o, r, kMtaTax);
  o.lit(",\"tip_amount\":");
  json_amount(o, r, kTip);
  o.lit(",\"tolls_amount\":");
  json_amount(o, r, kTolls);
  o.lit(",\"improvement_surcharge\":");
  json_amount(o, r, kImprovement);
  o.lit(",\"total_amount\":");
  json_amount(o, r, kTotal);
  o.lit(",\"congestion_surcharge\":");
  json_amount(o, r, kCongestion);
  if (r.has_airport) {
    o.lit(",\"airport_fee\":");
    json_amount(o, r, kAirport);
  }
  o.lit(",\"notes\":\"");
  o.lit(r.special_note >= 0 ? kSpecialNotes[r.special_note].json : kPlainNotes[r.plain_note]);
  if (!close_notes) {
    o.ch('}');
    return;
  }
  o.ch('"');
  if (r.has_meta) o.lit(",\"meta\":{\"src\":\"x\",\"v\":2}");
  o.ch('}');
}

void write_broken(Out& o, Generator& g, Record& r) {
  Xoshiro256ss& rng = g.mangle();
  switch (rng.below(5)) {
    case 0: {  // truncated object: strict prefix, never closed
      char* start = o.pos();
      write_json(o, r);
      const size_t len = o.line_len_since(start);
      const size_t cut = 1 + rng.below(uint32_t(len - 2));  // 1 .. len-2
      o.set_pos(start + cut);
      break;
    }
    case 1:  // bare word
      o.lit(kBareWords[rng.below(sizeof kBareWords / sizeof kBareWords[0])]);
      break;
    case 2: {  // JSON array of the record's values
      o.ch('[');
      o.uint(unsigned(r.vendor));
      o.lit(",\"");
      datetime(o, r.pickup);
      o.lit("\",\"");
      datetime(o, r.dropoff);
      o.lit("\",");
      o.cents(r.amt[kTripDistance]);
      o.ch(',');
      o.uint(unsigned(r.pu));
      o.ch(',');
      o.uint(unsigned(r.dol));
      o.ch(',');
      o.cents(r.amt[kTotal]);
      o.ch(']');
      break;
    }
    case 3:  // trailing garbage after a complete object
      write_json(o, r);
      o.lit(kTrailing[rng.below(sizeof kTrailing / sizeof kTrailing[0])]);
      break;
    default:  // unterminated string (notes value never closed)
      write_json(o, r, /*close_notes=*/false);
      break;
  }
}

void csv_text(Out& o, std::string_view s) {
  bool quote = false;
  for (char c : s) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    o.lit(s);
    return;
  }
  o.ch('"');
  for (char c : s) {
    if (c == '"') o.ch('"');
    o.ch(c);
  }
  o.ch('"');
}

void csv_amount(Out& o, const Record& r, int f) {
  if (r.sci_field == f)
    o.lit(kSciValues[r.sci_value]);
  else if (!r.amt_null[f])
    o.cents(r.amt[f]);
}

void write_csv_header(Out& o, std::string_view eol) {
  o.lit(
      "vendorid,tpep_pickup_datetime,tpep_dropoff_datetime,passenger_count,trip_distance,"
      "ratecodeid,store_and_fwd_flag,pulocationid,dolocationid,payment_type,fare_amount,extra,"
      "mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,"
      "airport_fee,notes,meta");
  o.lit(eol);
}

void write_csv(Out& o, const Record& r, std::string_view eol) {
  o.uint(unsigned(r.vendor));
  o.ch(',');
  datetime(o, r.pickup);
  o.ch(',');
  datetime(o, r.dropoff);
  o.ch(',');
  if (r.passengers >= 0) o.uint(unsigned(r.passengers));
  o.ch(',');
  csv_amount(o, r, kTripDistance);
  o.ch(',');
  if (r.ratecode >= 0) o.uint(unsigned(r.ratecode));
  o.lit(r.store_fwd ? ",Y," : ",N,");
  o.uint(unsigned(r.pu));
  o.ch(',');
  o.uint(unsigned(r.dol));
  o.ch(',');
  o.uint(unsigned(r.payment));
  for (int f : {kFare, kExtra, kMtaTax, kTip, kTolls, kImprovement, kTotal, kCongestion}) {
    o.ch(',');
    csv_amount(o, r, f);
  }
  o.ch(',');
  if (r.has_airport) csv_amount(o, r, kAirport);
  o.ch(',');
  csv_text(o, r.special_note >= 0 ? kSpecialNotes[r.special_note].text : kPlainNotes[r.plain_note]);
  o.ch(',');
  if (r.has_meta) o.lit(R"("{""src"":""x"",""v"":2}")");
  o.lit(eol);
}

// ---------------------------------------------------------------- CLI
[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: gen_taxi --size SIZE [--seed N] [--broken-rate R] [--format ndjson|csv]\n"
               "                [--crlf] [--meta-after N] -o FILE|-\n"
               "  --size SIZE        approximate output size, suffix K/M/G/T (powers of 1024)\n"
               "  --seed N           PRNG seed (default 42); same arguments => same bytes\n"
               "  --broken-rate R    fraction of broken NDJSON lines (default 0.001;\n"
               "                     csv skips those records, writes no broken lines)\n"
               "  --format F         ndjson (default) or csv (RFC 4180, header row, no broken lines)\n"
               "  --crlf             csv only: CRLF line ends instead of LF\n"
               "  --meta-after N     no \"meta\" field in the first N records (default 10000)\n"
               "  -o FILE            output file, '-' for stdout\n"
               "  --version          print the generator version\n");
  std::exit(code);
}

bool parse_size(std::string_view s, uint64_t& out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data()) return false;
  std::string_view suf(p, size_t(s.data() + s.size() - p));
  uint64_t mul = 1;
  if (!suf.empty()) {
    switch (suf[0]) {
      case 'k':
      case 'K': mul = 1ULL << 10; break;
      case 'm':
      case 'M': mul = 1ULL << 20; break;
      case 'g':
      case 'G': mul = 1ULL << 30; break;
      case 't':
      case 'T': mul = 1ULL << 40; break;
      case 'b':
      case 'B': mul = 1; break;
      default: return false;
    }
    if (mul != 1) suf.remove_prefix(1);
    if (suf == "iB" || suf == "ib" || suf == "B" || suf == "b") suf = {};
    if (!suf.empty()) return false;
  }
  out = v * mul;
  return true;
}

Config parse_args(int argc, char** argv) {
  Config c;
  bool have_size = false, have_out = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen_taxi: %s needs a value\n", argv[i]);
        usage(2);
      }
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      usage(0);
    } else if (a == "--version") {
      std::puts(kVersion);
      std::exit(0);
    } else if (a == "--size") {
      if (!parse_size(value(), c.size) || c.size == 0) {
        std::fprintf(stderr, "gen_taxi: bad --size\n");
        usage(2);
      }
      have_size = true;
    } else if (a == "--seed") {
      std::string_view v = value();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), c.seed);
      if (ec != std::errc() || p != v.data() + v.size()) {
        std::fprintf(stderr, "gen_taxi: bad --seed\n");
        usage(2);
      }
    } else if (a == "--broken-rate") {
      std::string v(value());
      char* end = nullptr;
      c.broken_rate = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end || !(c.broken_rate >= 0 && c.broken_rate <= 1)) {
        std::fprintf(stderr, "gen_taxi: bad --broken-rate (0..1)\n");
        usage(2);
      }
    } else if (a == "--format") {
      std::string_view v = value();
      if (v == "csv")
        c.csv = true;
      else if (v == "ndjson" || v == "jsonl" || v == "json")
        c.csv = false;
      else {
        std::fprintf(stderr, "gen_taxi: bad --format (ndjson|csv)\n");
        usage(2);
      }
    } else if (a == "--meta-after") {
      std::string_view v = value();
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), c.meta_after);
      if (ec != std::errc() || p != v.data() + v.size()) {
        std::fprintf(stderr, "gen_taxi: bad --meta-after\n");
        usage(2);
      }
    } else if (a == "--crlf") {
      c.crlf = true;
    } else if (a == "-o" || a == "--output") {
      c.out = std::string(value());
      have_out = true;
    } else {
      std::fprintf(stderr, "gen_taxi: unknown argument '%s'\n", argv[i]);
      usage(2);
    }
  }
  if (!have_size || !have_out) usage(2);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse_args(argc, argv);

  std::FILE* f = cfg.out == "-" ? stdout : std::fopen(cfg.out.c_str(), "wb");
  if (!f) {
    std::perror(("gen_taxi: " + cfg.out).c_str());
    return 1;
  }
  std::setvbuf(f, nullptr, _IONBF, 0);  // we write in big blocks ourselves

  Out o(f, size_t(4) << 20);
  Generator g(cfg);
  Record r;
  const std::string_view eol = cfg.crlf ? "\r\n" : "\n";

  if (cfg.csv) {
    write_csv_header(o, eol);
    // Same record stream as the NDJSON output with the same arguments:
    // records that became broken or blank NDJSON lines are skipped, so
    // CSV record k == the k-th valid NDJSON record.
    while (o.total() < cfg.size) {
      const auto kind = g.next_kind();
      if (kind == Generator::LineKind::kBlank) continue;
      g.make(r);
      if (kind == Generator::LineKind::kBroken) continue;
      write_csv(o, r, eol);
      o.maybe_flush();
    }
  } else {
    while (o.total() < cfg.size) {
      switch (g.next_kind()) {
        case Generator::LineKind::kBlank: break;  // no record drawn
        case Generator::LineKind::kBroken:
          g.make(r);
          write_broken(o, g, r);
          break;
        case Generator::LineKind::kRecord:
          g.make(r);
          write_json(o, r);
          break;
      }
      o.ch('\n');
      o.maybe_flush();
    }
  }
  o.flush();
  if (f != stdout) {
    if (std::fclose(f) != 0) {
      std::perror("gen_taxi: close");
      return 1;
    }
  } else if (std::fflush(f) != 0) {
    std::perror("gen_taxi: write");
    return 1;
  }
  return 0;
}

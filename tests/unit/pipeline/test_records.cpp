// RecordLedger (pipeline/records.h): chunk-local tallies become absolute line numbers
// and byte offsets, --on-error fail and --max-errors stop at the exact record, and the
// rejects file holds exact JSON lines, appears under its name only at finish().
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ingot/pipeline/records.h"
#include "ingot/util/error.h"
#include "support.h"

using namespace ingot;
using ingot_test::TempDir;

namespace {

Chunk chunk_at(std::uint64_t seq, std::uint64_t offset, const std::string& data) {
  Chunk c;
  c.seq = seq;
  c.offset = offset;
  c.data = data.data();
  c.size = data.size();
  return c;
}

// A tally: `valid` good records, `newlines` in the chunk, and rejects as
// (local line, local offset, raw, reason).
struct R {
  std::uint64_t line, offset;
  std::string raw, reason;
};
ChunkTally tally(std::uint64_t valid, std::uint64_t newlines, const std::vector<R>& rejects, std::uint64_t blank = 0) {
  ChunkTally t;
  t.counts.valid = valid;
  t.counts.invalid = rejects.size();  // the ledger counts rejects itself; this must not be added twice
  t.counts.blank = blank;
  t.newlines = newlines;
  for (const R& r : rejects) t.rejects.push_back({r.line, r.offset, r.raw, r.reason});
  return t;
}

std::vector<std::string> names_in(const TempDir& d) {
  std::vector<std::string> v;
  for (const auto& e : std::filesystem::directory_iterator(d.path())) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("records: line numbers and offsets are absolute across chunks, after skipped header lines", "[records]") {
  TempDir d;
  // "h\n" (a header, not in the chunks), then two chunks.
  const std::string a = "ok\nbad one\nok\n", b = "x\r\nok\n";
  RecordLedger led("in.csv", {}, d.str("rej.ndjson"), 1);
  led.skip_lines(1);
  CHECK(led.next_line() == 2);
  led.add(chunk_at(0, 2, a), tally(2, 3, {{1, 3, "bad one\n", "expected 3 fields, found 1"}}));
  CHECK(led.next_line() == 5);
  led.add(chunk_at(1, 2 + a.size(), b), tally(1, 2, {{0, 0, "x\r\n", "say \"hi\"\tthen\x01"}}, 3));
  CHECK(led.next_line() == 7);
  CHECK(led.counts().valid == 3);
  CHECK(led.counts().invalid == 2);
  CHECK(led.counts().blank == 3);
  CHECK(led.counts().total() == 5);
  CHECK(led.first_reject_line() == 3);
  CHECK(led.first_reject_reason() == "expected 3 fields, found 1");
  // Nothing under the final name before finish(): only the temporary.
  auto names = names_in(d);
  REQUIRE(names.size() == 1);
  CHECK(names[0].rfind(".rej.ndjson.ingot-tmp-", 0) == 0);
  led.finish();
  CHECK(names_in(d) == std::vector<std::string>{"rej.ndjson"});
  CHECK(ingot_test::read_file(d / "rej.ndjson") ==
        "{\"line\":3,\"offset\":5,\"reason\":\"expected 3 fields, found 1\",\"raw\":\"bad one\"}\n"
        "{\"line\":5,\"offset\":16,\"reason\":\"say \\\"hi\\\"\\tthen\\u0001\",\"raw\":\"x\"}\n");
}

TEST_CASE("records: a raw record that is not UTF-8 is kept as base64, padded exactly", "[records]") {
  struct Case {
    std::string raw, field;
  };
  for (const Case& c : std::vector<Case>{{"\xff", "\"raw_base64\":\"/w==\""},
                                         {"\xff\xfe", "\"raw_base64\":\"//4=\""},
                                         {"\xff\xfe\xfd\n", "\"raw_base64\":\"//79\""},
                                         {"a\xc3\n", "\"raw_base64\":\"YcM=\""},  // a cut UTF-8 sequence
                                         {"caf\xc3\xa9\r\n", "\"raw\":\"caf\xc3\xa9\""},
                                         {"", "\"raw\":\"\""},
                                         {"\r\n", "\"raw\":\"\""}}) {
    std::string out;
    append_reject_line(out, 12, 345, "r", c.raw);
    INFO(out);
    CHECK(out == "{\"line\":12,\"offset\":345,\"reason\":\"r\"," + c.field + "}\n");
    if (c.field.find("raw_base64") == std::string::npos) CHECK(nlohmann::json::parse(out)["raw"].is_string());
  }
}

TEST_CASE("records: --on-error fail stops at the first reject, naming its absolute line", "[records]") {
  TempDir d;
  RecordLedger led("in.ndjson", {OnError::fail, std::nullopt}, d.str("rej.ndjson"), 1);
  const std::string a = "{}\n{}\n";
  led.add(chunk_at(0, 0, a), tally(2, 2, {}));
  const std::string b = "{}\nnope\n";
  try {
    led.add(chunk_at(1, a.size(), b), tally(1, 2, {{1, 3, "nope\n", "not JSON"}}));
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::data);
    CHECK(e.message() == "in.ndjson:4: invalid record: not JSON (--on-error fail)");
  }
  // The ledger is dropped without finish(): no rejects file, no temporary.
  CHECK(led.counts().invalid == 1);
}

TEST_CASE("records: --max-errors N allows N rejects and stops at the one after", "[records]") {
  for (std::uint64_t max : {0, 1, 2, 5}) {
    INFO("--max-errors " << max);
    TempDir d;
    {
      RecordLedger led("x.csv", {OnError::skip, max}, d.str("rej.ndjson"), 1);
      // Three chunks of 2 lines with one reject each (the second line).
      std::uint64_t stopped_at = 0;
      std::string what;
      std::vector<std::string> data(3, "a\nb\n");
      for (std::uint64_t k = 0; k < 3; ++k) {
        try {
          led.add(chunk_at(k, 4 * k, data[k]), tally(1, 2, {{1, 2, "b\n", "bad " + std::to_string(k + 1)}}));
        } catch (const Error& e) {
          stopped_at = *e.line();
          what = e.message();
          break;
        }
      }
      if (max >= 3) {
        CHECK(stopped_at == 0);
        led.finish();
        CHECK(ingot_test::lines_of(ingot_test::read_file(d / "rej.ndjson")).size() == 3);
      } else {
        CHECK(stopped_at == 2 * max + 2);  // the (max+1)-th reject: line 2 of chunk max
        CHECK(what == "x.csv:" + std::to_string(2 * max + 2) + ": more than " + std::to_string(max) +
                          " invalid records (--max-errors); last: bad " + std::to_string(max + 1));
        CHECK(led.counts().invalid == max + 1);
      }
    }
    if (max < 3) CHECK(names_in(d).empty());  // stopped: the temporary went with the ledger
  }
}

TEST_CASE("records: empty input, no rejects file, and a rejects file larger than the write buffer", "[records]") {
  TempDir d;
  {
    RecordLedger led("e.csv", {}, d.str("empty.ndjson"), 1);
    CHECK(led.counts().total() == 0);
    CHECK(led.first_reject_line() == 0);
    CHECK(led.first_reject_reason().empty());
    led.finish();
  }
  CHECK(std::filesystem::exists(d / "empty.ndjson"));
  CHECK(std::filesystem::file_size(d / "empty.ndjson") == 0);

  {
    RecordLedger led("n.csv", {}, "", 10);  // no --rejects: counted only
    const std::string c = "x\n";
    led.add(chunk_at(0, 0, c), tally(0, 1, {{0, 0, "x\n", "bad"}}));
    led.finish();
    CHECK(led.counts().invalid == 1);
    CHECK(led.first_reject_line() == 10);
  }
  CHECK(names_in(d) == std::vector<std::string>{"empty.ndjson"});

  // 5,000 rejects of ~100 bytes: written in several flushes, all of them, in order.
  RecordLedger led("big.csv", {}, d.str("big.ndjson"), 1);
  const std::string raw(60, 'z');
  std::string expect;
  for (std::uint64_t k = 0; k < 5000; ++k) {
    const std::string data = raw + "\n";
    led.add(chunk_at(k, k * 61, data), tally(0, 1, {{0, 0, data, "r" + std::to_string(k)}}));
    append_reject_line(expect, k + 1, k * 61, "r" + std::to_string(k), data);
  }
  led.finish();
  CHECK(expect.size() > 4 * 65536);
  CHECK(ingot_test::read_file(d / "big.ndjson") == expect);
}

TEST_CASE("records: restart() forgets counts, line numbers and rejects as if just made", "[records]") {
  TempDir d;
  const std::string a = "ok\nbad\n", b = "ok\n";
  RecordLedger led("in.ndjson", {}, d.str("rej.ndjson"), 10);
  led.add(chunk_at(0, 0, a), tally(1, 2, {{1, 3, "bad\n", "first"}}));
  led.add(chunk_at(1, a.size(), b), tally(1, 1, {}));
  REQUIRE(led.can_restart());
  led.restart();
  CHECK(led.counts().total() == 0);
  CHECK(led.next_line() == 10);
  CHECK(led.first_reject_line() == 0);
  CHECK(led.first_reject_reason().empty());
  led.add(chunk_at(0, 0, a), tally(1, 2, {{1, 3, "bad\n", "second"}}));
  CHECK(led.first_reject_line() == 11);
  led.finish();
  CHECK(names_in(d) == std::vector<std::string>{"rej.ndjson"});
  CHECK(ingot_test::read_file(d / "rej.ndjson") ==
        "{\"line\":11,\"offset\":3,\"reason\":\"second\",\"raw\":\"bad\"}\n");
  RecordLedger none("in.ndjson", {}, "", 1);
  CHECK(none.can_restart());
  RecordLedger to_stdout("in.ndjson", {}, "-", 1);
  CHECK_FALSE(to_stdout.can_restart());
}

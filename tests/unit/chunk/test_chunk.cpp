// The chunker must cut only on record ends, for every chunk size, and the ranges of
// --part K/N must tile the file on record starts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "ingot/chunk/boundary.h"
#include "ingot/chunk/chunker.h"
#include "ingot/format/csv.h"
#include "ingot/util/error.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

std::vector<Chunk> cut(const std::string& path, RecordKind kind, std::size_t chunk_size, std::string& joined,
                       std::uint64_t begin = 0, std::uint64_t end = kToEnd) {
  InputFile in = InputFile::open(path);
  ChunkerOptions o;
  o.chunk_size = chunk_size;
  Chunker chunker(in, kind, begin, end, o);
  std::vector<Chunk> chunks;
  Buffer buf;
  Chunk c;
  joined.clear();
  while (chunker.next(buf, c)) {
    joined.append(c.data, c.size);
    chunks.push_back(c);
  }
  return chunks;
}

// The grammar one byte at a time, written from ARCHITECTURE.md's four states (Python's
// csv module's): the states before each byte of text, from a record start (size + 1).
enum class Ref { start_field, in_field, in_quoted, quote_in_quoted };
Ref ref_step(Ref s, char c, char d) {
  switch (s) {
    case Ref::start_field:
      if (c == '"') return Ref::in_quoted;
      return c == d || c == '\n' ? Ref::start_field : Ref::in_field;
    case Ref::in_field: return c == d || c == '\n' ? Ref::start_field : Ref::in_field;
    case Ref::in_quoted: return c == '"' ? Ref::quote_in_quoted : Ref::in_quoted;
    case Ref::quote_in_quoted:
      if (c == '"') return Ref::in_quoted;
      return c == d || c == '\n' ? Ref::start_field : Ref::in_field;
  }
  return s;
}
std::vector<Ref> ref_states(const std::string& t, char d, Ref from = Ref::start_field) {
  std::vector<Ref> st{from};
  for (char c : t) st.push_back(ref_step(st.back(), c, d));
  return st;
}
// One past every '\n' read outside quotes.
std::set<std::uint64_t> ref_ends(const std::string& t, RecordKind kind) {
  std::set<std::uint64_t> ends;
  const auto st = ref_states(t, default_delimiter(kind));
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\n' && (!is_delimited(kind) || st[i] != Ref::in_quoted)) ends.insert(i + 1);
  }
  return ends;
}

std::set<std::uint64_t> record_ends(const std::string& text, RecordKind kind) {
  std::set<std::uint64_t> ends = ref_ends(text, kind);
  ends.insert(text.size());
  return ends;
}

void check_all_chunk_sizes(const std::string& text, RecordKind kind) {
  TempDir dir;
  write_file(dir / "in", text);
  const auto ends = record_ends(text, kind);
  for (std::size_t cs = 1; cs <= text.size() + 1; ++cs) {
    std::string joined;
    auto chunks = cut(dir.str("in"), kind, cs, joined);
    INFO("chunk size " << cs);
    REQUIRE(joined == text);
    for (const Chunk& c : chunks) {
      REQUIRE(ends.count(c.offset + c.size) == 1);
      REQUIRE(c.size > 0);
    }
  }
}

}  // namespace

TEST_CASE("chunk: CSV quoted newline straddles every cut point", "[chunk][csv]") {
  const std::string text =
      "id,note,n\n"
      "1,\"two\nlines\",3\n"
      "2,\"with \"\"quotes\"\" and\r\nCRLF\",4\r\n"
      "3,\"\",\"\n\n\"\n"
      "4,plain,5\n";
  check_all_chunk_sizes(text, RecordKind::csv);
  // The cut must never fall inside the quoted newline of record 1.
  auto ends = record_ends(text, RecordKind::csv);
  REQUIRE(ends.count(text.find("two\n") + 4) == 0);
}

TEST_CASE("chunk: lines and NDJSON cut after every newline only", "[chunk][lines]") {
  check_all_chunk_sizes("a\nbb\n\nccc\r\nlast without newline", RecordKind::lines);
  check_all_chunk_sizes("{\"a\":1}\n{\"b\":\"x\\ny\"}\n", RecordKind::ndjson);
}

TEST_CASE("chunk: a record longer than the chunk size is one chunk", "[chunk]") {
  TempDir dir;
  std::string big(10000, 'x');
  std::string text = "short\n" + big + "\nafter\n";
  write_file(dir / "in", text);
  InputFile in = InputFile::open(dir.str("in"));
  ChunkerOptions o;
  o.chunk_size = 64;
  Chunker chunker(in, RecordKind::lines, 0, kToEnd, o);
  Buffer buf;
  Chunk c;
  std::string joined;
  bool whole = false;
  while (chunker.next(buf, c)) {
    joined.append(c.data, c.size);
    whole |= std::string(c.data, c.size).find(big + "\n") != std::string::npos;
  }
  REQUIRE(joined == text);
  REQUIRE(whole);
}

TEST_CASE("chunk: a record over --max-record-size is a clear error", "[chunk]") {
  TempDir dir;
  write_file(dir / "in", "a,\"unbalanced quote\n" + std::string(5000, 'y') + "\nmore\n");
  InputFile in = InputFile::open(dir.str("in"));
  ChunkerOptions o;
  o.chunk_size = 64;
  o.max_record = 1024;
  Chunker chunker(in, RecordKind::csv, 0, kToEnd, o);
  Buffer buf;
  Chunk c;
  // The quote opens a field (it follows a delimiter) and never closes: the record runs
  // past the limit first, and the error says where the quote opened.
  REQUIRE_THROWS_WITH(chunker.next(buf, c), Catch::Contains("record longer than --max-record-size (1.0 KiB); "
                                                            "an unclosed quote opened on line 1?"));
}

TEST_CASE("chunk: the limit holds for a last record without a final newline", "[chunk]") {
  TempDir dir;
  // The over-long record is the last one and the file ends without a newline: there is
  // no record end to wait for, which once let it through.
  for (RecordKind kind : {RecordKind::lines, RecordKind::ndjson, RecordKind::csv}) {
    CAPTURE(record_kind_name(kind));
    write_file(dir / "in", "a\nb\n" + std::string(5000, 'y'));
    InputFile in = InputFile::open(dir.str("in"));
    ChunkerOptions o;
    o.chunk_size = 64;
    o.max_record = 1024;
    Chunker chunker(in, kind, 0, kToEnd, o);
    Buffer buf;
    Chunk c;
    auto r = ingot::capture([&] {
      while (chunker.next(buf, c)) {
      }
      return 0;
    });
    REQUIRE(!r);
    CHECK(r.error().message().find(":3: record longer than --max-record-size (1.0 KiB)") != std::string::npos);
    CHECK(r.error().offset() == std::optional<std::uint64_t>(4));
    // Exactly the limit passes whole.
    write_file(dir / "ok", "a\nb\n" + std::string(1024, 'y'));
    InputFile ok = InputFile::open(dir.str("ok"));
    Chunker fine(ok, kind, 0, kToEnd, o);
    std::string got;
    while (fine.next(buf, c)) got.append(c.data, c.size);
    CHECK(got == "a\nb\n" + std::string(1024, 'y'));
  }
}

TEST_CASE("chunk: empty input gives no chunk, and no final newline keeps the tail", "[chunk]") {
  TempDir dir;
  write_file(dir / "empty", "");
  std::string joined;
  REQUIRE(cut(dir.str("empty"), RecordKind::csv, 16, joined).empty());
  write_file(dir / "tail", "a\nb");
  auto chunks = cut(dir.str("tail"), RecordKind::lines, 1, joined);
  REQUIRE(joined == "a\nb");
  REQUIRE(chunks.back().last);
}

TEST_CASE("chunk: --part ranges tile the file on record starts", "[chunk][part]") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 500; ++i) {
    text += std::to_string(i) + ",\"field " + std::to_string(i) + (i % 7 == 0 ? "\nwith newline" : "") +
            (i % 11 == 0 ? " and \"\"quote\"\"" : "") + "\",x\n";
  }
  write_file(dir / "in.csv", text);
  InputFile in = InputFile::open(dir.str("in.csv"));
  const auto starts = record_ends(text, RecordKind::csv);
  for (std::uint64_t n : {1, 2, 3, 7, 64}) {
    std::uint64_t expect_begin = 0;
    std::string joined;
    for (std::uint64_t k = 1; k <= n; ++k) {
      ByteRange r = part_range(in, RecordKind::csv, k, n);
      INFO("part " << k << "/" << n);
      REQUIRE(r.begin == expect_begin);
      REQUIRE((r.end == 0 || starts.count(r.end) == 1));
      expect_begin = r.end;
      joined += text.substr(r.begin, r.end - r.begin);
    }
    REQUIRE(expect_begin == text.size());
    REQUIRE(joined == text);
  }
  // Every byte position aligns to a true record start, never before pos.
  std::uint64_t prev = 0;
  for (std::uint64_t pos = 1; pos < text.size(); pos += 13) {
    const std::uint64_t a = align_to_record(in, pos, RecordKind::csv);
    REQUIRE(starts.count(a) == 1);
    REQUIRE(a >= pos);
    REQUIRE(a >= prev);
    prev = a;
  }
}

namespace {

// align_to_record's definition, one byte at a time: run the grammar from q under all
// its states; after the byte where the runs agree, the first '\n' outside quotes. No
// agreement within `window` bytes: the first true record end at or after q + window.
std::uint64_t ref_align(const std::string& t, std::uint64_t pos, std::uint64_t window) {
  if (pos == 0 || pos >= t.size()) return std::min<std::uint64_t>(pos, t.size());
  const std::uint64_t q = pos - 1;
  const auto truth = ref_states(t, ',');
  auto outside_nl = [&](std::uint64_t from, const std::vector<Ref>& st, std::uint64_t base) -> std::uint64_t {
    for (std::uint64_t i = from; i < t.size(); ++i) {
      if (t[i] == '\n' && st[i - base] != Ref::in_quoted) return i + 1;
    }
    return t.size();
  };
  // Four starting states of the reference, but start_field and quote_in_quoted read
  // every byte the same way (both open on '"'), so they are one hypothesis.
  std::vector<std::vector<Ref>> runs;
  for (Ref r : {Ref::start_field, Ref::in_field, Ref::in_quoted}) runs.push_back(ref_states(t.substr(q), ',', r));
  auto same = [](Ref a, Ref b) {
    auto norm = [](Ref x) { return x == Ref::quote_in_quoted ? Ref::start_field : x; };
    return norm(a) == norm(b);
  };
  for (std::uint64_t i = q; i < t.size() && i < q + window; ++i) {
    const std::size_t k = i + 1 - q;
    if (same(runs[0][k], runs[1][k]) && same(runs[1][k], runs[2][k])) return outside_nl(i + 1, runs[0], q);
  }
  if (q + window >= t.size()) return t.size();
  return outside_nl(q + window, truth, 0);
}

std::string random_csv(std::mt19937& rng, std::size_t len, bool adversarial) {
  const char alphabet[] = {'a', 'b', ',', ',', '"', '"', '\n', '\r', ' ', 'x'};
  std::string t;
  while (t.size() < len) {
    if (adversarial) {
      t += rng() % 8 == 0 ? "\"\"\n" : "\"\",";
    } else {
      t += alphabet[rng() % sizeof alphabet];
    }
  }
  return t;
}

}  // namespace

TEST_CASE("chunk: CSV cuts and record scans equal the byte-at-a-time grammar on random input", "[chunk][csv]") {
  std::mt19937 rng(11);
  TempDir dir;
  for (int round = 0; round < 40; ++round) {
    const std::string text = random_csv(rng, 20 + rng() % 180, round % 10 == 9);
    INFO("round " << round << " text: " << text);
    const auto ends = ref_ends(text, RecordKind::csv);
    // Every prefix: the scans from a record start find exactly the reference's ends.
    for (std::size_t n = 0; n <= text.size(); ++n) {
      std::vector<std::size_t> want(ends.begin(), ends.upper_bound(n));
      std::vector<std::size_t> got;
      for_each_record_end(text.data(), n, RecordKind::csv, [&](std::size_t e) { got.push_back(e); });
      REQUIRE(got == want);
      REQUIRE(last_record_end(text.data(), n, RecordKind::csv) == (want.empty() ? 0 : want.back()));
      REQUIRE(count_record_ends(text.data(), n, RecordKind::csv) == want.size());
      const RecordScan sc = scan_records(text.data(), n, RecordKind::csv);
      REQUIRE(sc.records == want.size());
      REQUIRE(sc.first_end == (want.empty() ? 0 : want.front()));
    }
    // Every chunk size cuts on reference ends only (an input ending inside quotes is
    // an error, tested apart).
    if (ref_states(text, ',').back() == Ref::in_quoted) continue;
    write_file(dir / "in", text);
    const auto all = record_ends(text, RecordKind::csv);
    for (std::size_t cs = 1; cs <= text.size() + 1; ++cs) {
      std::string joined;
      for (const Chunk& c : cut(dir.str("in"), RecordKind::csv, cs, joined)) REQUIRE(all.count(c.offset + c.size) == 1);
      REQUIRE(joined == text);
    }
  }
}

TEST_CASE("chunk: stray quotes at every cut position keep every record whole", "[chunk][csv]") {
  // Quotes inside unquoted fields, text after closing quotes, quoted newlines, CRLF:
  // for every chunk size from 1 byte to past the whole input.
  std::string text = "id,name,height\n";
  for (int i = 0; i < 12; ++i) {
    text += std::to_string(i) + (i % 3 == 0   ? ",O\"Neil,5'11\"\n"
                                 : i % 3 == 1 ? ",\"a\nb\"c\"d,12\" pipe\r\n"
                                              : ",\"x,\"\"y\"\"\",\"\"\n");
  }
  REQUIRE(text.size() <= 300);
  check_all_chunk_sizes(text, RecordKind::csv);
}

TEST_CASE("chunk: align_to_record equals its byte-at-a-time definition for every position", "[chunk][csv][part]") {
  std::mt19937 rng(5);
  TempDir dir;
  for (int round = 0; round < 30; ++round) {
    const bool adversarial = round % 5 == 4;
    const std::string text = random_csv(rng, 50 + rng() % 250, adversarial);
    write_file(dir / "in.csv", text);
    InputFile in = InputFile::open(dir.str("in.csv"));
    const auto starts = record_ends(text, RecordKind::csv);
    for (std::uint64_t window : {std::uint64_t{3}, std::uint64_t{40}, kAlignConvergeWindow}) {
      std::uint64_t prev = 0;
      for (std::uint64_t pos = 0; pos <= text.size(); ++pos) {
        INFO("round " << round << " window " << window << " pos " << pos << " text: " << text);
        const std::uint64_t a = pos == 0 || pos >= text.size() ? std::min<std::uint64_t>(pos, text.size())
                                                               : align_csv(in, pos - 1, ',', window);
        REQUIRE(a == ref_align(text, pos, window));
        REQUIRE(starts.count(a) + (a == 0) >= 1);  // a true record start
        REQUIRE(a >= prev);                        // nondecreasing: parts tile
        prev = a;
      }
    }
  }
}

TEST_CASE("chunk: align_to_record on fields that never tell inside from outside falls back exactly",
          "[chunk][csv][part]") {
  // Every field "": read from any byte, the inside and the outside readings swap at
  // every quote and never agree, so only a scan from the start can place a cut.
  std::string text;
  while (text.size() < 3 * 1024 * 1024) text += "\"\",\"\",\"\"\n";
  TempDir dir;
  write_file(dir / "in.csv", text);
  InputFile in = InputFile::open(dir.str("in.csv"));
  const auto starts = record_ends(text, RecordKind::csv);
  for (std::uint64_t pos : {std::uint64_t{1}, std::uint64_t{5}, std::uint64_t{1000}, std::uint64_t{1} << 20,
                            (std::uint64_t{1} << 21) + 3}) {
    const std::uint64_t a = align_to_record(in, pos, RecordKind::csv);
    INFO("pos " << pos);
    REQUIRE(a == *starts.lower_bound(pos - 1 + kAlignConvergeWindow));
  }
  for (std::uint64_t n : {2, 3, 5}) {
    std::string joined;
    for (std::uint64_t k = 1; k <= n; ++k) {
      ByteRange r = part_range(in, RecordKind::csv, k, n);
      joined += text.substr(r.begin, r.end - r.begin);
    }
    REQUIRE(joined == text);
  }
}

namespace {

// The chunker's verdict on a whole input: the chunks joined, or the error message.
std::string chunk_all(const std::string& path, RecordKind kind, std::size_t chunk, std::size_t limit) {
  InputFile in = InputFile::open(path);
  ChunkerOptions o;
  o.chunk_size = chunk;
  o.max_record = limit;
  Chunker chunker(in, kind, 0, kToEnd, o);
  Buffer buf;
  Chunk c;
  std::string joined;
  auto r = ingot::capture([&] {
    while (chunker.next(buf, c)) joined.append(c.data, c.size);
    return 0;
  });
  return r ? joined : "error: " + r.error().message();
}

}  // namespace

TEST_CASE("chunk: --max-record-size is exact for every chunk size and record kind", "[chunk][limit]") {
  TempDir dir;
  constexpr std::size_t kLimit = 100;
  // A record of `len` content bytes for each kind; the terminator does not count.
  auto record = [](RecordKind kind, std::size_t len, const char* eol) {
    if (kind == RecordKind::ndjson) return "{\"k\":\"" + std::string(len - 8, 'v') + "\"}" + eol;
    if (kind == RecordKind::csv)
      return "1,\"" + std::string((len - 5) / 2, 'q') + "\n" + std::string(len - 5 - (len - 5) / 2, 'q') + "\"" + eol;
    return std::string(len, 'l') + eol;
  };
  for (RecordKind kind : {RecordKind::lines, RecordKind::ndjson, RecordKind::csv}) {
    for (const char* eol : {"\n", "\r\n"}) {
      for (int where = 0; where < 3; ++where) {  // first, middle, last record (unterminated)
        for (std::size_t len : {kLimit, kLimit + 1}) {
          std::string text;
          std::uint64_t line = 0;  // of the record of `len` bytes
          for (int i = 0; i < 3; ++i) {
            const std::size_t l = i == where ? len : 10 + i;
            if (i == where) line = 1 + static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
            text += record(kind, l, i == 2 ? "" : eol);
          }
          write_file(dir / "in", text);
          for (std::size_t cs : {1, 7, 64, 99, 100, 101, 102, 150, 4096}) {
            INFO(record_kind_name(kind) << " eol " << (eol[0] == '\r' ? "CRLF" : "LF") << " where " << where << " len "
                                        << len << " chunk " << cs);
            const std::string got = chunk_all(dir.str("in"), kind, cs, kLimit);
            if (len == kLimit) {
              REQUIRE(got == text);
            } else {
              REQUIRE(got == "error: " + dir.str("in") + ":" + std::to_string(line) +
                                 ": record longer than --max-record-size (100 B)");
            }
          }
        }
      }
    }
  }
}

TEST_CASE("chunk: an unclosed quote stops the run naming the line it opened on", "[chunk][csv]") {
  TempDir dir;
  const std::string text = "a,b\n1,2\n3,x\n\"open\nmore,4\n5,6\n";
  write_file(dir / "in.csv", text);
  for (std::size_t cs = 1; cs <= text.size() + 1; ++cs) {
    INFO("chunk " << cs);
    REQUIRE(chunk_all(dir.str("in.csv"), RecordKind::csv, cs, 1 << 20) ==
            "error: " + dir.str("in.csv") + ":4: unclosed quote (opened on line 4) runs to the end of the file");
  }
  // The quote opens on a later line of a record that started earlier.
  write_file(dir / "late.csv", "a,b\n1,\"two\nlines\",\"x\ny,\"\"z\n");
  REQUIRE(chunk_all(dir.str("late.csv"), RecordKind::csv, 4, 1 << 20) ==
          "error: " + dir.str("late.csv") + ":2: unclosed quote (opened on line 3) runs to the end of the file");
  // Grown past the limit first: the limit's error, with the quote's line.
  REQUIRE(chunk_all(dir.str("in.csv"), RecordKind::csv, 4, 8) ==
          "error: " + dir.str("in.csv") +
              ":4: record longer than --max-record-size (8 B); an unclosed quote opened on line 4?");
}

TEST_CASE("chunk: after a UTF-8 BOM at the file's start a quote opens a field, for every chunk size and align position",
          "[chunk][csv][bom]") {
  // The tokenizer skips the mark, so the grammar that cuts records must start after it
  // too: the quoted newline of the first record is not a record end.
  TempDir dir;
  const std::string text = "\xEF\xBB\xBF\"a\nb\",c\nd,\"e\nf\"\n";
  const std::uint64_t first_end = text.find("c\n") + 2;
  write_file(dir / "in.csv", text);
  for (std::size_t size = 1; size <= text.size() + 1; ++size) {
    CAPTURE(size);
    std::string joined;
    auto chunks = cut(dir.str("in.csv"), RecordKind::csv, size, joined);
    REQUIRE(joined == text);
    for (const Chunk& c : chunks) {
      const std::uint64_t end = c.offset + c.size;
      CHECK((end == first_end || end == text.size()));
    }
  }
  InputFile in = InputFile::open(dir.str("in.csv"));
  // Inside the mark the runs under every state would read it as data; from there the
  // first record end is certain. Later positions may skip an uncertain start, never
  // land on a false one.
  for (std::uint64_t pos = 1; pos <= text.size(); ++pos) {
    CAPTURE(pos);
    const std::uint64_t a = align_to_record(in, pos, RecordKind::csv);
    if (pos <= 3) CHECK(a == first_end);
    CHECK(a >= pos);
    CHECK((a == first_end || a == text.size()));
  }
  CHECK(
      scan_records(text.data(), text.size(), RecordKind::csv, 0, leading_bom(text.data(), text.size(), 0)).first_end ==
      first_end);
  CHECK(leading_bom(text.data(), text.size(), 1) == 0);  // only at the input's start
  // A header taken from the front of the file ends at the same place.
  Chunker ch(in, RecordKind::csv, 0, kToEnd, ChunkerOptions{});
  CHECK(ch.take_first_record() == text.substr(0, first_end));
}

TEST_CASE("chunk: a last record ending in a bare CR is as long as with CRLF for --max-record-size", "[chunk][limit]") {
  // The tokenizer strips a '\r' at the end of the input like a terminator, so it does
  // not count; one more content byte still does.
  TempDir dir;
  for (RecordKind kind : {RecordKind::csv, RecordKind::tsv, RecordKind::lines}) {
    CAPTURE(record_kind_name(kind));
    for (std::size_t size : {1, 3, 64}) {
      CAPTURE(size);
      ChunkerOptions o;
      o.chunk_size = size;
      o.max_record = 10;
      Buffer buf;
      Chunk c;
      write_file(dir / "ok", "h\nab\n0123456789\r");
      InputFile ok = InputFile::open(dir.str("ok"));
      Chunker fine(ok, kind, 0, kToEnd, o);
      std::string got;
      while (fine.next(buf, c)) got.append(c.data, c.size);
      CHECK(got == "h\nab\n0123456789\r");
      write_file(dir / "long", "h\nab\n0123456789x\r");
      InputFile lng = InputFile::open(dir.str("long"));
      Chunker over(lng, kind, 0, kToEnd, o);
      auto r = ingot::capture([&] {
        while (over.next(buf, c)) {
        }
        return 0;
      });
      REQUIRE(!r);
      CHECK(r.error().message().find(":3: record longer than --max-record-size") != std::string::npos);
    }
  }
}

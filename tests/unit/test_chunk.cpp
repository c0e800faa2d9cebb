// The chunker must cut only on record ends, for every chunk size, and the ranges of
// --part K/N must tile the file on record starts.
#include <catch2/catch.hpp>
#include <libfccp/csv.h>

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

std::set<std::uint64_t> record_ends(const std::string& text, RecordKind kind) {
  std::set<std::uint64_t> ends;
  for_each_record_end(text.data(), text.size(), kind, [&](std::size_t e) { ends.insert(e); });
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
  REQUIRE_THROWS_WITH(chunker.next(buf, c), Catch::Contains("unbalanced quote"));
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
    CHECK(r.error().message().find("a record is longer than the record size limit (1.0 KiB, --max-record-size)") !=
          std::string::npos);
    CHECK(r.error().offset() == std::optional<std::uint64_t>(4));
    // Just under the limit passes whole.
    write_file(dir / "ok", "a\nb\n" + std::string(1023, 'y'));
    InputFile ok = InputFile::open(dir.str("ok"));
    Chunker fine(ok, kind, 0, kToEnd, o);
    std::string got;
    while (fine.next(buf, c)) got.append(c.data, c.size);
    CHECK(got == "a\nb\n" + std::string(1023, 'y'));
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
  // Every byte position aligns to the same record start the exact scan finds.
  for (std::uint64_t pos = 1; pos < text.size(); pos += 13) {
    auto next = starts.lower_bound(pos);
    REQUIRE(align_to_record(in, pos, RecordKind::csv) == *next);
  }
}

TEST_CASE("csv: tokenizer agrees with fast-cpp-csv-parser where that applies", "[csv]") {
  // fccp cannot read quoted newlines, so the reference data has none.
  TempDir dir;
  std::string text = "a,b,c\n";
  for (int i = 0; i < 200; ++i) {
    text += std::to_string(i) + ",\"x, " + std::to_string(i * 3) + "\",\"say \"\"" + std::to_string(i) + "\"\"\"\n";
  }
  write_file(dir / "ref.csv", text);
  io::CSVReader<3, io::trim_chars<>, io::double_quote_escape<',', '"'>> ref(dir.str("ref.csv"));
  ref.read_header(io::ignore_no_column, "a", "b", "c");
  CsvTokenizer tok(',');
  tok.reset(text.data(), text.size());
  CsvRecord rec;
  REQUIRE(tok.next(rec));  // header
  std::string a, b, c;
  int rows = 0;
  while (ref.read_row(a, b, c)) {
    REQUIRE(tok.next(rec));
    REQUIRE(rec.error == nullptr);
    REQUIRE(rec.fields.size() == 3);
    CHECK(rec.fields[0] == a);
    CHECK(rec.fields[1] == b);
    CHECK(rec.fields[2] == c);
    ++rows;
  }
  REQUIRE(rows == 200);
  REQUIRE_FALSE(tok.next(rec));
}

TEST_CASE("csv: malformed quoting marks the record but keeps its end", "[csv]") {
  const std::string text = "1,ab\"c,d\"e\n2,\"ok\"x,y\n3,\"fine\"\n4,\"open";
  CsvTokenizer tok(',');
  tok.reset(text.data(), text.size());
  CsvRecord rec;
  REQUIRE(tok.next(rec));
  REQUIRE(rec.error != nullptr);
  REQUIRE(rec.raw(text.data()) == "1,ab\"c,d\"e\n");
  REQUIRE(tok.next(rec));
  REQUIRE(std::string(rec.error) == "text after a closing quote");
  REQUIRE(tok.next(rec));
  REQUIRE(rec.error == nullptr);
  REQUIRE(rec.fields[1] == "fine");
  REQUIRE(tok.next(rec));
  REQUIRE(std::string(rec.error) == "unterminated quoted field");
  REQUIRE_FALSE(tok.next(rec));
}

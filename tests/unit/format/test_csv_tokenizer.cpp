// The windowed CSV tokenizer against a byte-at-a-time reference written straight from
// the rules in ARCHITECTURE.md, on randomized inputs: quotes, doubled quotes, CR, LF,
// delimiters, field lengths around the 64-byte window edges, inputs cut anywhere (a
// chunk may end inside a quoted field), and bytes after the end that must not be read;
// also against fast-cpp-csv-parser, and the strict reading of malformed quoting.
#include <catch2/catch.hpp>
#include <libfccp/csv.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ingot/format/csv.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

struct RefRecord {
  std::vector<std::string> fields;
  std::size_t begin = 0, end = 0;
  std::uint32_t newlines = 0;
  std::string error;  // empty when well formed
};

// The grammar one byte at a time, as Python's csv module (_csv.c, strict=False) reads
// it: a '"' opens a quoted field only at a field's start, is literal inside an unquoted
// field, and text after a closing quote joins the field. Differences, by design: a '\r'
// is data unless it comes before '\n' (or ends the input), and an input that ends inside
// quotes is an error. `strict` marks the two lenient readings as errors, keeping the ends.
std::vector<RefRecord> reference_tokenize(const std::string& t, char d, bool strict = false) {
  enum State { start_field, in_field, in_quoted, quote_in_quoted };
  std::vector<RefRecord> out;
  const std::size_t n = t.size();
  std::size_t i = 0;
  while (i < n) {
    RefRecord r;
    r.begin = i;
    State st = start_field;
    std::string f;
    auto mark = [&](const char* why) {
      if (strict && r.error.empty()) r.error = why;
    };
    // A field ended by '\n' (or the input's end) loses a final '\r' read unquoted.
    auto save = [&](bool line_end = false) {
      if (line_end && st == in_field && !f.empty() && f.back() == '\r') f.pop_back();
      r.fields.push_back(f);
      f.clear();
    };
    bool ended = false;
    for (; i < n && !ended; ++i) {
      const char c = t[i];
      switch (st) {
        case start_field:
        case in_field:
          if (c == '"' && st == start_field) {
            st = in_quoted;
          } else if (c == d) {
            save();
            st = start_field;
          } else if (c == '\n') {
            ++r.newlines;
            save(true);
            ended = true;
          } else {
            if (c == '"') mark("quote inside an unquoted field");
            f += c;
            st = in_field;
          }
          break;
        case in_quoted:
          if (c == '"') {
            st = quote_in_quoted;
          } else {
            if (c == '\n') ++r.newlines;
            f += c;
          }
          break;
        case quote_in_quoted:
          if (c == '"') {
            f += c;
            st = in_quoted;
          } else if (c == d) {
            save();
            st = start_field;
          } else if (c == '\n') {
            ++r.newlines;
            save();
            ended = true;
          } else if (c == '\r' && (i + 1 == n || t[i + 1] == '\n')) {
            // the CR of a CRLF (or of the input's end) after a closing quote
          } else {
            mark("text after a closing quote");
            f += c;
            st = in_field;
          }
          break;
      }
    }
    if (!ended) {
      if (st == in_quoted) {
        r.error = "unterminated quoted field";
      } else {
        save(true);
      }
    }
    r.end = i;
    out.push_back(std::move(r));
  }
  return out;
}

// Tokenizes text[0, size) from a buffer whose bytes after `size` are all specials, so
// a read past the end would show up as a wrong field; the text starts at `align` bytes
// into the buffer so windows fall at every alignment.
void check_same(CsvTokenizer& tok, const std::string& text, char d, std::size_t align, bool strict = false) {
  std::string buf(align, 'x');
  buf += text;
  buf += std::string(80, '"') + std::string(80, d) + std::string(80, '\n');
  tok.set_delimiter(d);
  tok.set_strict_quotes(strict);
  tok.reset(buf.data() + align, text.size());
  const auto ref = reference_tokenize(text, d, strict);
  CsvRecord rec;
  for (std::size_t k = 0; k < ref.size(); ++k) {
    INFO("record " << k << " of " << ref.size() << " at " << ref[k].begin);
    REQUIRE(tok.next(rec));
    REQUIRE(rec.begin == ref[k].begin);
    REQUIRE(rec.end == ref[k].end);
    REQUIRE(rec.newlines == ref[k].newlines);
    REQUIRE(std::string(rec.error ? rec.error : "") == ref[k].error);
    if (ref[k].error.empty()) {
      REQUIRE(rec.fields.size() == ref[k].fields.size());
      for (std::size_t f = 0; f < rec.fields.size(); ++f) REQUIRE(rec.fields[f] == ref[k].fields[f]);
    }
  }
  REQUIRE_FALSE(tok.next(rec));
}

// Well-formed-ish records from fields of lengths around the window size, with a few
// malformed bytes sprinkled in when `soup` is set.
std::string generate(std::mt19937& rng, char d, int records, bool soup) {
  auto pick = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  const std::size_t lengths[] = {0, 1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 62, 63, 64, 65, 66, 127, 128, 129, 200};
  const char plain[] = "abcxyz0123456789.-+eE \xc3\xa9";
  const std::string specials = std::string("\"\n\r") + d;
  std::string s;
  for (int r = 0; r < records; ++r) {
    const unsigned nf = 1 + pick(6);
    for (unsigned f = 0; f < nf; ++f) {
      if (f) s += d;
      const std::size_t len = lengths[pick(sizeof lengths / sizeof lengths[0])];
      if (pick(3) == 0) {
        s += '"';
        for (std::size_t i = 0; i < len; ++i) {
          const unsigned k = pick(10);
          if (k == 0) {
            s += "\"\"";
          } else if (k == 1) {
            s += specials[pick(static_cast<unsigned>(specials.size()))];
            if (s.back() == '"') s += '"';
          } else {
            s += plain[pick(sizeof plain - 1)];
          }
        }
        s += '"';
      } else {
        for (std::size_t i = 0; i < len; ++i) s += plain[pick(sizeof plain - 1)];
      }
      if (soup && pick(20) == 0) s += specials[pick(static_cast<unsigned>(specials.size()))];
    }
    const unsigned end = pick(10);
    s += end == 0 ? "\r\n" : end == 1 ? "\n\n" : "\n";
  }
  return s;
}

}  // namespace

TEST_CASE("csv: windowed tokenizer equals the byte-at-a-time reference on random records", "[csv][tokenizer]") {
  std::mt19937 rng(2024);
  CsvTokenizer tok;  // reused across inputs, as a pipeline token reuses it across chunks
  for (char d : {',', '\t', ';'}) {
    for (int round = 0; round < 60; ++round) {
      const std::string text = generate(rng, d, 1 + static_cast<int>(rng() % 40), round % 3 == 0);
      INFO("delimiter " << int(d) << " round " << round << " text " << text.size() << " bytes");
      check_same(tok, text, d, static_cast<std::size_t>(round % 17));
      check_same(tok, text, d, static_cast<std::size_t>(round % 13), true);
    }
  }
}

TEST_CASE("csv: tokenizer equals the reference on every prefix of an input (chunk cut anywhere)", "[csv][tokenizer]") {
  std::mt19937 rng(77);
  CsvTokenizer tok;
  for (int round = 0; round < 4; ++round) {
    const std::string text = generate(rng, ',', 12, round % 2 == 1);
    for (std::size_t cut = 0; cut <= text.size(); ++cut) {
      INFO("round " << round << " cut " << cut);
      check_same(tok, text.substr(0, cut), ',', cut % 5);
      check_same(tok, text.substr(0, cut), ',', cut % 7, true);
    }
  }
}

TEST_CASE("csv: tokenizer equals the reference on quote soup", "[csv][tokenizer]") {
  std::mt19937 rng(99);
  const char alphabet[] = {'a', 'b', ',', '"', '"', '\n', '\r', ' '};
  CsvTokenizer tok;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const std::size_t len = rng() % 300;
    for (std::size_t i = 0; i < len; ++i) text += alphabet[rng() % sizeof alphabet];
    INFO("round " << round);
    check_same(tok, text, ',', round % 64);
    check_same(tok, text, ',', round % 61, true);
  }
}

TEST_CASE("csv: stray quotes are literal, text after a closing quote joins the field, as in Python",
          "[csv][tokenizer]") {
  // Each case as Python's csv.reader reads it (checked by hand with python3).
  const std::string text = "5'11\",12\" pipe,O\"Neil\n\"ab\"cd\"e,\"x\"\"y\"\n\"q\"\r\n";
  CsvTokenizer tok(',');
  tok.reset(text.data(), text.size());
  CsvRecord rec;
  REQUIRE(tok.next(rec));
  REQUIRE(rec.error == nullptr);
  REQUIRE(rec.fields.size() == 3);
  CHECK(rec.fields[0] == "5'11\"");
  CHECK(rec.fields[1] == "12\" pipe");
  CHECK(rec.fields[2] == "O\"Neil");
  REQUIRE(tok.next(rec));
  REQUIRE(rec.error == nullptr);
  REQUIRE(rec.fields.size() == 2);
  CHECK(rec.fields[0] == "abcd\"e");
  CHECK(rec.fields[1] == "x\"y");
  REQUIRE(tok.next(rec));
  CHECK(rec.fields[0] == "q");
  REQUIRE_FALSE(tok.next(rec));
  // Read strictly, the same records (same ends) are marked.
  tok.set_strict_quotes(true);
  tok.reset(text.data(), text.size());
  REQUIRE(tok.next(rec));
  CHECK(std::string(rec.error) == "quote inside an unquoted field");
  CHECK(rec.end == text.find('\n') + 1);
  REQUIRE(tok.next(rec));
  CHECK(std::string(rec.error) == "text after a closing quote");
  REQUIRE(tok.next(rec));
  CHECK(rec.error == nullptr);
}

TEST_CASE("csv: a record with many unescaped fields moves the scratch buffer and keeps every field",
          "[csv][tokenizer]") {
  // Doubled quotes make every field an unescaped copy; together they outgrow the
  // first scratch allocation, so earlier views must follow the move.
  std::string text;
  std::vector<std::string> want;
  for (int f = 0; f < 200; ++f) {
    std::string v = "f";
    v += std::to_string(f);
    v.append(static_cast<std::size_t>(f) * 7, 'x');
    v += '"';
    want.push_back(v);
    if (f) text += ',';
    text += "\"" + v + "\"\"";
  }
  text += "\nnext,\"\"\"\"\n";
  CsvTokenizer tok;
  tok.reset("", 0);
  CsvRecord rec;
  REQUIRE_FALSE(tok.next(rec));
  check_same(tok, text, ',', 3);
  tok.reset(text.data(), text.size());
  REQUIRE(tok.next(rec));
  REQUIRE(rec.error == nullptr);
  REQUIRE(rec.fields.size() == want.size());
  for (std::size_t f = 0; f < want.size(); ++f) REQUIRE(rec.fields[f] == want[f]);
  REQUIRE(tok.next(rec));
  REQUIRE(rec.fields.size() == 2);
  REQUIRE(rec.fields[1] == "\"");
}

TEST_CASE("csv: an empty field tells quoted (\"\") from unquoted, as COPY's NULL needs", "[csv][tokenizer]") {
  const std::string in = "\"\",,x,\"\"\n,\"\"\r\n\"\",";
  CsvTokenizer t(',');
  t.reset(in.data(), in.size());
  const char* end = in.data() + in.size();
  std::vector<std::string> got;
  CsvRecord rec;
  while (t.next(rec)) {
    std::string s;
    for (auto f : rec.fields) s += f.empty() ? (csv_quoted_empty(f, end) ? 'Q' : 'U') : 'v';
    got.push_back(s);
  }
  CHECK(got == std::vector<std::string>{"QUvQ", "UQ", "QU"});
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

TEST_CASE("csv: malformed quoting read strictly marks the record but keeps its end", "[csv]") {
  // Read strictly (--strict-quotes); by default the first two are data (Python's reading).
  const std::string text = "1,ab\"c,d\"e\n2,\"ok\"x,y\n3,\"fine\"\n4,\"open";
  CsvTokenizer tok(',');
  tok.set_strict_quotes(true);
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

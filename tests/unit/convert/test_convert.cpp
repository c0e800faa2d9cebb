// Property tests of convert: for generated inputs full of awkward cases, the output and
// the rejects are byte-identical for every thread count and chunk size, and
// NDJSON -> CSV -> NDJSON gives back the data. Also the CSV -> NDJSON value writer (SSE2
// number check and string copies) against the scalar JSON number grammar and escaper.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>

#include "ingot/convert/convert.h"
#include "ingot/format/json_text.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

// Deterministic NDJSON with nesting, escapes, unicode, numbers in odd spellings, late
// keys, CRLF, blank lines and broken lines.
std::string generate_ndjson(unsigned seed, int records, bool strings_only = false) {
  std::mt19937 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* words[] = {
      "plain",   "with,comma", "with \\\"quote\\\"", "new\\nline",    "tab\\there", "caf\\u00e9", "東京",
      "emoji 😀", "",           " spaced ",           "back\\\\slash", "cr\\r\\n"};
  const char* numbers[] = {"0", "-1", "3.14159", "1e-05", "12.0", "-0.5E+3", "123456789012345678901234567890"};
  std::string s;
  for (int i = 0; i < records; ++i) {
    int kind = pick(40);
    if (kind == 0) {
      s += "\n";
      continue;
    }
    if (kind == 1) {
      s += "   \r\n";
      continue;
    }
    if (kind == 2) {
      s += "{\"id\":" + std::to_string(i) + ",\"broken\":\n";
      continue;
    }
    if (kind == 3) {
      s += "[1,2,3]\n";
      continue;
    }
    if (kind == 4) {
      s += "{\"id\":1} extra\n";
      continue;
    }
    s += "{\"id\":";
    s += strings_only ? "\"" + std::to_string(i) + "\"" : std::to_string(i);
    s += ",\"name\":\"";
    s += words[pick(12)];
    s += "\"";
    if (!strings_only) {
      s += ",\"value\":";
      s += numbers[pick(7)];
      if (pick(3) == 0) s += ",\"flag\":" + std::string(pick(2) ? "true" : "false");
      if (pick(4) == 0) s += ",\"nullable\":null";
      if (pick(5) == 0) s += ",\"tags\":[\"a\", 1, {\"b\": null}]";
    }
    if (pick(3) == 0)
      s += std::string(",\"geo\":{\"lat\":\"") + words[pick(12)] + "\",\"deep\":{\"x\":\"" + std::to_string(pick(100)) +
           "\"}}";
    if (i > records / 2 && pick(10) == 0) s += ",\"late_key\":\"late\"";
    s += "}";
    s += pick(10) == 0 ? "\r\n" : "\n";
  }
  return s;
}

struct Run {
  std::string out, rejects;
  ConvertReport report;
};

Run run_convert(const TempDir& dir, const std::string& in, const std::string& out_name, unsigned threads,
                std::size_t chunk, std::function<void(ConvertOptions&)> tweak = {}) {
  ConvertOptions o;
  o.input = dir.str(in);
  o.output = dir.str(out_name);
  o.rejects = dir.str(out_name + ".rejects");
  o.pipeline.threads = threads;
  o.chunker.chunk_size = chunk;
  if (tweak) tweak(o);
  auto r = convert(o);
  if (!r) FAIL(r.error().message());
  return {read_file(o.output), read_file(o.rejects), r.value()};
}

}  // namespace

TEST_CASE("convert: NDJSON to CSV is identical for -j1/-j2/-j8 and chunk sizes 64 B to 4 MiB", "[convert][parallel]") {
  TempDir dir;
  write_file(dir / "in.ndjson", generate_ndjson(7, 3000));
  Run base = run_convert(dir, "in.ndjson", "base.csv", 1, kDefaultChunkSize);
  REQUIRE(base.report.records.valid > 2500);
  REQUIRE(base.report.records.invalid > 100);
  REQUIRE(base.report.records.blank > 50);
  for (unsigned threads : {1u, 2u, 8u}) {
    for (std::size_t chunk : {std::size_t{64}, std::size_t{1000}, std::size_t{65536}, kDefaultChunkSize}) {
      INFO("threads " << threads << " chunk " << chunk);
      Run r = run_convert(dir, "in.ndjson", "o.csv", threads, chunk);
      REQUIRE(r.out == base.out);
      REQUIRE(r.rejects == base.rejects);
      REQUIRE(r.report.records.valid == base.report.records.valid);
      REQUIRE(r.report.records.invalid == base.report.records.invalid);
      REQUIRE(r.report.records.blank == base.report.records.blank);
    }
  }
}

TEST_CASE("convert: rejects carry exact line numbers and offsets", "[convert][rejects]") {
  TempDir dir;
  const std::string text = generate_ndjson(11, 2000);
  write_file(dir / "in.ndjson", text);
  Run r = run_convert(dir, "in.ndjson", "o.csv", 2, 64);
  // Recompute from the text itself: every reject's offset starts its line, and the line
  // number counts the newlines before it.
  std::size_t n = 0;
  for (const auto& line : lines_of(r.rejects)) {
    auto j = nlohmann::json::parse(line);
    std::uint64_t off = j["offset"];
    std::uint64_t lineno = j["line"];
    REQUIRE((off == 0 || text[off - 1] == '\n'));
    REQUIRE(static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + static_cast<long>(off), '\n')) + 1 ==
            lineno);
    std::string raw = j["raw"];
    REQUIRE(text.compare(off, raw.size(), raw) == 0);
    ++n;
  }
  REQUIRE(n == r.report.records.invalid);
}

TEST_CASE("convert: the column union sees a key first met in the last record", "[convert][schema]") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 50000; ++i) text += "{\"a\":" + std::to_string(i) + "}\n";
  text += "{\"a\":1,\"z\":\"only here\"}\n";
  write_file(dir / "in.ndjson", text);
  Run r = run_convert(dir, "in.ndjson", "o.csv", 2, 4096);
  REQUIRE(r.out.substr(0, 4) == "a,z\n");
  REQUIRE(r.out.find("1,only here\n") != std::string::npos);
  REQUIRE(r.report.columns == 2);
}

TEST_CASE("convert: NDJSON -> CSV -> NDJSON round trip with --types string", "[convert][roundtrip]") {
  TempDir dir;
  std::string text = generate_ndjson(3, 1500, true);
  write_file(dir / "in.ndjson", text);
  Run csv = run_convert(dir, "in.ndjson", "mid.csv", 2, 100);
  Run back =
      run_convert(dir, "mid.csv", "back.ndjson", 2, 100, [](ConvertOptions& o) { o.types = ValueTypes::string; });
  REQUIRE(back.report.records.invalid == 0);
  REQUIRE(back.report.records.valid == csv.report.records.valid);
  // Compare record by record as parsed JSON: same keys (flattened) and same strings.
  auto in_lines = lines_of(text);
  auto out_lines = lines_of(back.out);
  std::size_t k = 0;
  for (auto& l : in_lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    REQUIRE(k < out_lines.size());
    auto o = nlohmann::json::parse(out_lines[k++]);
    nlohmann::json flat = j.flatten();
    for (auto& [key, value] : o.items()) {
      std::string pointer = "/" + key;
      for (auto& ch : pointer)
        if (ch == '.') ch = '/';
      if (flat.contains(pointer))
        REQUIRE(value == flat[pointer]);
      else
        REQUIRE(value == "");  // a key this record lacked
    }
  }
  REQUIRE(k == out_lines.size());
}

TEST_CASE("convert: CSV to NDJSON is identical across threads and chunk sizes", "[convert][csv][parallel]") {
  TempDir dir;
  std::string text = "id,text,amount,ok\r\n";
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    switch (rng() % 25) {
      case 0: text += "\r\n"; break;
      case 1: text += std::to_string(i) + ",too,few\r\n"; break;
      case 2: text += std::to_string(i) + ",\"bad\"quote,1,true\r\n"; break;
      case 3: text += std::to_string(i) + ",\xff\xfe,1,true\r\n"; break;
      default:
        text += std::to_string(i) + ",\"multi\r\nline, \"\"quoted\"\"\"," + std::to_string(rng() % 1000) + "." +
                std::to_string(rng() % 100) + "," + (rng() % 2 ? "true" : "") + "\r\n";
    }
  }
  write_file(dir / "in.csv", text);
  Run base = run_convert(dir, "in.csv", "base.ndjson", 1, kDefaultChunkSize);
  REQUIRE(base.report.records.invalid > 100);
  for (unsigned threads : {2u, 8u}) {
    for (std::size_t chunk : {std::size_t{64}, std::size_t{777}, kDefaultChunkSize}) {
      INFO("threads " << threads << " chunk " << chunk);
      Run r = run_convert(dir, "in.csv", "o.ndjson", threads, chunk);
      REQUIRE(r.out == base.out);
      REQUIRE(r.rejects == base.rejects);
    }
  }
  for (auto& l : lines_of(base.out)) REQUIRE_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded());
}

TEST_CASE("convert: --part K/N outputs concatenate to the whole", "[convert][part]") {
  TempDir dir;
  write_file(dir / "in.ndjson", generate_ndjson(9, 2000));
  auto cols = [](ConvertOptions& o) { o.fields = {"id", "name", "value", "geo.lat"}; };
  Run whole = run_convert(dir, "in.ndjson", "whole.csv", 2, 512, cols);
  std::string joined;
  std::uint64_t valid = 0;
  for (std::uint64_t k = 1; k <= 5; ++k) {
    Run part = run_convert(dir, "in.ndjson", "part.csv", 2, 512, [&](ConvertOptions& o) {
      cols(o);
      o.part = PartSpec{k, 5};
    });
    std::string body = part.out.substr(part.out.find('\n') + 1);
    if (k == 1)
      joined = part.out;
    else
      joined += body;
    valid += part.report.records.valid;
  }
  REQUIRE(joined == whole.out);
  REQUIRE(valid == whole.report.records.valid);
}

TEST_CASE("convert: a line rejected for trailing content writes no row", "[convert][rejects]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\n{\"a\":2} tail\n{\"a\":3}{\"a\":4}\n{\"a\":5}\n");
  Run r = run_convert(dir, "in.ndjson", "o.csv", 1, kDefaultChunkSize);
  REQUIRE(r.out == "a\n1\n5\n");
  REQUIRE(r.report.records.invalid == 2);
  REQUIRE(lines_of(r.rejects).size() == 2);
}

TEST_CASE("convert: nesting up to 256 levels converts, deeper is an invalid line", "[convert][rejects]") {
  TempDir dir;
  auto nested = [](int levels, char open, char close, const std::string& inner) {
    return std::string(static_cast<std::size_t>(levels), open) + inner +
           std::string(static_cast<std::size_t>(levels), close);
  };
  // The top object is level 1: 255 arrays (or objects) below it make 256 levels.
  std::string objs255, objs256;
  for (int i = 0; i < 255; ++i) objs255 += "{\"k\":";
  objs256 = objs255 + "{\"k\":";
  const std::string text = "{\"a\":" + nested(255, '[', ']', "1") + "}\n" +             // line 1: 256 levels
                           "{\"a\":" + nested(256, '[', ']', "2") + "}\n" +             // line 2: 257
                           "{\"b\":" + objs255 + "3" + std::string(255, '}') + "}\n" +  // line 3: 256
                           "{\"b\":" + objs256 + "4" + std::string(256, '}') + "}\n" +  // line 4: 257
                           "{\"a\":5}\n";
  write_file(dir / "in.ndjson", text);
  for (unsigned threads : {1u, 2u}) {
    Run r = run_convert(dir, "in.ndjson", "o.csv", threads, 64);
    CHECK(r.report.records.valid == 3);
    CHECK(r.report.records.invalid == 2);
    const auto rejects = lines_of(r.rejects);
    REQUIRE(rejects.size() == 2);
    for (std::size_t k = 0; k < 2; ++k) {
      auto j = nlohmann::json::parse(rejects[k]);
      CHECK(j["line"] == 2 + 2 * k);
      CHECK(j["reason"] == "invalid JSON: nested deeper than 256 levels");
    }
    // Line 1's array is compact JSON text; line 3's objects flatten to one long dot path.
    CHECK(r.out.find("\n" + nested(255, '[', ']', "1") + ",\n") != std::string::npos);
    CHECK(r.out.substr(r.out.size() - 3) == "5,\n");
  }
}

TEST_CASE("convert: key shapes that change from line to line map to the right columns", "[convert][schema]") {
  // Each line reuses a prefix of the previous line's keys and then diverges, so cached
  // key positions must never carry a path from another line's nesting.
  TempDir dir;
  write_file(dir / "in.ndjson",
             "{\"a\":{\"m\":1},\"b\":{\"k\":1,\"z\":2}}\n"
             "{\"a\":{\"m\":1},\"c\":{\"k\":3}}\n"
             "{\"a\":{\"m\":1},\"c\":{\"k\":4,\"z\":5}}\n"
             "{\"a\":6,\"m\":7}\n"
             "{\"a\":{\"m\":8},\"new\":\n"
             "{\"a\":{\"m\":9},\"new\":10}\n"
             "{\"x\\u0041\":11,\"xA\":12}\n");
  for (std::size_t chunk : {std::size_t{16}, kDefaultChunkSize}) {
    Run r = run_convert(dir, "in.ndjson", "o.csv", 1, chunk);
    REQUIRE(r.out ==
            "a.m,b.k,b.z,c.k,c.z,a,m,new,xA\n"
            "1,1,2,,,,,,\n"
            "1,,,3,,,,,\n"
            "1,,,4,5,,,,\n"
            ",,,,,6,7,,\n"
            "9,,,,,,,10,\n"
            ",,,,,,,,12\n");
    REQUIRE(r.report.records.invalid == 1);
  }
}

TEST_CASE("convert: CSV values become the same JSON as the scalar number grammar and escaper", "[convert][csv]") {
  // Fields of every length up to 40 from number-ish and escape-ish bytes: the SSE2
  // writer must type and escape each exactly as is_json_number / append_json_string.
  std::mt19937 rng(11);
  const char* bytes = "0000111222333456789..--++eEx \"\\\t\x01";
  const std::size_t nbytes = std::strlen(bytes);
  const char* fixed[] = {"0",
                         "00",
                         "0.5",
                         "00.5",
                         "0.",
                         ".5",
                         "1.2.3",
                         "-0",
                         "-",
                         "1e5",
                         "1E+5",
                         "1e",
                         "12345678901234567",
                         "1234567890123456",
                         "true",
                         "false",
                         "True",
                         "null",
                         "1.0000000000000000001",
                         "-.5",
                         "5."};
  std::string csv = "a,b,c\n";
  std::string want;
  auto value_json = [](const std::string& v) {
    if (v.empty()) return std::string("null");
    if (is_json_number(v) || v == "true" || v == "false") return v;
    std::string s;
    append_json_string(s, v);
    return s;
  };
  auto add_row = [&](const std::vector<std::string>& row) {
    std::string line = "{";
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i) csv += ',';
      csv += '"';
      for (char c : row[i]) {
        if (c == '"') csv += '"';
        csv += c;
      }
      csv += '"';
      if (i) line += ',';
      line += '"';
      line += static_cast<char>('a' + i);
      line += "\":";
      line += value_json(row[i]);
    }
    csv += '\n';
    want += line + "}\n";
  };
  for (const char* f : fixed) add_row({f, std::string(f) + "0", std::string("-").append(f)});
  for (int r = 0; r < 3000; ++r) {
    std::vector<std::string> row;
    for (int c = 0; c < 3; ++c) {
      std::string v;
      const std::size_t len = rng() % 41;
      for (std::size_t i = 0; i < len; ++i) v += bytes[rng() % nbytes];
      row.push_back(v);
    }
    add_row(row);
  }
  TempDir dir;
  write_file(dir / "in.csv", csv);
  ConvertOptions o;
  o.input = dir.str("in.csv");
  o.output = dir.str("out.ndjson");
  o.chunker.chunk_size = 1000;  // many chunks: values near chunk ends read the padding
  auto r = convert(o);
  if (!r) FAIL(r.error().message());
  REQUIRE(r.value().records.valid == 3000 + sizeof fixed / sizeof fixed[0]);
  const std::string got = read_file(dir / "out.ndjson");
  const auto got_lines = lines_of(got), want_lines = lines_of(want);
  REQUIRE(got_lines.size() == want_lines.size());
  for (std::size_t i = 0; i < got_lines.size(); ++i) REQUIRE(got_lines[i] == want_lines[i]);
}

TEST_CASE("convert: NDJSON numbers follow the full grammar, projected or not", "[convert][ndjson]") {
  // Digits-and-dots numbers are decided 16 bytes at once, the rest by is_json_number;
  // a line is valid only when both of its numbers are, whether or not the column is kept.
  std::mt19937 rng(3);
  auto token = [&] {
    // Mostly digits and dots (the fast path), sometimes signs and exponents too.
    const char* bytes = rng() % 4 ? "0123456789123456789." : "00011123456789..-eE+";
    std::string t;
    const std::size_t len = 1 + rng() % 20;
    for (std::size_t i = 0; i < len; ++i) t += bytes[rng() % std::strlen(bytes)];
    return t;
  };
  std::string in, want = "a\n";
  std::uint64_t valid = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string a = token(), b = rng() % 4 ? "1.5" : token();
    in += "{\"a\":" + a + ",\"b\":" + b + "}\n";
    if (is_json_number(a) && is_json_number(b)) {
      ++valid;
      want += a + "\n";
    }
  }
  REQUIRE(valid > 300);
  REQUIRE(valid < 3700);
  TempDir dir;
  write_file(dir / "in.ndjson", in);
  ConvertOptions o;
  o.input = dir.str("in.ndjson");
  o.output = dir.str("out.csv");
  o.fields = {"a"};
  auto r = convert(o);
  if (!r) FAIL(r.error().message());
  REQUIRE(r.value().records.valid == valid);
  REQUIRE(r.value().records.invalid == 4000 - valid);
  REQUIRE(read_file(dir / "out.csv") == want);
}

TEST_CASE("convert: the line-shape fast path and simdjson agree on every line", "[convert][shapes][rejects]") {
  // Lines of one shape whose values take every spelling a shape's slot reader could
  // misjudge (bad numbers and literals, raw control bytes, escapes, invalid UTF-8,
  // structure inside strings, white space, trailing text), mixed with lines of other
  // shapes. With shapes and without, output, rejects and counts must be the same bytes.
  std::mt19937 rng(20261203);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> values = {"1",
                                           "-0",
                                           "0.5",
                                           "12.0",
                                           "1e-05",
                                           "-2.5E+3",
                                           "123456789012345678901234567890",
                                           "01",
                                           "1.",
                                           ".5",
                                           "-",
                                           "+1",
                                           "1e",
                                           "1.2.3",
                                           "NaN",
                                           "Infinity",
                                           "0x10",
                                           "true",
                                           "false",
                                           "null",
                                           "tru",
                                           "truee",
                                           "nul",
                                           "nulll",
                                           "True",
                                           "\"\"",
                                           "\"plain\"",
                                           "\"a,b\"",
                                           "\"q\\\"uote\"",
                                           "\"tab\\t\"",
                                           "\"caf\\u00e9\"",
                                           "\"\\ud83d\\ude95\"",
                                           "\"bad\\x\"",
                                           "\"raw\ttab\"",
                                           "\"東京\"",
                                           "\"\xff\xfe\"",
                                           "\"\xc3\"",
                                           "\"}\"",
                                           "\"\\\"}\"",
                                           "\"a\":1",
                                           "\"x\" ",
                                           " 7",
                                           "7 ",
                                           "{}",
                                           "[]",
                                           "{\"x\":1}",
                                           "[1,{\"y\":2}]",
                                           "\"unterminated",
                                           "1,\"extra\":2",
                                           "\"a\"\"b\""};
  auto value = [&] { return values[pick(values.size())]; };
  std::string text;
  for (int i = 0; i < 6000; ++i) {
    const std::size_t kind = pick(20);
    if (kind == 0) {
      text += "{\"id\":" + std::to_string(i) + ",\"other\":" + value() + "}\n";
      continue;
    }
    if (kind == 1) text += " ";
    text += "{\"id\":" + std::to_string(i) + ",\"s\":" + (pick(3) ? "\"v" + std::to_string(i) + "\"" : value());
    text += ",\"n\":" + (pick(3) ? std::to_string(i % 97) + "." + std::to_string(i % 10) : value());
    text += ",\"o\":{\"x\":" + (pick(3) ? std::string("null") : value()) + ",\"y\":\"w\"}";
    text += ",\"a\":[1,2]";
    if (kind == 2) text += ",\"late\":" + value();
    if (kind == 3) text += ",\"s\":\"again\"";
    text += "}";
    if (kind == 4) text += " ";
    if (kind == 5) text += "x";
    text += pick(10) == 0 ? "\r\n" : "\n";
  }
  TempDir dir;
  write_file(dir / "in.ndjson", text);
  auto same = [](const Run& a, const Run& b) {
    REQUIRE(a.out == b.out);
    REQUIRE(a.rejects == b.rejects);
    REQUIRE(a.report.records.valid == b.report.records.valid);
    REQUIRE(a.report.records.invalid == b.report.records.invalid);
    REQUIRE(a.report.columns == b.report.columns);
  };
  const std::vector<std::pair<const char*, std::function<void(ConvertOptions&)>>> modes = {
      {"union", {}},
      {"fields", [](ConvertOptions& o) { o.fields = {"s", "o.x", "n", "late", "a", "missing"}; }},
      {"no-flatten", [](ConvertOptions& o) { o.flatten = false; }},
      {"tsv", [](ConvertOptions& o) { o.to = RecordKind::tsv; }}};
  for (const auto& [name, tweak] : modes) {
    for (std::size_t chunk : {std::size_t{700}, kDefaultChunkSize}) {
      INFO(name << " chunk " << chunk);
      auto without = [&](ConvertOptions& o) {
        if (tweak) tweak(o);
        o.line_shapes = false;
      };
      Run slow = run_convert(dir, "in.ndjson", "slow.csv", 1, chunk, without);
      Run fast = run_convert(dir, "in.ndjson", "fast.csv", 2, chunk, tweak);
      REQUIRE(slow.report.records.valid > 3000);
      REQUIRE(slow.report.records.invalid > 500);
      same(slow, fast);
    }
  }
}

namespace {

// Sets an environment variable for one scope (the converters read theirs per run).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void require_same_run(const Run& a, const Run& b) {
  REQUIRE(a.out == b.out);
  REQUIRE(a.rejects == b.rejects);
  REQUIRE(a.report.records.valid == b.report.records.valid);
  REQUIRE(a.report.records.invalid == b.report.records.invalid);
  REQUIRE(a.report.records.blank == b.report.records.blank);
  REQUIRE(a.report.columns == b.report.columns);
}

// Converts dir/name (CSV or TSV) to NDJSON with every record through the tokenizer
// (INGOT_CSV_QUOTE_FREE=0), then on the quote-free path for 1 and 2 threads and 64 B,
// `mid` and default chunks, for auto and string types and loose and strict quotes: the
// outputs, rejects and counts must be the same, every line JSON, and the tokenizer's
// run must have more than `min` valid, invalid and blank records (so the input really
// exercises each).
void require_quote_free_as_tokenizer(const TempDir& dir, const std::string& name, std::size_t mid,
                                     const RecordCounts& min, const std::string& context) {
  for (const auto& [types, strict] : {std::pair{ValueTypes::auto_detect, false}, std::pair{ValueTypes::string, false},
                                      std::pair{ValueTypes::auto_detect, true}}) {
    auto tweak = [&](ConvertOptions& o) {
      o.types = types;
      o.to = RecordKind::ndjson;
      o.chunker.strict_quotes = strict;
    };
    Run tokenizer = [&] {
      ScopedEnv env("INGOT_CSV_QUOTE_FREE", "0");
      return run_convert(dir, name, "tok.ndjson", 1, kDefaultChunkSize, tweak);
    }();
    REQUIRE(tokenizer.report.records.valid > min.valid);
    REQUIRE(tokenizer.report.records.invalid > min.invalid);
    REQUIRE(tokenizer.report.records.blank > min.blank);
    for (unsigned threads : {1u, 2u}) {
      for (std::size_t chunk : {std::size_t{64}, mid, kDefaultChunkSize}) {
        INFO(context << " strict " << strict << " threads " << threads << " chunk " << chunk);
        require_same_run(tokenizer, run_convert(dir, name, "fast.ndjson", threads, chunk, tweak));
      }
    }
    for (auto& l : lines_of(tokenizer.out)) REQUIRE_FALSE(nlohmann::json::parse(l, nullptr, false).is_discarded());
  }
}

}  // namespace

TEST_CASE("convert: SIMD and generic NDJSON variants give the same bytes on tricky lines", "[convert][shapes][simd]") {
  // Lines of a few shapes whose values cross the matcher's 32-byte words: long strings
  // and keys, escapes at every offset, UTF-8, the delimiter, keys in another order,
  // missing keys, nested objects, CRLF, white space, broken lines. The x86-64-v3 variant
  // (AVX2 matcher, on a CPU that has it) and the generic one (word loops), with line
  // shapes and without, must write the same bytes, rejects and counts.
  std::mt19937 rng(1404);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> strings = {"\"\"",
                                            "\"x\"",
                                            "\"with,comma\"",
                                            "\"tab\\tescaped\"",
                                            "\"caf\\u00e9 \\ud83d\\ude95\"",
                                            "\"東京 and 😀 and more UTF-8 text past thirty-two bytes\"",
                                            "\"a string that is longer than thirty-two bytes, with a comma\"",
                                            "\"exactly thirty-one bytes long!\"",
                                            "\"exactly thirty-two bytes long!!\"",
                                            "\"exactly thirty-three bytes long!!\"",
                                            "\"0123456789012345678901234567890123456789012345678901234567890123\\\"q\"",
                                            "\"raw\ttab\"",
                                            "\"ends in backslash\\\\\"",
                                            "\"}\"",
                                            "\"\\\"}\"",
                                            "\"\xff\xfe\"",
                                            "\"unterminated"};
  const std::vector<std::string> atoms = {"0",
                                          "-1",
                                          "3.25",
                                          "1e-05",
                                          "12345678901234567890123456789012345678901234567890",
                                          "0.00000000000000000000000000000000001",
                                          "true",
                                          "false",
                                          "null",
                                          "nul",
                                          "01",
                                          "1.",
                                          "{\"deep\":{\"x\":1,\"y\":\"z\"}}",
                                          "[1,\"two\",{\"three\":3}]",
                                          "{}",
                                          " 7 "};
  auto value = [&] { return pick(2) ? strings[pick(strings.size())] : atoms[pick(atoms.size())]; };
  const std::string long_key = "a_key_that_is_much_longer_than_thirty_two_bytes_to_cross_words";
  std::string text;
  for (int i = 0; i < 5000; ++i) {
    const std::size_t kind = pick(24);
    if (kind == 0) {
      text += "\r\n";
      continue;
    }
    if (kind == 1) {  // keys in another order
      text += "{\"n\":" + std::to_string(i % 13) + ",\"id\":" + std::to_string(i) + ",\"s\":" + value() + "}\n";
      continue;
    }
    if (kind == 2) {  // missing keys
      text += "{\"id\":" + std::to_string(i) + "}\n";
      continue;
    }
    text += "{\"id\":" + std::to_string(i);
    text += ",\"s\":" + (pick(3) ? "\"v" + std::to_string(i) + "\"" : value());
    text += ",\"" + long_key + "\":" + (pick(2) ? std::to_string(i * 7) : value());
    text += ",\"n\":" + (pick(3) ? std::to_string(i % 97) + "." + std::to_string(i % 10) : value());
    text += ",\"geo\":{\"lat\":" + (pick(3) ? std::to_string(i % 90) + ".5" : value()) + ",\"deep\":{\"t\":" + value() +
            "}}";
    if (kind == 3) text += ",\"late\":" + value();
    if (kind == 4) text += " ,\"ws\" : 1 ";
    text += "}";
    if (kind == 5) text += "trailing";
    text += pick(6) == 0 ? "\r\n" : "\n";
  }
  TempDir dir;
  write_file(dir / "in.ndjson", text);
  const std::vector<std::pair<const char*, std::function<void(ConvertOptions&)>>> modes = {
      {"union", {}},
      {"fields in line order",
       [](ConvertOptions& o) {
         o.fields = {"id", "s", "n", "geo.deep.t", "missing"};
       }},
      {"fields in another order",
       [](ConvertOptions& o) {
         o.fields = {"n", "geo.lat", "id", "late", "s"};
       }},
      {"no-flatten", [](ConvertOptions& o) { o.flatten = false; }},
      {"tsv", [](ConvertOptions& o) { o.to = RecordKind::tsv; }}};
  for (const auto& [name, tweak] : modes) {
    for (std::size_t chunk : {std::size_t{900}, kDefaultChunkSize}) {
      INFO(name << " chunk " << chunk);
      Run simd = run_convert(dir, "in.ndjson", "simd.csv", 2, chunk, tweak);
      Run generic = [&] {
        ScopedEnv env("INGOT_NDJSON_VARIANT", "generic");
        return run_convert(dir, "in.ndjson", "generic.csv", 1, chunk, tweak);
      }();
      Run slow = run_convert(dir, "in.ndjson", "slow.csv", 1, chunk, [&](ConvertOptions& o) {
        if (tweak) tweak(o);
        o.line_shapes = false;
      });
      REQUIRE(simd.report.records.valid > 2500);
      REQUIRE(simd.report.records.invalid > 300);
      require_same_run(simd, generic);
      require_same_run(simd, slow);
    }
  }
}

TEST_CASE("convert: CSV fields at the value writer's 16-, 32- and 64-byte edges give the tokenizer's bytes",
          "[convert][csv][quote-free]") {
  // The quote-free path types a field of up to 16 bytes from one 16-byte word, one of
  // up to 32 from two, finds delimiters in 64-byte windows, and copies keys in 16-byte
  // slot words; INGOT_CSV_QUOTE_FREE=0 sends every record through the tokenizer and
  // write_json_record. Numbers at the grammar's edges, true/false, digits and text of 1..70
  // bytes (fields ending at the 32- and 64-byte edges, fields across windows: a
  // leading field of varying length shifts the rest), escapes, unicode, invalid UTF-8,
  // quoted records with doubled quotes and newlines, stray quotes, CRLF and bare CR,
  // blank lines, too many and too few fields, a BOM, keys of 16-, 32- and 48-byte slots.
  std::mt19937 rng(2114);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  std::vector<std::string> cells = {"",
                                    "0",
                                    "00",
                                    "007",
                                    "0.5",
                                    "00.5",
                                    ".5",
                                    "5.",
                                    "1.2.3",
                                    "-0",
                                    "-",
                                    "-.5",
                                    "-3.25",
                                    "+1",
                                    "1e5",
                                    "1E+5",
                                    "2e-3",
                                    "1e",
                                    "1.e5",
                                    "0e0",
                                    "1.5E",
                                    "e5",
                                    "true",
                                    "false",
                                    "True",
                                    "null",
                                    "tru",
                                    "2023-10-08 19:50:19",
                                    "back\\slash",
                                    "ctl\x01",
                                    "unit\x1f",
                                    "del\x7f",
                                    "cr\rinside",
                                    "東京 😀",
                                    "é",
                                    "\xff\xfe",
                                    "x'y"};
  for (std::size_t n : {15, 16, 17, 30, 31, 32, 33, 47, 48, 62, 63, 64, 65, 70}) {
    cells.push_back(std::string(n, '7'));                    // digits
    cells.push_back("1" + std::string(n - 3, '0') + ".5");   // digits and a dot
    cells.push_back(std::string(n, 'a'));                    // text
    cells.push_back(std::string(n - 1, 'b') + "\\");         // an escape at its end
    cells.push_back("-" + std::string(n - 4, '9') + "e+7");  // the full grammar
    cells.push_back(std::string(n - 2, '8') + "e");          // number bytes, not a number
  }
  auto cell = [&] { return cells[pick(cells.size())]; };
  const std::vector<std::vector<std::string>> headers = {
      {"id", "a", "b", "c"},
      {"id", "a_key_of_twenty_bytes", "b", "c"},
      {"id", "a", "a key that needs a slot of forty-eight bytes", "c"}};
  for (const char delim : {',', '\t'}) {
    for (const auto& header : headers) {
      std::string text = "\xEF\xBB\xBF";
      for (std::size_t i = 0; i < header.size(); ++i) text += (i ? std::string(1, delim) : "") + header[i];
      text += "\n";
      for (int i = 0; i < 3000; ++i) {
        const std::size_t kind = pick(40);
        if (kind == 0) {
          text += pick(2) ? "\r\n" : "\n";
          continue;
        }
        if (kind == 3) {
          text += std::to_string(i) + delim + "\"a" + delim + "b \"\"c\"\"\r\nd\"" + delim + cell() + delim + "y\n";
          continue;
        }
        if (kind == 4) {
          text += std::to_string(i) + delim + "5'11\"" + delim + "x" + delim + "y\r\n";
          continue;
        }
        text += std::string(pick(40), 'p');  // shifts the fields after it across the window
        const std::size_t n = kind == 1 ? 2 : kind == 2 ? 4 : 3;
        for (std::size_t k = 0; k < n; ++k) text += delim + cell();
        text += pick(4) == 0 ? "\r\n" : "\n";
      }
      text += "last" + std::string(1, delim) + "1" + delim + delim + "007\r";
      const std::string name = delim == ',' ? "in.csv" : "in.tsv";
      TempDir dir;
      write_file(dir / name, text);
      require_quote_free_as_tokenizer(dir, name, 1000, {.valid = 1500, .invalid = 100, .blank = 30},
                                      "delimiter " + std::to_string(int(delim)) + " key " + std::string(header[1]));
    }
  }
}

TEST_CASE("convert: CSV records without quotes give the same bytes on the quote-free path and the tokenizer",
          "[convert][csv][quote-free]") {
  // Most records hold no '"' and take the quote-free path, a few do (quoted fields with
  // newlines and doubled quotes, a stray quote inside a field, read loosely and strictly)
  // and are read by the tokenizer from their start; INGOT_CSV_QUOTE_FREE=0 sends every
  // record through the tokenizer. CRLF and bare CR, empty fields, too many and too few
  // fields, invalid UTF-8, backslashes and control bytes that JSON escapes, long fields
  // past the 64-byte window, blank lines, a BOM, no final newline.
  std::mt19937 rng(1405);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  const std::vector<std::string> cells = {
      "",          "plain",    "12",
      "-3.5",      "1e5",      "007",
      "true",      "null",     "back\\slash",
      "tab\there", "ctl\x01",  "cr\rinside",
      "東京 😀",    "\xff\xfe", "a field that is much longer than the sixty-four byte window of delimiters",
      "x'y"};
  auto cell = [&] { return cells[pick(cells.size())]; };
  for (const char delim : {',', '\t'}) {
    std::string text = "\xEF\xBB\xBFid";
    for (const char* k : {"a", "b", "c"}) text += std::string(1, delim) + k;
    text += "\r\n";
    for (int i = 0; i < 4000; ++i) {
      const std::size_t kind = pick(30);
      if (kind == 0) {
        text += pick(2) ? "\r\n" : "\n";
        continue;
      }
      if (kind == 3) {  // quoted: a delimiter, a doubled quote and a newline inside
        text += std::to_string(i) + delim + "\"a" + delim + "b \"\"c\"\"\r\nd\"" + delim + "x" + delim + "y\n";
        continue;
      }
      if (kind == 4) {  // a quote inside an unquoted field: literal, or malformed when strict
        text += std::to_string(i) + delim + "5'11\"" + delim + "x" + delim + "y\r\n";
        continue;
      }
      text += std::to_string(i);
      const std::size_t n = kind == 1 ? 1 : kind == 2 ? 5 : 3;
      for (std::size_t k = 0; k < n; ++k) text += delim + cell();
      text += pick(4) == 0 ? "\r\n" : "\n";
    }
    text += "last" + std::string(1, delim) + "1" + delim + delim + "\r";  // no '\n': the CR is trimmed
    const std::string name = delim == ',' ? "in.csv" : "in.tsv";
    TempDir dir;
    write_file(dir / name, text);
    require_quote_free_as_tokenizer(dir, name, 777, {.valid = 2000, .invalid = 200, .blank = 50},
                                    "delimiter " + std::to_string(int(delim)));
  }
}

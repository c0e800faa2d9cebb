// The default CSV grammar against Python's csv module (csv.reader, strict=False) as the
// reference nobody here wrote: generated CSV with stray quotes in unquoted fields,
// quoted delimiters, newlines and doubled quotes, text after closing quotes, CRLF and
// LF, empty fields and UTF-8 must keep exactly Python's rows through convert (-j1, -j2,
// 64K and tiny chunks), split + merge, get, --part K/N and a PostgreSQL upload. Also
// csv-spectrum's 12 files against their expected JSON.
#include <nlohmann/json.hpp>

#include <random>

#include "cli/cli.h"
#include "servers.h"

using namespace ingot_test;
using ojson = nlohmann::ordered_json;

namespace {

constexpr int kColumns = 5;

// One field of a kind Python and ingot must read alike: plain, with a stray quote
// inside, quoted with specials, quoted then text after the closing quote, or empty.
std::string field(std::mt19937& rng) {
  auto pick = [&](unsigned n) { return static_cast<unsigned>(rng() % n); };
  static const char* const words[] = {
      "a", "b9", "5'11", "O", "Neil", "12", "pipe", "x y", "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x9a\x95", "-3.5", "true", ""};
  auto word = [&] { return std::string(words[pick(sizeof words / sizeof words[0])]); };
  switch (pick(7)) {
    case 0:  // a stray quote inside (never first) or at the end of an unquoted field
      return "v" + word() + "\"" + word() + (pick(2) ? "\"" : "");
    case 1: {  // quoted: delimiters, doubled quotes, LF, CRLF, CR inside
      static const char* const inner[] = {",", "\"\"", "\n", "\r\n", "\r", " ", "\"\"\"\""};
      std::string s = "\"";
      for (unsigned i = pick(4); i > 0; --i) s += word() + inner[pick(sizeof inner / sizeof inner[0])];
      return s + word() + "\"";
    }
    case 2:  // text after the closing quote, sometimes with a quote of its own
      return "\"" + word() + "\"" + "t" + word() + (pick(2) ? "\"z" : "");
    case 3: return "";
    case 4: return "\"\"";
    default: return word();
  }
}

std::string generate_csv(unsigned seed, int rows) {
  std::mt19937 rng(seed);
  std::string s = "c1,c2,c3,c4,c5\n";
  for (int r = 0; r < rows; ++r) {
    s += std::to_string(r + 1);  // a first field never empty: no blank line
    for (int c = 1; c < kColumns; ++c) s += "," + field(rng);
    s += rng() % 4 == 0 ? "\r\n" : "\n";
  }
  return s;
}

// Python's reading of a CSV file: one JSON array per row, the header included.
const char* const kPythonRows =
    "import csv, json, sys\n"
    "with open(sys.argv[1], newline='', encoding='utf-8') as f:\n"
    "    for row in csv.reader(f):\n"
    "        print(json.dumps(row, ensure_ascii=False))\n";

std::vector<ojson> python_rows(const TempDir& dir, const std::string& file) {
  write_file(dir / "rows.py", kPythonRows);
  RunResult r = run_sh(dir, "python3 rows.py " + shell_quote(file));
  INFO(r.err);
  REQUIRE(r.code == 0);
  std::vector<ojson> rows;
  for (const std::string& line : lines_of(r.out)) rows.push_back(ojson::parse(line));
  return rows;
}

// ingot's NDJSON (objects with the header's keys) as arrays of values, header first.
std::vector<ojson> ndjson_rows(const std::string& text) {
  std::vector<ojson> rows;
  ojson header = ojson::array();
  for (const std::string& line : lines_of(text)) {
    ojson obj = ojson::parse(line);
    ojson row = ojson::array();
    if (header.empty()) {
      for (auto& [k, v] : obj.items()) header.push_back(k);
      rows.push_back(header);
    }
    for (auto& [k, v] : obj.items()) row.push_back(v);
    rows.push_back(row);
  }
  return rows;
}

void require_same_rows(const std::vector<ojson>& got, const std::vector<ojson>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("row " << i);
    REQUIRE(got[i].dump() == want[i].dump());
  }
}

}  // namespace

TEST_CASE("csv grammar: convert keeps exactly Python's csv.reader rows for every -j and chunk size",
          "[cli][csv][python]") {
  TempDir dir;
  const std::string text = generate_csv(7, 7000);
  REQUIRE(text.size() > 3 * 64 * 1024);
  write_file(dir / "in.csv", text);
  const auto want = python_rows(dir, "in.csv");
  REQUIRE(want.size() == 7001);
  std::string first;
  for (const char* opts : {"-j1", "-j2 --chunk-size 64K", "-j2 --chunk-size 7", "-j1 --chunk-size 1"}) {
    INFO(opts);
    RunResult r = run_ingot(dir, std::string("convert in.csv --types string -o out.ndjson --json -q ") + opts);
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(report(r)["stats"]["records"]["invalid"] == 0);
    const std::string out = read_file(dir / "out.ndjson");
    require_same_rows(ndjson_rows(out), want);
    if (first.empty()) first = out;
    REQUIRE(out == first);
  }
  // --part K/N: the parts concatenate to the whole.
  for (int n : {2, 3, 7}) {
    std::string joined;
    for (int k = 1; k <= n; ++k) {
      RunResult r = run_ingot(
          dir, "convert in.csv --types string -o part.ndjson -q --part " + std::to_string(k) + "/" + std::to_string(n));
      INFO(r.err);
      REQUIRE(r.code == 0);
      joined += read_file(dir / "part.ndjson");
    }
    REQUIRE(joined == first);
  }
  // Read strictly, the same records are cut: the rows Python reads are all counted.
  RunResult s = run_ingot(dir, "convert in.csv -o strict.ndjson --strict-quotes --json -q -j2 --chunk-size 64K");
  REQUIRE(s.code == 0);
  const auto j = report(s)["stats"]["records"];
  CHECK(j["total"] == 7000);
  CHECK(j["invalid"].get<int>() > 100);
}

TEST_CASE("csv grammar: split + merge, get and index keep Python's rows whole", "[cli][csv][python]") {
  TempDir dir;
  const std::string text = generate_csv(8, 3000);
  write_file(dir / "in.csv", text);
  const auto want = python_rows(dir, "in.csv");
  REQUIRE(want.size() == 3001);
  for (const char* how : {"--records 400", "--bytes 10K", "--pieces 5"}) {
    for (const char* opts : {"-j1", "-j2 --chunk-size 7"}) {
      INFO(how << " " << opts);
      RunResult sp = run_sh(dir, "rm -rf p && mkdir p && $INGOT split in.csv " + std::string(how) + " " + opts +
                                     " --prefix p/in- -q && $INGOT merge p/in-manifest.json -o merged.csv -q");
      INFO(sp.err);
      REQUIRE(sp.code == 0);
      REQUIRE(read_file(dir / "merged.csv") == text);
      // Each piece is the header plus whole rows: together, Python's rows.
      std::vector<ojson> rows{want[0]};
      std::vector<std::string> pieces;
      for (const auto& e : fs::directory_iterator(dir / "p")) {
        if (e.path().extension() == ".csv") pieces.push_back(e.path().string());
      }
      std::sort(pieces.begin(), pieces.end());
      REQUIRE(pieces.size() > 1);
      for (const auto& p : pieces) {
        auto got = python_rows(dir, p);
        REQUIRE(got.at(0) == want[0]);
        rows.insert(rows.end(), got.begin() + 1, got.end());
      }
      require_same_rows(rows, want);
    }
  }
  // get N, by scan and through an index: record N's bytes are Python's row N.
  RunResult ix = run_ingot(dir, "index in.csv -q");
  INFO(ix.err);
  REQUIRE(ix.code == 0);
  for (int n : {1, 2, 17, 1500, 2999, 3000}) {
    for (const char* mode : {"--scan", ""}) {
      INFO("get " << n << " " << mode);
      RunResult g = run_ingot(dir, "get in.csv " + std::to_string(n) + " --header " + mode);
      INFO(g.err);
      REQUIRE(g.code == 0);
      write_file(dir / "one.csv", g.out);
      auto got = python_rows(dir, "one.csv");
      REQUIRE(got.size() == 2);
      REQUIRE(got[1].dump() == want[static_cast<std::size_t>(n)].dump());
    }
  }
}

TEST_CASE("csv grammar: PostgreSQL upload loads exactly Python's rows", "[cli][csv][python][upload][pg]") {
  TempDir dir;
  const std::string text = generate_csv(9, 2000);
  write_file(dir / "in.csv", text);
  const auto want = python_rows(dir, "in.csv");
  const std::string t = "csvgrammar" + std::to_string(std::random_device{}());
  const std::string url = servers().pg_url;
  RunResult r = run_ingot(
      dir, "upload in.csv " + shell_quote(url) + " --table " + t + " --create-table --batch-bytes 16K --workers 2 -q");
  INFO(r.err);
  REQUIRE(r.code == 0);
  RunResult out =
      run_sh(dir, "psql " + shell_quote(url) + " -qAtX -v ON_ERROR_STOP=1 -c " +
                      shell_quote("\\copy (SELECT * FROM " + t + " ORDER BY c1::bigint) TO 'db.csv' CSV HEADER"));
  INFO(out.err);
  REQUIRE(out.code == 0);
  require_same_rows(python_rows(dir, "db.csv"), want);
}

// csv-spectrum (github.com/max-mapper/csv-spectrum, tests/data/csv-spectrum/README.md):
// each file's rows as objects keyed by its header, all values strings.
TEST_CASE("csv grammar: csv-spectrum's 12 files convert to their expected JSON", "[cli][csv]") {
  const fs::path spectrum = fs::path(INGOT_TEST_DATA) / "csv-spectrum";
  int files = 0;
  for (const auto& e : fs::directory_iterator(spectrum / "csvs")) {
    const std::string name = e.path().stem().string();
    INFO(name);
    TempDir dir;
    RunResult r = run_ingot(dir, "convert " + shell_quote(e.path().string()) + " --types string -o out.ndjson -q");
    INFO(r.err);
    REQUIRE(r.code == 0);
    ojson got = ojson::array();
    for (const std::string& line : lines_of(read_file(dir / "out.ndjson"))) got.push_back(ojson::parse(line));
    const ojson want = ojson::parse(read_file(spectrum / "json" / (name + ".json")));
    CHECK(got == want);
    ++files;
  }
  REQUIRE(files == 12);
}

namespace {

// Python's records as the bytes they were read from: csv.reader pulls one '\n'-ended
// line at a time and no more than a record needs, so the lines it took for a row are
// that record's bytes. argv[2]: the delimiter; argv[3]: the file's encoding.
const char* const kPythonRecords =
    "import csv, json, re, sys\n"
    "data = open(sys.argv[1], newline='', encoding=sys.argv[3]).read()\n"
    "lines = re.findall(r'[^\\n]*\\n|[^\\n]+\\Z', data)\n"
    "taken = []\n"
    "def feed():\n"
    "    for l in lines:\n"
    "        taken.append(l)\n"
    "        yield l\n"
    "recs = []\n"
    "for row in csv.reader(feed(), delimiter=sys.argv[2]):\n"
    "    recs.append(''.join(taken))\n"
    "    taken.clear()\n"
    "print(json.dumps(recs, ensure_ascii=False))\n";

std::vector<std::string> python_records(const TempDir& dir, const std::string& file, const std::string& delim,
                                        const std::string& encoding = "utf-8") {
  write_file(dir / "records.py", kPythonRecords);
  RunResult r = run_sh(dir, "python3 records.py " + shell_quote(file) + " " + shell_quote(delim) + " " + encoding);
  INFO(r.err);
  REQUIRE(r.code == 0);
  return ojson::parse(r.out).get<std::vector<std::string>>();
}

// The pieces split wrote under p/, in order.
std::vector<std::string> pieces_of(const TempDir& dir, const std::string& ext) {
  std::vector<std::string> pieces;
  for (const auto& e : fs::directory_iterator(dir / "p")) {
    if (e.path().extension() == ext) pieces.push_back(e.path().string());
  }
  std::sort(pieces.begin(), pieces.end());
  return pieces;
}

}  // namespace

TEST_CASE("csv grammar: split, index and get cut records where Python's reader does for any --delimiter",
          "[cli][csv][python]") {
  // A quote opens a field only after the delimiter, so reading ';' CSV with ',' would
  // take the quoted newline for a record end. TSV's default delimiter is the tab.
  struct Case {
    const char* file;
    std::string text;
    const char* py_delim;
    std::string opt;
  };
  const Case cases[] = {
      {"semi.csv", "a;b\n1;\"x\ny\"\n2;z\n3;\"p;\"\"q\"\"\r\nr\"\n4;w\"v\n5;\"\"\n", ";", "--delimiter ';'"},
      {"semi-tab.csv", "a\tb\n1\t\"x\ny\"\n2\tz\n3\t\"p,\"\"q\r\nr\"\n", "\t", "--delimiter tab"},
      {"tab.tsv", "a\tb\n1\t\"x\ny\"\n2\tz\n3\t\"p\t\"\"q\"\"\r\nr\"\n4\tw\"v\n", "\t", ""},
  };
  for (const Case& c : cases) {
    INFO(c.file);
    TempDir dir;
    write_file(dir / c.file, c.text);
    const auto want = python_records(dir, c.file, c.py_delim);
    REQUIRE(want.size() >= 4);
    const std::string ext = fs::path(c.file).extension().string();
    for (const char* opts : {"-j1", "-j2 --chunk-size 3"}) {
      INFO(opts);
      RunResult sp =
          run_sh(dir, "rm -rf p && mkdir p && $INGOT split " + std::string(c.file) + " --records 1 " + c.opt + " " +
                          opts + " --prefix p/x- -q && $INGOT merge p/x-manifest.json -o merged -q");
      INFO(sp.err);
      REQUIRE(sp.code == 0);
      REQUIRE(read_file(dir / "merged") == c.text);
      const auto pieces = pieces_of(dir, ext);
      REQUIRE(pieces.size() == want.size() - 1);
      for (std::size_t i = 0; i < pieces.size(); ++i) REQUIRE(read_file(pieces[i]) == want[0] + want[i + 1]);
    }
    RunResult ix = run_ingot(dir, "index " + std::string(c.file) + " " + c.opt + " -q");
    INFO(ix.err);
    REQUIRE(ix.code == 0);
    for (std::size_t n = 1; n < want.size(); ++n) {
      for (const std::string mode : {"--scan " + c.opt, std::string()}) {
        INFO("get " << n << " " << mode);
        RunResult g = run_ingot(dir, "get " + std::string(c.file) + " " + std::to_string(n) + " " + mode);
        INFO(g.err);
        REQUIRE(g.code == 0);
        REQUIRE(g.out == want[n]);
      }
    }
  }
}

TEST_CASE("csv grammar: a UTF-8 BOM is not data: a quote right after it opens a field in convert, get and split",
          "[cli][csv][python]") {
  // The tokenizer skips the mark; the chunker and the record scans must start their
  // grammar after it too, or the header's quoted newline ends a record.
  TempDir dir;
  const std::string bom = "\xEF\xBB\xBF";
  const std::string text = bom + "\"id\nx\",name\n1,\"a\nb\"\n2,b\n";
  write_file(dir / "b.csv", text);
  const auto want = python_records(dir, "b.csv", ",", "utf-8-sig");
  REQUIRE(want.size() == 3);
  write_file(dir / "rows.py",
             "import csv, json, sys\n"
             "with open(sys.argv[1], newline='', encoding='utf-8-sig') as f:\n"
             "    rows = list(csv.reader(f))\n"
             "for r in rows[1:]:\n"
             "    print(json.dumps(dict(zip(rows[0], r)), ensure_ascii=False, separators=(',', ':')))\n");
  RunResult py = run_sh(dir, "python3 rows.py b.csv");
  REQUIRE(py.code == 0);
  for (const char* opts : {"-j1", "-j2 --chunk-size 1"}) {
    INFO(opts);
    RunResult cv = run_ingot(dir, "convert b.csv --to ndjson --types string -q " + std::string(opts));
    INFO(cv.err);
    REQUIRE(cv.code == 0);
    REQUIRE(lines_of(cv.out) == lines_of(py.out));

    RunResult sp = run_sh(dir, "rm -rf p && mkdir p && $INGOT split b.csv --records 1 " + std::string(opts) +
                                   " --prefix p/x- -q && $INGOT merge p/x-manifest.json -o merged -q");
    INFO(sp.err);
    REQUIRE(sp.code == 0);
    REQUIRE(read_file(dir / "merged") == text);
    const auto pieces = pieces_of(dir, ".csv");
    REQUIRE(pieces.size() == 2);
    for (std::size_t i = 0; i < pieces.size(); ++i) REQUIRE(read_file(pieces[i]) == bom + want[0] + want[i + 1]);
  }
  RunResult ix = run_ingot(dir, "index b.csv -q");
  INFO(ix.err);
  REQUIRE(ix.code == 0);
  for (std::size_t n = 1; n < want.size(); ++n) {
    for (const char* mode : {"--scan", "", "--scan --chunk-size 1"}) {
      INFO("get " << n << " " << mode);
      RunResult g = run_ingot(dir, "get b.csv " + std::to_string(n) + " " + mode);
      INFO(g.err);
      REQUIRE(g.code == 0);
      REQUIRE(g.out == want[n]);
    }
  }
  // Without a header the mark belongs to record 1's bytes, and record 2 starts after it.
  for (const char* mode : {"--scan --no-header", "--scan --no-header --chunk-size 2"}) {
    INFO(mode);
    RunResult g = run_ingot(dir, "get b.csv 1+2 " + std::string(mode));
    INFO(g.err);
    REQUIRE(g.code == 0);
    REQUIRE(g.out == bom + want[0] + want[1]);
  }
}

TEST_CASE("csv grammar: records mostly without quotes keep Python's rows on the quote-free path and the tokenizer",
          "[cli][csv][python][quote-free]") {
  // Most records hold no '"' (convert_quote_free splits them itself), one in eight has
  // a field of generate_csv's kinds (read by the tokenizer from the record's start);
  // INGOT_CSV_QUOTE_FREE=0 sends every record through the tokenizer. Both must give
  // Python's rows and the same bytes, for every -j and chunk size.
  std::mt19937 rng(14);
  static const char* const words[] = {"a",     "b9",
                                      "12",    "-3.5",
                                      "true",  "",
                                      "x y",   "\\",
                                      "tab\t", "\xc3\xa9t\xc3\xa9",
                                      "0.5",   "1e5",
                                      "007",   "a long field past the sixty-four byte window of delimiter bits"};
  std::string text = "c1,c2,c3,c4,c5\n";
  for (int r = 0; r < 6000; ++r) {
    text += std::to_string(r + 1);
    const bool quoted = rng() % 8 == 0;
    for (int c = 1; c < kColumns; ++c) {
      text += ",";
      text += quoted && c == 2 ? field(rng) : words[rng() % (sizeof words / sizeof words[0])];
    }
    text += rng() % 4 == 0 ? "\r\n" : "\n";
  }
  TempDir dir;
  write_file(dir / "in.csv", text);
  const auto want = python_rows(dir, "in.csv");
  REQUIRE(want.size() == 6001);
  std::string first;
  for (const char* env : {"", "INGOT_CSV_QUOTE_FREE=0 "}) {
    for (const char* opts : {"-j1", "-j2 --chunk-size 64K", "-j2 --chunk-size 7"}) {
      INFO(env << opts);
      RunResult r =
          run_sh(dir, std::string(env) + "\"$INGOT\" convert in.csv --types string -o out.ndjson --json -q " + opts);
      INFO(r.err);
      REQUIRE(r.code == 0);
      CHECK(report(r)["stats"]["records"]["invalid"] == 0);
      const std::string out = read_file(dir / "out.ndjson");
      require_same_rows(ndjson_rows(out), want);
      if (first.empty()) first = out;
      REQUIRE(out == first);
    }
  }
}

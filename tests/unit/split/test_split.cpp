// split and merge through the library: round trips for every mode and record kind,
// cuts at every byte position of CSV with quoted newlines, --plan == real split,
// -j1 == -jN, tiny chunks == default chunks.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "ingot/chunk/boundary.h"
#include "ingot/io/input.h"
#include "ingot/split/manifest.h"
#include "ingot/merge/merge.h"
#include "ingot/split/split.h"
#include "ingot/util/hash.h"

namespace fs = std::filesystem;
using namespace ingot;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

struct Scratch {
  fs::path dir;
  Scratch() {
    std::random_device rd;
    dir = fs::temp_directory_path() / ("ingot-split-unit-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir);
  }
  ~Scratch() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string operator/(const std::string& n) const { return (dir / n).string(); }
};

// Fresh output directory per split so --force is never needed.
SplitReport do_split(const Scratch& s, const std::string& input, SplitBy by, std::uint64_t amount, RecordKind kind,
                     const std::string& sub, unsigned threads = 0, std::size_t chunk = kDefaultChunkSize,
                     bool plan = false, bool header = true) {
  fs::remove_all(s.dir / sub);
  fs::create_directories(s.dir / sub);
  SplitOptions o;
  o.input = input;
  o.by = by;
  o.amount = amount;
  o.kind = kind;
  o.header = header;
  o.plan = plan;
  o.prefix = s / (sub + "/p-");
  o.pipeline.threads = threads;
  o.chunker.chunk_size = chunk;
  auto r = split(o);
  if (!r) FAIL(r.error().message());
  return r.value();
}

std::string merged(const Scratch& s, const std::string& manifest) {
  MergeOptions o;
  o.manifest = manifest;
  o.output = s / "merged.out";
  o.verify = true;
  auto r = merge(o);
  if (!r) FAIL(r.error().message());
  return slurp(s / "merged.out");
}

// Every piece: header on top, body ending on a record boundary (but the last), the
// manifest's size, hash and record count right, --bytes respected unless oversized.
void check_pieces(const SplitReport& r, const std::string& source, RecordKind kind, SplitBy by, std::uint64_t amount) {
  const Manifest& m = r.manifest;
  std::uint64_t next_record = 1;
  for (std::size_t i = 0; i < m.pieces.size(); ++i) {
    const ManifestPiece& p = m.pieces[i];
    INFO("piece " << i + 1 << " " << p.path);
    const std::string text = slurp(p.path);
    REQUIRE(text.size() == p.header_bytes + p.length);
    REQUIRE(p.size == text.size());
    REQUIRE(p.xxh3 == xxh3_hex(xxh3_64(text.data(), text.size())));
    REQUIRE(text.substr(0, p.header_bytes) == m.header);
    const std::string body = text.substr(p.header_bytes);
    REQUIRE(body == source.substr(p.offset, p.length));
    const bool last = i + 1 == m.pieces.size();
    // Only the piece reaching the end of the source may end without a terminator
    // (with --pieces, empty pieces can follow it).
    const bool at_end = p.offset + p.length == source.size();
    if (!at_end && !body.empty()) REQUIRE(last_record_end(body.data(), body.size(), kind) == body.size());
    std::uint64_t records = scan_records(body.data(), body.size(), kind).records;
    if (at_end && !body.empty() && last_record_end(body.data(), body.size(), kind) != body.size()) ++records;
    REQUIRE(p.records == records);
    REQUIRE(p.first_record == next_record);
    next_record += records;
    if (by == SplitBy::bytes) {
      if (p.oversized)
        REQUIRE(records == 1);
      else
        REQUIRE(text.size() <= amount);
    }
    if (by == SplitBy::records && !last) REQUIRE(records == amount);
  }
  if (by == SplitBy::pieces) REQUIRE(m.pieces.size() == amount);
}

std::string csv_with_quoted_newlines() {
  return "id,note,n\r\n"
         "1,\"line one\nline two\",10\r\n"
         "2,plain,20\n"
         "3,\"a \"\"quoted\"\" word, and a comma\",30\n"
         "4,\"\n\n\",40\r\n"
         "5,\"x\r\ny\",50\n"
         "6,last,60";  // no final newline
}

}  // namespace

TEST_CASE("split: CSV with quoted newlines round-trips with a cut at every byte position", "[split][csv]") {
  Scratch s;
  const std::string src = csv_with_quoted_newlines();
  spit(s / "in.csv", src);
  const std::uint64_t hb = std::string("id,note,n\r\n").size();
  for (std::uint64_t b = hb + 1; b <= src.size() + 1; ++b) {
    INFO("--bytes " << b);
    auto r = do_split(s, s / "in.csv", SplitBy::bytes, b, RecordKind::csv, "b");
    check_pieces(r, src, RecordKind::csv, SplitBy::bytes, b);
    REQUIRE(merged(s, r.manifest_path) == src);
  }
  for (std::uint64_t n = 1; n <= 8; ++n) {
    INFO("--records " << n);
    auto r = do_split(s, s / "in.csv", SplitBy::records, n, RecordKind::csv, "r");
    check_pieces(r, src, RecordKind::csv, SplitBy::records, n);
    REQUIRE(merged(s, r.manifest_path) == src);
  }
  for (std::uint64_t n = 1; n <= src.size(); n += (n < 12 ? 1 : 7)) {
    INFO("--pieces " << n);
    auto r = do_split(s, s / "in.csv", SplitBy::pieces, n, RecordKind::csv, "n");
    check_pieces(r, src, RecordKind::csv, SplitBy::pieces, n);
    REQUIRE(merged(s, r.manifest_path) == src);
  }
}

TEST_CASE("split: lines and NDJSON round-trip in every mode, CRLF and no final newline", "[split][lines]") {
  Scratch s;
  const std::string lines = "alpha\r\nbeta\n\ngamma delta\r\nepsilon\nzeta";
  const std::string ndjson = "{\"a\":1}\n{\"b\":\"x\\ny\"}\r\n{\"c\":[1,2,3]}\n{\"d\":null}\n";
  for (auto [name, src, kind] :
       {std::tuple{"lines", lines, RecordKind::lines}, std::tuple{"ndjson", ndjson, RecordKind::ndjson}}) {
    INFO(name);
    spit(s / "in", src);
    for (std::uint64_t b = 1; b <= src.size() + 1; ++b) {
      INFO("--bytes " << b);
      auto r = do_split(s, s / "in", SplitBy::bytes, b, kind, "b");
      check_pieces(r, src, kind, SplitBy::bytes, b);
      REQUIRE(merged(s, r.manifest_path) == src);
    }
    for (std::uint64_t n = 1; n <= 8; ++n) {
      auto r = do_split(s, s / "in", SplitBy::records, n, kind, "r");
      check_pieces(r, src, kind, SplitBy::records, n);
      REQUIRE(merged(s, r.manifest_path) == src);
      auto p = do_split(s, s / "in", SplitBy::pieces, n, kind, "n");
      check_pieces(p, src, kind, SplitBy::pieces, n);
      REQUIRE(merged(s, p.manifest_path) == src);
    }
  }
}

TEST_CASE("split: a record bigger than --bytes gets a piece of its own, flagged oversized", "[split]") {
  Scratch s;
  const std::string big(5000, 'x');
  const std::string src = "a\nb\n" + big + "\nc\nd\n";
  spit(s / "in.txt", src);
  auto r = do_split(s, s / "in.txt", SplitBy::bytes, 100, RecordKind::lines, "o");
  check_pieces(r, src, RecordKind::lines, SplitBy::bytes, 100);
  REQUIRE(r.manifest.pieces.size() == 3);
  REQUIRE(r.oversized == std::vector<std::uint64_t>{2});
  REQUIRE(slurp(r.manifest.pieces[1].path) == big + "\n");
  REQUIRE(merged(s, r.manifest_path) == src);
}

TEST_CASE("split: empty input and header-only CSV give one piece that merges back", "[split]") {
  Scratch s;
  for (const std::string& src : {std::string(), std::string("a,b\n"), std::string("a,b")}) {
    INFO("input '" << src << "'");
    spit(s / "in.csv", src);
    for (SplitBy by : {SplitBy::bytes, SplitBy::records, SplitBy::pieces}) {
      auto r = do_split(s, s / "in.csv", by, 10, RecordKind::csv, "e");
      REQUIRE(r.manifest.pieces.size() == (by == SplitBy::pieces ? 10u : 1u));
      REQUIRE(slurp(r.manifest.pieces[0].path) == src);
      REQUIRE(r.records == 0u);
      REQUIRE(merged(s, r.manifest_path) == src);
    }
  }
}

TEST_CASE("split: CSV without header (--no-header) cuts the first line like any record", "[split][csv]") {
  Scratch s;
  const std::string src = "1,a\n2,b\n3,c\n";
  spit(s / "in.csv", src);
  auto r = do_split(s, s / "in.csv", SplitBy::records, 1, RecordKind::csv, "h", 0, kDefaultChunkSize, false, false);
  REQUIRE(r.manifest.pieces.size() == 3);
  REQUIRE(r.manifest.header.empty());
  REQUIRE(slurp(r.manifest.pieces[0].path) == "1,a\n");
  REQUIRE(merged(s, r.manifest_path) == src);
}

namespace {

// A few thousand records of mixed kinds and lengths, quoted newlines included.
std::string generated_csv(std::size_t records) {
  std::mt19937 rng(7);
  std::string s = "id,text,value\n";
  for (std::size_t i = 0; i < records; ++i) {
    s += std::to_string(i) + ",";
    switch (rng() % 4) {
      case 0: s += "\"multi\nline " + std::string(rng() % 50, 'm') + "\""; break;
      case 1: s += "\"has \"\"quotes\"\"\""; break;
      case 2: s += std::string(rng() % 200, 'p'); break;
      default: s += "\"\r\n\""; break;
    }
    s += "," + std::to_string(rng() % 1000) + (rng() % 3 ? "\n" : "\r\n");
  }
  return s;
}

std::vector<std::string> piece_texts(const SplitReport& r) {
  std::vector<std::string> v;
  for (auto& p : r.manifest.pieces) v.push_back(slurp(p.path));
  return v;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges(const Manifest& m) {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> v;
  for (auto& p : m.pieces) v.emplace_back(p.offset, p.length);
  return v;
}

}  // namespace

TEST_CASE("split: -j1 and -jN, tiny and default chunks give identical pieces and manifests", "[split][parallel]") {
  Scratch s;
  const std::string src = generated_csv(4000);
  spit(s / "in.csv", src);
  struct Mode {
    SplitBy by;
    std::uint64_t amount;
  };
  for (Mode mode : {Mode{SplitBy::bytes, 7000}, Mode{SplitBy::records, 333}, Mode{SplitBy::pieces, 9}}) {
    INFO("mode " << static_cast<int>(mode.by));
    auto one = do_split(s, s / "in.csv", mode.by, mode.amount, RecordKind::csv, "j1", 1);
    auto many = do_split(s, s / "in.csv", mode.by, mode.amount, RecordKind::csv, "jn", 4, 1024);
    check_pieces(one, src, RecordKind::csv, mode.by, mode.amount);
    REQUIRE(piece_texts(one) == piece_texts(many));
    // Manifests differ only in the piece directory, which each stores by bare name.
    REQUIRE(slurp(one.manifest_path) == slurp(many.manifest_path));
    REQUIRE(merged(s, many.manifest_path) == src);
  }
}

TEST_CASE("split: --plan ranges equal the ranges of a real split", "[split][plan]") {
  Scratch s;
  const std::string src = generated_csv(3000);
  spit(s / "in.csv", src);
  struct Mode {
    SplitBy by;
    std::uint64_t amount;
  };
  for (Mode mode :
       {Mode{SplitBy::bytes, 5000}, Mode{SplitBy::bytes, 64}, Mode{SplitBy::records, 250}, Mode{SplitBy::pieces, 13}}) {
    INFO("mode " << static_cast<int>(mode.by) << " " << mode.amount);
    auto real = do_split(s, s / "in.csv", mode.by, mode.amount, RecordKind::csv, "real");
    auto plan = do_split(s, s / "in.csv", mode.by, mode.amount, RecordKind::csv, "plan", 0, 4096, true);
    REQUIRE(plan.manifest.plan);
    REQUIRE(ranges(plan.manifest) == ranges(real.manifest));
    REQUIRE_FALSE(fs::exists(plan.manifest.pieces[0].path));  // a plan copies nothing
    Manifest back = read_manifest(plan.manifest_path);
    for (std::size_t i = 0; i < back.pieces.size(); ++i) {
      REQUIRE(back.pieces[i].xxh3 == std::nullopt);
      if (mode.by == SplitBy::records) {
        REQUIRE(back.pieces[i].records == real.manifest.pieces[i].records);
        REQUIRE(back.pieces[i].first_record == real.manifest.pieces[i].first_record);
      } else {
        REQUIRE(back.pieces[i].records == std::nullopt);  // would need a scan
      }
      ByteRange br = manifest_piece_range(back, i + 1);
      REQUIRE(br.begin == real.manifest.pieces[i].offset);
      REQUIRE(br.size() == real.manifest.pieces[i].length);
    }
  }
}

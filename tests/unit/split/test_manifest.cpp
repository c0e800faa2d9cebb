// The split manifest: write/read round trip, relocatable piece paths, and clear
// errors for manifests that are truncated, not JSON or wrongly typed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "ingot/split/manifest.h"
#include "ingot/util/error.h"
#include "ingot/util/hash.h"

namespace fs = std::filesystem;
using namespace ingot;

namespace {

struct Dir {
  fs::path path;
  Dir() {
    std::random_device rd;
    path =
        fs::temp_directory_path() / ("ingot-manifest-unit-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(path / "sub");
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& n) const { return (path / n).string(); }
};

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void spit(const std::string& p, const std::string& data) { std::ofstream(p, std::ios::binary) << data; }

Manifest sample(const Dir& d) {
  Manifest m;
  m.version = "9.9.9";
  m.source = "/data/taxi.csv";
  m.kind = "csv";
  m.fingerprint = {1000, 1700000000123456789, 0x0123456789abcdefULL};
  m.header = "id,name\r\n";
  m.mode = "bytes";
  m.amount = 600;
  m.prefix = d / "sub/taxi-";
  m.extension = ".csv";
  m.digits = 5;
  ManifestPiece a;
  a.path = d / "sub/taxi-00000.csv";
  a.offset = 9;
  a.length = 500;
  a.first_record = 1;
  a.records = 20;
  a.header_bytes = 9;
  a.size = 509;
  a.xxh3 = xxh3_hex(42);
  ManifestPiece b = a;
  b.path = d / "sub/taxi-00001.csv";
  b.offset = 509;
  b.length = 491;
  b.first_record = 21;
  b.records = 19;
  b.size = 500;
  b.oversized = true;
  m.pieces = {a, b};
  return m;
}

std::string error_of(const std::string& path) {
  try {
    read_manifest(path);
  } catch (const Error& e) {
    return e.message();
  }
  return "no error";
}

}  // namespace

TEST_CASE("manifest: write then read gives back every field", "[manifest]") {
  Dir d;
  Manifest m = sample(d);
  write_manifest(d / "sub/taxi-manifest.json", m);
  Manifest r = read_manifest(d / "sub/taxi-manifest.json");
  REQUIRE(r.version == "9.9.9");
  REQUIRE(r.source == m.source);
  REQUIRE(r.kind == "csv");
  REQUIRE(r.fingerprint == m.fingerprint);
  REQUIRE(r.header == m.header);
  REQUIRE(r.mode == "bytes");
  REQUIRE(r.amount == 600);
  REQUIRE(r.prefix == m.prefix);
  REQUIRE(r.pieces.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(r.pieces[i].path == m.pieces[i].path);
    REQUIRE(r.pieces[i].offset == m.pieces[i].offset);
    REQUIRE(r.pieces[i].length == m.pieces[i].length);
    REQUIRE(r.pieces[i].first_record == m.pieces[i].first_record);
    REQUIRE(r.pieces[i].records == m.pieces[i].records);
    REQUIRE(r.pieces[i].size == m.pieces[i].size);
    REQUIRE(r.pieces[i].xxh3 == m.pieces[i].xxh3);
    REQUIRE(r.pieces[i].oversized == m.pieces[i].oversized);
  }
  // Pieces next to the manifest are stored by bare name: the directory can move.
  const std::string text = slurp(d / "sub/taxi-manifest.json");
  REQUIRE(text.find("\"path\": \"taxi-00000.csv\"") != std::string::npos);
  REQUIRE(text.rfind("{\n  \"ingot_manifest\": 1,", 0) == 0);
  fs::rename(d.path / "sub", d.path / "moved");
  Manifest moved = read_manifest(d / "moved/taxi-manifest.json");
  REQUIRE(moved.pieces[1].path == d / "moved/taxi-00001.csv");
}

TEST_CASE("manifest: a header that is not UTF-8 survives byte for byte", "[manifest]") {
  Dir d;
  Manifest m = sample(d);
  m.header = "caf\xe9,na\xefve\n";  // Latin-1
  for (auto& p : m.pieces) {
    p.header_bytes = m.header.size();
    p.size = p.header_bytes + p.length;
  }
  write_manifest(d / "m.json", m);
  REQUIRE(read_manifest(d / "m.json").header == m.header);
}

TEST_CASE("manifest: unknown record counts of a plan are null and read back as unknown", "[manifest]") {
  Dir d;
  Manifest m = sample(d);
  m.plan = true;
  for (auto& p : m.pieces) {
    p.records.reset();
    p.first_record.reset();
    p.size.reset();
    p.xxh3.reset();
  }
  write_manifest(d / "plan.json", m);
  const std::string text = slurp(d / "plan.json");
  REQUIRE(text.find("\"records\": null") != std::string::npos);
  Manifest r = read_manifest(d / "plan.json");
  REQUIRE(r.plan);
  REQUIRE_FALSE(r.pieces[0].records.has_value());
  REQUIRE_FALSE(r.pieces[0].xxh3.has_value());
  ByteRange b = manifest_piece_range(r, 2);
  REQUIRE(b.begin == 509);
  REQUIRE(b.end == 1000);
}

TEST_CASE("manifest: truncated, non-JSON and mistyped manifests fail with a clear message", "[manifest]") {
  Dir d;
  write_manifest(d / "good.json", sample(d));
  const std::string good = slurp(d / "good.json");

  spit(d / "trunc.json", good.substr(0, good.size() / 2));
  REQUIRE(error_of(d / "trunc.json") == d / "trunc.json" +
                                            ": not a valid split manifest: truncated (its JSON stops after " +
                                            std::to_string(good.size() / 2) + " bytes)");

  spit(d / "text.json", "id,name\n1,a\n");
  REQUIRE(error_of(d / "text.json") ==
          d / "text.json" + ": not a valid split manifest: not JSON (parse error at byte 1)");

  spit(d / "other.json", "{\"hello\": 1}");
  REQUIRE(error_of(d / "other.json") ==
          d / "other.json" +
              ": not a valid split manifest: ingot_manifest: missing (not a manifest written by ingot split)");

  std::string bad = good;
  bad.replace(bad.find("\"offset\": 509"), 13, "\"offset\": \"x\"");
  spit(d / "typed.json", bad);
  REQUIRE(error_of(d / "typed.json") ==
          d / "typed.json" + ": not a valid split manifest: pieces[1].offset: not a non-negative integer");

  std::string overlap = good;
  overlap.replace(overlap.find("\"offset\": 509"), 13, "\"offset\": 100");
  spit(d / "overlap.json", overlap);
  REQUIRE(error_of(d / "overlap.json").find("pieces[1].offset: overlaps the previous piece") != std::string::npos);

  REQUIRE(error_of(d / "missing.json").find("cannot open manifest") != std::string::npos);
}

TEST_CASE("manifest: --piece out of range is a usage error", "[manifest]") {
  Dir d;
  Manifest m = sample(d);
  for (std::uint64_t k : {std::uint64_t{0}, std::uint64_t{3}}) {
    try {
      manifest_piece_range(m, k);
      FAIL("no error for piece " << k);
    } catch (const Error& e) {
      REQUIRE(e.kind() == ErrorKind::usage);
      REQUIRE(std::string(e.what()) == "--piece " + std::to_string(k) + " is out of range (the manifest has 2 pieces)");
    }
  }
  REQUIRE(piece_name("out/t-", 7, 5, ".csv") == "out/t-00007.csv");
  REQUIRE(piece_name("", 123456, 5, "") == "123456");
}

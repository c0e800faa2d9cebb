// Merge keeps indexes: the index of a concatenation written from the pieces' indexes
// (offsets and record numbers rebased, repeated CSV headers dropped) is byte-identical
// to a fresh index of the concatenated file.
#include <catch2/catch.hpp>

#include <random>

#include "ingot/index/index.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

void index_file(const std::string& path, RecordKind kind, const std::string& out = {}) {
  IndexOptions o;
  o.input = path;
  o.output = out;
  o.kind = kind;
  o.chunker.chunk_size = 64;
  Result<IndexReport> r = build_index(o);
  if (!r) FAIL("build_index: " << r.error().message());
}

// Writes the pieces, indexes each, concatenates them the way merge does, and compares
// the rebased index with a fresh one.
void check_merge(const std::vector<std::string>& pieces, RecordKind kind, const std::string& header) {
  TempDir dir;
  std::vector<std::string> paths;
  std::string merged = header;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const std::string p = dir.str("piece" + std::to_string(i));
    write_file(p, header + pieces[i]);
    index_file(p, kind);
    paths.push_back(p);
    merged += pieces[i];
  }
  write_file(dir / "merged", merged);
  index_file(dir.str("merged"), kind, dir.str("fresh.idx"));

  const std::vector<MergePiece> layout = concat_layout(paths);
  Result<IndexReport> r = merge_indexes(layout, dir.str("merged"));
  if (!r) FAIL("merge_indexes: " << r.error().message());
  CHECK(r.value().output == dir.str("merged") + ".idx");
  REQUIRE(read_file(dir / "merged.idx") == read_file(dir / "fresh.idx"));
}

std::string lines(std::mt19937_64& rng, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += std::string(rng() % 30, 'a' + static_cast<char>(i % 26)) + "\n";
  return s;
}

}  // namespace

TEST_CASE("index merge: rebased piece indexes equal a fresh index of the concatenation", "[index][merge]") {
  std::mt19937_64 rng(1);
  SECTION("lines, pieces of many sizes (block edges inside and across pieces)") {
    check_merge({lines(rng, 127), lines(rng, 1), lines(rng, 300), lines(rng, 128)}, RecordKind::lines, "");
  }
  SECTION("lines, empty pieces and a last piece without a final newline") {
    check_merge({lines(rng, 5), "", lines(rng, 200), "last"}, RecordKind::lines, "");
  }
  SECTION("CSV: the repeated headers are dropped, quoted newlines stay in their record") {
    check_merge({"1,\"a\nb\"\n2,x\n", "3,\"c\r\nd\"\n", "", "4,y\n5,\"\"\"q\"\"\"\n"}, RecordKind::csv,
                "id,\"multi\nline\"\n");
  }
  SECTION("a single piece") { check_merge({lines(rng, 1000)}, RecordKind::ndjson, ""); }
}

TEST_CASE("index merge: refuses what it cannot rebase exactly", "[index][merge]") {
  TempDir dir;
  write_file(dir / "a", "one\ntwo");  // no final newline: "two" would join the next piece's first line
  write_file(dir / "b", "three\n");
  index_file(dir.str("a"), RecordKind::lines);
  index_file(dir.str("b"), RecordKind::lines);
  write_file(dir / "m", "one\ntwothree\n");
  auto r = merge_indexes(concat_layout({dir.str("a"), dir.str("b")}), dir.str("m"));
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("does not end with a line end"));
  CHECK_FALSE(fs::exists(dir / "m.idx"));

  write_file(dir / "c", "one\n");
  index_file(dir.str("c"), RecordKind::lines);
  write_file(dir / "m2", "one\nthree\nextra\n");  // not the concatenation
  auto r2 = merge_indexes(concat_layout({dir.str("c"), dir.str("b")}), dir.str("m2"));
  REQUIRE_FALSE(r2);
  CHECK_THAT(r2.error().message(), Catch::Contains("is not their concatenation"));

  write_file(dir / "b", "THREE\n");  // changed after indexing: its index is stale
  CHECK_THROWS_WITH(concat_layout({dir.str("c"), dir.str("b")}), Catch::Contains("is stale"));
}

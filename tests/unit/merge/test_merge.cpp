// merge through the library: the layout that says where each piece lands in the output
// (the byte offsets an index is rebased by).
#include <catch2/catch.hpp>

#include <filesystem>

#include "ingot/merge/merge.h"
#include "ingot/split/split.h"
#include "support.h"

using namespace ingot;
using ingot_test::read_file;
using ingot_test::TempDir;
using ingot_test::write_file;

namespace {

// The scratch directory of a test, paths as strings (the library's options take them).
struct Scratch {
  TempDir dir;
  std::string operator/(const std::string& n) const { return dir.str(n); }
};

void spit(const std::string& p, const std::string& data) { write_file(p, data); }
std::string slurp(const std::string& p) { return read_file(p); }

// split `input` by records into dir/sub/p-*; the report.
SplitReport do_split(const Scratch& s, const std::string& input, SplitBy by, std::uint64_t amount, RecordKind kind,
                     const std::string& sub) {
  std::filesystem::create_directories(s / sub);
  SplitOptions o;
  o.input = input;
  o.by = by;
  o.amount = amount;
  o.kind = kind;
  o.prefix = s / (sub + "/p-");
  auto r = split(o);
  if (!r) FAIL(r.error().message());
  return r.value();
}

}  // namespace

TEST_CASE("merge: layout gives each piece's place in the output", "[merge]") {
  Scratch s;
  const std::string src = "h1,h2\n1,a\n2,b\n3,c\n4,d\n";
  spit(s / "in.csv", src);
  auto r = do_split(s, s / "in.csv", SplitBy::records, 2, RecordKind::csv, "m");
  MergeOptions o;
  o.manifest = r.manifest_path;
  o.output = s / "out.csv";
  auto m = merge(o);
  REQUIRE(m);
  const MergeLayout& l = m.value().layout;
  REQUIRE(l.header_bytes == 6);
  REQUIRE(l.pieces.size() == 2);
  REQUIRE(l.pieces[0].skipped == 0);
  REQUIRE(l.pieces[0].output_offset == 0);
  REQUIRE(l.pieces[1].skipped == 6);
  REQUIRE(l.pieces[1].output_offset == 6 + 8);
  REQUIRE(l.pieces[1].to_output(6) == 14);  // piece 2's first record "3,c" is at 14 in the output
  REQUIRE(src.substr(14, 4) == "3,c\n");
  REQUIRE(l.pieces[1].first_record == 3u);
  REQUIRE(slurp(s / "out.csv") == src);
}

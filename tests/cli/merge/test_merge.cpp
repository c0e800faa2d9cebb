// ingot merge through the real binary: manifest and piece-list merges, --verify
// catching missing, extra and changed pieces, headers that differ, bad manifests.
#include "cli/cli.h"

#include <nlohmann/json.hpp>

using namespace ingot_test;

namespace {

std::string sample_csv(const std::string& header, int rows) {
  std::string s = header;
  for (int i = 0; i < rows; ++i) s += std::to_string(i) + ",\"cell\n" + std::to_string(i * 7) + "\"\r\n";
  return s;
}

// Splits `name` into 4 pieces under dir/prefix; returns the manifest path.
std::string split4(const TempDir& d, const std::string& name, const std::string& prefix) {
  auto r = run_ingot(d, "split " + name + " --pieces 4 -q --prefix " + prefix);
  REQUIRE(r.code == 0);
  return prefix + "manifest.json";
}

}  // namespace

TEST_CASE("cli merge: manifest, piece list and stdout give the source back", "[cli][merge]") {
  TempDir d;
  const std::string src = sample_csv("id,v\n", 500);
  write_file(d / "s.csv", src);
  fs::create_directories(d / "p");
  split4(d, "s.csv", "p/s-");
  auto a = run_ingot(d, "merge p/s-manifest.json -o a.csv");
  REQUIRE(a.code == 0);
  REQUIRE(a.err.rfind("ingot merge: 4 pieces, ", 0) == 0);
  REQUIRE(read_file(d / "a.csv") == src);
  auto b = run_ingot(d, "merge --manifest p/s-manifest.json -o b.csv --verify -q -j1");
  REQUIRE(b.code == 0);
  REQUIRE(b.err.empty());
  REQUIRE(read_file(d / "b.csv") == src);
  auto c = run_ingot(d, "merge p/s-00000.csv p/s-00001.csv p/s-00002.csv p/s-00003.csv -q");
  REQUIRE(c.code == 0);
  REQUIRE(c.out == src);
  auto j = run_ingot(d, "merge p/s-manifest.json -o c.csv --json -q");
  auto rep = nlohmann::json::parse(j.out);
  REQUIRE(rep["result"]["bytes"] == src.size());
  REQUIRE(rep["result"]["header_bytes"] == 5);
}

TEST_CASE("cli merge: --verify names a missing, an extra and a changed piece before writing", "[cli][merge]") {
  TempDir d;
  write_file(d / "s.csv", sample_csv("id,v\n", 300));
  fs::create_directories(d / "p");
  split4(d, "s.csv", "p/s-");
  const std::string piece2 = read_file(d / "p/s-00002.csv");

  // Changed: same size, one byte different.
  std::string changed = piece2;
  changed[changed.size() / 2] = changed[changed.size() / 2] == '7' ? '8' : '7';
  write_file(d / "p/s-00002.csv", changed);
  auto c = run_ingot(d, "merge p/s-manifest.json --verify -o out.csv");
  REQUIRE(c.code == 1);
  REQUIRE(c.err.rfind("ingot merge: error: p/s-00002.csv: piece content does not match the manifest (xxh3 ", 0) == 0);
  REQUIRE_FALSE(fs::exists(d / "out.csv"));

  // Changed size: caught even without --verify.
  write_file(d / "p/s-00002.csv", piece2 + "9,x\n");
  auto sz = run_ingot(d, "merge p/s-manifest.json -o out.csv");
  REQUIRE(sz.code == 1);
  REQUIRE(sz.err == "ingot merge: error: p/s-00002.csv: piece is " + std::to_string(piece2.size() + 4) +
                        " bytes, the manifest says " + std::to_string(piece2.size()) +
                        " (changed, or from another split)\n");
  write_file(d / "p/s-00002.csv", piece2);

  // Extra: a piece named like the others but not in the manifest.
  write_file(d / "p/s-00004.csv", "id,v\n9,x\n");
  auto e = run_ingot(d, "merge p/s-manifest.json --verify -o out.csv");
  REQUIRE(e.code == 1);
  REQUIRE(
      e.err ==
      "ingot merge: error: p/s-00004.csv: extra piece not listed in the manifest (left over from another split?)\n");
  fs::remove(d / "p/s-00004.csv");

  // Missing.
  fs::remove(d / "p/s-00001.csv");
  auto m = run_ingot(d, "merge p/s-manifest.json --verify -o out.csv");
  REQUIRE(m.code == 1);
  REQUIRE(m.err == "ingot merge: error: p/s-00001.csv: cannot open: No such file or directory\n");
  REQUIRE_FALSE(fs::exists(d / "out.csv"));
}

TEST_CASE("cli merge: pieces of two different splits are refused", "[cli][merge]") {
  TempDir d;
  write_file(d / "a.csv", sample_csv("id,v\n", 100));
  write_file(d / "b.csv", sample_csv("id,w\n", 100));
  fs::create_directories(d / "a");
  fs::create_directories(d / "b");
  split4(d, "a.csv", "a/x-");
  split4(d, "b.csv", "b/x-");
  // Different headers: a piece list says which piece does not belong.
  auto h = run_ingot(d, "merge a/x-00000.csv b/x-00001.csv -o out.csv");
  REQUIRE(h.code == 1);
  REQUIRE(h.err ==
          "ingot merge: error: b/x-00001.csv: header differs from the header of a/x-00000.csv (pieces of different "
          "files or splits?)\n");
  // Same header, different data, swapped into a's directory: the manifest's sizes/hashes catch it.
  write_file(d / "c.csv", sample_csv("id,v\n", 120));
  fs::create_directories(d / "c");
  split4(d, "c.csv", "c/x-");
  fs::copy_file(d / "c/x-00003.csv", d / "a/x-00003.csv", fs::copy_options::overwrite_existing);
  auto s = run_ingot(d, "merge a/x-manifest.json --verify -o out.csv");
  REQUIRE(s.code == 1);
  REQUIRE(s.err.rfind("ingot merge: error: a/x-00003.csv: piece ", 0) == 0);
  REQUIRE_FALSE(fs::exists(d / "out.csv"));
}

TEST_CASE("cli merge: truncated or non-JSON manifests, usage errors", "[cli][merge]") {
  TempDir d;
  write_file(d / "s.csv", sample_csv("id,v\n", 50));
  split4(d, "s.csv", "s-");
  const std::string text = read_file(d / "s-manifest.json");
  write_file(d / "trunc.json", text.substr(0, 200));
  auto t = run_ingot(d, "merge --manifest trunc.json -o out.csv");
  REQUIRE(t.code == 1);
  REQUIRE(t.err ==
          "ingot merge: error: trunc.json: not a valid split manifest: truncated (its JSON stops after 200 bytes)\n");
  write_file(d / "junk.json", "this is not json");
  auto j = run_ingot(d, "merge --manifest junk.json -o out.csv");
  REQUIRE(j.code == 1);
  REQUIRE(j.err == "ingot merge: error: junk.json: not a valid split manifest: not JSON (parse error at byte 2)\n");
  // A lone argument named like a manifest is read as one, damaged or not; any other
  // lone file is a one-piece merge.
  write_file(d / "s-manifest.json", text.substr(0, 200));
  auto m = run_ingot(d, "merge s-manifest.json -o out.csv");
  REQUIRE(m.code == 1);
  REQUIRE(
      m.err ==
      "ingot merge: error: s-manifest.json: not a valid split manifest: truncated (its JSON stops after 200 bytes)\n");
  write_file(d / "data.json", "{\"a\":1}\n");
  REQUIRE(run_ingot(d, "merge data.json -o one.json").code == 0);
  REQUIRE(read_file(d / "one.json") == "{\"a\":1}\n");
  auto v = run_ingot(d, "merge s-00000.csv s-00001.csv --verify -o out.csv");
  REQUIRE(v.code == 2);
  REQUIRE(v.err ==
          "ingot merge: error: --verify needs a manifest (ingot merge PREFIX-manifest.json --verify -o OUT)\n");
  REQUIRE(run_ingot(d, "merge -o out.csv").code == 2);
  auto self = run_ingot(d, "merge s-00000.csv s-00001.csv -o s-00001.csv");
  REQUIRE(self.code == 2);
  REQUIRE(self.err ==
          "ingot merge: error: -o s-00001.csv is the piece file s-00001.csv (same file); refusing to overwrite it\n");
  REQUIRE(read_file(d / "s-00001.csv").rfind("id,v\n", 0) == 0);
  REQUIRE_FALSE(fs::exists(d / "out.csv"));
}

TEST_CASE("cli merge: headerless CSV pieces keep every first line with --no-header", "[cli][merge]") {
  TempDir d;
  const std::string src = "1,a\n2,b\n3,c\n4,d\n";
  write_file(d / "n.csv", src);
  REQUIRE(run_ingot(d, "split n.csv --records 1 --no-header -q").code == 0);
  REQUIRE(run_ingot(d, "merge n-manifest.json -o m1.csv -q").code == 0);
  REQUIRE(read_file(d / "m1.csv") == src);
  REQUIRE(run_ingot(d, "merge n-00000.csv n-00001.csv n-00002.csv n-00003.csv --no-header -o m2.csv -q").code == 0);
  REQUIRE(read_file(d / "m2.csv") == src);
}

TEST_CASE("cli merge: --delimiter decides where a quoted header field ends", "[cli][merge]") {
  // With ';' the '"' after it opens a quoted field holding a line break, so the header is
  // two lines; read with the default ',' the quote is literal and the header ends at the
  // first '\n', and the second half of piece 2's header would be copied as data.
  TempDir d;
  const std::string header = "a;\"b\nc\"\n";
  write_file(d / "p1.csv", header + "1;2\n");
  write_file(d / "p2.csv", header + "3;4\n");
  auto r = run_ingot(d, "merge p1.csv p2.csv --delimiter ';' -o m.csv -q");
  REQUIRE(r.code == 0);
  REQUIRE(read_file(d / "m.csv") == header + "1;2\n3;4\n");
  REQUIRE(run_ingot(d, "merge p1.csv p2.csv -o d.csv -q").code == 0);
  REQUIRE(read_file(d / "d.csv") == header + "1;2\nc\"\n3;4\n");
  auto bad = run_ingot(d, "merge p1.csv p2.csv --delimiter '\"' -o x.csv -q");
  REQUIRE(bad.code == 2);
  REQUIRE(bad.err.find("--delimiter must be one character") != std::string::npos);
  write_file(d / "s.csv", "x;y\n1;2\n3;4\n");
  REQUIRE(run_ingot(d, "split s.csv --records 1 --delimiter ';' -q").code == 0);
  auto m = run_ingot(d, "merge s-manifest.json --delimiter ';' -o y.csv -q");
  REQUIRE(m.code == 2);
  REQUIRE(m.err.find("--delimiter is not needed with a manifest") != std::string::npos);
}

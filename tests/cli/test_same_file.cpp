// Outputs never destroy inputs: every command refuses an output (-o, --rejects,
// --schema-out, pieces, manifest, index, upload rejects) that is one of its inputs
// however it is spelled (./x, an absolute path, a symlink, a hard link), and two
// outputs that are the same file; the input is left byte for byte as it was.
#include <map>

#include "cli.h"

using namespace ingot_test;

namespace {

const std::string kCsv = "id,name\n1,Ann\n2,Bo\n3,Cy\n";
const std::string kNdjson = "{\"id\":1,\"name\":\"Ann\"}\n{\"id\":2}\nnot json\n";

std::string refusal(const std::string& cmd, const std::string& output, const std::string& input) {
  return "ingot " + cmd + ": error: " + output + " is " + input + " (same file); refusing to overwrite it\n";
}

// Every file of the directory (not the captured .stdout/.stderr) with its content.
std::map<std::string, std::string> snapshot(const TempDir& d) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(d.path())) {
    const std::string rel = fs::relative(e.path(), d.path()).string();
    if (rel.rfind(".std", 0) == 0) continue;
    files[rel] = e.is_symlink()        ? "-> " + fs::read_symlink(e.path()).string()
                 : e.is_regular_file() ? read_file(e.path())
                                       : std::string("<dir>");
  }
  return files;
}

}  // namespace

TEST_CASE("cli same file: convert -o names the input through ./, an absolute path, a symlink or a hard link",
          "[cli][convert][same-file]") {
  TempDir d;
  write_file(d / "x.csv", kCsv);
  fs::create_symlink("x.csv", d / "link.ndjson");
  fs::create_hard_link(d / "x.csv", d / "hard.ndjson");
  const auto before = snapshot(d);
  const std::string abs = d.str("x.csv");
  struct Case {
    std::string args, output;
  };
  for (const Case& c :
       {Case{"-o x.csv --to ndjson", "-o x.csv"}, Case{"-o ./x.csv --to ndjson", "-o ./x.csv"},
        Case{"-o " + shell_quote(abs) + " --to ndjson", "-o " + abs}, Case{"-o link.ndjson", "-o link.ndjson"},
        Case{"-o hard.ndjson", "-o hard.ndjson"}, Case{"-o sub/../x.csv --to ndjson", "-o sub/../x.csv"}}) {
    INFO(c.args);
    fs::create_directories(d / "sub");
    RunResult r = run_ingot(d, "convert x.csv " + c.args);
    fs::remove(d / "sub");
    CHECK(r.code == 2);
    CHECK(r.err == refusal("convert", c.output, "the input x.csv"));
    CHECK(snapshot(d) == before);
  }
  // stdin that is the output file (`< x.csv -o x.csv`).
  RunResult r = run_sh(d, "\"$INGOT\" convert - --from csv -o ./x.csv --to ndjson < x.csv");
  CHECK(r.code == 2);
  CHECK(r.err == refusal("convert", "-o ./x.csv", "the input <stdin>"));
  CHECK(snapshot(d) == before);
}

TEST_CASE("cli same file: convert --rejects and --schema-out naming the input, --schema naming an output",
          "[cli][convert][same-file]") {
  TempDir d;
  write_file(d / "in.ndjson", kNdjson);
  write_file(d / "cols.json", "[\"id\",\"name\"]\n");
  const auto before = snapshot(d);
  RunResult rej = run_ingot(d, "convert in.ndjson -o out.csv --rejects ./in.ndjson");
  CHECK(rej.code == 2);
  CHECK(rej.err == refusal("convert", "--rejects ./in.ndjson", "the input in.ndjson"));
  RunResult sch = run_ingot(d, "convert in.ndjson -o out.csv --schema-out " + shell_quote(d.str("in.ndjson")));
  CHECK(sch.code == 2);
  CHECK(sch.err == refusal("convert", "--schema-out " + d.str("in.ndjson"), "the input in.ndjson"));
  RunResult only = run_ingot(d, "convert in.ndjson --schema-only --schema-out ./in.ndjson");
  CHECK(only.code == 2);
  RunResult over = run_ingot(d, "convert in.ndjson --schema cols.json --schema-out ./cols.json -o out.csv");
  CHECK(over.code == 2);
  CHECK(over.err == refusal("convert", "--schema-out ./cols.json", "the --schema file cols.json"));
  CHECK(snapshot(d) == before);  // and no out.csv
}

TEST_CASE("cli same file: two outputs that are the same file are refused, not one silently lost",
          "[cli][convert][same-file]") {
  TempDir d;
  write_file(d / "in.ndjson", kNdjson);
  const auto before = snapshot(d);
  RunResult r = run_ingot(d, "convert in.ndjson -o out.csv --rejects ./out.csv");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "ingot convert: error: -o out.csv and --rejects ./out.csv are the same file; give them different names\n");
  RunResult s = run_ingot(d, "convert in.ndjson -o out.csv --schema-out out.csv");
  CHECK(s.code == 2);
  CHECK(snapshot(d) == before);
  // Different names work, and /dev/null and stdout are never "the same file".
  RunResult ok = run_ingot(d, "convert in.ndjson -o out.csv --rejects rej.ndjson --schema-out /dev/null -q");
  CHECK(ok.code == 0);
  CHECK(lines_of(read_file(d / "rej.ndjson")).size() == 1);
  RunResult dev = run_ingot(d, "convert in.ndjson -o /dev/null --to csv --rejects /dev/null -q");
  CHECK(dev.code == 0);
}

TEST_CASE("cli same file: index -o naming the input is refused", "[cli][index][same-file]") {
  TempDir d;
  write_file(d / "input.txt", "a\nb\nc\n");
  const auto before = snapshot(d);
  RunResult r = run_ingot(d, "index input.txt -o ./input.txt");
  CHECK(r.code == 2);
  CHECK(r.err == refusal("index", "-o ./input.txt", "the input input.txt"));
  CHECK(snapshot(d) == before);
}

TEST_CASE("cli same file: split pieces or manifest naming the input, a manifest named like a piece",
          "[cli][split][same-file]") {
  TempDir d;
  write_file(d / "t.csv", kCsv);
  const auto before = snapshot(d);
  // The first piece of prefix "t" would be t00000.csv: make that the input by a link.
  fs::create_symlink("t.csv", d / "p-00000.csv");
  const auto with_link = snapshot(d);
  for (const std::string mode : {"--pieces 2", "--records 1"}) {
    INFO(mode);
    RunResult piece = run_ingot(d, "split t.csv " + mode + " --prefix ./p- --force");
    CHECK(piece.code == 2);
    CHECK(piece.err == refusal("split", "piece ./p-00000.csv", "the input t.csv"));
    CHECK(snapshot(d) == with_link);
    RunResult man = run_ingot(d, "split t.csv " + mode + " --prefix q- --manifest ./t.csv --force");
    CHECK(man.code == 2);
    CHECK(man.err == refusal("split", "manifest ./t.csv", "the input t.csv"));
    CHECK(snapshot(d) == with_link);
    RunResult same = run_ingot(d, "split t.csv " + mode + " --prefix q- --manifest ./q-00001.csv");
    CHECK(same.code == 2);
    CHECK(same.err ==
          "ingot split: error: piece q-00001.csv and manifest ./q-00001.csv are the same file; give them "
          "different names\n");
    CHECK(snapshot(d) == with_link);
  }
  fs::remove(d / "p-00000.csv");
  CHECK(snapshot(d) == before);
  // From a stream the pieces are named one by one as they are cut: still checked.
  RunResult stream =
      run_sh(d, "cat t.csv | \"$INGOT\" split - --kind csv --records 1 --prefix q- --manifest ./q-00001.csv");
  CHECK(stream.code == 2);
  CHECK(stream.err ==
        "ingot split: error: piece q-00001.csv and manifest ./q-00001.csv are the same file; give them "
        "different names\n");
  CHECK(snapshot(d) == before);
}

TEST_CASE("cli same file: merge -o naming a piece (through a link) or the manifest", "[cli][merge][same-file]") {
  TempDir d;
  write_file(d / "t.csv", kCsv);
  REQUIRE(run_ingot(d, "split t.csv --pieces 2 --prefix p- -q").code == 0);
  fs::create_hard_link(d / "p-00001.csv", d / "hard.csv");
  const auto before = snapshot(d);
  RunResult piece = run_ingot(d, "merge p-manifest.json -o hard.csv");
  CHECK(piece.code == 2);
  CHECK(piece.err == refusal("merge", "-o hard.csv", "the piece file p-00001.csv"));
  RunResult list = run_ingot(d, "merge p-00000.csv p-00001.csv -o " + shell_quote(d.str("p-00000.csv")));
  CHECK(list.code == 2);
  CHECK(list.err == refusal("merge", "-o " + d.str("p-00000.csv"), "the piece file p-00000.csv"));
  RunResult man = run_ingot(d, "merge p-manifest.json -o ./p-manifest.json");
  CHECK(man.code == 2);
  CHECK(man.err == refusal("merge", "-o ./p-manifest.json", "the manifest file p-manifest.json"));
  CHECK(snapshot(d) == before);
  RunResult ok = run_ingot(d, "merge p-manifest.json -o merged.csv --verify -q");
  CHECK(ok.code == 0);
  CHECK(read_file(d / "merged.csv") == kCsv);
}

TEST_CASE("cli same file: upload --rejects naming the source is refused before anything is sent",
          "[cli][upload][same-file]") {
  TempDir d;
  write_file(d / "in.ndjson", kNdjson);
  const auto before = snapshot(d);
  // No server is contacted: the check comes first (port 9 is discard, nothing listens).
  RunResult r = run_ingot(d, "upload in.ndjson http://127.0.0.1:9/ingest --rejects ./in.ndjson --retries 0");
  CHECK(r.code == 2);
  CHECK(r.err == refusal("upload", "--rejects ./in.ndjson", "the input in.ndjson"));
  CHECK(snapshot(d) == before);
}

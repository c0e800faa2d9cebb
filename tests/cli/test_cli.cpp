// One CLI vocabulary (issue 13): --from names the input format in every command (--kind
// a hidden alias), one K/N validator, one size validator and one --json envelope, each
// option's placeholder declared where it is added (and the completions offer the format
// values), `ingot help CMD`, -V, unknown commands named with "did you mean", CLI11's own
// errors as one house-format line, list options that never swallow the positional.
#include "cli.h"

using namespace ingot_test;

namespace {

// A CSV whose second record holds a quoted newline, named so that no extension tells
// its format: read as lines it is three records and has no header.
const std::string kCsv = "a,b\n1,\"x\ny\"\n2,z\n";

std::string house_usage(const std::string& cmd, const std::string& what) {
  return "ingot " + cmd + ": error: " + what + " (see 'ingot " + cmd + " --help')\n";
}

}  // namespace

TEST_CASE("cli: --from names the input format in split, index, get, merge, convert, and --kind still works",
          "[cli][vocabulary]") {
  TempDir d;
  write_file(d / "t.data", kCsv);
  for (const std::string opt : {"--from", "--kind"}) {
    INFO(opt);
    RunResult g = run_ingot(d, "get t.data 1 " + opt + " csv");
    INFO(g.err);
    CHECK(g.code == 0);
    CHECK(g.out == "1,\"x\ny\"\n");

    RunResult i = run_ingot(d, "index t.data -o t.idx --json -q " + opt + " csv");
    CHECK(i.code == 0);
    CHECK(report(i)["kind"] == "csv");
    CHECK(report(i)["records"] == 2);

    RunResult s = run_ingot(d, "split t.data --records 1 --force --prefix p- -q " + opt + " csv");
    CHECK(s.code == 0);
    CHECK(read_file(d / "p-00000.data") == "a,b\n1,\"x\ny\"\n");
    CHECK(read_file(d / "p-00001.data") == "a,b\n2,z\n");

    RunResult m = run_ingot(d, "merge p-00000.data p-00001.data -o m.data -q " + opt + " csv");
    CHECK(m.code == 0);
    CHECK(read_file(d / "m.data") == kCsv);

    RunResult c = run_ingot(d, "convert t.data --to ndjson -q " + opt + " csv");
    CHECK(c.code == 0);
    CHECK(c.out == "{\"a\":1,\"b\":\"x\\ny\"}\n{\"a\":2,\"b\":\"z\"}\n");
  }
  // The same spellings everywhere (parse_record_kind's), lines only where a command reads lines.
  CHECK(run_ingot(d, "get t.data 1 --from jsonl").code == 0);
  RunResult lines = run_ingot(d, "get t.data 2 --from lines");
  CHECK(lines.out == "1,\"x\n");

  RunResult bad = run_ingot(d, "split t.data --records 1 --from xml");
  CHECK(bad.code == 2);
  CHECK(bad.err == house_usage("split", "--from: must be lines, ndjson, csv or tsv, not 'xml'"));
  bad = run_ingot(d, "convert t.data --from lines");
  CHECK(bad.code == 2);
  CHECK(bad.err == house_usage("convert", "--from: must be ndjson, csv or tsv, not 'lines'"));
  bad = run_ingot(d, "convert t.data --from csv --to lines");
  CHECK(bad.err == house_usage("convert", "--to: must be ndjson, csv, tsv or parquet, not 'lines'"));
  bad = run_ingot(d, "index t.data --kind xml");
  CHECK(bad.err == house_usage("index", "--kind: must be lines, ndjson, csv or tsv, not 'xml'"));
  bad = run_ingot(d, "merge p-manifest.json --from csv -o x.data");
  CHECK(bad.err == "ingot merge: error: --from is taken from the manifest; drop it\n");

  // --help shows --from (the alias is hidden) in every command that reads records.
  for (const char* cmd : {"convert", "split", "index", "get", "merge", "upload"}) {
    INFO(cmd);
    RunResult h = run_ingot(d, std::string(cmd) + " --help");
    CHECK(h.out.find("  --from ") != std::string::npos);
    CHECK(h.out.find("--kind") == std::string::npos);
  }
}

TEST_CASE("cli: the CSV options --delimiter and --no-header in every command that reads CSV records",
          "[cli][vocabulary]") {
  TempDir d;
  // ';'-separated, no header; the quote after ';' opens a field holding a newline.
  write_file(d / "s.csv", "1;\"a\nb\"\n2;c\n");
  RunResult g = run_ingot(d, "get s.csv 1 --delimiter ';' --no-header");
  CHECK(g.out == "1;\"a\nb\"\n");
  RunResult i = run_ingot(d, "index s.csv --delimiter ';' --no-header --json -q");
  CHECK(report(i)["records"] == 2);
  RunResult s = run_ingot(d, "split s.csv --records 1 --delimiter ';' --no-header --prefix p- -q");
  CHECK(s.code == 0);
  CHECK(read_file(d / "p-00000.csv") == "1;\"a\nb\"\n");
  RunResult c = run_ingot(d, "convert s.csv --to ndjson --delimiter ';' --no-header -q");
  CHECK(c.out == "{\"col1\":1,\"col2\":\"a\\nb\"}\n{\"col1\":2,\"col2\":\"c\"}\n");
  RunResult m = run_ingot(d, "merge p-00000.csv p-00001.csv --no-header -o m.csv -q");
  CHECK(m.code == 0);
  CHECK(read_file(d / "m.csv") == read_file(d / "s.csv"));
}

TEST_CASE("cli: --part K/N is checked by one validator with one message in convert, index and upload",
          "[cli][vocabulary]") {
  TempDir d;
  write_file(d / "t.ndjson", "{\"a\":1}\n{\"a\":2}\n");
  const std::string kKofN = "--part takes K/N with 1 <= K <= N, e.g. 3/8\n";
  // sscanf("%llu/%llu") read "3/-8" as N = 2^64-8 and " 3/8" as 3/8.
  for (const std::string v :
       {"3/-8", "' 3/8'", "3/8x", "0/8", "9/8", "3", "/8", "3/", "+3/8", "99999999999999999999/1"}) {
    INFO(v);
    RunResult c = run_ingot(d, "convert t.ndjson --to csv --fields a --part " + v);
    CHECK(c.code == 2);
    CHECK(c.err == "ingot convert: error: " + kKofN);
    CHECK(c.out.empty());
    RunResult i = run_ingot(d, "index t.ndjson --part " + v);
    CHECK(i.code == 2);
    CHECK(i.err == "ingot index: error: " + kKofN);
    RunResult u = run_ingot(d, "upload t.ndjson s3://bucket/key --dry-run --part " + v);
    CHECK(u.code == 2);
    CHECK(u.err == "ingot upload: error: --part takes K/N with 1 <= K <= N <= 100000, e.g. 3/8\n");
  }
  // Each command keeps its limits: an S3 upload has at most 10000 parts to share.
  RunResult u = run_ingot(d, "upload t.ndjson s3://bucket/key --dry-run --part 1/100001");
  CHECK(u.code == 2);
  CHECK(u.err == "ingot upload: error: --part takes K/N with 1 <= K <= N <= 100000, e.g. 3/8\n");
  RunResult c = run_ingot(d, "convert t.ndjson --to csv --fields a --part 1/100001 -q");
  CHECK(c.code == 0);
  CHECK(c.out == "a\n");  // the first of 100001 parts of 16 bytes holds no record start
  RunResult whole = run_ingot(d, "convert t.ndjson --to csv --fields a --part 1/1 -q");
  CHECK(whole.out == "a\n1\n2\n");
  RunResult second = run_ingot(d, "convert t.ndjson --to csv --fields a --part 2/2 -q");
  CHECK(second.out == "a\n2\n");
}

TEST_CASE("cli: sizes are checked by one validator, and --json errors have one envelope", "[cli][vocabulary]") {
  TempDir d;
  write_file(d / "t.ndjson", "{\"a\":1}\n");
  RunResult r = run_ingot(d, "convert t.ndjson --to csv --chunk-size 0");
  CHECK(r.code == 2);
  CHECK(r.err == "ingot convert: error: invalid --chunk-size: '0' (e.g. 4M, 64K, 1G)\n");
  r = run_ingot(d, "split t.ndjson --bytes 1x");
  CHECK(r.err == "ingot split: error: invalid --bytes: '1x' (e.g. 180M, 64K, 1G)\n");
  r = run_ingot(d, "upload t.ndjson s3://bucket/key --dry-run --part-size 12Q");
  CHECK(r.code == 2);
  CHECK(r.err == "ingot upload: error: invalid --part-size: '12Q' (e.g. 8M, 64K, 1G)\n");

  // The error envelope, byte for byte (stdout when data goes to a file).
  for (const char* cmd : {"convert missing.ndjson -o out.csv", "split missing.ndjson --records 1",
                          "merge missing.ndjson -o out.ndjson", "upload missing.ndjson s3://bucket/key"}) {
    INFO(cmd);
    r = run_ingot(d, std::string(cmd) + " --json");
    CHECK(r.code == 1);
    CHECK(r.out ==
          "{\"result\":{\"error\":\"missing.ndjson: cannot open: No such file or directory\",\"exit_code\":1,"
          "\"status\":\"error\"}}\n");
  }
  // And the ok envelope: "status" among the sorted keys.
  r = run_ingot(d, "merge t.ndjson -o out.ndjson --json");
  CHECK(r.code == 0);
  const std::string out = r.out;
  CHECK(out.rfind("{\"result\":{\"bytes\":8,\"header_bytes\":0,\"output\":\"out.ndjson\",\"pieces\":1,\"seconds\":",
                  0) == 0);
  CHECK(out.find(",\"status\":\"ok\",\"verified\":false}}\n") != std::string::npos);
}

TEST_CASE("cli: each option declares its placeholder, and the completions offer the --from and --to formats",
          "[cli][vocabulary][docs]") {
  TempDir d;
  RunResult h = run_ingot(d, "convert --help");
  for (const char* shown : {"--chunk-size SIZE", "--part K/N", "--rejects FILE", "--fields LIST", "--delimiter DELIM",
                            "--from FORMAT:{ndjson,csv,tsv}", "--to FORMAT:{ndjson,csv,tsv,parquet}", "input FILE"}) {
    INFO(shown);
    CHECK(h.out.find(shown) != std::string::npos);
  }
  h = run_ingot(d, "upload --help");
  for (const char* shown : {"--part-size SIZE", "--part K/N", "--upload-id ID", "--table TABLE", "--region REGION",
                            "--state DIR", "--header HEADER", "dest DEST"}) {
    INFO(shown);
    CHECK(h.out.find(shown) != std::string::npos);
  }

  const fs::path source = INGOT_SOURCE_DIR;
  const std::string convert_page = read_file(source / "man" / "ingot-convert.1");
  CHECK(convert_page.find("\\fB\\-\\-from\\fR \\fIndjson\\fR|\\fIcsv\\fR|\\fItsv\\fR") != std::string::npos);
  CHECK(convert_page.find("\\fB\\-\\-fields\\fR \\fILIST\\fR") != std::string::npos);
  CHECK(convert_page.find("\\fB\\-\\-delimiter\\fR \\fIDELIM\\fR") != std::string::npos);
  CHECK(convert_page.find("VALUE") == std::string::npos);
  const std::string split_page = read_file(source / "man" / "ingot-split.1");
  CHECK(split_page.find("\\fB\\-\\-from\\fR \\fIlines\\fR|\\fIndjson\\fR|\\fIcsv\\fR|\\fItsv\\fR") !=
        std::string::npos);
  CHECK(read_file(source / "man" / "ingot-upload.1").find("VALUE") == std::string::npos);

  const std::string bash_file = shell_quote((source / "completions" / "ingot.bash").string());
  auto complete_bash = [&](const std::string& words) {
    RunResult r = run_sh(d, "bash -c 'source " + bash_file + "; COMP_WORDS=(" + words +
                                "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ingot; ((${#COMPREPLY[@]})) && printf "
                                "\"%s\\n\" \"${COMPREPLY[@]}\"; true'");
    INFO(r.err);
    return r.out;
  };
  CHECK(complete_bash("ingot convert --from \"\"") == "ndjson\ncsv\ntsv\n");
  CHECK(complete_bash("ingot convert --to t") == "tsv\n");
  CHECK(complete_bash("ingot split in.csv --from \"\"") == "lines\nndjson\ncsv\ntsv\n");
  CHECK(complete_bash("ingot upload in.csv --from = n") == "ndjson\n");
  CHECK(complete_bash("ingot help con") == "convert\n");
  CHECK(complete_bash("ingot he") == "help\n");
  const std::string zsh = read_file(source / "completions" / "_ingot");
  const std::string zsh_convert =
      zsh.substr(zsh.find("\n        convert)\n"), zsh.find("\n        get)\n") - zsh.find("\n        convert)\n"));
  CHECK(zsh_convert.find(
            "--from=[Input format: ndjson, csv or tsv (default: from the extension)]:WORD:(ndjson csv tsv)'") !=
        std::string::npos);
  CHECK(zsh_convert.find("--to=[Output format: csv, tsv, ndjson or parquet (default: from the output'\\''s "
                         "extension)]:WORD:(ndjson csv tsv parquet)'") != std::string::npos);
  CHECK(zsh.find("'help:Show the options of a command (as COMMAND --help does)'") != std::string::npos);
  const std::string fish = read_file(source / "completions" / "ingot.fish");
  CHECK(fish.find("'__fish_seen_subcommand_from convert' -l from -x -a 'ndjson csv tsv'") != std::string::npos);
  CHECK(fish.find("'__fish_seen_subcommand_from convert' -l to -x -a 'ndjson csv tsv parquet'") != std::string::npos);
  CHECK(fish.find("'__fish_seen_subcommand_from get' -l from -x -a 'lines ndjson csv tsv'") != std::string::npos);
}

TEST_CASE("cli: ingot help CMD, -V, unknown commands and CLI11's errors in the house format", "[cli][vocabulary]") {
  TempDir d;
  RunResult version = run_ingot(d, "--version");
  REQUIRE(version.code == 0);
  RunResult v = run_ingot(d, "-V");
  CHECK(v.code == 0);
  CHECK(v.out == version.out);

  for (const char* cmd : {"convert", "get", "upload", "ls", "serve"}) {
    INFO(cmd);
    RunResult direct = run_ingot(d, std::string(cmd) + " --help");
    RunResult help = run_ingot(d, std::string("help ") + cmd);
    CHECK(help.code == 0);
    CHECK(help.err.empty());
    CHECK(help.out == direct.out);
    CHECK(help.out.find("Usage: ") != std::string::npos);
  }
  CHECK(run_ingot(d, "help upload").out.find("--part-size") != std::string::npos);  // ingot-net's options
  RunResult top = run_ingot(d, "help");
  CHECK(top.code == 0);
  CHECK(top.out == run_ingot(d, "--help").out);
  CHECK(top.out.find("\n'ingot help COMMAND' (or 'ingot COMMAND --help') shows a command's options.\n") !=
        std::string::npos);

  struct Case {
    const char* args;
    const char* err;
  } cases[] = {
      {"conver x", "ingot: error: unknown command 'conver' (did you mean 'convert'?)\n"},
      {"uplod x s3://b/k", "ingot: error: unknown command 'uplod' (did you mean 'upload'?)\n"},
      {"version", "ingot: error: unknown command 'version' (did you mean '--version'?)\n"},
      {"help conver", "ingot: error: unknown command 'conver' (did you mean 'convert'?)\n"},
      {"spl x", "ingot: error: unknown command 'spl' (did you mean 'split'?)\n"},
      {"frobnicate", "ingot: error: unknown command 'frobnicate' (see 'ingot --help')\n"},
      {"", "ingot: error: a command is required (see 'ingot --help')\n"},
      {"--bogus", "ingot: error: unknown option '--bogus' (see 'ingot --help')\n"},
      {"convert", "ingot convert: error: input is required (see 'ingot convert --help')\n"},
      {"convert --bogus x",
       "ingot convert: error: The following argument was not expected: --bogus (see 'ingot convert --help')\n"},
      {"convert x --types maybe",
       "ingot convert: error: --types: maybe not in {auto,string} (see 'ingot convert --help')\n"},
      {"get x", "ingot get: error: records is required (see 'ingot get --help')\n"},
      {"upload x", "ingot upload: error: dest is required (see 'ingot upload --help')\n"},
      {"serve x --port many", "ingot serve: error: Could not convert: --port = many (see 'ingot serve --help')\n"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    RunResult r = run_ingot(d, c.args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == c.err);
  }
}

TEST_CASE("cli: a list option takes one value per occurrence and never swallows the positional", "[cli][vocabulary]") {
  TempDir d;
  write_file(d / "taxi.ndjson", "{\"a\":1,\"b\":2,\"c\":3}\n{\"a\":4,\"b\":5}\n");
  for (const std::string form : {"--fields=a,b taxi.ndjson", "--fields a,b taxi.ndjson", "taxi.ndjson --fields a,b",
                                 "--fields a --fields b taxi.ndjson"}) {
    INFO(form);
    RunResult r = run_ingot(d, "convert " + form + " --to csv -q");
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(r.out == "a,b\n1,2\n4,5\n");
  }
  // upload's --fields and --header too: the dry run plans the source it was given.
  RunResult u =
      run_ingot(d, "upload --fields=a,b --header 'X-A: 1' taxi.ndjson http://127.0.0.1:9/ingest --dry-run -q");
  INFO(u.err);
  CHECK(u.code == 0);
  CHECK(u.out.rfind("http taxi.ndjson -> http://127.0.0.1:9/ingest: batches, 1 units\n", 0) == 0);
}

// ingot convert through the real binary: every option, exact outputs, bad input.
#include <csignal>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "cli.h"

using namespace ingot_test;

namespace {

const char* kSample =
    "{\"id\":1,\"name\":\"Ann\",\"geo\":{\"lat\":1.50,\"lon\":-2},\"tags\":[1, \"x\"],\"ok\":true}\n"
    "\n"
    "{\"id\":2,\"name\":\"Bo, \\\"the\\\" 2nd\",\"geo\":{\"lat\":3e2},\"ok\":null}\n"
    "{\"id\":3,\"name\":\"multi\\nline\",\"extra\":\"late\"}\n";

}  // namespace

TEST_CASE("convert cli: NDJSON to CSV with the key union, flattening and exact values", "[cli][convert]") {
  TempDir dir;
  write_file(dir / "in.ndjson", kSample);
  auto r = run_ingot(dir, "convert in.ndjson -o out.csv -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.err.empty());
  REQUIRE(read_file(dir / "out.csv") ==
          "id,name,geo.lat,geo.lon,tags,ok,extra\n"
          "1,Ann,1.50,-2,\"[1,\"\"x\"\"]\",true,\n"
          "2,\"Bo, \"\"the\"\" 2nd\",3e2,,,,\n"
          "3,\"multi\nline\",,,,,late\n");
}

TEST_CASE("convert cli: --fields keeps order and reaches into objects, --no-flatten keeps JSON text",
          "[cli][convert]") {
  TempDir dir;
  write_file(dir / "in.ndjson", kSample);
  auto r = run_ingot(dir, "convert in.ndjson --to csv --fields geo.lat,id,geo -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "geo.lat,id,geo\n1.50,1,\n3e2,2,\n,3,\n");
  // TSV is RFC 4180 with a tab: a field holding a quote is quoted (ARCHITECTURE.md).
  r = run_ingot(dir, "convert in.ndjson --to tsv --no-flatten --fields id,geo -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "id\tgeo\n1\t\"{\"\"lat\"\":1.50,\"\"lon\"\":-2}\"\n2\t\"{\"\"lat\"\":3e2}\"\n3\t\n");
}

TEST_CASE("convert cli: --fields naming an absent key warns and keeps an empty column", "[cli][convert]") {
  TempDir dir;
  write_file(dir / "in.ndjson", kSample);
  auto r = run_ingot(dir, "convert in.ndjson --to csv --fields id,nope -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "id,nope\n1,\n2,\n3,\n");
  REQUIRE(r.err == "ingot convert: warning: field 'nope' has no value in any valid record\n");
}

TEST_CASE("convert cli: --schema-out and --schema reuse the column list", "[cli][convert]") {
  TempDir dir;
  write_file(dir / "in.ndjson", kSample);
  REQUIRE(run_ingot(dir, "convert in.ndjson -o a.csv --schema-out cols.json -q").code == 0);
  auto cols = nlohmann::json::parse(read_file(dir / "cols.json"));
  REQUIRE(cols == nlohmann::json({"id", "name", "geo.lat", "geo.lon", "tags", "ok", "extra"}));
  write_file(dir / "cols.txt", "extra\nid\n");
  auto r = run_ingot(dir, "convert in.ndjson --to csv --schema cols.txt -q");
  REQUIRE(r.out == "extra,id\n,1\n,2\nlate,3\n");
  REQUIRE(run_ingot(dir, "convert in.ndjson -o b.csv --schema cols.json -q").code == 0);
  REQUIRE(read_file(dir / "a.csv") == read_file(dir / "b.csv"));
}

TEST_CASE("convert cli: invalid records are skipped, counted and written to --rejects", "[cli][convert][rejects]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\nnot json\n{\"a\":2,}\n\n[1]\n{\"a\":3}\n{\"a\":\"\xff\"}\n{\"a\":4");
  auto r = run_ingot(dir, "convert in.ndjson -o out.csv --rejects bad.ndjson --json -q");
  REQUIRE(r.code == 0);
  REQUIRE(read_file(dir / "out.csv") == "a\n1\n3\n");
  auto report = nlohmann::json::parse(r.out);
  REQUIRE(report["result"]["status"] == "ok");
  REQUIRE(report["result"]["stats"]["records"] ==
          nlohmann::json({{"valid", 2}, {"invalid", 5}, {"blank", 1}, {"total", 7}}));
  auto rejects = lines_of(read_file(dir / "bad.ndjson"));
  REQUIRE(rejects.size() == 5);
  std::vector<std::pair<int, int>> where;
  for (auto& l : rejects) {
    auto j = nlohmann::json::parse(l);
    where.emplace_back(j["line"], j["offset"]);
  }
  REQUIRE(where == std::vector<std::pair<int, int>>{{2, 8}, {3, 17}, {5, 27}, {7, 39}, {8, 49}});
  auto first = nlohmann::json::parse(rejects[0]);
  REQUIRE(first["raw"] == "not json");
  auto utf8 = nlohmann::json::parse(rejects[3]);
  REQUIRE(utf8["reason"] == "invalid UTF-8");
  REQUIRE(utf8["raw_base64"] == "eyJhIjoi/yJ9");
  REQUIRE(nlohmann::json::parse(rejects[4])["raw"] == "{\"a\":4");
}

TEST_CASE("convert cli: --on-error fail stops at the first invalid record with its line", "[cli][convert][rejects]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\n{\"a\":2}\n{oops}\n{\"a\":3}\n");
  auto r = run_ingot(dir, "convert in.ndjson -o out.csv --on-error fail -j2 --chunk-size 8");
  REQUIRE(r.code == 1);
  REQUIRE(r.err.rfind("ingot convert: error: in.ndjson:3: invalid record: ", 0) == 0);
  REQUIRE(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  REQUIRE_FALSE(fs::exists(dir / "out.csv"));
  REQUIRE(fs::directory_iterator(dir.path()) != fs::directory_iterator());
  for (auto& e : fs::directory_iterator(dir.path()))
    REQUIRE(e.path().filename().string().find("ingot-tmp") == std::string::npos);
}

TEST_CASE("convert cli: --max-errors N fails on the N+1-th invalid record", "[cli][convert][rejects]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "x\n{\"a\":1}\ny\nz\n");
  REQUIRE(run_ingot(dir, "convert in.ndjson -o o.csv --max-errors 3 -q").code == 0);
  auto r = run_ingot(dir, "convert in.ndjson -o o2.csv --max-errors 2 -q");
  REQUIRE(r.code == 1);
  REQUIRE(r.err.find("in.ndjson:4: more than 2 invalid records") != std::string::npos);
  REQUIRE_FALSE(fs::exists(dir / "o2.csv"));
}

TEST_CASE("convert cli: CSV to NDJSON types values, --types string keeps strings", "[cli][convert][csv]") {
  TempDir dir;
  write_file(dir / "in.csv",
             "\xEF\xBB\xBFid,amount,flag,zip,note\r\n1,2.50,true,00501,\"a \"\"b\"\"\r\nc\"\r\n2,-1e3,false,,\r\n");
  auto r = run_ingot(dir, "convert in.csv -o - -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.out ==
          "{\"id\":1,\"amount\":2.50,\"flag\":true,\"zip\":\"00501\",\"note\":\"a \\\"b\\\"\\r\\nc\"}\n"
          "{\"id\":2,\"amount\":-1e3,\"flag\":false,\"zip\":null,\"note\":null}\n");
  r = run_ingot(dir, "convert in.csv --to ndjson --types string -q");
  REQUIRE(r.out ==
          "{\"id\":\"1\",\"amount\":\"2.50\",\"flag\":\"true\",\"zip\":\"00501\",\"note\":\"a \\\"b\\\"\\r\\nc\"}\n"
          "{\"id\":\"2\",\"amount\":\"-1e3\",\"flag\":\"false\",\"zip\":\"\",\"note\":\"\"}\n");
}

TEST_CASE("convert cli: --no-header names columns col1.., --delimiter, wrong width is rejected",
          "[cli][convert][csv]") {
  TempDir dir;
  write_file(dir / "in.txt", "a;b\nc;d;e\nf;g\n");
  auto r = run_ingot(dir, "convert in.txt --from csv --to ndjson --no-header --delimiter ';' --rejects r.ndjson -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "{\"col1\":\"a\",\"col2\":\"b\"}\n{\"col1\":\"f\",\"col2\":\"g\"}\n");
  auto rej = nlohmann::json::parse(read_file(dir / "r.ndjson"));
  REQUIRE(rej["line"] == 2);
  REQUIRE(rej["reason"] == "expected 2 fields, found 3");
  REQUIRE(rej["raw"] == "c;d;e");
}

TEST_CASE("convert cli: CSV <-> TSV re-quotes for the other delimiter", "[cli][convert][csv]") {
  TempDir dir;
  write_file(dir / "in.csv", "k,v\na\tb,\"x,y\"\n");
  auto r = run_ingot(dir, "convert in.csv -o out.tsv -q");
  REQUIRE(r.code == 0);
  REQUIRE(read_file(dir / "out.tsv") == "k\tv\n\"a\tb\"\tx,y\n");
  r = run_ingot(dir, "convert out.tsv -o back.csv -q");
  REQUIRE(read_file(dir / "back.csv") == read_file(dir / "in.csv"));
}

TEST_CASE("convert cli: stdin input and stdout output", "[cli][convert][stdin]") {
  TempDir dir;
  auto r = run_ingot(dir, "convert - --from csv --to ndjson -q", "x,y\n1,2\n", true);
  REQUIRE(r.code == 0);
  REQUIRE(r.out == "{\"x\":1,\"y\":2}\n");
  r = run_ingot(dir, "convert - --from ndjson --fields y -q", "{\"y\":\"a\"}\n{\"y\":2}\n", true);
  REQUIRE(r.out == "y\na\n2\n");
  // From a pipe (not a regular file) the column union cannot take its pre-pass.
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && printf '{\"y\":1}\\n' | " +
                    shell_quote(INGOT_BINARY) + " convert - --from ndjson -q 2> err.txt; echo $? > code.txt";
  REQUIRE(std::system(("bash -c " + shell_quote(cmd)).c_str()) == 0);
  REQUIRE(read_file(dir / "code.txt") == "2\n");
  REQUIRE(read_file(dir / "err.txt").find("needs --fields or --schema") != std::string::npos);
}

TEST_CASE("convert cli: bad input gives one clear line and the documented exit code", "[cli][convert][bad]") {
  TempDir dir;
  write_file(dir / "empty.ndjson", "");
  write_file(dir / "blank.ndjson", "\n\n  \r\n");
  write_file(dir / "garbage.ndjson", std::string("\x00\x01\x02\xff\xfe{{{\n\x7f", 11));
  write_file(dir / "trunc.csv", "a,b\n1,\"unterminated\n2,3\n");
  fs::create_directory(dir / "adir");

  auto r = run_ingot(dir, "convert empty.ndjson -o e.csv --json -q");
  REQUIRE(r.code == 0);
  REQUIRE(read_file(dir / "e.csv").empty());
  REQUIRE(nlohmann::json::parse(r.out)["result"]["stats"]["records"]["total"] == 0);

  r = run_ingot(dir, "convert blank.ndjson -o b.csv --json -q");
  REQUIRE(r.code == 0);
  REQUIRE(nlohmann::json::parse(r.out)["result"]["stats"]["records"]["blank"] == 3);

  // Records, but not one valid: exit 1 with what the file looks like; nothing written.
  r = run_ingot(dir, "convert garbage.ndjson -o g.csv --json -q");
  REQUIRE(r.code == 1);
  REQUIRE(r.err ==
          "ingot convert: error: garbage.ndjson: no valid record in 2 records (all invalid; the first: line 1: "
          "invalid UTF-8); is it NDJSON? It looks like binary data\n");
  REQUIRE(nlohmann::json::parse(r.out)["result"]["status"] == "error");
  REQUIRE(!fs::exists(dir / "g.csv"));

  // An unclosed quote stops the run naming its line (ARCHITECTURE.md: a reject could
  // not say where the record ends).
  r = run_ingot(dir, "convert trunc.csv -o t.ndjson --rejects t.rej --json -q");
  REQUIRE(r.code == 1);
  REQUIRE(r.err ==
          "ingot convert: error: trunc.csv:2: unclosed quote (opened on line 2) runs to the end of the file\n");
  REQUIRE_FALSE(fs::exists(dir / "t.ndjson"));
  REQUIRE_FALSE(fs::exists(dir / "t.rej"));

  r = run_ingot(dir, "convert missing.ndjson -o x.csv");
  REQUIRE(r.code == 1);
  REQUIRE(r.err == "ingot convert: error: missing.ndjson: cannot open: No such file or directory\n");

  r = run_ingot(dir, "convert adir -o x.csv");
  REQUIRE(r.code == 1);
  REQUIRE(r.err == "ingot convert: error: adir: is a directory, not a file\n");

  r = run_ingot(dir, "convert empty.ndjson -o nodir/x.csv");
  REQUIRE(r.code == 1);
  REQUIRE(r.err == "ingot convert: error: nodir/x.csv: output directory does not exist: nodir\n");

  write_file(dir / "afile", "");
  r = run_ingot(dir, "convert empty.ndjson -o afile/x.csv");
  REQUIRE(r.code == 1);

  r = run_ingot(dir, "convert empty.ndjson -o x.csv --threads many");
  REQUIRE(r.code == 2);
  r = run_ingot(dir, "convert empty.ndjson -o x.xyz");
  REQUIRE(r.code == 2);
  REQUIRE(r.err == "ingot convert: error: cannot tell the output format from 'x.xyz'; pass --to\n");
  r = run_ingot(dir, "convert empty.ndjson -o x.csv --part 3/2");
  REQUIRE(r.code == 2);
}

TEST_CASE("convert cli: a read-only output directory is a clear error", "[cli][convert][bad]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\n");
  fs::create_directory(dir / "ro");
  // Root ignores permission bits; a read-only bind is not available here, so use a
  // directory we cannot enter when not root, and skip the assertion as root.
  chmod((dir / "ro").c_str(), 0555);
  auto r = run_ingot(dir, "convert in.ndjson -o ro/out.csv");
  if (geteuid() != 0) {
    REQUIRE(r.code == 1);
    REQUIRE(r.err.find("ro/out.csv: cannot create output in ro: Permission denied") != std::string::npos);
  } else {
    REQUIRE(r.code == 0);
  }
  chmod((dir / "ro").c_str(), 0755);
}

TEST_CASE("convert cli: a closed stdout pipe exits 0 quietly", "[cli][convert]") {
  TempDir dir;
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "{\"n\":" + std::to_string(i) + "}\n";
  write_file(dir / "big.ndjson", big);
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && " + shell_quote(INGOT_BINARY) +
                    " convert big.ndjson -q | head -1 > first.txt; echo ${PIPESTATUS[0]} > code.txt";
  REQUIRE(std::system(("bash -c " + shell_quote(cmd) + " 2> " + shell_quote(dir.str("err.txt"))).c_str()) == 0);
  REQUIRE(read_file(dir / "first.txt") == "n\n");
  REQUIRE(read_file(dir / "code.txt") == "0\n");
}

TEST_CASE("convert cli: SIGTERM while reading leaves nothing under the final name", "[cli][convert][signal]") {
  TempDir dir;
  // A FIFO as input: the test decides when ingot is mid-run (it has written its output's
  // temporary and waits for more input) and keeps it there until the signal.
  REQUIRE(mkfifo((dir / "in.csv").c_str(), 0600) == 0);
  auto names = [&] {
    std::vector<std::string> v;
    for (auto& e : fs::directory_iterator(dir.path())) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  };
  auto temporaries = [&] {
    int n = 0;
    for (const std::string& name : names()) n += name.rfind(".out.ndjson.ingot-tmp-", 0) == 0;
    return n;
  };
  pid_t pid = spawn_ingot(dir, "convert in.csv -o out.ndjson -q --chunk-size 1K");
  const int fifo = open_fifo_writer(dir / "in.csv", "ingot convert");
  std::string rows = "a,b\n";
  for (int i = 0; i < 1000; ++i) rows += std::to_string(i) + ",x\n";
  CHECK(write_fifo(fifo, rows));
  wait_until([&] { return temporaries() == 1; }, 60s, "ingot convert to write its temporary output");
  REQUIRE(::kill(pid, SIGTERM) == 0);
  const int code = wait_code(pid);
  ::close(fifo);
  CHECK(code == 128 + SIGTERM);
  // ingot's handler ran: it says so and removed the temporary (the default action of
  // SIGTERM, also exit 143, would do neither).
  CHECK(read_file(dir / ".bg.err") == "ingot: interrupted\n");
  CHECK(names() == std::vector<std::string>{".bg.err", ".bg.out", "in.csv"});
}

TEST_CASE("convert cli: -j1 and -j2 with tiny chunks give identical output on the bundled example",
          "[cli][convert][parallel]") {
  TempDir dir;
  std::string example = std::string(INGOT_SOURCE_DIR) + "/examples/taxi.ndjson";
  auto a = run_ingot(dir, "convert " + shell_quote(example) + " -o a.csv --rejects a.rej -j1 -q");
  auto b = run_ingot(dir, "convert " + shell_quote(example) + " -o b.csv --rejects b.rej -j2 --chunk-size 100 -q");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  REQUIRE(read_file(dir / "a.csv") == read_file(dir / "b.csv"));
  REQUIRE(read_file(dir / "a.rej") == read_file(dir / "b.rej"));
  REQUIRE(read_file(dir / "a.csv").size() > 30000);
}

TEST_CASE("cli: --help and --version", "[cli]") {
  TempDir dir;
  auto r = run_ingot(dir, "--version");
  REQUIRE(r.code == 0);
  REQUIRE(r.out.rfind("ingot ", 0) == 0);
  r = run_ingot(dir, "convert --help");
  REQUIRE(r.code == 0);
  for (const char* opt : {"--output", "--threads", "--chunk-size", "--fields", "--schema", "--schema-out",
                          "--no-flatten", "--no-header", "--delimiter", "--types", "--on-error", "--max-errors",
                          "--rejects", "--part", "--json", "--quiet", "--progress", "--no-progress"}) {
    INFO(opt);
    REQUIRE(r.out.find(opt) != std::string::npos);
  }
  r = run_ingot(dir, "nosuchcommand");
  REQUIRE(r.code == 2);
  r = run_ingot(dir, "");
  REQUIRE(r.code == 2);
}

TEST_CASE("convert cli: output to a device or FIFO writes to it and never replaces it", "[cli][convert][bad]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\n");
  struct stat before;
  REQUIRE(stat("/dev/null", &before) == 0);
  auto r = run_ingot(dir, "convert in.ndjson -o /dev/null --to csv -q");
  REQUIRE(r.code == 0);
  struct stat after;
  REQUIRE(stat("/dev/null", &after) == 0);
  REQUIRE(S_ISCHR(after.st_mode));
  REQUIRE(after.st_ino == before.st_ino);
  REQUIRE(mkfifo((dir / "fifo.csv").c_str(), 0600) == 0);
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && (cat fifo.csv > got.csv & " +
                    shell_quote(INGOT_BINARY) + " convert in.ndjson -o fifo.csv -q; wait)";
  REQUIRE(std::system(("bash -c " + shell_quote(cmd)).c_str()) == 0);
  REQUIRE(read_file(dir / "got.csv") == "a\n1\n");
  struct stat fifo;
  REQUIRE(stat((dir / "fifo.csv").c_str(), &fifo) == 0);
  REQUIRE(S_ISFIFO(fifo.st_mode));
}

TEST_CASE("convert cli: NDJSON --part needs one column list, made by --schema-only", "[cli][convert][part]") {
  TempDir dir;
  write_file(dir / "in.ndjson", "{\"a\":1}\n{\"a\":2}\n{\"a\":3,\"late\":true}\n");
  auto r = run_ingot(dir, "convert in.ndjson --part 1/2 -o p1.csv");
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--schema-only --schema-out") != std::string::npos);
  r = run_ingot(dir, "convert in.ndjson --schema-only --schema-out cols.json -q");
  REQUIRE(r.code == 0);
  REQUIRE(r.out.empty());
  REQUIRE(nlohmann::json::parse(read_file(dir / "cols.json")) == nlohmann::json({"a", "late"}));
  REQUIRE(run_ingot(dir, "convert in.ndjson --part 1/2 --schema cols.json -o p1.csv -q").code == 0);
  REQUIRE(run_ingot(dir, "convert in.ndjson --part 2/2 --schema cols.json -o p2.csv -q").code == 0);
  REQUIRE(read_file(dir / "p1.csv").substr(0, 7) == "a,late\n");
  REQUIRE(read_file(dir / "p2.csv").substr(0, 7) == "a,late\n");
  REQUIRE(run_ingot(dir, "convert in.ndjson --schema-only -q").code == 2);
}

TEST_CASE("cli convert: a named pipe whose writer comes later is read once, whole", "[cli][convert][fifo]") {
  TempDir dir;
  // ingot opens the FIFO first; the writer (the test) comes once ingot has it open for
  // reading, writes and closes within microseconds.
  // Opening the FIFO twice (once to learn a size for progress) used to take that writer:
  // the real open then waited for ever (here: the bounded wait for ingot's exit fails)
  // or found nothing.
  for (const char* cmd : {"convert in.fifo --from csv --to ndjson -o out.ndjson",
                          "split in.fifo --kind csv --records 2 --prefix p-", "index in.fifo --kind csv"}) {
    CAPTURE(cmd);
    fs::remove(dir / "in.fifo");
    REQUIRE(mkfifo((dir / "in.fifo").c_str(), 0600) == 0);
    ::signal(SIGPIPE, SIG_IGN);  // `index` refuses the stream: the write may find no reader
    pid_t pid = spawn_ingot(dir, std::string(cmd) + " -q");
    int fd = -1, code = -1;
    wait_until(
        [&] {
          if ((fd = ::open((dir / "in.fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0) return true;
          return (code = exited(pid)) != -1;
        },
        60s, "ingot to open the FIFO (or to exit)");
    if (fd >= 0) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      write_fifo(fd, "id,name\n1,a\n2,b\n3,c\n");
      ::close(fd);
    }
    if (code == -1) code = wait_code(pid, 60s);
    const std::string err = read_file(dir / ".bg.err");
    if (std::string(cmd).rfind("index", 0) == 0) {
      CHECK(code == 2);  // an index needs a file: refused, clearly
      CHECK(err.find("cannot index a stream") != std::string::npos);
    } else {
      CHECK(code == 0);
      CHECK(err.empty());
    }
  }
  CHECK(read_file(dir / "out.ndjson") ==
        "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b\"}\n{\"id\":3,\"name\":\"c\"}\n");
  CHECK(read_file(dir / "p-00001.fifo") == "id,name\n3,c\n");  // pieces take the input's extension
}

TEST_CASE("convert cli: INGOT_NDJSON_VARIANT=generic writes the same bytes as the CPU's variant",
          "[cli][convert][simd]") {
  // Lines that repeat a few shapes (so the shape matcher takes most of them), with
  // escapes, UTF-8, the delimiter, long values, keys in another order, missing keys,
  // nested objects, CRLF and broken lines: the generic variant (word loops) and the
  // x86-64-v3 one (AVX2, on a CPU that has it) must write the same CSV and rejects.
  std::string text;
  const char* notes[] = {"plain",
                         "with, comma",
                         "esc \\\"q\\\"",
                         "caf\\u00e9",
                         "東京 😀",
                         "",
                         "a note much longer than thirty-two bytes, to cross the matcher's words"};
  for (int i = 0; i < 3000; ++i) {
    const std::string id = std::to_string(i);
    switch (i % 11) {
      case 0: text += "{\"note\":\"" + std::string(notes[i % 7]) + "\",\"id\":" + id + "}\n"; break;
      case 1: text += "{\"id\":" + id + "}\r\n"; break;
      case 2: text += "{\"id\":" + id + ",\"amount\":1.}\n"; break;
      default:
        text += "{\"id\":" + id + ",\"amount\":" + std::to_string(i % 97) + "." + std::to_string(i % 10) +
                ",\"ok\":" + (i % 2 ? "true" : "null") + ",\"note\":\"" + notes[i % 7] +
                "\",\"geo\":{\"lat\":" + std::to_string(i % 90) + ",\"tags\":[1,\"x\"]}}" + (i % 5 ? "\n" : "\r\n");
    }
  }
  TempDir dir;
  write_file(dir / "in.ndjson", text);
  for (const char* fields : {"", "--fields id,note,geo.lat ", "--fields note,id,missing "}) {
    INFO(fields);
    RunResult a = run_sh(
        dir, std::string("\"$INGOT\" convert in.ndjson -o a.csv --rejects a.rej -q -j2 --chunk-size 4K ") + fields);
    RunResult b = run_sh(dir, std::string("INGOT_NDJSON_VARIANT=generic \"$INGOT\" convert in.ndjson -o b.csv "
                                          "--rejects b.rej -q -j1 ") +
                                  fields);
    INFO(a.err << b.err);
    REQUIRE(a.code == 0);  // broken lines are rejects, not a failure
    REQUIRE(b.code == 0);
    REQUIRE(read_file(dir / "a.csv").size() > 50000);
    REQUIRE(read_file(dir / "a.csv") == read_file(dir / "b.csv"));
    REQUIRE(read_file(dir / "a.rej") == read_file(dir / "b.rej"));
    REQUIRE(read_file(dir / "a.rej").size() > 1000);
  }
}

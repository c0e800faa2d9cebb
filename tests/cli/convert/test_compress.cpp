// Compressed input and --compress output through the real binary, checked against
// gzip(1) and zstd(1): convert, split and get on .gz/.zst files and on compressed
// stdin, -j1 == -j2, the refusals of operations that need random access (exit 2), and
// truncated or corrupt input (exit 1, path and compressed offset in the message).
#include "cli/cli.h"

#include <nlohmann/json.hpp>

using namespace ingot_test;

namespace {

std::string make_csv(int rows) {
  std::string s = "id,name,note\n";
  const char* notes[] = {"plain", "\"two\nlines\"", "\"a \"\"q\"\"\"", "", "\"x,y\""};
  for (int i = 1; i <= rows; ++i)
    s += std::to_string(i) + ",n" + std::to_string(i * 7 % 13) + "," + notes[i % 5] + "\n";
  return s;
}

std::string make_ndjson(int rows) {
  std::string s;
  for (int i = 1; i <= rows; ++i) s += "{\"id\":" + std::to_string(i) + ",\"v\":\"x" + std::to_string(i % 17) + "\"}\n";
  return s;
}

// Writes data.csv plus data.csv.gz (two gzip members) and data.csv.zst (two zstd frames).
void write_inputs(const TempDir& d, const std::string& name, const std::string& text) {
  write_file(d / name, text);
  const std::size_t half = text.size() / 2;
  write_file(d / (name + ".a"), text.substr(0, half));
  write_file(d / (name + ".b"), text.substr(half));
  auto r = run_sh(d, "gzip -c " + name + ".a > " + name + ".gz && gzip -c " + name + ".b >> " + name +
                         ".gz && zstd -q -c " + name + ".a > " + name + ".zst && zstd -q -c " + name + ".b >> " + name +
                         ".zst && rm " + name + ".a " + name + ".b");
  REQUIRE(r.code == 0);
}

}  // namespace

TEST_CASE("cli compress: convert reads .gz and .zst (multi-member) like the plain file, -j1 == -j2",
          "[cli][compress]") {
  TempDir d;
  write_inputs(d, "data.csv", make_csv(3000));
  REQUIRE(run_ingot(d, "convert data.csv -o expect.ndjson -q").code == 0);
  const std::string expect = read_file(d / "expect.ndjson");
  for (const char* in : {"data.csv.gz", "data.csv.zst"}) {
    for (const char* opts : {"-j1 --chunk-size 64", "-j2 --chunk-size 64", "-j2"}) {
      auto r = run_ingot(d, std::string("convert ") + in + " -o got.ndjson -q " + opts);
      CAPTURE(in, opts, r.err);
      REQUIRE(r.code == 0);
      REQUIRE(read_file(d / "got.ndjson") == expect);
    }
  }
  // Compressed stdin: the magic is sniffed from the stream.
  auto r = run_sh(d, "cat data.csv.zst | $INGOT convert - --from csv -q -j2 --chunk-size 100");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == expect);
  r = run_sh(d, "cat data.csv.gz | $INGOT convert - --from csv -q -j1");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == expect);
}

TEST_CASE("cli compress: convert --compress and a .gz/.zst output name compress the output", "[cli][compress]") {
  TempDir d;
  write_file(d / "data.ndjson", make_ndjson(2000));
  REQUIRE(run_ingot(d, "convert data.ndjson -o expect.csv -q").code == 0);
  const std::string expect = read_file(d / "expect.csv");
  REQUIRE(run_ingot(d, "convert data.ndjson -o out.csv.gz -q").code == 0);
  REQUIRE(run_ingot(d, "convert data.ndjson -o out.csv.zst -q -j2").code == 0);
  auto to_stdout = run_ingot(d, "convert data.ndjson --to csv --compress zst -q");
  REQUIRE(to_stdout.code == 0);
  write_file(d / "stdout.zst", to_stdout.out);
  REQUIRE(run_ingot(d, "convert data.ndjson -o plain.csv.gz --compress none -q").code == 0);
  auto r = run_sh(d, "gzip -dc out.csv.gz");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == expect);
  r = run_sh(d, "zstd -dc out.csv.zst");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == expect);
  r = run_sh(d, "zstd -dc stdout.zst");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == expect);
  REQUIRE(read_file(d / "plain.csv.gz") == expect);
  // And back: the compressed CSV reads like the plain one.
  REQUIRE(run_ingot(d, "convert out.csv.zst -o back.ndjson -q").code == 0);
  REQUIRE(run_ingot(d, "convert expect.csv -o back-plain.ndjson -q").code == 0);
  REQUIRE(read_file(d / "back.ndjson") == read_file(d / "back-plain.ndjson"));
  REQUIRE(run_ingot(d, "convert data.ndjson -o x.csv --compress bz2").code == 2);
}

TEST_CASE("cli compress: split --records and --bytes of compressed input, --compress pieces concatenate",
          "[cli][compress][split]") {
  TempDir d;
  write_inputs(d, "data.ndjson", make_ndjson(5000));
  fs::create_directories(d / "ref");
  fs::create_directories(d / "z");
  fs::create_directories(d / "c");
  for (const char* mode : {"--records 700", "--bytes 20K"}) {
    CAPTURE(mode);
    REQUIRE(run_ingot(d, std::string("split data.ndjson -q --force --prefix ref/p- ") + mode).code == 0);
    for (const char* j : {"-j1", "-j2"}) {
      auto r = run_ingot(d, std::string("split data.ndjson.zst -q --force --prefix z/p- ") + mode + " " + j);
      REQUIRE(r.code == 0);
      for (auto& e : fs::directory_iterator(d / "ref")) {
        const std::string n = e.path().filename().string();
        if (n.find("manifest") != std::string::npos) continue;
        REQUIRE(read_file(d / "z" / n) == read_file(e.path()));
      }
    }
  }
  // Default names see through the suffix: data.ndjson.gz -> data-00000.ndjson.
  REQUIRE(run_ingot(d, "split data.ndjson.gz --records 2500 -q").code == 0);
  REQUIRE(read_file(d / "data-00000.ndjson") == make_ndjson(2500));

  auto r = run_ingot(d, "split data.ndjson --records 1000 --compress zst --prefix c/p- -q -j2");
  REQUIRE(r.code == 0);
  REQUIRE(fs::exists(d / "c/p-00004.ndjson.zst"));
  auto m = nlohmann::json::parse(read_file(d / "c/p-manifest.json"));
  REQUIRE(m["compression"] == "zstd");
  REQUIRE(m["names"]["extension"] == ".ndjson.zst");
  REQUIRE(m["pieces"][0]["size"] == fs::file_size(d / "c/p-00000.ndjson.zst"));
  r = run_sh(d, "cat c/p-0000*.ndjson.zst | zstd -dc");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == make_ndjson(5000));
  r = run_ingot(d, "split data.ndjson --records 1000 --compress gz --prefix c/g- -q");
  REQUIRE(r.code == 0);
  r = run_sh(d, "cat c/g-0000*.ndjson.gz | gzip -dc");
  REQUIRE(r.code == 0);
  REQUIRE(r.out == make_ndjson(5000));
}

TEST_CASE("cli compress: merge of compressed pieces, by manifest and by list, gives the compressed whole",
          "[cli][compress][merge]") {
  TempDir d;
  const std::string csv = make_csv(3000);
  write_file(d / "data.csv", csv);
  write_file(d / "data.ndjson", make_ndjson(3000));
  for (const char* codec : {"gz", "zst"}) {
    CAPTURE(codec);
    const std::string z = codec;
    const std::string unz = z == "gz" ? "gzip -dc " : "zstd -dc ";
    // NDJSON: the pieces are concatenated as stored (a valid multi-member stream).
    REQUIRE(run_ingot(d, "split data.ndjson --pieces 4 --force -q --compress " + z + " --prefix n" + z + "-").code ==
            0);
    auto r = run_ingot(d, "merge n" + z + "-manifest.json --verify -q -o all.ndjson." + z);
    REQUIRE(r.code == 0);
    std::string stored;
    for (int k = 0; k < 4; ++k) stored += read_file(d / ("n" + z + "-0000" + std::to_string(k) + ".ndjson." + z));
    CHECK(read_file(d / ("all.ndjson." + z)) == stored);
    CHECK(run_sh(d, unz + "all.ndjson." + z).out == make_ndjson(3000));
    // CSV: every piece repeats the header inside its compressed bytes; merge decodes,
    // drops the repeats and compresses again. Quoted newlines cross the cuts.
    REQUIRE(run_ingot(d, "split data.csv --records 700 --force -q --compress " + z + " --prefix c" + z + "-").code ==
            0);
    r = run_ingot(d, "merge c" + z + "-manifest.json --verify -q -o all.csv." + z);
    REQUIRE(r.code == 0);
    CHECK(run_sh(d, unz + "all.csv." + z).out == csv);
    r = run_ingot(d, "merge c" + z + "-00000.csv." + z + " c" + z + "-00001.csv." + z + " c" + z + "-00002.csv." + z +
                         " c" + z + "-00003.csv." + z + " c" + z + "-00004.csv." + z + " -q -o list.csv." + z);
    REQUIRE(r.code == 0);
    CHECK(run_sh(d, unz + "list.csv." + z).out == csv);
  }
  // Pieces compressed differently (or some not at all) are refused before any output.
  auto r = run_ingot(d, "merge ngz-00000.ndjson.gz nzst-00001.ndjson.zst -o mixed.ndjson");
  CHECK(r.code == 1);
  CHECK(r.err ==
        "ingot merge: error: nzst-00001.ndjson.zst: piece is zstd, the pieces before it are gzip "
        "(compress them all alike)\n");
  CHECK(!fs::exists(d / "mixed.ndjson"));
}

TEST_CASE("cli compress: get scans compressed input without an index", "[cli][compress][get]") {
  TempDir d;
  write_inputs(d, "data.csv", make_csv(100));
  auto plain = run_ingot(d, "get data.csv 40-45");
  REQUIRE(plain.code == 0);
  for (const char* in : {"data.csv.gz", "data.csv.zst"}) {
    auto r = run_ingot(d, std::string("get ") + in + " 40-45");
    CAPTURE(in, r.err);
    REQUIRE(r.code == 0);
    REQUIRE(r.out == plain.out);
  }
}

TEST_CASE("cli compress: operations that need random access refuse compressed input with exit 2", "[cli][compress]") {
  TempDir d;
  write_inputs(d, "data.csv", make_csv(50));
  write_inputs(d, "data.ndjson", make_ndjson(50));
  struct Case {
    const char* args;
    const char* says;
  };
  const Case cases[] = {
      {"convert data.csv.gz --part 1/2 -o x.ndjson", "decompress it first"},
      {"split data.csv.gz --pieces 2", "decompress it first"},
      {"split data.csv.zst --bytes 1K --plan", "decompress it first"},
      {"index data.csv.gz",
       "ingot index: error: data.csv.gz: an index holds byte offsets into the file as stored, which "
       "gzip-compressed input does not allow; decompress it first\n"},
      {"serve data.ndjson.zst",
       "ingot serve: error: data.ndjson.zst: serving reads records at their offsets, which "
       "zstd-compressed input does not allow; decompress it first\n"},
      {"get data.ndjson.gz -1",
       "ingot get: error: data.ndjson.gz: -K counts from the end, which gzip-compressed input does not allow "
       "(it is read once, as a stream); decompress it first\n"},
  };
  for (const Case& c : cases) {
    auto r = run_ingot(d, c.args);
    CAPTURE(c.args, r.err);
    REQUIRE(r.code == 2);
    REQUIRE(r.err.find(c.says) != std::string::npos);
    REQUIRE(r.err.find("data.") != std::string::npos);  // names the file
  }
  REQUIRE_FALSE(fs::exists(d / "x.ndjson"));
  REQUIRE_FALSE(fs::exists(d / "x.csv"));
  REQUIRE(run_ingot(d, "convert data.ndjson.zst -o x.csv --fields id,v -q").code == 0);
}

TEST_CASE("cli compress: truncated and corrupt input fail with the path and the compressed offset", "[cli][compress]") {
  TempDir d;
  write_inputs(d, "data.csv", make_csv(4000));
  for (const char* z : {"gz", "zst"}) {
    const std::string packed = read_file(d / (std::string("data.csv.") + z));
    write_file(d / (std::string("cut.csv.") + z), packed.substr(0, packed.size() * 3 / 4));
    std::string bad = packed;
    bad[bad.size() / 3] = static_cast<char>(bad[bad.size() / 3] ^ 0x40);
    write_file(d / (std::string("bad.csv.") + z), bad);
    for (const char* name : {"cut", "bad"}) {
      const std::string file = std::string(name) + ".csv." + z;
      auto r = run_ingot(d, "convert " + file + " -o out.ndjson -j2");
      CAPTURE(file, r.err);
      REQUIRE(r.code == 1);
      REQUIRE(r.err.find("ingot convert: error: " + file) == 0);
      REQUIRE(r.err.find("compressed byte") != std::string::npos);
      REQUIRE_FALSE(fs::exists(d / "out.ndjson"));
    }
    auto r = run_ingot(d, std::string("split cut.csv.") + z + " --records 100 -q");
    REQUIRE(r.code == 1);
    REQUIRE(r.err.find("truncated") != std::string::npos);
    REQUIRE_FALSE(fs::exists(d / "cut-00000.csv"));
  }
}

TEST_CASE("cli compress: the NDJSON columns of a compressed file come from a first decoding pass", "[cli][compress]") {
  TempDir d;
  // A key that only the last line has, a nested object, and a broken line: the union
  // must be the plain file's exactly.
  std::string text = make_ndjson(4000);
  text += "{\"id\":1,\"v\":\"broken\"\n{\"id\":4001,\"meta\":{\"k\":\"m\"},\"late\":true}\n";
  write_inputs(d, "data.ndjson", text);
  auto plain = run_ingot(d, "convert data.ndjson -o expect.csv --json");
  REQUIRE(plain.code == 0);
  REQUIRE(report(plain)["stats"]["records"]["invalid"] == 1);  // the broken line
  const std::string expect = read_file(d / "expect.csv");
  REQUIRE(lines_of(expect).front() == "id,v,meta.k,late");
  for (const char* in : {"data.ndjson.gz", "data.ndjson.zst"}) {
    for (const char* opts : {"-j1 --chunk-size 64", "-j2"}) {
      auto r = run_ingot(d, std::string("convert ") + in + " -o got.csv -q " + opts);
      CAPTURE(in, opts, r.err);
      REQUIRE(r.code == 0);
      REQUIRE(read_file(d / "got.csv") == expect);
    }
    REQUIRE(run_ingot(d, std::string("convert ") + in + " --schema-only --schema-out cols.json -q").code == 0);
    REQUIRE(nlohmann::json::parse(read_file(d / "cols.json")).size() == 4);
  }
  // No valid record at all: the usual error, not a complaint about the stream.
  write_inputs(d, "bad.ndjson", "not json\n");
  auto r = run_ingot(d, "convert bad.ndjson.gz -o bad.csv -q");
  CHECK(r.code == 1);
  CHECK(r.err.find("no valid record") != std::string::npos);
  // Compressed stdin can still not be read twice.
  r = run_sh(d, "cat data.ndjson.gz | \"$INGOT\" convert - --from ndjson -o s.csv -q");
  CHECK(r.code == 2);
  CHECK(r.err.find("needs --fields or --schema") != std::string::npos);
}

TEST_CASE("cli compress: the .zst ingot writes is seekable: --part, split, index and get work on it as on the file",
          "[cli][compress]") {
  TempDir d;
  // Over 4 MiB of CSV, so the .zst holds several frames.
  REQUIRE(
      run_sh(d, "seq 1 600000 | awk '{print \"{\\\"id\\\":\" $1 \",\\\"v\\\":\\\"x\" $1 % 17 \"\\\"}\"}' > data.ndjson")
          .code == 0);
  REQUIRE(run_ingot(d, "convert data.ndjson -o data.csv -q").code == 0);
  REQUIRE(run_ingot(d, "convert data.ndjson -o data.csv.zst -q -j2").code == 0);
  REQUIRE(fs::file_size(d / "data.csv") > (std::uintmax_t{5} << 20));
  // zstd(1) reads it as plain zstd (the seek table is a skippable frame).
  auto z = run_sh(d, "zstd -dc data.csv.zst | cmp - data.csv");
  REQUIRE(z.code == 0);

  // --part K/3 of the .zst: the pieces concatenate to the convert of the whole file.
  REQUIRE(run_ingot(d, "convert data.csv -o all.ndjson -q").code == 0);
  std::string parts;
  for (int k = 1; k <= 3; ++k) {
    auto r =
        run_ingot(d, "convert data.csv.zst --part " + std::to_string(k) + "/3 -o p.ndjson -q -j2 --chunk-size 100K");
    INFO(r.err);
    REQUIRE(r.code == 0);
    parts += read_file(d / "p.ndjson");
  }
  REQUIRE(parts == read_file(d / "all.ndjson"));

  // split by byte size: the same pieces as from the plain file.
  fs::create_directories(d / "a");
  fs::create_directories(d / "b");
  REQUIRE(run_ingot(d, "split data.csv --pieces 3 --prefix a/p- -q").code == 0);
  auto sp = run_ingot(d, "split data.csv.zst --pieces 3 --prefix b/p- -q -j2");
  INFO(sp.err);
  REQUIRE(sp.code == 0);
  for (int k = 0; k < 3; ++k) {
    const std::string n = "p-0000" + std::to_string(k) + ".csv";
    CAPTURE(n);
    REQUIRE(read_file(d / "b" / n) == read_file(d / "a" / n));
  }

  // index and get: records equal the plain file's, with and without the index.
  REQUIRE(run_ingot(d, "index data.csv -q").code == 0);
  REQUIRE(run_ingot(d, "index data.csv.zst -q").code == 0);
  REQUIRE(fs::exists(d / "data.csv.zst.idx"));
  for (const char* spec : {"1", "123456", "-1", "599990+5"}) {
    CAPTURE(spec);
    auto want = run_ingot(d, std::string("get data.csv ") + spec);
    auto got = run_ingot(d, std::string("get data.csv.zst ") + spec);
    REQUIRE(want.code == 0);
    REQUIRE(got.code == 0);
    REQUIRE(got.out == want.out);
  }

  // Pieces of ingot's .zst concatenated are valid zstd but not seekable: one clear refusal.
  REQUIRE(run_sh(d, "cat data.csv.zst data.csv.zst > twice.csv.zst").code == 0);
  auto r = run_ingot(d, "convert twice.csv.zst --part 1/2 -o x.ndjson");
  CHECK(r.code == 2);
  CHECK(r.err.find("decompress it first") != std::string::npos);
}

// s3:// objects as inputs (lib/ingot/net/s3/s3_source.*), against the real Swift S3
// server: a convert straight from the bucket equals the convert of the same bytes on
// disk for any -j, chunk size and --part; an object replaced while it is read (the
// moment held by tests/fixtures/faulty_proxy.py) is an error, never a mix of versions.
#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

// CSV over three read blocks (8 MiB each) with quoted fields holding line breaks, so
// part boundaries and chunk ends land inside records.
std::string big_csv() {
  std::string s = "id,name,note\n";
  for (int i = 0; s.size() < 20u << 20; ++i) {
    s += std::to_string(i) + ",\"n" + std::to_string(i % 97) + "\",\"line one\nline " + std::to_string(i) + "\"\n";
  }
  return s;
}

void put(S3Env& s3, const std::string& key, const std::string& data) {
  s3.client.put_object({s3.bucket, key}, data, ingot::s3::md5_base64(data));
}

}  // namespace

TEST_CASE("remote input: convert of an s3:// object equals convert of the file, for -j, chunk sizes and --part",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string csv = big_csv();
  write_file(d / "local.csv", csv);
  put(s3, "in/data.csv", csv);
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
  REQUIRE(run_ingot(d, "convert local.csv -o expect.ndjson -q").code == 0);
  const std::string expect = read_file(d / "expect.ndjson");
  for (const char* opts : {"-j1", "-j2 --chunk-size 64K"}) {
    auto r = run_ingot(d, "convert " + s3.url("in/data.csv") + " -o got.ndjson -q " + opts);
    INFO(opts << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(read_file(d / "got.ndjson") == expect);
  }
  std::string parts;
  for (int k = 1; k <= 4; ++k) {
    auto r = run_ingot(d, "convert " + s3.url("in/data.csv") + " --part " + std::to_string(k) + "/4 -o p.ndjson -q");
    INFO(r.err);
    REQUIRE(r.code == 0);
    parts += read_file(d / "p.ndjson");
  }
  CHECK(parts == expect);
  // A missing object: one line (s3:// outputs: test_remote_output.cpp).
  auto missing = run_ingot(d, "convert " + s3.url("in/nope.csv") + " -o x.ndjson");
  CHECK(missing.code == 1);
  CHECK(missing.err == "ingot convert: error: " + s3.url("in/nope.csv") + ": no such object\n");
  CHECK_FALSE(fs::exists(d / "x.ndjson"));
  ::unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE("remote input: an object replaced while it is read is an error, not a mix of two versions",
          "[cli][s3][remote][hold]") {
  S3Env s3;
  TempDir d;
  const std::string csv = big_csv();
  put(s3, "data.csv", csv);
  fs::create_directories(d / "hold");
  // The first ranged GET is held until the object has been replaced.
  FaultyProxy proxy(d, "hold", 1, "^GET ", (d / "hold").string());
  ::setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint.c_str(), 1);
  pid_t pid = spawn_ingot(d, "convert " + s3.url("data.csv") + " -o got.ndjson -q -j1");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  wait_until([&] { return fs::exists(d / "hold" / "held"); }, 120s, "the proxy to hold the first GET", 10ms);
  std::string changed = csv;
  changed.replace(100, 7, "CHANGED");
  put(s3, "data.csv", changed);
  write_file(d / "hold" / "release", "");
  const int code = wait_code(pid);
  const std::string err = read_file(d / ".bg.err");
  INFO(err);
  CHECK(code == 1);
  CHECK(err.find("ingot convert: error: " + s3.url("data.csv") + ": the object changed during the run") == 0);
  CHECK_FALSE(fs::exists(d / "got.ndjson"));
}

TEST_CASE("remote input: commands that do not read remote inputs yet say so in one line", "[cli][s3][remote]") {
  TempDir d;
  for (const char* cmd : {"split s3://b/k.csv --records 10", "index s3://b/k.csv", "get s3://b/k.csv 1"}) {
    auto r = run_ingot(d, cmd);
    INFO(cmd);
    CHECK(r.code == 2);
    CHECK(r.err.find(": s3://b/k.csv: remote inputs are read by convert only so far: download it first\n") !=
          std::string::npos);
  }
}

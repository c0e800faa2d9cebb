// s3:// objects as outputs (lib/ingot/net/s3/s3_sink.*, the hook RemoteSink in
// lib/ingot/io/output.h) and server-side merge, against the real Swift S3 server: what
// convert, split and merge write to a bucket equals what they write to a file; a 503 or
// a dropped connection on a part changes nothing; a failed or interrupted run leaves no
// object under the final key and no multipart upload behind (the moment held by
// tests/fixtures/faulty_proxy.py).
#include <zlib.h>

#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

// CSV with quoted fields holding line breaks and commas, about `mib` MiB.
std::string csv_of(std::size_t mib) {
  std::string s = "id,name,note\n";
  for (int i = 0; s.size() < (mib << 20); ++i) {
    s += std::to_string(i) + ",\"n," + std::to_string(i % 97) + "\",\"line one\nline " + std::to_string(i * 7) + "\"\n";
  }
  return s;
}

bool exists(S3Env& s3, const std::string& key) { return s3.client.head({s3.bucket, key}).has_value(); }

std::string gunzip(const std::string& z, std::size_t capacity) {
  std::string out(capacity + 1, '\0');
  uLongf n = out.size();
  z_stream st{};
  REQUIRE(inflateInit2(&st, 16 + MAX_WBITS) == Z_OK);
  st.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
  st.avail_in = static_cast<uInt>(z.size());
  st.next_out = reinterpret_cast<Bytef*>(out.data());
  st.avail_out = static_cast<uInt>(n);
  const int rc = inflate(&st, Z_FINISH);
  inflateEnd(&st);
  REQUIRE(rc == Z_STREAM_END);
  out.resize(st.total_out);
  return out;
}

// The endpoint for the ingot children, for the life of the object.
struct Endpoint {
  explicit Endpoint(const std::string& url) { ::setenv("AWS_ENDPOINT_URL_S3", url.c_str(), 1); }
  ~Endpoint() { ::unsetenv("AWS_ENDPOINT_URL_S3"); }
};

}  // namespace

TEST_CASE("remote output: convert -o s3:// equals convert to a file, for -j, chunk sizes and --compress",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  write_file(d / "in.csv", csv_of(12));  // ~22 MiB of NDJSON: three parts of 8 MiB
  Endpoint at(servers().s3_endpoint);
  REQUIRE(run_ingot(d, "convert in.csv -o expect.ndjson -q").code == 0);
  const std::string expect = read_file(d / "expect.ndjson");
  REQUIRE(expect.size() > (16u << 20));
  for (const char* opts : {"-j1", "-j2 --chunk-size 64K"}) {
    auto r = run_ingot(d, "convert in.csv -o " + s3.url("out/x.ndjson") + " -q " + opts);
    INFO(opts << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(s3.get("out/x.ndjson", 4u << 20) == expect);
  }
  CHECK(s3.uploads("out/x.ndjson").empty());
  // A destination ending in '/' takes the source's name, with --to's extension.
  auto dir = run_ingot(d, "convert in.csv -o " + s3.url("dir/") + " --to ndjson --compress gz");
  INFO(dir.err);
  REQUIRE(dir.code == 0);
  CHECK(dir.err.find("-> " + s3.url("dir/in.ndjson.gz") + "\n") != std::string::npos);
  CHECK(gunzip(s3.get("dir/in.ndjson.gz", 4u << 20), expect.size()) == expect);
  // Smaller than a part: one PUT.
  write_file(d / "small.csv", "a,b\n1,2\n");
  REQUIRE(run_ingot(d, "convert small.csv -o " + s3.url("small.ndjson") + " -q").code == 0);
  CHECK(s3.get("small.ndjson") == "{\"a\":1,\"b\":2}\n");
  // A bucket alone names no object.
  auto bad = run_ingot(d, "convert small.csv --to ndjson -o s3://" + s3.bucket);
  CHECK(bad.code == 2);
  CHECK(bad.err == "ingot convert: error: s3://" + s3.bucket + ": names no object (a prefix?)\n");
}

TEST_CASE("remote output: split to an s3:// prefix, then merge on the server, gives back the source",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string csv = csv_of(19);
  write_file(d / "taxi.csv", csv);
  Endpoint at(servers().s3_endpoint);
  // --pieces 2: pieces of ~9.5 MiB, each a multipart object itself, copied on the
  // server but for their repeated header; --bytes 3M: pieces under S3's 5 MiB part
  // minimum, combined into parts by downloading them.
  for (const char* how : {"--pieces 2", "--bytes 3M"}) {
    INFO(how);
    const std::string prefix = s3.url(std::string("parts-") + (how[2] == 'p' ? "p" : "b") + "/");
    auto sp = run_ingot(d, std::string("split taxi.csv ") + how + " --prefix " + prefix + " -q");
    INFO(sp.err);
    REQUIRE(sp.code == 0);
    const std::string manifest = prefix + "taxi-manifest.json";
    auto m = run_ingot(d, "merge " + manifest + " --verify -o " + s3.url("merged.csv") + " --json");
    INFO(m.err);
    REQUIRE(m.code == 0);
    const auto rep = report(m);
    CHECK(rep["verified"] == true);
    if (how[2] == 'p') CHECK(rep["server_side_bytes"].get<std::uint64_t>() == csv.size());
    CHECK(s3.get("merged.csv", 4u << 20) == csv);
    CHECK(s3.uploads("merged.csv").empty());
    // The same pieces merged to a local file.
    auto local = run_ingot(d, "merge " + manifest + " -o local.csv -q");
    INFO(local.err);
    REQUIRE(local.code == 0);
    CHECK(read_file(d / "local.csv") == csv);
  }
  // Local pieces into an s3:// object (read and sent: nothing to copy on the server).
  write_file(d / "a.csv", "id,v\n1,x\n");
  write_file(d / "b.csv", "id,v\n2,\"y\nz\"\n");
  auto lm = run_ingot(d, "merge a.csv b.csv -q -o " + s3.url("ab.csv"));
  INFO(lm.err);
  REQUIRE(lm.code == 0);
  CHECK(s3.get("ab.csv") == "id,v\n1,x\n2,\"y\nz\"\n");
  // Without --force an existing manifest is not overwritten.
  auto again = run_ingot(d, "split taxi.csv --pieces 2 --prefix " + s3.url("parts-p/") + " -q");
  CHECK(again.code == 1);
  CHECK(again.err ==
        "ingot split: error: " + s3.url("parts-p/taxi-manifest.json") + ": output exists (use --force to overwrite)\n");
  // A piece replaced since the split: --verify sees it by its ETag.
  std::string piece = s3.get("parts-p/taxi-00001.csv", 4u << 20);
  piece[piece.size() - 3] ^= 1;
  s3.put("parts-p/taxi-00001.csv", piece);
  auto v = run_ingot(d, "merge " + s3.url("parts-p/taxi-manifest.json") + " --verify -o " + s3.url("bad.csv"));
  CHECK(v.code == 1);
  CHECK(v.err.find(s3.url("parts-p/taxi-00001.csv") + ": piece is not the object split wrote") != std::string::npos);
  CHECK_FALSE(exists(s3, "bad.csv"));
  CHECK(s3.uploads("bad.csv").empty());
}

TEST_CASE("remote output: 4 concurrent convert --part K/4 from s3:// to s3:// concatenate to one local convert",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string taxi = read_file(fs::path(INGOT_SOURCE_DIR) / "examples" / "taxi.ndjson");
  write_file(d / "taxi.ndjson", taxi);
  s3.put("in/taxi.ndjson", taxi);
  Endpoint at(servers().s3_endpoint);
  REQUIRE(run_ingot(d, "convert taxi.ndjson --schema-out schema.json -o expect.csv -q").code == 0);
  std::vector<std::unique_ptr<TempDir>> dirs;
  std::vector<pid_t> pids;
  for (int k = 1; k <= 4; ++k) {
    dirs.push_back(std::make_unique<TempDir>());
    fs::copy_file(d / "schema.json", *dirs.back() / "schema.json");
    pids.push_back(spawn_ingot(*dirs.back(), "convert " + s3.url("in/taxi.ndjson") + " --schema schema.json --part " +
                                                 std::to_string(k) + "/4 -q -o " +
                                                 s3.url("p" + std::to_string(k) + ".csv")));
  }
  for (int k = 0; k < 4; ++k) {
    const int code = wait_code(pids[k]);
    INFO(read_file(*dirs[k] / ".bg.err"));
    REQUIRE(code == 0);
  }
  const std::string expect = read_file(d / "expect.csv");
  const std::string header = expect.substr(0, expect.find('\n') + 1);
  std::string joined = header;
  for (int k = 1; k <= 4; ++k) {
    const std::string p = s3.get("p" + std::to_string(k) + ".csv");
    REQUIRE(p.rfind(header, 0) == 0);
    joined += p.substr(header.size());
  }
  CHECK(joined == expect);
}

TEST_CASE("remote output: a 503 and a dropped connection on part uploads are retried and the object is exact",
          "[cli][s3][remote][faults]") {
  S3Env s3;
  TempDir d;
  write_file(d / "in.csv", csv_of(10));
  REQUIRE(run_ingot(d, "convert in.csv -o expect.ndjson -q").code == 0);
  FaultyProxy proxy(d, "503,drop", 1, "^PUT .*partNumber=");
  Endpoint at(proxy.endpoint);
  auto r = run_ingot(d, "convert in.csv -o " + s3.url("x.ndjson") + " -q");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(proxy.count("503") == 1);
  CHECK(proxy.count("drop") == 1);
  CHECK(s3.get("x.ndjson", 4u << 20) == read_file(d / "expect.ndjson"));
}

TEST_CASE("remote output: a failed run leaves no object and no upload under the final key",
          "[cli][s3][remote][faults]") {
  S3Env s3;
  TempDir d;
  write_file(d / "in.csv", csv_of(10));
  // Part 2 is refused for good (403); part 1 is on the server by then, or on its way.
  FaultyProxy proxy(d, "403", 1, "^PUT .*partNumber=2&");
  Endpoint at(proxy.endpoint);
  auto r = run_ingot(d, "convert in.csv -o " + s3.url("x.ndjson"));
  CHECK(r.code == 3);
  CHECK(r.err.find("ingot convert: error: " + s3.url("x.ndjson") + ": HTTP 403 AccessDenied") == 0);
  CHECK_FALSE(exists(s3, "x.ndjson"));
  CHECK(s3.uploads("x.ndjson").empty());
}

TEST_CASE("remote output: SIGTERM while a part is being sent aborts the upload and no object appears",
          "[cli][s3][remote][hold]") {
  S3Env s3;
  TempDir d;
  write_file(d / "in.csv", csv_of(10));
  fs::create_directories(d / "hold");
  FaultyProxy proxy(d, "hold", 1, "^PUT .*partNumber=2&", (d / "hold").string());
  Endpoint at(proxy.endpoint);
  pid_t pid = spawn_ingot(d, "convert in.csv -o " + s3.url("x.ndjson") + " -q");
  wait_until([&] { return fs::exists(d / "hold" / "held"); }, 120s, "the proxy to hold part 2", 10ms);
  REQUIRE(s3.uploads("x.ndjson").size() == 1);
  ::kill(pid, SIGTERM);
  const int code = wait_code(pid);
  write_file(d / "hold" / "release", "");  // part 2 now reaches an upload that is gone
  INFO(read_file(d / ".bg.err"));
  CHECK(code == 128 + SIGTERM);
  CHECK(read_file(d / ".bg.err") == "ingot: interrupted\n");
  CHECK(s3.uploads("x.ndjson").empty());
  CHECK_FALSE(exists(s3, "x.ndjson"));
}

TEST_CASE("remote output: SIGKILL leaves no object under the key, only an incomplete upload",
          "[cli][s3][remote][hold]") {
  S3Env s3;
  TempDir d;
  write_file(d / "in.csv", csv_of(10));
  fs::create_directories(d / "hold");
  FaultyProxy proxy(d, "hold", 1, "^PUT .*partNumber=2&", (d / "hold").string());
  Endpoint at(proxy.endpoint);
  pid_t pid = spawn_ingot(d, "convert in.csv -o " + s3.url("x.ndjson") + " -q");
  wait_until([&] { return fs::exists(d / "hold" / "held"); }, 120s, "the proxy to hold part 2", 10ms);
  ::kill(pid, SIGKILL);
  CHECK(wait_code(pid) == 128 + SIGKILL);
  write_file(d / "hold" / "release", "");
  CHECK_FALSE(exists(s3, "x.ndjson"));
  // What docs/remote.md says a lifecycle rule (or upload --abort) removes.
  const auto ids = s3.uploads("x.ndjson");
  CHECK(ids.size() == 1);
  for (const auto& id : ids) s3.client.abort_multipart({s3.bucket, "x.ndjson"}, id);
}

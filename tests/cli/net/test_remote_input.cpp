// s3:// objects as inputs (lib/ingot/net/remote/remote_source.*), against the real Swift S3
// server: a convert straight from the bucket equals the convert of the same bytes on
// disk for any -j, chunk size and --part; an object replaced while it is read (the
// moment held by tests/fixtures/faulty_proxy.py) is an error, never a mix of versions.
#include <httplib.h>

#include <algorithm>

#include "cli/s3_env.h"

using namespace ingot_test;

TEST_CASE("remote input: convert of an s3:// object equals convert of the file, for -j, chunk sizes and --part",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string csv = multiline_csv(20u << 20);
  write_file(d / "local.csv", csv);
  s3.put("in/data.csv", csv);
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

TEST_CASE("remote input: gzip and zstd objects are decoded as they stream, columns found without --fields",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  // NDJSON over several read blocks once compressed; a key only in the last line, so the
  // columns come from a whole first decoding of the object.
  std::string nd;
  std::uint64_t x = 88172645463325252ull;  // xorshift digits: data gzip cannot shrink much
  for (int i = 0; nd.size() < 28u << 20; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    nd += "{\"id\":" + std::to_string(i) + ",\"v\":\"" + std::to_string(x) + "\"}\n";
  }
  nd += "{\"id\":-1,\"late\":true}\n";
  write_file(d / "data.ndjson", nd);
  // Two members/frames each, as `cat a.gz b.gz` makes.
  REQUIRE(run_sh(d,
                 "head -c 1000000 data.ndjson > a && tail -c +1000001 data.ndjson > b && "
                 "gzip -1 -c a > data.ndjson.gz && gzip -1 -c b >> data.ndjson.gz && "
                 "zstd -1 -q -c a > data.ndjson.zst && zstd -1 -q -c b >> data.ndjson.zst")
              .code == 0);
  // More than one read block (8 MiB) each.
  REQUIRE(fs::file_size(d / "data.ndjson.gz") > 8u << 20);
  REQUIRE(fs::file_size(d / "data.ndjson.zst") > 8u << 20);
  s3.put("z/data.ndjson.gz", read_file(d / "data.ndjson.gz"));
  s3.put("z/data.ndjson.zst", read_file(d / "data.ndjson.zst"));
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
  REQUIRE(run_ingot(d, "convert data.ndjson -o expect.csv -q").code == 0);
  const std::string expect = read_file(d / "expect.csv");
  REQUIRE(expect.starts_with("id,v,late\n"));
  for (const char* key : {"z/data.ndjson.gz", "z/data.ndjson.zst"}) {
    for (const char* opts : {"-j1", "-j2 --chunk-size 64K"}) {
      auto r = run_ingot(d, "convert " + s3.url(key) + " -o got.csv --json " + opts);
      INFO(key << " " << opts << ": " << r.err);
      REQUIRE(r.code == 0);
      CHECK(read_file(d / "got.csv") == expect);
    }
  }
  // --part of a compressed object: one line, as for a local file.
  auto part = run_ingot(d, "convert " + s3.url("z/data.ndjson.gz") + " --fields id --part 1/2 -o p.csv");
  CHECK(part.code == 2);
  CHECK(part.err == "ingot convert: error: " + s3.url("z/data.ndjson.gz") +
                        ": --part needs random access, which gzip-compressed input does not allow; decompress it "
                        "first\n");

  // The .zst ingot writes is seekable (docs/compression.md): --part reads by ranges of
  // whole frames; the index beside it counts decoded bytes, and get uses it.
  REQUIRE(run_ingot(d, "convert expect.csv -o seek.csv.zst -q").code == 0);
  s3.put("z/seek.csv.zst", read_file(d / "seek.csv.zst"));
  REQUIRE(run_ingot(d, "convert expect.csv -o all.ndjson -q").code == 0);
  std::string parts;
  for (int k = 1; k <= 3; ++k) {
    auto r = run_ingot(d, "convert " + s3.url("z/seek.csv.zst") + " --part " + std::to_string(k) + "/3 -o p.ndjson -q");
    INFO(r.err);
    REQUIRE(r.code == 0);
    parts += read_file(d / "p.ndjson");
  }
  CHECK(parts == read_file(d / "all.ndjson"));
  auto ix = run_ingot(d, "index " + s3.url("z/seek.csv.zst") + " -q");
  INFO(ix.err);
  REQUIRE(ix.code == 0);
  for (const char* spec : {"2", "300001", "-1"}) {
    auto want = run_ingot(d, std::string("get expect.csv ") + spec);
    auto got = run_ingot(d, "get " + s3.url("z/seek.csv.zst") + " " + spec);
    INFO(spec << ": " << got.err);
    CHECK(got.code == 0);
    CHECK(got.out == want.out);
  }
  ::unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE("remote input: an object replaced while it is read is an error, not a mix of two versions",
          "[cli][s3][remote][hold]") {
  S3Env s3;
  TempDir d;
  const std::string csv = multiline_csv(20u << 20);
  s3.put("data.csv", csv);
  fs::create_directories(d / "hold");
  // The first ranged GET is held until the object has been replaced.
  FaultyProxy proxy(d, "hold", 1, "^GET ", (d / "hold").string());
  ::setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint.c_str(), 1);
  pid_t pid = spawn_ingot(d, "convert " + s3.url("data.csv") + " -o got.ndjson -q -j1");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  wait_until([&] { return fs::exists(d / "hold" / "held"); }, 120s, "the proxy to hold the first GET", 10ms);
  std::string changed = csv;
  changed.replace(100, 7, "CHANGED");
  s3.put("data.csv", changed);
  write_file(d / "hold" / "release", "");
  const int code = wait_code(pid);
  const std::string err = read_file(d / ".bg.err");
  INFO(err);
  CHECK(code == 1);
  CHECK(err.find("ingot convert: error: " + s3.url("data.csv") + ": the object changed during the run") == 0);
  CHECK_FALSE(fs::exists(d / "got.ndjson"));
}

TEST_CASE("remote input: split, index, get, serve and upload read s3:// objects as they read files",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string csv = multiline_csv(20u << 20);
  write_file(d / "data.csv", csv);
  s3.put("in/data.csv", csv);
  const std::string url = s3.url("in/data.csv");
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);

  // split: the same pieces as from the file, the manifest naming the object.
  fs::create_directories(d / "local");
  fs::create_directories(d / "remote");
  REQUIRE(run_ingot(d, "split data.csv --records 40000 --prefix local/p- -q").code == 0);
  auto sp = run_ingot(d, "split " + url + " --records 40000 --prefix remote/p- -q");
  INFO(sp.err);
  REQUIRE(sp.code == 0);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(d / "local")) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  REQUIRE(names.size() > 3);
  for (const std::string& n : names) {
    INFO(n);
    if (n.ends_with(".json")) continue;
    CHECK(read_file(d / "remote" / n) == read_file(d / "local" / n));
  }
  const auto manifest = nlohmann::json::parse(read_file(d / "remote/p-manifest.json"));
  CHECK(manifest["source"]["path"] == url);

  // index and get: a local index of the object (-o); records equal the file's.
  auto ix = run_ingot(d, "index " + url + " -o remote.idx -q");
  INFO(ix.err);
  REQUIRE(ix.code == 0);
  REQUIRE(run_ingot(d, "index data.csv -q").code == 0);
  for (const char* spec : {"1", "77777", "-1", "1000+5"}) {
    INFO(spec);
    auto want = run_ingot(d, std::string("get data.csv ") + spec);
    auto got = run_ingot(d, "get " + url + " " + spec + " --index remote.idx");
    auto scan = run_ingot(d, "get " + url + " " + spec);  // no index: a scan of the object
    REQUIRE(want.code == 0);
    CHECK(got.code == 0);
    CHECK(got.out == want.out);
    CHECK(scan.out == want.out);
  }
  // Without -o the index goes beside the object, where get finds it (test_remote_traffic.cpp).
  auto beside = run_ingot(d, "index " + url + " -q");
  INFO(beside.err);
  CHECK(beside.code == 0);
  CHECK(s3.client.head({s3.bucket, "in/data.csv.idx"}).has_value());
  CHECK(run_ingot(d, "get " + url + " 77777").out == run_ingot(d, "get data.csv 77777").out);

  // serve: records from the object by ranges.
  pid_t pid = spawn_ingot(d, "serve " + url + " --index remote.idx --port 0");
  const int port = serve_port(d, pid);
  httplib::Client client("127.0.0.1", port);
  auto served = client.Get("/lines/77777");
  ::kill(pid, SIGTERM);
  wait_code(pid);
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->body == run_ingot(d, "get data.csv 77777").out);

  // upload: the object copied to another key, byte for byte.
  auto up = run_ingot(d, "upload " + url + " " + s3.url("copy/data.csv") + s3.flags + "-q");
  INFO(up.err);
  REQUIRE(up.code == 0);
  CHECK(s3.client.get_object({s3.bucket, "copy/data.csv"}) == csv);
  ::unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE("remote input: http:// URLs that answer Range requests are read as objects, others refused in one line",
          "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string csv = multiline_csv(20u << 20);
  write_file(d / "data.csv", csv);
  s3.put("in/data.csv", csv);
  // Swift's own API on the same port: a container readable by anyone serves the object
  // at a plain URL, with ETag, Range and If-Match as a CDN or web server would.
  const std::string endpoint = servers().s3_endpoint;
  httplib::Client swift(endpoint);
  auto auth =
      swift.Get("/auth/v1.0", {{"X-Auth-User", servers().s3_access_key}, {"X-Auth-Key", servers().s3_secret_key}});
  REQUIRE(auth);
  REQUIRE(auth->status == 200);
  const std::string storage = auth->get_header_value("X-Storage-Url");
  REQUIRE(storage.starts_with(endpoint));
  auto acl = swift.Post(storage.substr(endpoint.size()) + "/" + s3.bucket,
                        {{"X-Auth-Token", auth->get_header_value("X-Auth-Token")}, {"X-Container-Read", ".r:*"}}, "",
                        "text/plain");
  REQUIRE(acl);
  REQUIRE(acl->status / 100 == 2);
  const std::string url = storage + "/" + s3.bucket + "/in/data.csv";

  REQUIRE(run_ingot(d, "convert data.csv -o expect.ndjson -q").code == 0);
  const std::string expect = read_file(d / "expect.ndjson");
  for (const char* opts : {"-j1", "-j2 --chunk-size 64K"}) {
    auto r = run_ingot(d, "convert " + url + " -o got.ndjson -q " + opts);
    INFO(opts << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(read_file(d / "got.ndjson") == expect);
  }
  std::string parts;
  for (int k = 1; k <= 3; ++k) {
    auto r = run_ingot(d, "convert " + url + " --part " + std::to_string(k) + "/3 -o p.ndjson -q");
    INFO(r.err);
    REQUIRE(r.code == 0);
    parts += read_file(d / "p.ndjson");
  }
  CHECK(parts == expect);
  auto ix = run_ingot(d, "index " + url + " -o http.idx -q");
  INFO(ix.err);
  REQUIRE(ix.code == 0);
  auto got = run_ingot(d, "get " + url + " 77777 --index http.idx");
  CHECK(got.code == 0);
  CHECK(got.out == run_ingot(d, "get data.csv 77777").out);
  // A URL is read-only: no index beside it.
  auto no_o = run_ingot(d, "index " + url);
  CHECK(no_o.code == 2);
  CHECK(no_o.err == "ingot index: error: " + url +
                        ": an http(s):// URL is read-only, so its index cannot be written beside it: pass -o "
                        "FILE.idx\n");
  auto missing = run_ingot(d, "convert " + url + ".nope -o x.ndjson");
  CHECK(missing.code == 1);
  CHECK(missing.err == "ingot convert: error: " + url + ".nope: no such object (HTTP 404)\n");

  // Python's http.server answers every GET with the whole file: refused, nothing written.
  fs::create_directories(d / "www");
  write_file(d / "www" / "data.csv", csv);
  FixtureServer plain("static_http.py", {"--dir", (d / "www").string()}, d / ".static.port");
  auto whole = run_ingot(d, "convert " + plain.url + "/data.csv -o x.ndjson");
  CHECK(whole.code == 3);  // a remote failure, as for S3
  CHECK(whole.err == "ingot convert: error: " + plain.url +
                         "/data.csv: the server does not answer Range requests (HTTP 200 with the whole object): "
                         "download it first\n");
  CHECK_FALSE(fs::exists(d / "x.ndjson"));
}

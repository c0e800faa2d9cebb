// The network side of remote data (docs/remote.md), against the real Swift S3 server:
// the "network" block of --json reports (util/net_traffic.h, counted in net/http),
// the index beside an s3:// object (index writes s3://b/k.idx, get and serve find
// it; get answers with two ranged GETs, counted by the proxy's request log),
// ranged GETs that fail for real (tests/fixtures/faulty_proxy.py) yet give exact output;
// a large index read by ranges, and concurrent --part converts each reading about their share.
#include <httplib.h>

#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

// NDJSON over three read blocks (8 MiB each) of the remote reader; a key only in the
// last record, so the columns come from a whole first pass.
std::string big_ndjson() {
  std::string s;
  for (int i = 0; s.size() < 20u << 20; ++i) {
    s += "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i % 97) +
         "\",\"v\":" + std::to_string(i * 7 % 1000) + ".5}\n";
  }
  return s + "{\"id\":-1,\"late\":true}\n";
}

// A test fixture (TEST_CASE_METHOD): s3://BUCKET/in/data.csv and its copy data.csv
// (indexed) in a temp dir; the S3 endpoint in the environment.
struct IndexedCsv {
  S3Env s3;
  TempDir d;
  std::string url = s3.url("in/data.csv");
  IndexedCsv() {
    const std::string csv = multiline_csv(3u << 20);
    write_file(d / "data.csv", csv);
    s3.put("in/data.csv", csv);
    ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
    REQUIRE(run_ingot(d, "index data.csv -q").code == 0);
  }
};

std::uint64_t num(const nlohmann::json& j, const char* key) { return j.at(key).get<std::uint64_t>(); }

// Requests of the proxy's log: "METHOD path[?query][ Range: ...]".
int requests(const FaultyProxy& proxy, const std::string& method, bool ranged) {
  int n = 0;
  for (const auto& e : proxy.log()) {
    const std::string req = e["req"];
    n += req.starts_with(method + " ") && (req.find(" Range: bytes=") != std::string::npos) == ranged;
  }
  return n;
}

// Ranged GETs of log entries [from, end) whose path ends with `suffix`, and the bytes
// they asked for.
struct Ranged {
  int gets = 0;
  std::uint64_t bytes = 0;
};
Ranged ranged(const std::vector<nlohmann::json>& log, std::size_t from, const std::string& suffix) {
  Ranged r;
  for (std::size_t i = from; i < log.size(); ++i) {
    const std::string req = log[i]["req"];
    const auto at = req.find(" Range: bytes=");
    if (!req.starts_with("GET ") || at == std::string::npos || req.substr(4, at - 4) != suffix) continue;
    const std::string range = req.substr(at + 14);
    const auto dash = range.find('-');
    ++r.gets;
    r.bytes += std::stoull(range.substr(dash + 1)) + 1 - std::stoull(range.substr(0, dash));
  }
  return r;
}

}  // namespace

TEST_CASE("remote traffic: --json reports give network requests and bytes, none for a local run", "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  const std::string nd = big_ndjson();
  write_file(d / "data.ndjson", nd);
  s3.put("in/data.ndjson", nd);
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);

  auto local = run_ingot(d, "convert data.ndjson -o local.csv --json -q");
  REQUIRE(local.code == 0);
  CHECK_FALSE(report(local).contains("network"));
  const std::string csv = read_file(d / "local.csv");

  // s3:// in: at least the object's bytes come in (with the column pass, most of them
  // twice: the last block is still held when the conversion starts), nothing goes out
  // but requests.
  auto in = run_ingot(d, "convert " + s3.url("in/data.ndjson") + " -o got.csv --json");
  REQUIRE(in.code == 0);
  CHECK(read_file(d / "got.csv") == csv);
  // The doubled download is pointed out, with the way to avoid it.
  CHECK_THAT(in.err, Catch::StartsWith("ingot convert: note: "));
  CHECK_THAT(in.err, Catch::Contains(" of input: the NDJSON columns were found by a first read of the object; write "
                                     "them once with --schema-out FILE, then pass --schema FILE to read it once\n"));
  auto once = run_ingot(d, "convert " + s3.url("in/data.ndjson") + " --fields id,name,v,late -o once.csv --json");
  REQUIRE(once.code == 0);
  CHECK(read_file(d / "once.csv") == csv);
  CHECK(once.err.find("note:") == std::string::npos);
  CHECK(num(report(once)["network"], "bytes_in") < nd.size() + (1u << 20));
  const auto net_in = report(in)["network"];
  INFO(net_in.dump());
  CHECK(num(net_in, "requests") >= 4);  // HEAD, the codec sniff, the blocks
  CHECK(num(net_in, "bytes_in") >= nd.size());
  CHECK(num(net_in, "bytes_out") == 0);

  // s3:// out: at least the output's bytes go out.
  auto out = run_ingot(d, "convert data.ndjson -o " + s3.url("out/x.csv") + " --json -q");
  REQUIRE(out.code == 0);
  const auto net_out = report(out)["network"];
  INFO(net_out.dump());
  CHECK(num(net_out, "bytes_out") >= csv.size());
  CHECK(num(net_out, "requests") >= 2);
  CHECK(s3.get("out/x.csv") == csv);

  // split, index, merge and upload report it too.
  fs::create_directories(d / "parts");
  auto sp = run_ingot(d, "split " + s3.url("in/data.ndjson") + " --pieces 3 --prefix parts/p- --json -q");
  REQUIRE(sp.code == 0);
  CHECK(num(report(sp)["network"], "bytes_in") >= nd.size());
  auto mg = run_ingot(d, "merge parts/p-manifest.json -o " + s3.url("merged.ndjson") + " --json -q");
  INFO(mg.err);
  REQUIRE(mg.code == 0);
  CHECK(num(report(mg)["network"], "bytes_out") >= nd.size());
  CHECK(s3.get("merged.ndjson") == nd);
  auto ix = run_ingot(d, "index " + s3.url("in/data.ndjson") + " --json -q");
  REQUIRE(ix.code == 0);
  CHECK(num(report(ix)["network"], "bytes_in") >= nd.size());
  auto up = run_ingot(d, "upload local.csv " + s3.url("up/local.csv") + s3.flags + "--json -q");
  INFO(up.err);
  REQUIRE(up.code == 0);
  CHECK(num(report(up)["network"], "bytes_out") >= csv.size());
  // A local index run: no network block.
  auto lx = run_ingot(d, "index data.ndjson --json -q");
  REQUIRE(lx.code == 0);
  CHECK_FALSE(report(lx).contains("network"));
  ::unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE_METHOD(IndexedCsv,
                 "remote index: index s3://b/k writes s3://b/k.idx, get and serve find it, get makes two ranged GETs",
                 "[cli][s3][remote]") {
  // No index yet: get scans the object.
  auto scan = run_ingot(d, "get " + url + " 777");
  REQUIRE(scan.code == 0);
  CHECK(scan.out == run_ingot(d, "get data.csv 777").out);
  auto no_index = run_ingot(d, "serve " + url + " --port 0");
  CHECK(no_index.code == 1);
  CHECK(no_index.err ==
        "ingot serve: error: " + url + ": no index " + url + ".idx; build it first with 'ingot index " + url + "'\n");

  auto ix = run_ingot(d, "index " + url + " --json -q");
  INFO(ix.err);
  REQUIRE(ix.code == 0);
  CHECK(report(ix)["index"] == url + ".idx");
  REQUIRE(s3.client.head({s3.bucket, "in/data.csv.idx"}).has_value());
  auto verify = run_ingot(d, "index " + url + " --verify -q");
  INFO(verify.err);
  CHECK(verify.code == 0);
  // The same records as from the file, by the index beside the object.
  for (const char* spec : {"1", "777", "-1", "1000+5"}) {
    INFO(spec);
    auto want = run_ingot(d, std::string("get data.csv ") + spec + " --header");
    auto got = run_ingot(d, "get " + url + " " + spec + " --header");
    REQUIRE(want.code == 0);
    CHECK(got.code == 0);
    CHECK(got.out == want.out);
  }
  {
    // Counted through the proxy: HEAD of the object and of its index, then two ranged
    // GETs, the index (whole: it is small) and the record.
    FaultyProxy proxy(d, "ok");
    ::setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint.c_str(), 1);
    auto got = run_ingot(d, "get " + url + " 4242");
    ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
    REQUIRE(got.code == 0);
    CHECK(got.out == run_ingot(d, "get data.csv 4242").out);
    std::string log;
    for (const auto& e : proxy.log()) log += e["req"].get<std::string>() + "\n";
    INFO(log);
    CHECK(requests(proxy, "GET", true) == 2);
    CHECK(requests(proxy, "GET", false) == 0);
    CHECK(requests(proxy, "HEAD", false) == 2);
  }

  // serve without --index finds it too.
  pid_t pid = spawn_ingot(d, "serve " + url + " --port 0");
  const int port = serve_port(d, pid);
  httplib::Client client("127.0.0.1", port);
  auto served = client.Get("/lines/777");
  ::kill(pid, SIGTERM);
  wait_code(pid);
  REQUIRE(served);
  CHECK(served->status == 200);
  CHECK(served->body == run_ingot(d, "get data.csv 777").out);

  // A stale index beside the object (the object replaced) is refused, as for a file.
  s3.put("in/data.csv", read_file(d / "data.csv") + "9,x,y\n");
  auto stale = run_ingot(d, "get " + url + " 5");
  CHECK(stale.code == 1);
  CHECK(stale.err.find("index " + url + ".idx is stale") != std::string::npos);
  auto again = run_ingot(d, "get " + url + " -1 --reindex");
  INFO(again.err);
  CHECK(again.code == 0);
  CHECK(again.out == "9,x,y\n");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE("remote input: ranged GETs cut mid-body, answered 503, dropped or slow are retried, the output exact",
          "[cli][s3][remote][faults]") {
  S3Env s3;
  TempDir d;
  const std::string nd = big_ndjson();
  write_file(d / "data.ndjson", nd);
  s3.put("data.ndjson", nd);
  REQUIRE(run_ingot(d, "convert data.ndjson -o expect.csv -q").code == 0);
  const std::string expect = read_file(d / "expect.csv");
  {
    // Each distinct range (the codec sniff, the three blocks) gets the next fault once;
    // the conversion pass's GETs of the same ranges pass.
    FaultyProxy proxy(d, "cut,503,drop,slow", 1, "^GET .* Range: ");
    ::setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint.c_str(), 1);
    auto r = run_ingot(d, "convert " + s3.url("data.ndjson") + " -o got.csv --json -q");
    ::unsetenv("AWS_ENDPOINT_URL_S3");
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(read_file(d / "got.csv") == expect);
    for (const char* fault : {"cut", "503", "drop", "slow"}) {
      INFO(fault);
      CHECK(proxy.count(fault) == 1);
    }
    // The retried requests are counted: a cut answer's half body came in too.
    const auto net = report(r)["network"];
    CHECK(num(net, "bytes_in") >= nd.size());
  }

  // With --part: each part reads its range and the block holding its first boundary.
  FaultyProxy parts(d, "cut,ok,drop,503", 1, "^GET .* Range: ");
  ::setenv("AWS_ENDPOINT_URL_S3", parts.endpoint.c_str(), 1);
  std::string joined;
  for (int k = 1; k <= 3; ++k) {
    auto p = run_ingot(d, "convert " + s3.url("data.ndjson") + " --fields id,name,v,late --part " + std::to_string(k) +
                              "/3 -o p.csv -q");
    INFO(p.err);
    REQUIRE(p.code == 0);
    const std::string piece = read_file(d / "p.csv");
    joined += k == 1 ? piece : piece.substr(piece.find('\n') + 1);  // each part has the header row
  }
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  auto whole = run_ingot(d, "convert data.ndjson --fields id,name,v,late -o whole.csv -q");
  REQUIRE(whole.code == 0);
  CHECK(joined == read_file(d / "whole.csv"));
  CHECK(parts.count("cut") >= 1);
}

TEST_CASE_METHOD(IndexedCsv,
                 "remote index: one over the whole-read size is read by ranges, get's records equal the file's",
                 "[cli][s3][remote]") {
  REQUIRE(run_ingot(d, "index " + url + " -q").code == 0);
  const auto head = s3.client.head({s3.bucket, "in/data.csv.idx"});
  REQUIRE(head.has_value());
  const std::uint64_t idx_size = head->size;
  INFO("index of " << idx_size << " bytes");
  REQUIRE(idx_size > 64u << 10);
  // Read by ranges past 4 KiB (1 MiB without the variable).
  ::setenv("INGOT_REMOTE_INDEX_WHOLE_MAX", "4096", 1);
  auto verify = run_ingot(d, "index " + url + " --verify -q");
  INFO(verify.err);
  CHECK(verify.code == 0);

  FaultyProxy proxy(d, "ok");
  ::setenv("AWS_ENDPOINT_URL_S3", proxy.endpoint.c_str(), 1);
  const std::string obj_path = "/" + s3.bucket + "/in/data.csv";
  // A lookup's page: 64 directory entries of 24 bytes and their 64 blocks' bits, at most
  // 128 values of 64 bits each (records here take a few bits).
  constexpr std::uint64_t kPageMost = 64 * 24 + 64 * 1024;
  // Boundaries 8189 and 8194 of "8190+5" are in blocks 63 and 64: two pages of 64 blocks.
  for (const auto& [spec, pages] : std::vector<std::pair<std::string, int>>{
           {"1", 1}, {"50000", 1}, {"-1", 1}, {"1000+300", 1}, {"8190+5", 2}, {"20000-20010", 1}}) {
    INFO(spec);
    const std::size_t from = proxy.log().size();
    auto got = run_ingot(d, "get " + url + " " + spec + " --header");
    auto want = run_ingot(d, "get data.csv " + spec + " --header");
    REQUIRE(want.code == 0);
    INFO(got.err);
    CHECK(got.code == 0);
    CHECK(got.out == want.out);
    const auto log = proxy.log();
    std::string lines;
    for (std::size_t i = from; i < log.size(); ++i) lines += log[i]["req"].get<std::string>() + "\n";
    INFO(lines);
    // The index: its header, then per page its entries and its bits.
    const Ranged idx = ranged(log, from, obj_path + ".idx");
    CHECK(idx.gets == 1 + 2 * pages);
    CHECK(idx.bytes <= 128 + pages * kPageMost);
    CHECK(idx.bytes < idx_size / 4);
    // The object: the CSV header and the records (one read for record 1, right after
    // the header), just their bytes.
    const Ranged obj = ranged(log, from, obj_path);
    CHECK(obj.gets == (spec == "1" ? 1 : 2));
    CHECK(obj.bytes == want.out.size());
  }
  ::unsetenv("INGOT_REMOTE_INDEX_WHOLE_MAX");
  ::unsetenv("AWS_ENDPOINT_URL_S3");
}

TEST_CASE(
    "remote input: 4 concurrent --part K/4 converts to s3:// concatenate to the file's convert, each reading "
    "about its share",
    "[cli][s3][remote]") {
  S3Env s3;
  TempDir d;
  // 48 MiB: six read blocks of the remote reader, a part a block and a half.
  std::string nd;
  for (int i = 0; nd.size() < 48u << 20; ++i) {
    nd += "{\"id\":" + std::to_string(i) + ",\"name\":\"n" + std::to_string(i % 97) +
          "\",\"v\":" + std::to_string(i * 7 % 1000) + ".5}\n";
  }
  write_file(d / "taxi.ndjson", nd);
  s3.put("in/taxi.ndjson", nd);
  REQUIRE(run_ingot(d, "convert taxi.ndjson --fields id,name,v -o whole.csv -q").code == 0);
  ::setenv("AWS_ENDPOINT_URL_S3", servers().s3_endpoint.c_str(), 1);
  // --fields: no first pass over the whole object for the columns.
  std::array<TempDir, 4> dirs;
  std::array<pid_t, 4> pids{};
  for (int k = 1; k <= 4; ++k) {
    pids[k - 1] = spawn_ingot(dirs[k - 1], "convert " + s3.url("in/taxi.ndjson") + " --fields id,name,v --part " +
                                               std::to_string(k) + "/4 -o " +
                                               s3.url("out/p" + std::to_string(k) + ".csv") + " --json -q");
  }
  for (pid_t p : pids) CHECK(wait_code(p) == 0);
  ::unsetenv("AWS_ENDPOINT_URL_S3");
  std::string joined;
  for (int k = 1; k <= 4; ++k) {
    INFO("part " << k << ": " << read_file(dirs[k - 1] / ".bg.err"));
    const std::string piece = s3.get("out/p" + std::to_string(k) + ".csv");
    joined += k == 1 ? piece : piece.substr(piece.find('\n') + 1);  // each part has the header row
    const auto j = nlohmann::json::parse(read_file(dirs[k - 1] / ".bg.out"));
    const std::uint64_t in = num(j["result"]["network"], "bytes_in");
    INFO("part " << k << " bytes_in " << in << " share " << nd.size() / 4);
    // The share (give or take a record: parts start at record starts), plus what the
    // reader honestly fetches beyond it (remote_source.cpp): the codec sniff (10 bytes),
    // the two boundary probes (64 KiB each, fetched alone), and, since ranges are read in
    // whole 8 MiB blocks at multiples of 8 MiB, the bytes of the part's first block before
    // its start: under one block. Read-ahead stops at the part's end (read_until), and the
    // block holding it is fetched only up to it. A little XML comes back from the
    // multipart upload of the output.
    CHECK(in <= nd.size() / 4 + (8u << 20) + 2 * (64u << 10) + 10 + (4u << 10));
  }
  CHECK(joined == read_file(d / "whole.csv"));
}

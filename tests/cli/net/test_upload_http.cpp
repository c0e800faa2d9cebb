// ingot upload to an HTTP NDJSON endpoint: a real cpp-httplib server inside the test
// counts records and misbehaves on purpose (429 with Retry-After, 500, a dropped
// connection); nothing may be lost or duplicated. A kill -9 midway (while the endpoint
// holds requests the test chose) and a rerun too.
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.h"

using namespace ingot_test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  std::string out;
  char buf[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  return out;
}

// Starts listening on a free loopback port; returns it once the listen loop runs
// (stop() before it runs would leave it running forever).
int start_server(httplib::Server& svr, std::thread& t) {
  const int port = svr.bind_to_any_port("127.0.0.1");
  t = std::thread([&svr] { svr.listen_after_bind(); });
  try {
    wait_until([&] { return svr.is_running(); }, 60s, "the test's HTTP server to listen");
  } catch (...) {
    svr.stop();
    t.join();
    throw;
  }
  return port;
}

// An ingestion endpoint: keeps batches by Idempotency-Key (as real ones do), answers
// request number k with `faults[k]` (429, 500, or 0 = drop the connection). Stop
// points the test controls: hold_from(n) holds request n and every later one until
// release(); with first_waits_for(k), request 1 is answered only once k requests are
// in flight together (so a test of concurrency does not depend on timing).
class Endpoint {
 public:
  explicit Endpoint(std::map<int, int> faults) : faults_(std::move(faults)) {
    svr_.Post("/ingest", [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
    port_ = start_server(svr_, thread_);
  }
  ~Endpoint() {
    release();  // a held handler would keep stop() waiting
    svr_.stop();
    thread_.join();
  }
  void hold_from(int n) { hold_from_ = n; }
  void first_waits_for(int k) { first_waits_for_ = k; }
  // Requests held now.
  int held() {
    std::lock_guard lock(mu_);
    return held_;
  }
  // Answers the held requests 503 without keeping their batches (their client is gone:
  // the tests kill it first); later requests are served as usual.
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/ingest"; }

  // id -> times it was stored
  std::map<long, int> ids() {
    std::lock_guard lock(mu_);
    std::map<long, int> out;
    for (auto& [key, body] : batches_) {
      for (const std::string& l : lines_of(body)) out[json::parse(l)["id"].get<long>()]++;
    }
    return out;
  }
  std::vector<double> retry_gaps_after_429() {
    std::lock_guard lock(mu_);
    return gaps_;
  }
  int requests() const { return requests_; }
  int max_in_flight() const { return max_in_flight_; }
  std::set<std::string> content_types() {
    std::lock_guard lock(mu_);
    return types_;
  }
  std::set<std::string> authorizations() {
    std::lock_guard lock(mu_);
    return auth_;
  }
  // Batch number (the key's last part) -> body as stored.
  std::map<int, std::string> bodies() {
    std::lock_guard lock(mu_);
    std::map<int, std::string> out;
    for (auto& [key, body] : batches_) out[std::stoi(key.substr(key.rfind('-') + 1))] = body;
    return out;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    const int n = ++requests_;
    const int now = ++in_flight_;
    for (int seen = max_in_flight_; now > seen && !max_in_flight_.compare_exchange_weak(seen, now);) {
    }
    {
      std::lock_guard lock(mu_);
      cv_.notify_all();  // in_flight_ changed: a first request may be waiting for company
    }
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { --n; }
    } leave{in_flight_};
    if (n == 1 && first_waits_for_ > 1) {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, 60s, [&] { return in_flight_ >= first_waits_for_; });
    }
    if (hold_from_ && n >= hold_from_) {
      std::unique_lock lock(mu_);
      if (!released_) {
        ++held_;
        cv_.notify_all();
        cv_.wait_for(lock, 120s, [&] { return released_; });
        --held_;
        res.status = 503;
        return;
      }
    }
    // Without a key (stdin) every request is a batch of its own.
    std::string key = req.get_header_value("Idempotency-Key");
    if (key.empty()) key = "request-" + std::to_string(n);
    {
      std::lock_guard lock(mu_);
      types_.insert(req.get_header_value("Content-Type"));
      auth_.insert(req.get_header_value("Authorization"));
      if (auto t = last_429_.find(key); t != last_429_.end()) {
        gaps_.push_back(std::chrono::duration<double>(Clock::now() - t->second).count());
        last_429_.erase(t);
      }
    }
    if (auto f = faults_.find(n); f != faults_.end()) {
      if (f->second == 429) {
        std::lock_guard lock(mu_);
        last_429_[key] = Clock::now();
        res.status = 429;
        res.set_header("Retry-After", "1");
        return;
      }
      if (f->second == 500) {
        res.status = 500;
        res.set_content("boom", "text/plain");
        return;
      }
      // Drop the connection mid-response, before the batch is kept.
      res.set_content_provider(100, "text/plain", [](size_t, size_t, httplib::DataSink&) { return false; });
      return;
    }
    std::string body = req.body;
    if (req.get_header_value("Content-Encoding") == "gzip" && body.size() > 2 && body[0] == '\x1f') body = gunzip(body);
    std::lock_guard lock(mu_);
    batches_.emplace(key, body);  // a repeated key is the same batch again: kept once
    res.status = 200;
  }

  httplib::Server svr_;
  std::map<int, int> faults_;
  std::atomic<int> hold_from_{0}, first_waits_for_{0};
  int held_ = 0;
  bool released_ = false;
  std::condition_variable cv_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> in_flight_{0}, max_in_flight_{0};
  std::mutex mu_;
  std::map<std::string, std::string> batches_;
  std::map<std::string, Clock::time_point> last_429_;
  std::vector<double> gaps_;
  std::set<std::string> types_;
  std::set<std::string> auth_;
};

std::string make_ndjson(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i)
    s += "{\"id\":" + std::to_string(i) + ",\"v\":\"" + std::string(20, 'a' + i % 26) + "\"}\n";
  return s;
}

void check_exactly_once(Endpoint& ep, int n) {
  auto ids = ep.ids();
  CHECK(ids.size() == static_cast<std::size_t>(n));
  int dup = 0;
  for (auto& [id, times] : ids) dup += times != 1;
  CHECK(dup == 0);
  CHECK(ids.begin()->first == 1);
  CHECK(ids.rbegin()->first == n);
}

}  // namespace

TEST_CASE("upload http: 429 (Retry-After honoured), 500 and a dropped connection lose and duplicate nothing",
          "[upload][http]") {
  TempDir dir;
  Endpoint ep({{2, 429}, {4, 500}, {6, 0}, {7, 500}});
  const int n = 3000;  // ~140 KB: 14 batches of 10K
  write_file(dir / "ev.ndjson", make_ndjson(n));
  for (const char* gz : {"", " --gzip"}) {
    RunResult r = run_ingot(dir, "upload ev.ndjson " + ep.url() +
                                     " --batch-bytes 10K --concurrency 3 --json "
                                     "--retry-base-ms 20 --header 'Authorization: Bearer x'" +
                                     std::string(gz));
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["stats"]["records"] == n);
    CHECK(j["stats"]["units_sent"] == j["stats"]["units"]);
    CHECK(j["stats"]["bytes_sent"] == make_ndjson(n).size());
    if (std::string(gz).empty()) {
      CHECK(j["retries"] == 4);
      auto gaps = ep.retry_gaps_after_429();
      REQUIRE(gaps.size() == 1);
      CHECK(gaps[0] >= 0.95);  // Retry-After: 1
    }
  }
  check_exactly_once(ep, n);
  CHECK(ep.content_types() == std::set<std::string>{"application/x-ndjson"});
  CHECK(ep.authorizations() == std::set<std::string>{"Bearer x"});
}

TEST_CASE("upload http: a batch refused with 4xx fails with exit 3 and a one-line message", "[upload][http]") {
  TempDir dir;
  httplib::Server svr;
  svr.Post("/x", [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content("bad token", "text/plain");
  });
  std::thread t;
  const int port = start_server(svr, t);
  write_file(dir / "ev.ndjson", make_ndjson(10));
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/x";
  RunResult r = run_ingot(dir, "upload ev.ndjson " + url);
  svr.stop();
  t.join();
  CHECK(r.code == 3);
  CHECK(r.err.rfind("ingot upload: error: " + url + ": batch 1 (byte 0): HTTP 401: bad token;", 0) == 0);
  CHECK(lines_of(r.err).size() == 1);
}

TEST_CASE("upload http: kill -9 midway, rerun sends only unacknowledged batches", "[upload][http][resume]") {
  TempDir dir;
  Endpoint ep({});
  // The moment is the test's: requests 21 and 22 are held, so both I/O slots wait
  // there, and the 20 batches before are acknowledged and journaled (a slot journals
  // its batch before it sends the next) when the kill comes.
  ep.hold_from(21);
  const int n = 20000;  // 788,894 bytes: 78 batches of about 10 KiB
  write_file(dir / "ev.ndjson", make_ndjson(n));
  const std::string args = "upload ev.ndjson " + ep.url() + " --batch-bytes 10K --concurrency 2 --json";
  pid_t pid = spawn_ingot(dir, args);
  wait_until([&] { return ep.held() == 2; }, 120s, "both I/O slots to hold a batch at the endpoint");
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(wait_code(pid) == 128 + SIGKILL);
  ep.release();
  CHECK(ep.requests() == 22);
  RunResult r = run_ingot(dir, args);
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units_skipped"] == 20);  // the held two are sent again, nothing else
  CHECK(j["stats"]["units_sent"] == j["stats"]["units"].get<int>() - 20);
  check_exactly_once(ep, n);
}

TEST_CASE("upload http: --dry-run lists the batches of whole records and sends nothing", "[upload][http]") {
  TempDir dir;
  Endpoint ep({});
  const std::string data = make_ndjson(1000);  // 37,893 bytes
  write_file(dir / "ev.ndjson", data);
  RunResult r = run_ingot(dir, "upload ev.ndjson " + ep.url() + " --batch-bytes 10K --dry-run --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  const auto& plan = j["plan"];
  REQUIRE(plan.size() == 4);
  std::uint64_t next = 0;
  for (const auto& p : plan) {
    CHECK(p["offset"] == next);
    next += p["length"].get<std::uint64_t>();
    CHECK(data[next - 1] == '\n');  // whole records only
  }
  CHECK(next == data.size());
  CHECK(ep.requests() == 0);
}

TEST_CASE("upload http: the same batches for any -j, --concurrency and --gzip, at most --concurrency in flight",
          "[upload][http]") {
  TempDir dir;
  const std::string data = make_ndjson(2000);
  write_file(dir / "ev.ndjson", data);
  std::map<int, std::string> first;
  const std::vector<std::pair<const char*, int>> runs = {
      {"-j1 --concurrency 1", 1}, {"-j2 --concurrency 4", 4}, {"-j2 --concurrency 3 --gzip", 3}};
  for (auto [opts, concurrency] : runs) {
    INFO(opts);
    Endpoint ep({});
    ep.first_waits_for(std::min(concurrency, 2));
    RunResult r = run_ingot(dir, "upload ev.ndjson " + ep.url() + " --batch-bytes 4K --json " + opts);
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["stats"]["units"] == 19);  // 76,893 bytes in chunks of about 4 KiB cut on record ends
    CHECK(j["stats"]["records"] == 2000);
    auto bodies = ep.bodies();
    REQUIRE(bodies.size() == 19);
    std::string all;
    for (auto& [n, b] : bodies) all += b;
    CHECK(all == data);
    if (first.empty()) first = bodies;
    CHECK(bodies == first);
    // --concurrency requests in flight at most, and more than one when allowed (the
    // first request waits up to 60 s for a second one to arrive).
    CHECK(ep.max_in_flight() <= concurrency);
    CHECK(ep.max_in_flight() >= std::min(concurrency, 2));
  }
}

TEST_CASE("upload http: 5xx past --retries fails with exit 3, keeps the journal, and a rerun completes",
          "[upload][http][resume]") {
  TempDir dir;
  Endpoint ep({{1, 500}, {2, 0}, {3, 500}});  // 0: a dropped connection
  write_file(dir / "ev.ndjson", make_ndjson(500));
  const std::string args = "upload ev.ndjson " + ep.url() +
                           " --batch-bytes 4K --concurrency 1 -j1 --retries 2 "
                           "--retry-base-ms 10 --json";
  RunResult r = run_ingot(dir, args);
  CHECK(r.code == 3);
  // Whichever batch got the one request slot first (batch 1 or 2: the I/O stage is unordered).
  const std::string tail =
      ": HTTP 500: boom (after 3 attempts); acknowledged batches are journaled: rerun the same "
      "command to continue\n";
  CHECK((r.err == "ingot upload: error: " + ep.url() + ": batch 1 (byte 0)" + tail ||
         r.err.rfind("ingot upload: error: " + ep.url() + ": batch 2 (byte 4", 0) == 0));
  CHECK(r.err.size() > tail.size());
  CHECK(r.err.substr(r.err.size() - tail.size()) == tail);
  CHECK(json::parse(r.out)["result"]["exit_code"] == 3);
  CHECK(ep.requests() == 3);  // nothing else was sent after the failure
  r = run_ingot(dir, args + " --resume");
  REQUIRE(r.code == 0);
  CHECK(report(r)["resumed"] == true);
  check_exactly_once(ep, 500);
  // Done: the journal is gone, so --resume has nothing to continue.
  r = run_ingot(dir, args + " --resume");
  CHECK(r.code == 2);
  CHECK(r.err.find("nothing to resume: no journal") != std::string::npos);
}

TEST_CASE("upload http: stdin is sent in batches too, without a journal", "[upload][http]") {
  TempDir dir;
  Endpoint ep(std::map<int, int>{{2, 500}});
  write_file(dir / "ev.ndjson", make_ndjson(1000));
  RunResult r =
      run_sh(dir, "cat ev.ndjson | $INGOT upload - " + ep.url() + " --batch-bytes 8K --retry-base-ms 10 --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["records"] == 1000);
  CHECK(j["stats"]["units"] == 5);
  CHECK(j["retries"] == 1);
  check_exactly_once(ep, 1000);
}

TEST_CASE("upload http: a --header with CR or LF is a usage error and nothing is sent", "[upload][http][security]") {
  TempDir dir;
  Endpoint ep({});
  write_file(dir / "ev.ndjson", make_ndjson(10));
  for (const std::string h : {"X-A: b\r\nX-Injected: yes", "X-A: b\nX-Injected: yes", "X-A: b\r"}) {
    RunResult r = run_ingot(dir, "upload ev.ndjson " + ep.url() + " --header " + shell_quote(h));
    CHECK(r.code == 2);
    CHECK(r.err ==
          "ingot upload: error: --header must not contain CR, LF or NUL characters (one header per --header)\n");
  }
  CHECK(ep.requests() == 0);
}

TEST_CASE("upload http: a CSV source is sent as the NDJSON ingot convert makes of it", "[upload][http][csv]") {
  TempDir dir;
  // Quoted delimiters, quotes and newlines, numbers, empty fields, UTF-8, and one
  // record with a field too many (not sent, counted). ~150 KB: several batches after
  // the first 64 KiB (which the chunker reads with the header).
  std::string csv = "id,name,note,amount\n";
  for (int i = 1; i <= 3000; ++i) {
    csv += std::to_string(i) + ",\"Name, " + std::to_string(i) + "\",\"say \"\"hi\"\"\nline two é\"," +
           (i % 7 ? std::to_string(i * 1.5) : "") + "\n";
    if (i == 300) csv += "301x,too,many,fields,here\n";
  }
  write_file(dir / "x.csv", csv);
  RunResult ref = run_ingot(dir, "convert x.csv --to ndjson -o ref.ndjson");
  INFO(ref.err);
  const std::string expect = read_file(dir / "ref.ndjson");
  REQUIRE(lines_of(expect).size() == 3000);
  for (const char* opts : {"-j1 --concurrency 1", "-j2 --concurrency 3"}) {
    INFO(opts);
    Endpoint ep({});
    RunResult r = run_ingot(dir, "upload x.csv " + ep.url() + " --batch-bytes 8K --json --rejects rej.ndjson " + opts);
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["stats"]["records"] == 3000);
    CHECK(j["stats"]["rejected"] == 1);
    CHECK(j["note"].get<std::string>().rfind("1 invalid record not sent (first at line ", 0) == 0);
    auto bodies = ep.bodies();
    CHECK(bodies.size() > 3);
    std::string all;
    for (auto& [n, b] : bodies) all += b;
    CHECK(all == expect);
    CHECK(ep.content_types() == std::set<std::string>{"application/x-ndjson"});
    const auto rej = lines_of(read_file(dir / "rej.ndjson"));
    REQUIRE(rej.size() == 1);
    CHECK(json::parse(rej[0])["raw"] == "301x,too,many,fields,here");
  }
  // --on-error fail stops at the invalid record, naming its line.
  Endpoint ep({});
  RunResult r = run_ingot(dir, "upload x.csv " + ep.url() + " --batch-bytes 8K --on-error fail");
  CHECK(r.code == 1);
  CHECK(r.err.rfind("ingot upload: error: x.csv:", 0) == 0);
  CHECK(r.err.find(": expected 4 fields, found 5") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
}

TEST_CASE("upload http: the journal of a failed upload holds no password or token, mode 0600, and still resumes",
          "[upload][http][security]") {
  TempDir dir;
  Endpoint ep(std::map<int, int>{{2, 500}});
  fs::create_directories(dir / "src");
  fs::create_directories(dir / "state");
  write_file(dir / "src" / "ev.ndjson", make_ndjson(500));
  // Secrets no hex digest can contain by chance ("abc" once matched the journal's hashes).
  const std::string url = "http://user:secret@" + ep.url().substr(7) + "?token=tokZq9Wx&x=1";
  const std::string args =
      "upload src/ev.ndjson '" + url + "' --batch-bytes 4K --concurrency 1 -j1 --retries 0 --state state";
  RunResult r = run_ingot(dir, args);
  REQUIRE(r.code == 3);
  CHECK(r.err.find("secret") == std::string::npos);
  CHECK(r.err.find("tokZq9Wx") == std::string::npos);
  std::vector<fs::path> journals;
  for (const char* sub : {"src", "state"}) {
    for (const auto& e : fs::recursive_directory_iterator(dir / sub)) {
      const std::string text = read_file(e.path());
      INFO(e.path());
      CHECK(text.find("secret") == std::string::npos);
      CHECK(text.find("tokZq9Wx") == std::string::npos);
      if (e.path().string().ends_with(".ingot-upload")) journals.push_back(e.path());
    }
  }
  REQUIRE(journals.size() == 1);
  CHECK((fs::status(journals[0]).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  const json header = json::parse(lines_of(read_file(journals[0]))[0]);
  CHECK(header["dest"] == "http://user:***@" + ep.url().substr(7) + "?token=***&x=1");  // the shared redactor
  // The same command finds its journal by the destination's hash and sends the rest.
  r = run_ingot(dir, args + " --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["resumed"] == true);
  check_exactly_once(ep, 500);
}

TEST_CASE("upload http: --delimiter and --no-header send what convert makes of the CSV, --max-errors stops the upload",
          "[upload][http][csv][max-errors]") {
  TempDir dir;
  // No header, ';' between fields and ',' inside them; line 200 has a field too many.
  std::string csv;
  for (int i = 1; i <= 2000; ++i) {
    csv += std::to_string(i) + ";\"Name, " + std::to_string(i) + "\";" + std::to_string(i * 1.5) + "\n";
    if (i == 199) csv += "200x;too;many;fields\n";
  }
  write_file(dir / "semi.csv", csv);
  RunResult ref = run_ingot(dir, "convert semi.csv --delimiter ';' --no-header --to ndjson -o ref.ndjson");
  INFO(ref.err);
  const std::string expect = read_file(dir / "ref.ndjson");
  REQUIRE(lines_of(expect).size() == 2000);
  REQUIRE(lines_of(expect)[0].rfind(R"({"col1":1,"col2":"Name, 1","col3":)", 0) == 0);
  for (const char* opts : {"-j1 --concurrency 1", "-j2 --concurrency 3"}) {
    INFO(opts);
    Endpoint ep({});
    RunResult r = run_ingot(dir, "upload semi.csv " + ep.url() +
                                     " --delimiter ';' --no-header --max-errors 1 "
                                     "--batch-bytes 8K --json --rejects rej.ndjson " +
                                     std::string(opts));
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["stats"]["records"] == 2000);
    CHECK(j["stats"]["rejected"] == 1);
    CHECK(j["note"] == "1 invalid record not sent (first at line 200: expected 3 fields, found 4)");
    std::string all;
    for (auto& [n, b] : ep.bodies()) all += b;
    CHECK(all == expect);
    CHECK(read_file(dir / "rej.ndjson") ==
          "{\"line\":200,\"offset\":" + std::to_string(csv.find("200x;")) +
              ",\"reason\":\"expected 3 fields, found 4\",\"raw\":\"200x;too;many;fields\"}\n");
  }
  Endpoint ep({});
  RunResult r = run_ingot(dir, "upload semi.csv " + ep.url() +
                                   " --delimiter ';' --no-header --max-errors 0 "
                                   "--batch-bytes 8K --rejects rej0.ndjson");
  CHECK(r.code == 1);
  CHECK(r.err ==
        "ingot upload: error: semi.csv:200: more than 0 invalid records (--max-errors); last: expected 3 "
        "fields, found 4\n");
  CHECK(!std::filesystem::exists(dir / "rej0.ndjson"));
  // An S3 upload sends bytes, not records: the CSV options are refused there.
  r = run_ingot(dir, "upload semi.csv s3://bucket/k --delimiter ';'");
  CHECK(r.code == 2);
}

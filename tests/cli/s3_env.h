// Helpers of the S3 upload tests (test_upload_s3*.cpp): a fresh bucket on the real
// Swift S3 endpoint (tests/servers.h) and the fault-injecting proxy (tests/fixtures/faulty_proxy.py) in front of Swift.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "ingot/net/s3/s3.h"
#include "servers.h"

namespace ingot_test {

inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// CSV of at least `bytes` whose quoted fields hold line breaks, so record ends are not
// line ends and part boundaries and chunk ends land inside records.
inline std::string multiline_csv(std::size_t bytes) {
  std::string s = "id,name,note\n";
  for (int i = 0; s.size() < bytes; ++i) {
    s += std::to_string(i) + ",\"n" + std::to_string(i % 97) + "\",\"line one\nline " + std::to_string(i) + "\"\n";
  }
  return s;
}

// A fresh bucket per test, credentials in the environment the ingot child inherits.
struct S3Env {
  ingot::s3::Client client;
  std::string bucket;
  std::string flags;  // --endpoint ...

  static ingot::s3::Config config() {
    const ServerEnv& e = servers();
    ::setenv("AWS_ACCESS_KEY_ID", e.s3_access_key.c_str(), 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", e.s3_secret_key.c_str(), 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ingot::s3::Config c;
    c.endpoint = e.s3_endpoint;
    c.region = e.s3_region;
    c.creds = {.access_key = e.s3_access_key,
               .secret_key = e.s3_secret_key,
               .session_token = "",
               .source = "the test environment"};
    return c;
  }
  S3Env() : client(config()) {
    bucket = "ingot-test-" + std::to_string(std::random_device{}());
    client.create_bucket(bucket);
    flags = " --endpoint " + servers().s3_endpoint + " ";
  }
  std::string url(const std::string& key) const { return "s3://" + bucket + "/" + key; }
  // One PUT (no multipart): the object as the remote-input tests read it.
  void put(const std::string& key, const std::string& data) {
    client.put_object({bucket, key}, data, ingot::s3::md5_base64(data));
  }
  // Swift's SLO middleware serves a multipart object at one segment per second after
  // the first 10 (rate_limit_after_segment), so read it back in ranges of a few parts.
  std::string get(const std::string& key, std::size_t range = 512 * 1024) {
    auto head = client.head({bucket, key});
    REQUIRE(head.has_value());
    std::string out;
    for (std::uint64_t off = 0; off < head->size; off += range) {
      std::uint64_t last = std::min<std::uint64_t>(head->size, off + range) - 1;
      out +=
          client.request("GET", {bucket, key}, {}, {"Range: bytes=" + std::to_string(off) + "-" + std::to_string(last)})
              .body;
    }
    return out;
  }
  // Multipart uploads in progress for exactly this key.
  std::vector<std::string> uploads(const std::string& key) {
    std::vector<std::string> ids;
    for (const auto& u : client.list_uploads({bucket, key})) {
      if (u.key == key) ids.push_back(u.upload_id);
    }
    return ids;
  }
};

// A server script of tests/fixtures/ (Debian's python3) for the life of the object: it
// is started with `args`, writes the port it listens on to `port_file`, and is killed
// when the object goes; `url` is http://127.0.0.1:PORT.
class FixtureServer {
 public:
  FixtureServer(const std::string& script, std::vector<std::string> args, const fs::path& port_file) {
    fs::remove(port_file);  // from an earlier server of the same test
    args.insert(args.begin(), {"/usr/bin/python3", std::string(INGOT_SOURCE_DIR) + "/tests/fixtures/" + script});
    args.insert(args.end(), {"--port-file", port_file.string()});
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    try {
      wait_until([&] { return fs::exists(port_file); }, 60s, script + " to write its port", 10ms);
    } catch (...) {
      stop();  // the destructor does not run when the constructor throws
      throw;
    }
    url = "http://127.0.0.1:" + read_file(port_file);
  }
  ~FixtureServer() { stop(); }
  FixtureServer(const FixtureServer&) = delete;
  FixtureServer& operator=(const FixtureServer&) = delete;
  std::string url;

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  pid_t pid_ = -1;
};

// One JSON object per line of a fixture's request log; a line being written (torn) is
// left for the next look.
inline std::vector<nlohmann::json> json_lines(const fs::path& log) {
  std::vector<nlohmann::json> v;
  if (!fs::exists(log)) return v;
  for (const std::string& l : lines_of(read_file(log))) {
    auto e = nlohmann::json::parse(l, nullptr, false);
    if (!e.is_discarded()) v.push_back(std::move(e));
  }
  return v;
}

// tests/fixtures/faulty_proxy.py in front of the Swift endpoint, for the life of the
// object: `endpoint` is the proxy's URL, `log()` its request log (one JSON per request).
class FaultyProxy {
 public:
  // hold_dir: for the "hold" fault (the proxy writes hold_dir/held and waits for hold_dir/release).
  FaultyProxy(const TempDir& dir, const std::string& plan, int times = 1, const std::string& match = "",
              const std::string& hold_dir = "")
      : log_(dir / ".proxy.log"), server_("faulty_proxy.py", args(plan, times, match, hold_dir), dir / ".proxy.port") {
    endpoint = server_.url;
  }
  std::vector<nlohmann::json> log() const { return json_lines(log_); }
  // Requests given `fault` so far (for "hold": held now, until HOLD_DIR/release exists).
  int count(const std::string& fault) const {
    int n = 0;
    for (const auto& e : json_lines(log_)) n += e["fault"] == fault;
    return n;
  }
  std::string endpoint;

 private:
  std::vector<std::string> args(const std::string& plan, int times, const std::string& match,
                                const std::string& hold_dir) {
    fs::remove(log_);
    std::vector<std::string> a = {"--upstream", servers().s3_endpoint, "--log", log_.string(), "--plan", plan,
                                  "--times",    std::to_string(times)};
    if (!match.empty()) a.insert(a.end(), {"--match", match});
    if (!hold_dir.empty()) a.insert(a.end(), {"--hold-dir", hold_dir});
    return a;
  }
  fs::path log_;
  FixtureServer server_;
};

}  // namespace ingot_test

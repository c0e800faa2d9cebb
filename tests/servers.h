// The real servers upload tests run against: Swift (S3 API) and PostgreSQL on
// loopback, started once per test process by tests/fixtures/servers.sh and stopped at
// exit. When S3_ENDPOINT and PG_URL are already in the environment (servers.sh up run
// by hand or by CI, `set -a; . DIR/env`), those are used and nothing is started, which
// is the fastest way. Under ctest, all test processes of one run share one set.
#pragma once

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#ifndef INGOT_SOURCE_DIR
#error "servers.h needs INGOT_SOURCE_DIR (the repository root)"
#endif

namespace ingot_test {

struct ServerEnv {
  std::string s3_endpoint, s3_access_key, s3_secret_key, s3_region, pg_url;
};

class ServerFixture {
 public:
  ServerFixture() {
    const char* s3 = std::getenv("S3_ENDPOINT");
    const char* pg = std::getenv("PG_URL");
    if (s3 && pg) {
      env_.s3_endpoint = s3;
      env_.pg_url = pg;
      env_.s3_access_key = getenv_or("S3_ACCESS_KEY", "test:tester");
      env_.s3_secret_key = getenv_or("S3_SECRET_KEY", "testing");
      env_.s3_region = getenv_or("S3_REGION", "us-east-1");
      return;
    }
    std::string script = std::string(INGOT_SOURCE_DIR) + "/tests/fixtures/servers.sh";
    std::string dir;
    int lock = -1;
    if (const char* shared = std::getenv("INGOT_TEST_ENV")) {
      // Under ctest (which sets INGOT_TEST_ENV) every test case is its own process:
      // the processes of one ctest run share one set of servers, keyed by ctest's
      // pid, and a detached watchdog stops them when ctest exits.
      dir = std::string(shared) + "/servers-" + std::to_string(::getppid());
      std::filesystem::create_directories(dir);
      lock = ::open((dir + "/lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
      if (lock < 0 || ::flock(lock, LOCK_EX) != 0) throw std::runtime_error("cannot lock " + dir);
      if (!std::filesystem::exists(dir + "/watchdog")) {
        std::ofstream(dir + "/watchdog") << ::getppid() << "\n";
        std::string watchdog = "setsid sh -c 'while kill -0 " + std::to_string(::getppid()) +
                               " 2>/dev/null; do sleep 1; done; \"" + script + "\" down \"" + dir + "\"; rm -rf \"" +
                               dir + "\"' < /dev/null > /dev/null 2>&1 &";
        std::system(watchdog.c_str());
      }
    } else {
      char tmpl[] = "/tmp/ingot-servers-XXXXXX";
      if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
      dir = dir_ = tmpl;  // ours: stopped by the destructor
    }
    // `up` on running servers only reprints their env (a quarter of a second).
    std::string cmd = "'" + script + "' up '" + dir + "' > '" + dir + "/up.log' 2>&1";
    int rc = std::system(cmd.c_str());
    if (lock >= 0) ::close(lock);
    if (rc != 0) {
      std::ifstream log(dir + "/up.log");
      std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
      throw std::runtime_error("tests/fixtures/servers.sh up failed:\n" + text);
    }
    std::map<std::string, std::string> kv;
    std::ifstream f(dir + "/env");
    for (std::string line; std::getline(f, line);) {
      auto eq = line.find('=');
      if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
    env_ = {kv["S3_ENDPOINT"], kv["S3_ACCESS_KEY"], kv["S3_SECRET_KEY"], kv["S3_REGION"], kv["PG_URL"]};
  }
  ~ServerFixture() {
    if (dir_.empty()) return;
    std::string cmd =
        "'" + std::string(INGOT_SOURCE_DIR) + "/tests/fixtures/servers.sh' down '" + dir_ + "' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }
  const ServerEnv& env() const { return env_; }

 private:
  static std::string getenv_or(const char* name, const char* dflt) {
    const char* v = std::getenv(name);
    return v ? v : dflt;
  }
  std::string dir_;
  ServerEnv env_;
};

// Started on first use, stopped when the test process exits.
inline const ServerEnv& servers() {
  static ServerFixture fixture;
  return fixture.env();
}

}  // namespace ingot_test

// Peak memory of an ingot run: the child's ru_maxrss from wait4 (the memory tests of
// test_memory.cpp, test_parquet.cpp and test_parquet_speculate.cpp).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cli.h"

extern char** environ;

// Under AddressSanitizer (shadow memory, quarantine) peak RSS says nothing about ingot's
// bound: the memory tests skip themselves.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define INGOT_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define INGOT_TEST_ASAN 1
#endif

namespace ingot_test {

struct Peak {
  int code = -1;
  std::uint64_t rss = 0;  // bytes
};

// Runs ingot with `args` (stdin, stdout and stderr /dev/null; `env`, NAME=VALUE entries,
// added to the environment) and returns its exit status and peak RSS. Linux keeps a
// process's high-water mark across exec, and a spawned child starts from its parent's:
// the figure is the larger of ingot's peak and the test process's own peak so far. ctest
// runs each test case in its own small process; several memory cases in one
// ingot_cli_tests run can fail a tight bound (test_memory.cpp's 18 MiB) for that reason.
inline Peak run_measured(const std::vector<std::string>& args, const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv_store = {INGOT_BINARY};
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store = env;
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int err = posix_spawn(&pid, INGOT_BINARY, &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(err == 0);
  int status = 0;
  struct rusage ru {};
  REQUIRE(::wait4(pid, &status, 0, &ru) == pid);
  Peak p;
  p.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  p.rss = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
  return p;
}

}  // namespace ingot_test

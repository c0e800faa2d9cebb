// README.md runs as printed: every ```console block, in order, in one fresh directory
// holding a copy of examples/, each `$ ` line run by one bash session (so `cd`, `export`,
// `id=$(...)` and `%1` carry over), its stdout and stderr compared line by line with the
// lines printed under it.
//
// Placeholder rule for what cannot be printed exactly (and only this):
//   - `...` in a printed line stands for any text (possibly none);
//   - a duration `N.NN s`, a rate `(N MB/s)` and an ISO time `YYYY-MM-DDTHH:MM:SS.mmmZ`
//     match any duration, rate and time;
//   - the endpoints printed in the upload block (`http://127.0.0.1:35801`, the
//     `postgresql://ingot@127.0.0.1:42279/postgres` URL) are replaced, in commands and
//     output, by the fixture servers' (tests/servers.h: S3_ENDPOINT and PG_URL from
//     scripts/with-servers.sh, else servers it starts), the bucket `data` by a fresh
//     bucket and the table `trips` by a fresh table, so that the block runs again on the
//     same servers; set INGOT_TEST_NO_SERVERS=1 to skip that block (with a warning);
//   - serve's port 8080 is replaced by a free port; after a command ending in `&` the
//     test waits (bounded) for its first line before running the next one, and
//     `kill %N` waits for the job to end, its last lines being that step's output.
// A command followed by no printed line must print nothing.
#include <netinet/in.h>
#include <optional>
#include <random>
#include <regex>
#include <sys/socket.h>

#include "cli.h"
#include "s3_env.h"

using namespace ingot_test;

namespace {

const fs::path kSource = INGOT_SOURCE_DIR;

struct Step {
  std::string command;
  std::vector<std::string> expected;
  int line = 0;  // README line of the command
};

struct Block {
  std::vector<Step> steps;
  int line = 0;
  bool upload = false;  // talks to the S3/PostgreSQL fixtures
};

std::vector<Block> console_blocks(const std::string& readme) {
  std::vector<Block> blocks;
  bool in = false;
  int n = 0;
  for (const std::string& line : lines_of(readme)) {
    ++n;
    if (!in && line == "```console") {
      in = true;
      blocks.push_back({});
      blocks.back().line = n;
    } else if (in && line == "```") {
      in = false;
    } else if (in && line.rfind("$ ", 0) == 0) {
      blocks.back().steps.push_back({line.substr(2), {}, n});
      if (line.find("ingot upload") != std::string::npos || line.find("ingot ls") != std::string::npos) {
        blocks.back().upload = true;
      }
    } else if (in) {
      REQUIRE(!blocks.back().steps.empty());
      blocks.back().steps.back().expected.push_back(line);
    }
  }
  return blocks;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

// A printed line as a regex, by the placeholder rule above.
std::regex pattern_of(const std::string& printed) {
  std::string re;
  for (std::size_t i = 0; i < printed.size();) {
    if (printed.compare(i, 3, "...") == 0) {
      re += ".*";
      i += 3;
      continue;
    }
    const char c = printed[i++];
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) re += '\\';
    re += c;
  }
  re = std::regex_replace(re, std::regex(R"([0-9]+\\\.[0-9][0-9] s\b)"), "[0-9]+\\.[0-9][0-9] s");
  re = std::regex_replace(re, std::regex(R"(\\\([0-9]+ MB/s\\\))"), "\\([0-9]+ MB/s\\)");
  re = std::regex_replace(re, std::regex(R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\\.[0-9]{3}Z)"),
                          "[0-9T:.Z-]{24}");
  return std::regex(re);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("readme: every console block of README.md runs as printed", "[cli][docs][readme]") {
  const std::vector<Block> blocks = console_blocks(read_file(kSource / "README.md"));
  REQUIRE(blocks.size() >= 4);
  TempDir dir;
  fs::copy(kSource / "examples", dir / "examples", fs::copy_options::recursive);
  const fs::path bin = fs::path(INGOT_BINARY).parent_path();
  const bool with_servers = std::getenv("INGOT_TEST_NO_SERVERS") == nullptr;
  std::optional<S3Env> s3;
  std::string pg, table = "readme_" + std::to_string(std::random_device{}() % 1000000000);
  if (with_servers) {
    s3.emplace();
    pg = servers().pg_url;
  }
  const std::string port = std::to_string(free_port());

  // One bash session runs the whole README: each command's output goes to its own file
  // (so that it can be compared on its own), separated by a line that says it is done.
  std::string script = "set -m\nexport PATH=" + shell_quote(bin.string()) + ":$PATH\n";
  std::vector<const Step*> steps;
  std::vector<std::vector<std::string>> expected;
  std::string background_out;
  for (const Block& b : blocks) {
    if (b.upload && !with_servers) {
      WARN("README.md line " << b.line << ": upload/ls block skipped (INGOT_TEST_NO_SERVERS is set)");
      continue;
    }
    for (const Step& s : b.steps) {
      std::string cmd = s.command;
      std::vector<std::string> exp = s.expected;
      auto subst = [&](std::string& t) {
        replace_all(t, "8080", port);
        if (b.upload) {
          replace_all(t, "http://127.0.0.1:35801", servers().s3_endpoint);
          replace_all(t, "postgresql://ingot@127.0.0.1:42279/postgres", pg);
          replace_all(t, "s3://data/", "s3://" + s3->bucket + "/");
          replace_all(t, "--table trips", "--table " + table);
        }
      };
      subst(cmd);
      for (std::string& e : exp) subst(e);
      const std::string out = ".step-" + std::to_string(steps.size());
      const bool background = cmd.size() > 1 && cmd.back() == '&';
      if (background) {
        // Its output goes to .bg.log; the step gets what it printed up to its first line,
        // for which the test waits (bounded: 30 s) before the next command.
        script += cmd.substr(0, cmd.size() - 1) + " > .bg.log 2>&1 &\n";
        script += "for i in $(seq 600); do test -s .bg.log && break; sleep 0.05; done\n";
        script += "test -s .bg.log || echo 'timed out waiting for: " + cmd + "' >> .failures\n";
        script += "cp .bg.log " + out + "\n";
        background_out = out;
      } else if (cmd.rfind("kill %", 0) == 0 && !background_out.empty()) {
        // The stopped job's last words belong to this step: wait for the job to end.
        script += "{ " + cmd + "; wait " + cmd.substr(5) + "; } > " + out + " 2>&1\n";
        script += "tail -n +$(($(wc -l < " + background_out + ") + 1)) .bg.log >> " + out + "\n";
      } else {
        script += "{ " + cmd + "\n} > " + out + " 2>&1\n";
      }
      steps.push_back(&s);
      expected.push_back(exp);
    }
  }
  write_file(dir / "readme.sh", script);
  RunResult r = run_sh(dir, "bash readme.sh");
  INFO(r.err);
  CHECK(!fs::exists(dir / ".failures"));

  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::vector<std::string> got = lines_of(read_file(dir / (".step-" + std::to_string(i))));
    INFO("README.md line " << steps[i]->line << ": $ " << steps[i]->command);
    std::string shown;
    for (const std::string& g : got) shown += "  " + g + "\n";
    INFO("printed:\n" << shown);
    CHECK(got.size() == expected[i].size());
    for (std::size_t k = 0; k < std::min(got.size(), expected[i].size()); ++k) {
      INFO("line " << k + 1 << ": expected " << expected[i][k]);
      CHECK(std::regex_match(got[k], pattern_of(expected[i][k])));
    }
  }
}

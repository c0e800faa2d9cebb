// The examples run for real: examples/parallel.sh (GNU parallel, several jobs) and the
// script of the Kubernetes Indexed Job, each followed by `ingot merge`, give exactly the
// bytes of one `ingot convert`; their S3 steps (one multipart upload sent by several
// workers) give an object equal to that file on the real Swift S3 endpoint; the README
// tour of index/get/serve prints what it shows.
#include <cstdlib>
#include <regex>

#include "cli/s3_env.h"

using namespace ingot_test;

namespace {

const fs::path kSource = INGOT_SOURCE_DIR;
const fs::path kBinDir = fs::path(INGOT_BINARY).parent_path();

// Runs a shell command in dir with ingot on PATH (and INGOT set), like a user would.
RunResult run_example_sh(const TempDir& dir, const std::string& cmd, const std::string& env = "") {
  const fs::path out = dir / ".sh-out", err = dir / ".sh-err";
  std::string line = "cd " + shell_quote(dir.path().string()) + " && PATH=" + shell_quote(kBinDir.string()) +
                     ":\"$PATH\" INGOT=" + shell_quote(INGOT_BINARY) + " " + env + " sh -c " + shell_quote(cmd) +
                     " > " + shell_quote(out.string()) + " 2> " + shell_quote(err.string()) + " < /dev/null";
  int status = std::system(line.c_str());
  RunResult r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// The container's script of a Job of examples/k8s-indexed-job.yaml: the block under
// "args:" after "name: <job>".
std::string job_script(const std::string& job) {
  const std::string yaml = read_file(kSource / "examples" / "k8s-indexed-job.yaml");
  std::size_t at = yaml.find("  name: " + job + "\n");
  REQUIRE(at != std::string::npos);
  REQUIRE(yaml.find("completionMode: Indexed", at) != std::string::npos);
  at = yaml.find("args:\n", at);
  REQUIRE(at != std::string::npos);
  at = yaml.find("- |\n", at);
  REQUIRE(at != std::string::npos);
  std::string script;
  std::istringstream rest(yaml.substr(at + 4));
  std::size_t indent = std::string::npos;
  for (std::string line; std::getline(rest, line);) {
    std::size_t lead = line.find_first_not_of(' ');
    if (lead == std::string::npos) continue;
    if (indent == std::string::npos) indent = lead;
    if (lead < indent) break;
    script += line.substr(indent) + "\n";
  }
  return script;
}

bool has_parallel() { return std::system("parallel --version >/dev/null 2>&1") == 0; }

// NDJSON whose keys change along the file (so each part alone would see other
// columns), with nested objects, escapes, a blank line and invalid lines.
std::string varied_ndjson(int records) {
  std::string s;
  std::mt19937 rng(7);
  for (int i = 1; i <= records; ++i) {
    if (i % 997 == 0) {
      s += "{\"id\":" + std::to_string(i) + ", broken\n";
      continue;
    }
    if (i % 1500 == 0) s += "\n";
    s += "{\"id\":" + std::to_string(i) + ",\"v\":" + std::to_string(rng() % 100000) + ".5";
    if (i % 3 == 0) s += ",\"name\":\"n\\\"" + std::to_string(i) + ", x\"";
    if (i > records / 2 && i % 7 == 0) s += ",\"late\":{\"a\":" + std::to_string(i) + ",\"b\":[1,2]}";
    if (i == records - 3) s += ",\"last_key\":true";
    s += "}\n";
  }
  return s;
}

}  // namespace

TEST_CASE("examples: parallel.sh (GNU parallel, several jobs) then merge equals one convert", "[cli][examples]") {
  if (!has_parallel()) FAIL("GNU parallel missing: apt-get install parallel (scripts/deps.txt)");
  TempDir dir;
  write_file(dir / "events.ndjson", varied_ndjson(20000));
  fs::copy_file(kSource / "examples" / "taxi.ndjson", dir / "taxi.ndjson");
  const std::string script = shell_quote((kSource / "examples" / "parallel.sh").string());

  struct Case {
    const char* input;
    int jobs;
  };
  for (Case c : {Case{"taxi.ndjson", 3}, Case{"events.ndjson", 4}, Case{"events.ndjson", 8}}) {
    INFO(c.input << " with " << c.jobs << " jobs");
    RunResult single = run_ingot(dir, std::string("convert ") + c.input + " -q -o single.csv");
    REQUIRE(single.code == 0);
    RunResult fan = run_example_sh(dir, script + " " + c.input + " " + std::to_string(c.jobs) + " merged.csv");
    INFO(fan.err);
    REQUIRE(fan.code == 0);
    const std::string whole = read_file(dir / "single.csv");
    REQUIRE(whole.size() > 1000);
    CHECK(read_file(dir / "merged.csv") == whole);
    // The parts and the schema were temporary.
    for (const auto& e : fs::directory_iterator(dir.path())) {
      CHECK(e.path().filename().string().rfind(".ingot-parts.", 0) != 0);
    }
  }
  // With FIELDS there is no schema pass.
  RunResult single = run_ingot(dir, "convert events.ndjson --fields id,late.a,name -q -o single.csv");
  REQUIRE(single.code == 0);
  RunResult fan = run_example_sh(dir, script + " events.ndjson 5 merged.csv", "FIELDS=id,late.a,name");
  INFO(fan.err);
  REQUIRE(fan.code == 0);
  CHECK(read_file(dir / "merged.csv") == read_file(dir / "single.csv"));
}

TEST_CASE("examples: parallel.sh fails when a job fails", "[cli][examples]") {
  if (!has_parallel()) FAIL("GNU parallel missing: apt-get install parallel (scripts/deps.txt)");
  TempDir dir;
  write_file(dir / "events.ndjson", varied_ndjson(2000));
  RunResult fan =
      run_example_sh(dir, shell_quote((kSource / "examples" / "parallel.sh").string()) + " events.ndjson 3 merged.csv",
                     "SCHEMA=missing-schema.json");
  INFO(fan.err);
  CHECK(fan.err.find("missing-schema.json") != std::string::npos);
  CHECK(fan.code != 0);
  CHECK(!fs::exists(dir / "merged.csv"));
}

TEST_CASE("examples: the Kubernetes Indexed Job script, run for every index, then merge equals one convert",
          "[cli][examples]") {
  TempDir dir;
  write_file(dir / "events.ndjson", varied_ndjson(12000));
  const std::string script = job_script("ingot-convert");
  REQUIRE(script.find("JOB_COMPLETION_INDEX") != std::string::npos);
  write_file(dir / "job.sh", script);

  RunResult schema = run_ingot(dir, "convert events.ndjson --schema-out schema.json -q -o single.csv");
  REQUIRE(schema.code == 0);
  const int parts = 5;
  std::string outs;
  for (int index = 0; index < parts; ++index) {
    INFO("JOB_COMPLETION_INDEX=" << index);
    RunResult pod = run_example_sh(dir, "sh job.sh",
                                   "JOB_COMPLETION_INDEX=" + std::to_string(index) + " PARTS=" + std::to_string(parts) +
                                       " INPUT=events.ndjson SCHEMA=schema.json OUT_PREFIX=parts");
    INFO(pod.err);
    REQUIRE(pod.code == 0);
    outs += " parts/out-" + std::to_string(index + 1) + ".csv";
  }
  RunResult merge = run_ingot(dir, "merge" + outs + " -q -o merged.csv");
  INFO(merge.err);
  REQUIRE(merge.code == 0);
  CHECK(read_file(dir / "merged.csv") == read_file(dir / "single.csv"));
}

TEST_CASE("examples: parallel.sh from an s3:// object to an s3:// object (pieces in the bucket, merged on the server)",
          "[cli][examples][s3]") {
  if (!has_parallel()) FAIL("GNU parallel missing: apt-get install parallel (scripts/deps.txt)");
  TempDir dir;
  S3Env s3;
  const std::string events = varied_ndjson(20000);
  write_file(dir / "events.ndjson", events);
  s3.client.put_object({s3.bucket, "in/events.ndjson"}, events, ingot::s3::md5_base64(events));
  RunResult single = run_ingot(dir, "convert events.ndjson -q -o single.csv");
  REQUIRE(single.code == 0);
  RunResult fan = run_example_sh(dir,
                                 shell_quote((kSource / "examples" / "parallel.sh").string()) + " " +
                                     s3.url("in/events.ndjson") + " 4 " + s3.url("out/events.csv"),
                                 "AWS_ENDPOINT_URL=" + servers().s3_endpoint);
  INFO(fan.err);
  REQUIRE(fan.code == 0);
  CHECK(s3.get("out/events.csv") == read_file(dir / "single.csv"));
  for (int k = 1; k <= 4; ++k)
    CHECK(s3.client.head({s3.bucket, "out/events.csv.parts/out-" + std::to_string(k) + ".csv"}));
  // Nothing went through the local directory.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string name = e.path().filename().string();
    CHECK((name == "events.ndjson" || name == "single.csv" || name.rfind(".sh-", 0) == 0 || name[0] == '.'));
  }
}

TEST_CASE("examples: the Kubernetes Indexed Job script with s3:// input and pieces, then a server-side merge",
          "[cli][examples][s3]") {
  TempDir dir;
  S3Env s3;
  const std::string events = varied_ndjson(12000);
  write_file(dir / "events.ndjson", events);
  s3.client.put_object({s3.bucket, "events.ndjson"}, events, ingot::s3::md5_base64(events));
  write_file(dir / "job.sh", job_script("ingot-convert"));
  RunResult schema = run_ingot(dir, "convert events.ndjson --schema-out schema.json -q -o single.csv");
  REQUIRE(schema.code == 0);
  const std::string env = "AWS_ENDPOINT_URL=" + servers().s3_endpoint + " PARTS=5 INPUT=" + s3.url("events.ndjson") +
                          " SCHEMA=schema.json OUT_PREFIX=" + s3.url("events.csv.parts");
  for (int index : {4, 0, 3, 1, 2}) {
    INFO("JOB_COMPLETION_INDEX=" << index);
    RunResult pod = run_example_sh(dir, "sh job.sh", "JOB_COMPLETION_INDEX=" + std::to_string(index) + " " + env);
    INFO(pod.err);
    REQUIRE(pod.code == 0);
  }
  CHECK_FALSE(fs::exists(dir / "s3:"));
  RunResult merge =
      run_example_sh(dir, "ingot merge $(seq -f \"${OUT_PREFIX}/out-%g.csv\" 1 5) -q -o " + s3.url("events.csv"), env);
  INFO(merge.err);
  REQUIRE(merge.code == 0);
  CHECK(s3.get("events.csv") == read_file(dir / "single.csv"));
}

TEST_CASE("examples: parallel.sh with S3_DEST uploads the merged file as one multipart upload from several jobs",
          "[cli][examples][s3]") {
  if (!has_parallel()) FAIL("GNU parallel missing: apt-get install parallel (scripts/deps.txt)");
  TempDir dir;
  S3Env s3;
  write_file(dir / "events.ndjson", varied_ndjson(8000));
  RunResult single = run_ingot(dir, "convert events.ndjson -q -o single.csv");
  REQUIRE(single.code == 0);
  const std::string whole = read_file(dir / "single.csv");
  REQUIRE(whole.size() > 10 * 16384);  // more parts than jobs
  // The jobs get the endpoint from AWS_ENDPOINT_URL, like the credentials.
  RunResult fan =
      run_example_sh(dir, shell_quote((kSource / "examples" / "parallel.sh").string()) + " events.ndjson 4 merged.csv",
                     "S3_DEST=" + s3.url("events.csv") + " PART_SIZE=16K AWS_ENDPOINT_URL=" + servers().s3_endpoint);
  INFO(fan.err);
  REQUIRE(fan.code == 0);
  CHECK(read_file(dir / "merged.csv") == whole);
  CHECK(s3.get("events.csv", 10 * 16384) == whole);  // 10 parts per GET (Swift rate limit)
  CHECK(s3.uploads("events.csv").empty());
}

TEST_CASE("examples: the Kubernetes upload Job script, run for every index between --begin and --complete",
          "[cli][examples][s3]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(23 * 16384 + 99, 31);
  write_file(dir / "events.csv", data);
  write_file(dir / "job.sh", job_script("ingot-upload"));
  const std::string env = "PARTS=5 FILE=events.csv DEST=" + s3.url("events.csv") +
                          " PART_SIZE=16K AWS_ENDPOINT_URL=" + servers().s3_endpoint;
  RunResult begin = run_example_sh(dir, "ingot upload events.csv \"$DEST\" --part-size 16K --begin", env);
  INFO(begin.err);
  REQUIRE(begin.code == 0);
  // The pods of an Indexed Job run in any order.
  for (int index : {3, 0, 4, 2, 1}) {
    INFO("JOB_COMPLETION_INDEX=" << index);
    RunResult pod = run_example_sh(dir, "sh job.sh", "JOB_COMPLETION_INDEX=" + std::to_string(index) + " " + env);
    INFO(pod.err);
    REQUIRE(pod.code == 0);
  }
  RunResult done = run_example_sh(dir, "ingot upload events.csv \"$DEST\" --part-size 16K --complete", env);
  INFO(done.err);
  REQUIRE(done.code == 0);
  CHECK(s3.get("events.csv", 10 * 16384) == data);
}

namespace {

// "in 0.03 s (7 MB/s)" differs from run to run.
std::string without_timings(std::string s) {
  static const std::regex timing(R"(in [0-9.]+ s \([0-9.]+ [KMG]?B/s\))");
  return std::regex_replace(s, timing, "in T");
}

}  // namespace

TEST_CASE("examples: the README tour of index, get and serve prints what the README shows", "[cli][examples]") {
  // The console block under "### index, get and serve": "$ command" lines, each
  // followed by what it prints (stdout and stderr, as on a terminal).
  const std::string readme = read_file(kSource / "README.md");
  std::size_t at = readme.find("### index, get and serve");
  REQUIRE(at != std::string::npos);
  at = readme.find("```console\n", at);
  REQUIRE(at != std::string::npos);
  at += 11;
  const std::string block = readme.substr(at, readme.find("```", at) - at);
  std::vector<std::pair<std::string, std::string>> steps;  // command, expected output
  for (const std::string& line : lines_of(block)) {
    if (line.rfind("$ ", 0) == 0)
      steps.push_back({line.substr(2), ""});
    else if (!steps.empty())
      steps.back().second += line + "\n";
  }
  REQUIRE(steps.size() >= 6);

  TempDir dir;
  fs::create_directories(dir / "examples");
  fs::copy_file(kSource / "examples" / "taxi.ndjson", dir / "examples" / "taxi.ndjson");
  // One bash session runs the block, as a user would, but the server takes a port the
  // kernel picks (--port 0) instead of 8080, which may be taken: the later commands use
  // the port it printed, and the transcript says 8080 again before it is compared.
  auto on_port = [](std::string s) {
    if (auto p = s.find("--port 8080"); p != std::string::npos) return s.replace(p, 11, "--port 0");
    for (std::size_t p = s.find(":8080"); p != std::string::npos; p = s.find(":8080", p + 1)) s.replace(p, 5, ":$PORT");
    return s;
  };
  std::string script = "exec > transcript 2>&1\n";
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string& cmd = steps[i].first;
    script += "echo '@@ " + std::to_string(i) + "' >&2\n" + on_port(cmd) + "\n";
    if (cmd.back() == '&') {
      // A bounded wait (60 s) for the server's first line; the transcript says when it timed out.
      script += "for i in $(seq 1200); do grep -q listening transcript && break; sleep 0.05; done\n";
      script +=
          "grep -q listening transcript || { echo 'timed out after 60 s waiting for the server to listen'; exit 1; }\n";
      script += "PORT=$(sed -n 's|.*listening on http://127.0.0.1:\\([0-9]*\\)/.*|\\1|p' transcript)\n";
      script += "echo \"$PORT\" > port\n";
    }
    if (cmd.rfind("kill", 0) == 0) script += "wait\n";
  }
  write_file(dir / "tour.sh", script);
  RunResult r = run_example_sh(dir, "bash tour.sh");
  std::string transcript = read_file(dir / "transcript");
  INFO(transcript);
  REQUIRE(r.code == 0);
  const std::string port = ":" + lines_of(read_file(dir / "port")).at(0);
  REQUIRE(port.size() > 1);
  for (std::size_t p = transcript.find(port + "/"); p != std::string::npos; p = transcript.find(port + "/", p + 1))
    transcript.replace(p, port.size(), ":8080");
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string marker = "@@ " + std::to_string(i) + "\n";
    std::size_t b = transcript.find(marker);
    REQUIRE(b != std::string::npos);
    b += marker.size();
    std::size_t e = transcript.find("@@ " + std::to_string(i + 1) + "\n", b);
    const std::string got = transcript.substr(b, e == std::string::npos ? std::string::npos : e - b);
    INFO("$ " << steps[i].first);
    CHECK(without_timings(got) == without_timings(steps[i].second));
  }
}

// A torn S3 object is never completed: the source modified in place while an upload
// runs (the moment held by tests/fixtures/faulty_proxy.py), or between an interrupted
// run and its resume, fails the upload and creates no object. And S3 keys are sent
// exactly as given: dot segments and double slashes are part of the key, never a way
// into another bucket (checked with ingot ls and with aws cli).
#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "cli/s3_env.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

fs::path find_journal(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().ends_with(".ingot-upload")) return e.path();
  }
  return {};
}

// Overwrites bytes in place (same size) and sets the mtime back to what it was, as a
// careless tool (or `touch -r`) can: only the ctime, which nobody can set, tells.
void scribble_keep_mtime(const fs::path& p, std::uint64_t offset, const std::string& bytes) {
  const auto mtime = fs::last_write_time(p);
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
  }
  fs::last_write_time(p, mtime);
}

// Bounded wait for a file the proxy writes; fails with a message instead of hanging.
void wait_for_file(const fs::path& p, const char* what) {
  wait_until([&] { return fs::exists(p); }, 120s, what, 10ms);
}

}  // namespace

TEST_CASE("upload s3: a source modified in place during the upload fails it, no object is made",
          "[upload][s3][integrity]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(7 * 16384 - 100, 31);  // 7 parts of 16 KiB, sent 7, 1, 2, ..., 6
  write_file(dir / "src.bin", data);
  fs::create_directories(dir / "hold");
  // The proxy holds part 3: parts 4-6 are not read yet (one part in flight).
  FaultyProxy proxy(dir, "hold", 1, "partNumber=3&", (dir / "hold").string());
  pid_t pid = spawn_ingot(
      dir, "upload src.bin " + s3.url("torn") + " --endpoint " + proxy.endpoint + " --part-size 16K --concurrency 1");
  wait_for_file(dir / "hold" / "held", "the proxy to hold part 3");
  scribble_keep_mtime(dir / "src.bin", 5 * 16384 + 10, "modified!");  // in part 6, not read yet
  write_file(dir / "hold" / "release", "");
  const int code = wait_code(pid);
  const std::string err = read_file(dir / ".bg.err");
  INFO(err);
  CHECK(code == 1);
  CHECK(err ==
        "ingot upload: error: src.bin: the source changed while it was being uploaded (its size, times or "
        "inode differ from the start): the object was not created; upload it again once it is no longer being "
        "written\n");
  CHECK(!s3.client.head({s3.bucket, "torn"}).has_value());
  CHECK(s3.uploads("torn").empty());  // aborted: its parts hold two versions
  CHECK(find_journal(dir.path()).empty());
  // Left alone, the same command uploads the new version whole.
  RunResult r = run_ingot(dir, "upload src.bin " + s3.url("torn") + s3.flags + "--part-size 16K --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["verified"] == true);
  CHECK(s3.get("torn") == read_file(dir / "src.bin"));
}

TEST_CASE("upload s3: a resume after the source changed in place (mtime restored) is refused",
          "[upload][s3][integrity]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(12 * 16384, 32);
  write_file(dir / "src.bin", data);
  const std::string args = "upload src.bin " + s3.url("r") + " --part-size 16K --concurrency 1";
  {
    // Parts 12, 1, 2 go through, part 3 fails: the parts and the journal stay.
    FaultyProxy proxy(dir, "500", 1, "partNumber=3&");
    RunResult r = run_ingot(dir, args + " --endpoint " + proxy.endpoint + " --retries 0");
    REQUIRE(r.code == 3);
  }
  REQUIRE(!find_journal(dir.path()).empty());
  // Same size, same mtime, same first and last 64 KiB: only the change time differs.
  scribble_keep_mtime(dir / "src.bin", 6 * 16384, "changed");
  RunResult r = run_ingot(dir, args + s3.flags);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("the source changed since the interrupted upload started") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(!s3.client.head({s3.bucket, "r"}).has_value());
}

TEST_CASE("upload s3: a part read again on resume must have the MD5 of its first read", "[upload][s3][integrity]") {
  TempDir dir;
  S3Env s3;
  // Parts of 64 KiB, so that parts 2 and 3 lie outside the fingerprint's first and last 64 KiB.
  const std::string data = random_bytes(6 * 65536, 33);
  write_file(dir / "src.bin", data);
  const std::string args = "upload src.bin " + s3.url("m") + " --part-size 64K --concurrency 1";
  {
    // Part 3 reaches the server but its answer is lost: the journal says it started,
    // the server holds it (with the MD5 of the bytes read then). Twice, because curl
    // itself sends a request again once when a reused connection closes unanswered.
    FaultyProxy proxy(dir, "lost", 2, "partNumber=3&");
    RunResult r = run_ingot(dir, args + " --endpoint " + proxy.endpoint + " --retries 0");
    REQUIRE(r.code == 3);
  }
  const fs::path journal = find_journal(dir.path());
  REQUIRE(!journal.empty());
  // Parts 2 (sent, journaled) and 3 (on the server) change; size, mtime and edges do not.
  scribble_keep_mtime(dir / "src.bin", 1 * 65536 + 5, "two");
  scribble_keep_mtime(dir / "src.bin", 2 * 65536 + 5, "three");
  // A journal without the stat record (an older ingot's, or a file system whose change
  // time is not kept) lets the fingerprint pass: the part's MD5 must still catch it.
  std::vector<std::string> lines = lines_of(read_file(journal));
  json header = json::parse(lines[0]);
  REQUIRE(header.contains("stat"));
  header.erase("stat");
  lines[0] = header.dump();
  std::string text;
  for (const std::string& l : lines) text += l + "\n";
  write_file(journal, text);
  RunResult r = run_ingot(dir, args + s3.flags);
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(r.err ==
        "ingot upload: error: src.bin: part 3 (byte 131072) reads differently than when an earlier run sent "
        "it: the source changed; upload it again from the start\n");
  CHECK(!s3.client.head({s3.bucket, "m"}).has_value());
}

TEST_CASE("upload s3: keys with .., . and // are stored exactly as given, never in another bucket",
          "[upload][s3][keys]") {
  TempDir dir;
  S3Env s3;
  const std::string other = s3.bucket + "-b";
  s3.client.create_bucket(other);
  write_file(dir / "x.csv", "id\n1\n");
  write_file(dir / "big.bin", random_bytes(3 * 16384, 34));
  const std::vector<std::string> keys = {
      "dir/../x.csv", "./a", "a//b", "a/./b", "../" + other + "/escaped.csv", "d/../../" + other + "/escaped2.csv"};
  for (const std::string& k : keys) {
    RunResult r = run_ingot(dir, "upload x.csv " + shell_quote(s3.url(k)) + s3.flags + "-q");
    INFO(k << ": " << r.err);
    CHECK(r.code == 0);
  }
  // Multipart too (create, parts, complete, HEAD all address the key).
  const std::string mp = "p/./q/../../" + other + "/multi";
  RunResult r = run_ingot(dir, "upload big.bin " + shell_quote(s3.url(mp)) + s3.flags + "--part-size 16K --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["verified"] == true);

  std::vector<std::string> want = keys;
  want.push_back(mp);
  std::sort(want.begin(), want.end());
  std::vector<std::string> got;
  for (const auto& o : s3.client.list_objects({s3.bucket, ""})) got.push_back(o.key);
  CHECK(got == want);
  CHECK(s3.client.list_objects({other, ""}).empty());

  // ingot ls shows them as stored.
  r = run_ingot(dir, "ls " + s3.url("") + s3.flags + "--json");
  REQUIRE(r.code == 0);
  std::vector<std::string> listed;
  for (const auto& e : json::parse(r.out)) listed.push_back(e["name"]);
  std::sort(listed.begin(), listed.end());
  CHECK(listed == want);

  // aws cli, an independent client, agrees: every key under exactly its name, bucket b empty.
  const fs::path home = dir / "awshome";
  fs::create_directories(home);
  write_file(home / "config", "[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n");
  const ServerEnv& e = servers();
  const std::string aws = "env HOME=" + shell_quote(home.string()) +
                          " AWS_CONFIG_FILE=" + shell_quote((home / "config").string()) +
                          " AWS_ACCESS_KEY_ID=" + shell_quote(e.s3_access_key) +
                          " AWS_SECRET_ACCESS_KEY=" + shell_quote(e.s3_secret_key) + " /usr/bin/aws --endpoint-url " +
                          e.s3_endpoint + " s3api list-objects --output json --query 'Contents[].Key' --bucket ";
  RunResult a = run_sh(dir, aws + s3.bucket);
  INFO(a.err);
  REQUIRE(a.code == 0);
  std::vector<std::string> by_aws = json::parse(a.out).get<std::vector<std::string>>();
  std::sort(by_aws.begin(), by_aws.end());
  CHECK(by_aws == want);
  a = run_sh(dir, aws + other);
  REQUIRE(a.code == 0);
  CHECK(json::parse(a.out).is_null());  // no Contents: empty
  // The bytes are the ones uploaded.
  CHECK(s3.get("dir/../x.csv") == "id\n1\n");
}

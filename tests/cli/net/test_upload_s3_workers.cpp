// One S3 multipart upload sent by several processes (--begin, --part K/N, --complete),
// and --abort without a journal, against the real Swift S3 API on loopback.
#include <sys/stat.h>

#include "cli/s3_env.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

std::vector<std::string> part_md5s(const std::string& data, std::size_t part) {
  std::vector<std::string> v;
  for (std::size_t off = 0; off < data.size(); off += part) v.push_back(ingot::s3::md5_hex(data.substr(off, part)));
  return v;
}

bool has_parallel() { return std::system("parallel --version >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("upload s3: --begin, --part K/N workers under GNU parallel, --complete: the object equals the source",
          "[upload][s3][workers]") {
  if (!has_parallel()) FAIL("GNU parallel missing: apt-get install parallel (scripts/deps.txt)");
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(16 * 65536 - 1000, 11);  // 16 parts of 64 KiB, the last short
  write_file(dir / "src.bin", data);
  const std::string opts = s3.url("obj") + s3.flags + "--part-size 64K";

  RunResult begin = run_ingot(dir, "upload src.bin " + opts + " --begin");
  INFO(begin.err);
  REQUIRE(begin.code == 0);
  const std::string id = lines_of(begin.out).at(0);
  CHECK(s3.uploads("obj") == std::vector<std::string>{id});
  CHECK(begin.err.find("begun for 16 parts of 64.0 KiB") != std::string::npos);

  // Five jobs at a time, one process per share; each prints its --json report.
  RunResult fan = run_sh(dir, "parallel --will-cite -j 5 \"$INGOT\" upload src.bin " + opts + " --upload-id " + id +
                                  " --part {}/5 --json ::: 1 2 3 4 5");
  INFO(fan.err);
  REQUIRE(fan.code == 0);
  std::uint64_t units = 0, bytes = 0;
  auto reports = lines_of(fan.out);
  REQUIRE(reports.size() == 5);
  for (const std::string& line : reports) {
    json j = json::parse(line)["result"];
    CHECK(j["method"] == "part");
    CHECK(j["upload_id"] == id);
    CHECK(j["stats"]["units_sent"] == j["stats"]["units"]);
    units += j["stats"]["units_sent"].get<std::uint64_t>();
    bytes += j["stats"]["bytes_sent"].get<std::uint64_t>();
  }
  CHECK(units == 16);
  CHECK(bytes == data.size());
  CHECK(!s3.client.head({s3.bucket, "obj"}).has_value());  // nothing is visible before --complete

  // --complete finds the upload by itself (the only one in progress for the key).
  RunResult done = run_ingot(dir, "upload src.bin " + opts + " --complete --json");
  json j = report(done);
  REQUIRE(done.code == 0);
  CHECK(j["method"] == "complete");
  CHECK(j["upload_id"] == id);
  CHECK(j["verified"] == true);
  CHECK(j["stats"]["units"] == 16);
  CHECK(j["etag"] == ingot::s3::multipart_etag(part_md5s(data, 65536)));
  CHECK(s3.get("obj") == data);
  CHECK(s3.uploads("obj").empty());
}

TEST_CASE("upload s3: --complete names missing parts and wrong sizes, a rerun worker sends only what is missing",
          "[upload][s3][workers]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(16 * 65536 - 1000, 12);
  write_file(dir / "src.bin", data);
  const std::string opts = s3.url("obj") + s3.flags + "--part-size 64K";
  REQUIRE(run_ingot(dir, "upload src.bin " + opts + " --begin -q").code == 0);

  // --dry-run shows a worker's share: parts 6-10 of 16 for worker 2 of 3.
  RunResult plan = run_ingot(dir, "upload src.bin " + opts + " --part 2/3 --dry-run --json");
  REQUIRE(plan.code == 0);
  json p = report(plan)["plan"];
  REQUIRE(p.size() == 5);
  CHECK(p[0]["number"] == 6);
  CHECK(p[0]["offset"] == 5 * 65536);
  CHECK(p[4]["number"] == 10);

  for (const char* k : {"1/3", "3/3"})
    REQUIRE(run_ingot(dir, "upload src.bin " + opts + " --part " + k + " -q").code == 0);
  RunResult r = run_ingot(dir, "upload src.bin " + opts + " --complete");
  CHECK(r.code == 3);
  CHECK(r.err == "ingot upload: error: " + s3.url("obj") +
                     ": cannot complete: parts 6-10 of 16 missing (rerun the workers that send them)\n");
  CHECK(s3.uploads("obj").size() == 1);  // kept for the missing worker

  r = run_ingot(dir, "upload src.bin " + opts + " --part 2/3 --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["stats"]["units_sent"] == 5);
  // A worker run again (e.g. a retried pod) finds its parts on the server and sends nothing.
  r = run_ingot(dir, "upload src.bin " + opts + " --part 1/3 --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["units_sent"] == 0);
  CHECK(j["stats"]["units_skipped"] == 5);
  CHECK(j["stats"]["bytes_skipped"] == 5 * 65536);

  r = run_ingot(dir, "upload src.bin " + opts + " --complete");
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.err.rfind("ingot upload: src.bin -> " + s3.url("obj") + ": completed from 16 parts (", 0) == 0);
  CHECK(r.err.ends_with(" s, verified\n"));
  CHECK(lines_of(r.err).size() == 1);
  CHECK(s3.get("obj") == data);

  // Completing again: nothing is in progress, and the message says the object is there.
  r = run_ingot(dir, "upload src.bin " + opts + " --complete");
  CHECK(r.code == 2);
  CHECK(r.err.find("no multipart upload in progress for this key (the object exists: " + std::to_string(data.size()) +
                   " bytes, ETag ") != std::string::npos);
  CHECK(r.err.find("-16; completed already?)") != std::string::npos);

  // --upload-id alone would be ignored by a plain upload: refused.
  r = run_ingot(dir, "upload src.bin " + opts + " --upload-id X");
  CHECK(r.code == 2);
  CHECK(r.err.find("--upload-id goes with --part, --complete or --abort") != std::string::npos);

  // A worker with another --part-size sends parts of the wrong size: --complete says so.
  REQUIRE(run_ingot(dir, "upload src.bin " + s3.url("odd") + s3.flags + "--part-size 32K --begin -q").code == 0);
  REQUIRE(run_ingot(dir, "upload src.bin " + s3.url("odd") + s3.flags + "--part-size 32K --part 1/1 -q").code == 0);
  r = run_ingot(dir, "upload src.bin " + s3.url("odd") + s3.flags + "--part-size 64K --complete");
  CHECK(r.code == 3);
  CHECK(r.err.find("cannot complete: part 1 holds 32768 bytes, the plan 65536 (every worker must use the same "
                   "source, --part-size and --max-parts)") != std::string::npos);
}

TEST_CASE("upload s3: two uploads in progress for a key need --upload-id, --abort without a journal removes both",
          "[upload][s3][workers][abort]") {
  TempDir dir;
  S3Env s3;
  write_file(dir / "src.bin", random_bytes(200000, 13));
  const std::string opts = s3.url("two") + s3.flags + "--part-size 64K";
  RunResult a = run_ingot(dir, "upload src.bin " + opts + " --begin");
  RunResult b = run_ingot(dir, "upload src.bin " + opts + " --begin");
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  REQUIRE(s3.uploads("two").size() == 2);
  RunResult r = run_ingot(dir, "upload src.bin " + opts + " --part 1/2");
  CHECK(r.code == 2);
  CHECK(r.err.find("2 multipart uploads in progress for this key") != std::string::npos);
  CHECK(r.err.find("pass --upload-id ID") != std::string::npos);
  // With the id it works.
  r = run_ingot(dir, "upload src.bin " + opts + " --part 1/2 --upload-id " + lines_of(a.out).at(0) + " -q");
  CHECK(r.code == 0);

  r = run_ingot(dir, "upload src.bin " + opts + " --abort --dry-run --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["note"].get<std::string>().rfind("would abort 2 multipart uploads", 0) == 0);
  CHECK(s3.uploads("two").size() == 2);
  r = run_ingot(dir, "upload src.bin " + opts + " --abort");
  CHECK(r.code == 0);
  CHECK(r.err.find("aborted 2 multipart uploads") != std::string::npos);
  CHECK(s3.uploads("two").empty());
  // Nothing left: still exit 0 (like rm -f), and it says so.
  r = run_ingot(dir, "upload src.bin " + opts + " --abort");
  CHECK(r.code == 0);
  CHECK(r.err == "ingot upload: " + s3.url("two") + ": no multipart upload in progress for this key\n");
  // Without any upload, a worker is told to --begin.
  r = run_ingot(dir, "upload src.bin " + opts + " --part 1/2");
  CHECK(r.code == 2);
  CHECK(r.err.find("no multipart upload in progress for this key: start one with --begin") != std::string::npos);
}

TEST_CASE("upload s3: --abort without a journal finds a killed upload by ListMultipartUploads (file and stdin)",
          "[upload][s3][abort]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(300 * 16384, 14);
  write_file(dir / "big.bin", data);
  fs::create_directories(dir / "state");
  fs::create_directories(dir / "hold");
  for (const char* how : {"file", "stdin"}) {
    INFO(how);
    const std::string key = std::string("killed-") + how;
    const bool file = how == std::string("file");
    const std::string src = file ? "big.bin" : "-";
    if (!file) {  // stdin a pipe (a redirected file would be seekable)
      fs::remove(dir / "in.fifo");
      REQUIRE(::mkfifo((dir / "in.fifo").c_str(), 0600) == 0);
      REQUIRE(std::system(
                  ("cd " + shell_quote(dir.path().string()) + " && (cat big.bin > in.fifo 2>/dev/null &)").c_str()) ==
              0);
    }
    {
      // The moment is the test's: the proxy holds every part upload, so the multipart
      // upload exists and no part is on the server (nor can the upload complete) when
      // the kill comes.
      FaultyProxy proxy(dir, "hold", 1, "^PUT .*partNumber=", dir.str("hold"));
      pid_t pid = spawn_ingot(dir,
                              "upload " + src + " " + s3.url(key) + " --endpoint " + proxy.endpoint +
                                  " --part-size 16K --concurrency 2 --state state",
                              file ? "/dev/null" : "in.fifo");
      wait_until([&] { return proxy.count("hold") >= 1; }, 120s, "a part upload held by the proxy");
      REQUIRE(::kill(pid, SIGKILL) == 0);
      REQUIRE(wait_code(pid) == 128 + SIGKILL);
    }  // the proxy goes, and the held parts with it
    REQUIRE(s3.uploads(key).size() == 1);
    REQUIRE(s3.client.list_parts({s3.bucket, key}, s3.uploads(key)[0]).empty());
    // The journal (if any) is gone: e.g. another machine, or the state dir was lost.
    fs::remove_all(dir / "state");
    fs::create_directories(dir / "state");
    RunResult r = run_ingot(dir, "upload " + src + " " + s3.url(key) + s3.flags + "--abort --json");
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["method"] == "abort");
    CHECK(j["stats"]["units_sent"] == 1);
    CHECK(s3.uploads(key).empty());
    CHECK(!s3.client.head({s3.bucket, key}).has_value());
  }
}

TEST_CASE("upload s3: a worker killed with -9 midway is run again and sends only the missing parts",
          "[upload][s3][workers]") {
  TempDir dir;
  S3Env s3;
  const std::size_t part = 16384, parts = 150;
  const std::string data = random_bytes(parts * part, 15);
  write_file(dir / "src.bin", data);
  const std::string opts = s3.url("obj") + s3.flags + "--part-size 16K";
  RunResult begin = run_ingot(dir, "upload src.bin " + opts + " --begin");
  REQUIRE(begin.code == 0);
  const std::string id = lines_of(begin.out).at(0);

  {
    // The moment is the test's: the proxy forwards worker 2's first 15 part uploads and
    // holds the next ones, so its 3 connections all wait at the proxy, with exactly 15
    // parts on the server, when the kill comes.
    fs::create_directories(dir / "hold");
    std::string plan;
    for (std::size_t i = 0; i < parts / 2; ++i) plan += i < 15 ? "ok," : "hold,";
    plan.pop_back();
    FaultyProxy proxy(dir, plan, 1, "^PUT .*partNumber=", dir.str("hold"));
    pid_t pid = spawn_ingot(dir, "upload src.bin " + s3.url("obj") + " --endpoint " + proxy.endpoint +
                                     " --part-size 16K --part 2/2 --concurrency 3");
    wait_until([&] { return proxy.count("hold") == 3; }, 120s, "3 part uploads held by the proxy");
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(wait_code(pid) == 128 + SIGKILL);
  }  // the proxy goes, and the held parts with it: they never reach the server
  const std::size_t on_server = s3.client.list_parts({s3.bucket, "obj"}, id).size();
  REQUIRE(on_server == 15);  // midway through worker 2's 75 parts

  RunResult r = run_ingot(dir, "upload src.bin " + opts + " --part 2/2 --json");
  json j = report(r);
  REQUIRE(r.code == 0);
  CHECK(j["stats"]["units"] == parts / 2);
  CHECK(j["stats"]["units_skipped"] == on_server);
  CHECK(j["stats"]["bytes_sent"] == (parts / 2 - on_server) * part);
  REQUIRE(run_ingot(dir, "upload src.bin " + opts + " --part 1/2 -q").code == 0);
  r = run_ingot(dir, "upload src.bin " + opts + " --complete --json");
  REQUIRE(r.code == 0);
  CHECK(report(r)["verified"] == true);
  CHECK(s3.get("obj", 10 * part) == data);  // ranges of 10 parts: Swift slows down after 10 segments per GET
}

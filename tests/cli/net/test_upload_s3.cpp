// ingot upload to S3 and ingot ls, against a real Swift S3 API on loopback
// (tests/servers.h). Faults are real: kill -9 of the uploader, a wrong secret.
#include <filesystem>
#include <fstream>

#include "cli/s3_env.h"

using namespace ingot_test;
using nlohmann::json;

namespace {

std::vector<json> journal_events(const fs::path& p) {
  std::vector<json> v;
  for (const std::string& l : lines_of(read_file(p))) {
    auto j = json::parse(l, nullptr, false);
    if (!j.is_discarded()) v.push_back(j);
  }
  return v;
}

fs::path find_journal(const TempDir& dir) {
  for (const auto& e : fs::directory_iterator(dir.path())) {
    if (e.path().filename().string().ends_with(".ingot-upload")) return e.path();
  }
  return {};
}

}  // namespace

TEST_CASE("upload s3: small file is one PUT, verified, bytes identical", "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(100000, 1);
  write_file(dir / "a.bin", data);
  RunResult r = run_ingot(dir, "upload a.bin " + s3.url("a.bin") + s3.flags + "--json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["method"] == "put");
  CHECK(j["verified"] == true);
  CHECK(j["stats"]["bytes_sent"] == 100000);
  CHECK(j["etag"] == ingot::s3::md5_hex(data));
  CHECK(s3.get("a.bin") == data);
  CHECK(find_journal(dir).empty());  // nothing left behind after success
}

TEST_CASE("upload s3: a compressed file is sent as stored, not decoded", "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "{\"n\":" + std::to_string(i) + "}\n";
  write_file(dir / "e.ndjson", text);
  REQUIRE(std::system(("cd '" + dir.path().string() + "' && gzip -k e.ndjson && bzip2 -k e.ndjson").c_str()) == 0);
  for (const std::string name : {"e.ndjson.gz", "e.ndjson.bz2"}) {
    RunResult r = run_ingot(dir, "upload " + name + " " + s3.url(name) + s3.flags + "--json");
    INFO(name << ": " << r.err);
    REQUIRE(r.code == 0);
    CHECK(s3.get(name) == read_file(dir / name));
  }
}

TEST_CASE("upload s3: multipart with parallel parts equals -concurrency 1, object bytes identical", "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(1000000, 2);  // 16 parts of 64 KiB, the last short
  write_file(dir / "b.bin", data);
  std::vector<std::string> md5s;
  for (std::size_t off = 0; off < data.size(); off += 65536)
    md5s.push_back(ingot::s3::md5_hex(data.substr(off, 65536)));
  for (const char* conc : {"1", "6"}) {
    RunResult r = run_ingot(dir, "upload b.bin " + s3.url(std::string("b") + conc) + s3.flags +
                                     "--part-size 64K --json --concurrency " + conc);
    REQUIRE(r.code == 0);
    json j = report(r);
    CHECK(j["method"] == "multipart");
    CHECK(j["stats"]["units"] == 16);
    CHECK(j["stats"]["units_sent"] == 16);
    CHECK(j["verified"] == true);
    CHECK(j["etag"] == ingot::s3::multipart_etag(md5s));
    CHECK(s3.get(std::string("b") + conc) == data);
  }
}

TEST_CASE("upload s3: stdin is streamed in parts", "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(300000, 3);
  RunResult r = run_ingot(dir, "upload - " + s3.url("in") + s3.flags + "--part-size 100K --json", data, true);
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["method"] == "multipart");
  CHECK(j["stats"]["units"] == 3);
  CHECK(j["stats"]["bytes"] == 300000);
  CHECK(s3.get("in") == data);
}

TEST_CASE("upload s3: wrong secret is refused with a clear one-line error, exit 3", "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  write_file(dir / "a.bin", "hello\n");
  std::string cmd = "cd " + shell_quote(dir.path().string()) + " && AWS_SECRET_ACCESS_KEY=wrong " +
                    shell_quote(INGOT_BINARY) + " upload a.bin " + s3.url("a") + s3.flags + "2> err.txt";
  int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 3);
  std::string err = read_file(dir / "err.txt");
  CHECK(err.rfind("ingot upload: error: " + s3.url("a") + ": HTTP 403 SignatureDoesNotMatch", 0) == 0);
  CHECK(err.find("check the secret key") != std::string::npos);
  CHECK(lines_of(err).size() == 1);
}

TEST_CASE("upload s3: --part-size beyond --max-parts parts is a usage error, --dry-run sends nothing", "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  write_file(dir / "c.bin", random_bytes(20001, 4));
  RunResult r = run_ingot(dir, "upload c.bin " + s3.url("c") + s3.flags + "--part-size 2");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "ingot upload: error: --part-size 2 B makes 10001 parts; the limit is 10000 (--max-parts): use at least 3 B\n");
  r = run_ingot(dir, "upload c.bin " + s3.url("c") + s3.flags + "--part-size 2K --max-parts 5");
  CHECK(r.code == 2);
  CHECK(
      r.err ==
      "ingot upload: error: --part-size 2.0 KiB makes 10 parts; the limit is 5 (--max-parts): use at least 4.0 KiB\n");
  r = run_ingot(dir, "upload c.bin " + s3.url("c") + s3.flags + "--part-size 8K --dry-run --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  REQUIRE(j["plan"].size() == 3);
  CHECK(j["plan"][2]["offset"] == 16384);
  CHECK(j["plan"][2]["length"] == 20001 - 16384);
  CHECK(!s3.client.head({s3.bucket, "c"}).has_value());
}

TEST_CASE("upload s3: kill -9 midway, rerun re-sends at most concurrency x part size", "[upload][s3][resume]") {
  TempDir dir;
  S3Env s3;
  const std::size_t part = 64 * 1024, conc = 3;
  const std::string data = random_bytes(200 * part + 123, 5);
  write_file(dir / "big.bin", data);
  const std::string args = "upload big.bin " + s3.url("big") + s3.flags + "--part-size 64K --concurrency 3 --json";
  fs::path journal;
  auto done_parts = [&] {
    std::size_t done = 0;
    if (journal.empty()) journal = find_journal(dir);
    if (!journal.empty()) {
      for (const json& e : journal_events(journal)) done += e.contains("done");
    }
    return done;
  };
  {
    // The moment is the test's: the proxy forwards the first 20 part uploads and holds
    // the rest, so the 3 connections all wait there, 20 parts done, when the kill comes.
    fs::create_directories(dir / "hold");
    std::string plan;
    for (int i = 0; i < 201; ++i) plan += i < 20 ? "ok," : "hold,";
    plan.pop_back();
    FaultyProxy proxy(dir, plan, 1, "^PUT .*partNumber=", dir.str("hold"));
    pid_t pid = spawn_ingot(dir, "upload big.bin " + s3.url("big") + " --endpoint " + proxy.endpoint +
                                     " --part-size 64K --concurrency 3 --json");
    wait_until([&] { return proxy.count("hold") == 3 && done_parts() == 20; }, 120s,
               "3 part uploads held by the proxy and 20 journaled as done");
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(wait_code(pid) == 128 + SIGKILL);
  }  // the proxy goes, and the held parts with it: they never reach the server
  REQUIRE(done_parts() == 20);
  // Parts go out of order (the short last one early): the bytes of the 20 done ones.
  std::uint64_t done_bytes = 0;
  for (const json& e : journal_events(journal)) {
    if (e.contains("done"))
      done_bytes += std::min<std::uint64_t>(part, data.size() - (e["done"].get<std::uint64_t>() - 1) * part);
  }
  CHECK(s3.client.list_parts({s3.bucket, "big"}, s3.uploads("big").at(0)).size() == 20);

  // Small ListParts pages: the server's part list is read across many pages.
  RunResult r = run_ingot(dir, args + " --resume --list-page-size 7");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["resumed"] == true);
  CHECK(j["verified"] == true);
  const std::uint64_t sent = j["stats"]["bytes_sent"], skipped = j["stats"]["bytes_skipped"],
                      resent = j["stats"]["bytes_resent"];
  CHECK(sent + skipped == data.size());
  CHECK(skipped == done_bytes);  // nothing journaled as done is sent again
  CHECK(resent <= conc * part);  // only the parts in flight at the kill
  CHECK(s3.get("big") == data);
  CHECK(!fs::exists(journal));
}

TEST_CASE("upload s3: a source changed after a crash is refused, --abort cleans up", "[upload][s3][resume]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(400 * 1024, 6);
  write_file(dir / "d.bin", data);
  const std::string args = "upload d.bin " + s3.url("d") + s3.flags + "--part-size 16K --concurrency 1";
  fs::path journal;
  {
    // Killed while the proxy holds its first part: the journal exists, nothing completes.
    fs::create_directories(dir / "hold");
    FaultyProxy proxy(dir, "hold", 1, "^PUT .*partNumber=", dir.str("hold"));
    pid_t pid = spawn_ingot(
        dir, "upload d.bin " + s3.url("d") + " --endpoint " + proxy.endpoint + " --part-size 16K --concurrency 1");
    wait_until([&] { return proxy.count("hold") == 1 && !(journal = find_journal(dir)).empty(); }, 120s,
               "the journal and a part upload held by the proxy");
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(wait_code(pid) == 128 + SIGKILL);
  }
  write_file(dir / "d.bin", data + "more");
  RunResult r = run_ingot(dir, args);
  CHECK(r.code == 1);
  CHECK(r.err.find("the source changed since the interrupted upload started") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(!s3.client.head({s3.bucket, "d"}).has_value());

  auto header = json::parse(lines_of(read_file(journal))[0]);
  r = run_ingot(dir, args + " --abort");
  CHECK(r.code == 0);
  CHECK(!fs::exists(journal));
  // The multipart upload is gone on the server.
  CHECK_THROWS_AS(s3.client.list_parts({s3.bucket, "d"}, header["upload_id"].get<std::string>()), ingot::s3::S3Error);
}

TEST_CASE("ls: lists every object under a prefix across pages", "[ls][s3]") {
  TempDir dir;
  S3Env s3;
  for (int i = 0; i < 5; ++i)
    s3.client.put_object({s3.bucket, "data/p" + std::to_string(i) + ".csv"}, std::string(i + 1, 'x'),
                         ingot::s3::md5_base64(std::string(i + 1, 'x')));
  s3.client.put_object({s3.bucket, "other.csv"}, "y", ingot::s3::md5_base64("y"));
  RunResult r = run_ingot(dir, "ls " + s3.url("data/") + s3.flags + "--page-size 2 --json");
  REQUIRE(r.code == 0);
  json j = json::parse(r.out);
  REQUIRE(j.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(j[i]["name"] == "p" + std::to_string(i) + ".csv");
    CHECK(j[i]["path"] == s3.url("data/p" + std::to_string(i) + ".csv"));
    CHECK(j[i]["size"] == i + 1);
    CHECK(j[i]["modified"].get<std::string>().size() >= 19);
  }
  r = run_ingot(dir, "ls " + s3.url("") + s3.flags + "--page-size 1");
  REQUIRE(r.code == 0);
  auto rows = lines_of(r.out);
  REQUIRE(rows.size() == 7);  // header + 6 objects
  CHECK(rows[6].rfind("other.csv", 0) == 0);
}

TEST_CASE("upload s3: a split manifest's pieces become the parts when S3 allows, else re-cut",
          "[upload][s3][manifest]") {
  TempDir dir;
  S3Env s3;
  std::string csv = "id,text\n";
  for (int i = 0; csv.size() < 12u << 20; ++i) csv += std::to_string(i) + "," + std::string(40, 'a' + i % 26) + "\n";
  write_file(dir / "m.csv", csv);
  REQUIRE(run_ingot(dir, "split m.csv --plan --pieces 2 --manifest two.json -q").code == 0);
  REQUIRE(run_ingot(dir, "split m.csv --plan --pieces 4 --manifest four.json -q").code == 0);
  auto pieces = json::parse(read_file(dir / "two.json"))["pieces"];

  RunResult r = run_ingot(dir, "upload two.json " + s3.url("two.csv") + s3.flags + "--json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["stats"]["units"] == 2);  // pieces of ~6 MiB: each is a part (the first with the header)
  CHECK(j["note"] == "the manifest's 2 pieces are the parts");
  std::vector<std::string> md5s = {ingot::s3::md5_hex(csv.substr(0, pieces[1]["offset"].get<std::size_t>())),
                                   ingot::s3::md5_hex(csv.substr(pieces[1]["offset"].get<std::size_t>()))};
  CHECK(j["etag"] == ingot::s3::multipart_etag(md5s));
  CHECK(s3.get("two.csv", 4u << 20) == csv);
  // Workers plan the same parts from the manifest: worker 2 of 2 sends piece 2.
  r = run_ingot(dir, "upload two.json " + s3.url("two-w.csv") + s3.flags + "--part 2/2 --dry-run --json");
  REQUIRE(r.code == 0);
  json plan = report(r)["plan"];
  REQUIRE(plan.size() == 1);
  CHECK(plan[0]["number"] == 2);
  CHECK(plan[0]["offset"] == pieces[1]["offset"]);
  CHECK(plan[0]["length"] == csv.size() - pieces[1]["offset"].get<std::size_t>());

  r = run_ingot(dir, "upload four.json " + s3.url("four.csv") + s3.flags + "--part-size 5M --json");
  REQUIRE(r.code == 0);
  j = report(r);
  CHECK(j["stats"]["units"] == 3);  // 3 MiB pieces are below S3's 5 MiB minimum: re-cut at 5 MiB
  CHECK(j["note"].get<std::string>().find("re-cut at the part size") != std::string::npos);
  CHECK(s3.get("four.csv", 4u << 20) == csv);
}

TEST_CASE("upload s3: a plan with more parts than the server takes fails at once, --max-parts plans fewer",
          "[upload][s3]") {
  TempDir dir;
  S3Env s3;
  // Swift takes part numbers up to 1,000: the last part goes first and is refused before
  // any other is sent (kept parts: none), and without --keep-parts the upload is aborted.
  write_file(dir / "p.bin", random_bytes(1001, 9));
  RunResult r = run_ingot(dir, "upload p.bin " + s3.url("p") + s3.flags + "--part-size 1 --concurrency 1 --keep-parts");
  CHECK(r.code == 3);
  CHECK(r.err.find("between 1 and 1000, inclusive (part 1001; rerun with --max-parts") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
  auto kept = s3.client.list_uploads({s3.bucket, "p"});
  REQUIRE(kept.size() == 1);
  CHECK(s3.client.list_parts({s3.bucket, "p"}, kept[0].upload_id).empty());
  s3.client.abort_multipart({s3.bucket, "p"}, kept[0].upload_id);
  r = run_ingot(dir, "upload p.bin " + s3.url("p2") + s3.flags + "--part-size 1 --concurrency 1");
  CHECK(r.code == 3);
  CHECK(!s3.client.head({s3.bucket, "p2"}).has_value());
  CHECK(s3.client.list_uploads({s3.bucket, "p2"}).empty());
  // --max-parts 1: one part, so a single PUT.
  r = run_ingot(dir, "upload p.bin " + s3.url("p3") + s3.flags + "--max-parts 1 --json");
  CHECK(r.code == 0);
  CHECK(report(r)["stats"]["units"] == 1);

  // The default part size grows to stay within --max-parts: 100 GiB (sparse, never
  // read by --dry-run) in 1,000 parts is 103 MiB each, 995 parts.
  { std::ofstream f(dir / "big.bin"); }
  std::filesystem::resize_file(dir / "big.bin", std::uint64_t{100} << 30);
  r = run_ingot(dir, "upload big.bin " + s3.url("big") + s3.flags + "--max-parts 1000 --dry-run --json");
  REQUIRE(r.code == 0);
  json j = report(r);
  CHECK(j["part_size"] == std::uint64_t{103} << 20);
  CHECK(j["plan"].size() == 995);
  CHECK(j["plan"][994]["offset"] == std::uint64_t{994} * (std::uint64_t{103} << 20));
  r = run_ingot(dir, "upload big.bin " + s3.url("big") + s3.flags + "--max-parts 10 --dry-run");
  CHECK(r.code == 2);
  CHECK(r.err ==
        "ingot upload: error: 100.0 GiB in at most 10 parts (--max-parts) needs parts over 5 GiB, the most S3 "
        "takes: use --max-parts 20 or more\n");
}

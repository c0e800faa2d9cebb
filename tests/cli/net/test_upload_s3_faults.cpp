// S3 retries tested for real: tests/fixtures/faulty_proxy.py sits between ingot and
// Swift and answers some requests 500/503/SlowDown/429, drops connections before the
// body and loses responses after forwarding. Each faulted request fails exactly once
// (--times 1), so the number of retries is known.
#include <algorithm>
#include <map>
#include <set>

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

}  // namespace

TEST_CASE("upload s3: retries through 500, 503, SlowDown, 429, dropped and lost connections, object equals the source",
          "[upload][s3][faults]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(40 * 16384 + 555, 21);  // 41 parts
  write_file(dir / "src.bin", data);
  FaultyProxy proxy(dir, "500,ok,slowdown,429,drop,ok,lost,503");
  RunResult r = run_ingot(dir, "upload src.bin " + s3.url("obj") + " --endpoint " + proxy.endpoint +
                                   " --part-size 16K --concurrency 4 --retry-base-ms 400 --json");
  json j = report(r);
  REQUIRE(r.code == 0);
  CHECK(j["verified"] == true);
  CHECK(j["stats"]["units"] == 41);
  CHECK(s3.get("obj", 10 * 16384) == data);  // from Swift directly, not through the proxy; 10 parts per GET

  // Every faulted request was retried once, and the report counts those retries.
  std::map<std::string, std::vector<json>> by_request;
  std::size_t faults = 0;
  for (const json& e : proxy.log()) {
    by_request[e["req"]].push_back(e);
    faults += e["fault"] != "ok";
  }
  CHECK(faults >= 30);
  // ingot retried every answered failure; libcurl itself resends a request at once when
  // a reused connection turns out closed (drop, lost), without ingot's back-off.
  std::size_t answered = 0;
  for (const auto& [req, attempts] : by_request) {
    const std::string fault = attempts[0]["fault"];
    answered += fault != "ok" && fault != "drop" && fault != "lost";
  }
  CHECK(j["retries"].get<std::size_t>() >= answered);
  CHECK(j["retries"].get<std::size_t>() <= faults);
  std::vector<double> jittered;
  std::size_t kinds = 0;
  std::set<std::string> seen_kinds;
  for (const auto& [req, attempts] : by_request) {
    INFO(req);
    const std::string fault = attempts[0]["fault"];
    if (fault == "ok") {
      CHECK(attempts.size() == 1);
      continue;
    }
    seen_kinds.insert(fault);
    REQUIRE(attempts.size() == 2);
    CHECK(attempts[1]["fault"] == "ok");
    const double gap = attempts[1]["t"].get<double>() - attempts[0]["t"].get<double>();
    if (fault == "429") {
      CHECK(gap >= 1.0);  // Retry-After: 1 is honoured
    } else if (fault != "lost") {
      CHECK(gap < 2.0);
      jittered.push_back(gap);
    }
  }
  kinds = seen_kinds.size();
  CHECK(kinds == 6);
  // Full jitter: the back-offs after the first failure are spread over [0, 400 ms], not one value.
  REQUIRE(jittered.size() >= 10);
  auto [lo, hi] = std::minmax_element(jittered.begin(), jittered.end());
  CHECK(*hi - *lo > 0.1);
}

TEST_CASE("upload s3: --retries 0 fails on the first transient error with exit 3, the rerun resumes",
          "[upload][s3][faults]") {
  TempDir dir;
  S3Env s3;
  // A single PUT: the message says what the server said and that no retry was made.
  write_file(dir / "small.bin", random_bytes(1000, 22));
  {
    FaultyProxy proxy(dir, "slowdown");
    RunResult r =
        run_ingot(dir, "upload small.bin " + s3.url("small") + " --endpoint " + proxy.endpoint + " --retries 0");
    CHECK(r.code == 3);
    CHECK(r.err == "ingot upload: error: " + s3.url("small") +
                       ": HTTP 503 SlowDown: Please reduce your request rate. (no retry: --retries 0)\n");
    CHECK(!s3.client.head({s3.bucket, "small"}).has_value());
  }
  {
    // Retries that run out say how many attempts were made.
    FaultyProxy proxy(dir, "503", 3);
    RunResult r = run_ingot(dir, "upload small.bin " + s3.url("small") + " --endpoint " + proxy.endpoint +
                                     " --retries 2 --retry-base-ms 10");
    CHECK(r.code == 3);
    CHECK(r.err == "ingot upload: error: " + s3.url("small") +
                       ": HTTP 503 ServiceUnavailable: Please reduce your request rate. (gave up after 3 attempts)\n");
  }
  {
    FaultyProxy proxy(dir, "slowdown");
    // With retries it goes through (the proxy fails each request once: PUT and HEAD).
    RunResult r = run_ingot(
        dir, "upload small.bin " + s3.url("small2") + " --endpoint " + proxy.endpoint + " --retries 1 --json");
    REQUIRE(r.code == 0);
    CHECK(report(r)["retries"] == 2);
  }
  // Multipart: the 5th part fails; the parts and the journal stay, and the same command
  // (straight to Swift this time) resumes and sends only what is missing.
  const std::string data = random_bytes(30 * 16384, 23);
  write_file(dir / "big.bin", data);
  {
    FaultyProxy proxy(dir, "ok,ok,ok,ok,500", 1, "partNumber=");
    RunResult r = run_ingot(dir, "upload big.bin " + s3.url("big") + " --endpoint " + proxy.endpoint +
                                     " --part-size 16K --concurrency 1 --retries 0");
    CHECK(r.code == 3);
    CHECK(r.err.find("HTTP 500 InternalError: We encountered an internal error. Please try again. (no retry: "
                     "--retries 0); parts kept: rerun the same command (or add --resume) to continue, or --abort\n") !=
          std::string::npos);
    CHECK(lines_of(r.err).size() == 1);
  }
  REQUIRE(!find_journal(dir.path()).empty());
  RunResult r = run_ingot(dir, "upload big.bin " + s3.url("big") + s3.flags + "--part-size 16K --json");
  json j = report(r);
  REQUIRE(r.code == 0);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units_skipped"] == 4);
  CHECK(j["stats"]["units_sent"] == 26);
  CHECK(s3.get("big", 10 * 16384) == data);
}

TEST_CASE("upload s3: a refused part (403) aborts the upload, or with --keep-parts keeps it for a rerun",
          "[upload][s3][faults]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(20 * 16384, 24);
  write_file(dir / "src.bin", data);
  for (bool keep : {false, true}) {
    INFO("--keep-parts " << keep);
    const std::string key = keep ? "kept" : "aborted";
    {
      FaultyProxy proxy(dir, "ok,ok,403", 1, "partNumber=");
      RunResult r = run_ingot(dir, "upload src.bin " + s3.url(key) + " --endpoint " + proxy.endpoint +
                                       " --part-size 16K --concurrency 2" + (keep ? " --keep-parts" : ""));
      CHECK(r.code == 3);
      CHECK(r.err.find("HTTP 403 AccessDenied: Access Denied") != std::string::npos);
      CHECK(lines_of(r.err).size() == 1);
    }
    CHECK(s3.uploads(key).size() == (keep ? 1u : 0u));
    CHECK(find_journal(dir.path()).empty() == !keep);
    CHECK(!s3.client.head({s3.bucket, key}).has_value());
  }
  RunResult r = run_ingot(dir, "upload src.bin " + s3.url("kept") + s3.flags + "--part-size 16K --json");
  json j = report(r);
  REQUIRE(r.code == 0);
  CHECK(j["resumed"] == true);
  CHECK(j["stats"]["units_skipped"].get<int>() >= 2);
  CHECK(s3.get("kept", 10 * 16384) == data);
}

TEST_CASE("upload s3: a lost response to CompleteMultipartUpload is retried and the object verified",
          "[upload][s3][faults]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(5 * 16384, 25);
  write_file(dir / "src.bin", data);
  FaultyProxy proxy(dir, "lost", 1, "^POST .*uploadId=");
  RunResult r =
      run_ingot(dir, "upload src.bin " + s3.url("obj") + " --endpoint " + proxy.endpoint + " --part-size 16K --json");
  json j = report(r);
  REQUIRE(r.code == 0);
  CHECK(j["verified"] == true);
  CHECK(s3.get("obj", 10 * 16384) == data);
  // The completion reached the server twice: the first answer was lost.
  std::vector<std::string> completes;
  for (const json& e : proxy.log()) {
    if (e["req"].get<std::string>().rfind("POST", 0) == 0 &&
        e["req"].get<std::string>().find("uploadId=") != std::string::npos) {
      completes.push_back(e["fault"]);
    }
  }
  CHECK(completes == std::vector<std::string>{"lost", "ok"});
}

TEST_CASE("upload s3: HEAD verification catches an object whose ETag is not the parts' (exit 3)",
          "[upload][s3][faults]") {
  TempDir dir;
  S3Env s3;
  write_file(dir / "src.bin", random_bytes(3 * 16384, 26));
  FaultyProxy proxy(dir, "etag", 1, "^HEAD ");
  RunResult r =
      run_ingot(dir, "upload src.bin " + s3.url("obj") + " --endpoint " + proxy.endpoint + " --part-size 16K --json");
  CHECK(r.code == 3);
  CHECK(r.err.find(": verification failed: ETag 00000000000000000000000000000000-1, expected ") != std::string::npos);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(report(r)["status"] == "error");
}

TEST_CASE("upload s3: a completion answered NoSuchUpload after it happened is recognised by HEAD",
          "[upload][s3][faults]") {
  TempDir dir;
  S3Env s3;
  const std::string data = random_bytes(5 * 16384, 27);
  write_file(dir / "src.bin", data);
  // The proxy forwards the completion, then answers 404 NoSuchUpload, as S3 answers a
  // completion retried after its first response was lost.
  FaultyProxy proxy(dir, "gone", 1, "^POST .*uploadId=");
  RunResult r =
      run_ingot(dir, "upload src.bin " + s3.url("obj") + " --endpoint " + proxy.endpoint + " --part-size 16K --json");
  json j = report(r);
  REQUIRE(r.code == 0);
  CHECK(j["verified"] == true);
  CHECK(j["note"] == "the upload had been completed by an earlier attempt whose response was lost");
  CHECK(s3.get("obj") == data);

  // A NoSuchUpload for an upload that did not complete stays an error.
  write_file(dir / "other.bin", random_bytes(5 * 16384, 28));
  FaultyProxy gone(dir, "404", 1, "^PUT .*partNumber=3");
  r = run_ingot(dir, "upload other.bin " + s3.url("other") + " --endpoint " + gone.endpoint + " --part-size 16K");
  CHECK(r.code == 3);
  CHECK(r.err.find("HTTP 404 NoSuchUpload") != std::string::npos);
  CHECK(!s3.client.head({s3.bucket, "other"}).has_value());
}

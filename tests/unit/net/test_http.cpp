// net/http's retry policy without a server: the back-off's jitter and cap, and when a
// response's Retry-After counts (429 and 503 only, at most kMaxRetryAfterSeconds).
#include <catch2/catch.hpp>

#include <set>

#include "ingot/net/http/http.h"

using namespace ingot;

TEST_CASE("http: retry delay is full jitter under a doubling cap, Retry-After seconds win", "[http]") {
  std::set<unsigned> seen;
  for (int i = 0; i < 200; ++i) {
    unsigned d = http::retry_delay_ms(100, 0);
    CHECK(d <= 100);
    seen.insert(d);
    CHECK(http::retry_delay_ms(100, 3) <= 800);
    CHECK(http::retry_delay_ms(100, 30) <= 20000);  // capped at 20 s
  }
  CHECK(seen.size() > 20);  // jitter: not one fixed delay
  CHECK(http::retry_delay_ms(100, 0, "2") == 2000);
  CHECK(http::retry_delay_ms(100, 0, "3600") == 60000);                         // capped at a minute
  CHECK(http::retry_delay_ms(100, 0, "Wed, 21 Oct 2015 07:28:00 GMT") <= 100);  // a date: ignored
}

TEST_CASE("http: a response's Retry-After counts on 429 and 503 only", "[http]") {
  const http::RetryPolicy p{5, 1};  // back-off at most 1 ms on attempt 0
  http::Response r;
  r.headers["retry-after"] = "7";
  for (long status : {429L, 503L}) {
    r.status = status;
    CHECK(http::retry_delay_ms(p, 0, r) == 7000);
  }
  for (long status : {500L, 502L, 408L}) {
    r.status = status;
    CHECK(http::retry_delay_ms(p, 0, r) <= 1);
  }
  r.status = 0;
  r.error = "Couldn't connect to server";
  CHECK(http::retry_delay_ms(p, 0, r) <= 1);
}

TEST_CASE("http: transient failures are the ones worth another attempt", "[http]") {
  http::Response r;
  r.error = "Recv failure";
  CHECK(http::default_verdict(r) == http::Verdict::retry);
  r.error.clear();
  for (long s : {500L, 502L, 503L, 429L, 408L}) {
    r.status = s;
    CHECK(http::default_verdict(r) == http::Verdict::retry);
  }
  for (long s : {400L, 401L, 403L, 404L, 413L}) {
    r.status = s;
    CHECK(http::default_verdict(r) == http::Verdict::fail);
  }
  r.status = 204;
  CHECK(http::default_verdict(r) == http::Verdict::ok);
}

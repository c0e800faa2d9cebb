// net/http: the one HTTP client layer under every network target (the S3 client and
// the HTTP upload): libcurl easy handles (one per thread, its connections kept alive),
// the body and header callbacks, the options every request shares (timeouts, no
// signals), and the one retry policy: which failures are transient, how long to wait
// before the next attempt (Retry-After, else back-off with full jitter).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

typedef void CURL;  // as libcurl declares it

namespace ingot::http {

// This thread's libcurl easy handle, reset for a new request; its connection cache
// survives the reset, so one worker's requests reuse a keep-alive connection.
// curl_global_init runs once.
CURL* thread_handle();
void global_init();

struct Request {
  std::string method = "GET";  // GET, HEAD, or a method that sends body (PUT, POST, DELETE)
  std::string url;
  std::vector<std::string> headers;      // "Name: value"
  std::string_view body;                 // sent with every method but GET and HEAD, even when empty
  std::function<void(CURL*)> configure;  // the target's own options (signing, .netrc)
};

struct Response {
  long status = 0;    // 0: no response (error says why)
  std::string error;  // libcurl's message for a network failure; empty when the server answered
  std::string body;
  std::map<std::string, std::string> headers;  // of the last response; names lower-cased
  std::string header(const std::string& name) const;
  bool success() const { return error.empty() && status >= 200 && status < 300; }
};

// One attempt, no retry. Counted in util/net_traffic.h (one request, the body bytes
// received as they arrive and those sent), the only place traffic is counted.
Response perform(const Request& req);

// Worth another attempt: no response at all (connection refused, dropped, stalled for
// a minute), 5xx, 429 Too Many Requests, 408 Request Timeout.
bool transient(const Response& r);

// The one retry policy: `retries` attempts after the first, for transient failures.
struct RetryPolicy {
  unsigned retries = 5;
  unsigned base_ms = 200;  // first back-off; doubles per attempt up to 20 s, full jitter
};

// A Retry-After longer than this is cut to it: a client stalled for longer looks hung.
constexpr unsigned kMaxRetryAfterSeconds = 60;

// How long to wait before retry number attempt+1 (attempt is 0-based): retry_after
// when it is whole seconds (capped at kMaxRetryAfterSeconds), else (none, or an
// HTTP-date) exponential back-off with full jitter, uniform in
// [0, min(20 s, base_ms * 2^attempt)].
unsigned retry_delay_ms(unsigned base_ms, unsigned attempt, std::string_view retry_after = {});
// The same after response r: its Retry-After counts on 429 and 503 only (RFC 9110 and
// RFC 6585 define it there).
unsigned retry_delay_ms(const RetryPolicy& policy, unsigned attempt, const Response& r);

enum class Verdict { ok, retry, fail };
// 2xx ok, transient() retry, anything else fail.
Verdict default_verdict(const Response& r);

struct Outcome {
  Response response;                // the last one
  unsigned attempts = 0;            // requests sent (1 + retries)
  Verdict verdict = Verdict::fail;  // ok, or why it stopped: fail, or retry when the retries ran out
  bool ok() const { return verdict == Verdict::ok; }
};

// Sends req until judge says ok or fail or the policy's retries are spent, waiting
// retry_delay_ms between attempts.
Outcome send(const Request& req, const RetryPolicy& policy,
             const std::function<Verdict(const Response&)>& judge = default_verdict);

}  // namespace ingot::http

#include "ingot/net/http/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>

#include "ingot/util/error.h"
#include "ingot/util/net_traffic.h"

namespace ingot::http {

namespace {

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

size_t on_body(char* p, size_t size, size_t n, void* user) {
  net_traffic::add_bytes_in(size * n);  // as it arrives: progress shows a live rate
  static_cast<std::string*>(user)->append(p, size * n);
  return size * n;
}

size_t on_header(char* p, size_t size, size_t n, void* user) {
  auto* h = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(p, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    (*h)[name] = trim(line.substr(colon + 1));
  } else if (line.rfind("HTTP/", 0) == 0) {
    h->clear();  // a new response (after 100-continue or a redirect)
  }
  return size * n;
}

}  // namespace

// curl_global_init is not thread-safe; do it once before any handle exists.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// One easy handle per thread: curl_easy_reset keeps its connection cache, so the
// parts a worker sends reuse one keep-alive connection.
CURL* thread_handle() {
  struct Holder {
    CURL* h = nullptr;
    ~Holder() {
      if (h) curl_easy_cleanup(h);
    }
  };
  thread_local Holder holder;
  if (!holder.h) {
    global_init();
    holder.h = curl_easy_init();
    if (!holder.h) throw remote_error("cannot initialise libcurl");
  } else {
    curl_easy_reset(holder.h);
  }
  return holder.h;
}

std::string Response::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

Response perform(const Request& req) {
  CURL* h = thread_handle();
  Response r;
  curl_slist* hl = nullptr;
  for (const std::string& s : req.headers) hl = curl_slist_append(hl, s.c_str());
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled connection (no byte for a minute) counts as a network failure.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    // Always a body (maybe empty) so Content-Length is sent.
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "POST") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.configure) req.configure(h);
  // The one place that counts traffic (util/net_traffic.h): every attempt is a request.
  net_traffic::add_request();
  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(hl);
  curl_off_t sent = 0;
  if (curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent > 0)
    net_traffic::add_bytes_out(static_cast<std::uint64_t>(sent));
  if (rc != CURLE_OK) {
    r.error = curl_easy_strerror(rc);
  } else {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  }
  return r;
}

bool transient(const Response& r) { return !r.error.empty() || r.status >= 500 || r.status == 429 || r.status == 408; }

unsigned retry_delay_ms(unsigned base_ms, unsigned attempt, std::string_view retry_after) {
  if (!retry_after.empty() && retry_after.size() <= 6 &&
      std::all_of(retry_after.begin(), retry_after.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::min(kMaxRetryAfterSeconds, static_cast<unsigned>(std::stoul(std::string(retry_after)))) * 1000u;
  }
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uint64_t cap = std::min<std::uint64_t>(20000, std::uint64_t{base_ms} << std::min(attempt, 16u));
  return static_cast<unsigned>(std::uniform_int_distribution<std::uint64_t>(0, cap)(rng));
}

unsigned retry_delay_ms(const RetryPolicy& policy, unsigned attempt, const Response& r) {
  const bool says_when = r.error.empty() && (r.status == 429 || r.status == 503);
  const std::string after = says_when ? r.header("retry-after") : std::string();
  return retry_delay_ms(policy.base_ms, attempt, after);
}

Verdict default_verdict(const Response& r) {
  if (r.success()) return Verdict::ok;
  return transient(r) ? Verdict::retry : Verdict::fail;
}

Outcome send(const Request& req, const RetryPolicy& policy, const std::function<Verdict(const Response&)>& judge) {
  Outcome out;
  for (unsigned attempt = 0;; ++attempt) {
    out.response = perform(req);
    out.attempts = attempt + 1;
    out.verdict = judge(out.response);
    if (out.verdict != Verdict::retry || attempt >= policy.retries) return out;
    std::this_thread::sleep_for(std::chrono::milliseconds(retry_delay_ms(policy, attempt, out.response)));
  }
}

}  // namespace ingot::http

#include "ingot/net/s3/s3.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "ingot/net/redact.h"

namespace ingot::s3 {

namespace {

std::string getenv_str(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// curl_global_init is not thread-safe; do it once before any handle exists.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* p, size_t size, size_t n, void* user) {
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

bool is_ip_or_localhost(const std::string& host) {
  if (host == "localhost" || host.front() == '[') return true;
  return std::all_of(host.begin(), host.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

std::string strip_quotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string digest_md5(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_md5(), nullptr) != 1) throw io_error("MD5 failed");
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string to_hex(std::string_view bin) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char c : bin) {
    s += d[c >> 4];
    s += d[c & 15];
  }
  return s;
}

}  // namespace

// One easy handle per thread: curl_easy_reset keeps its connection cache, so the
// parts a worker sends reuse one keep-alive connection.
CURL* curl_thread_handle() {
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


Credentials find_credentials() {
  Credentials c;
  c.access_key = getenv_str("AWS_ACCESS_KEY_ID");
  c.secret_key = getenv_str("AWS_SECRET_ACCESS_KEY");
  c.session_token = getenv_str("AWS_SESSION_TOKEN");
  if (!c.access_key.empty() && !c.secret_key.empty()) return c;
  std::string file = getenv_str("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) file = getenv_str("HOME") + "/.aws/credentials";
  std::string profile = getenv_str("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::ifstream f(file);
  Credentials p;
  bool in = false;
  for (std::string line; std::getline(f, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      in = trim(line.substr(1, line.find(']') - 1)) == profile;
      continue;
    }
    auto eq = line.find('=');
    if (!in || eq == std::string::npos) continue;
    std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    if (k == "aws_access_key_id") p.access_key = v;
    if (k == "aws_secret_access_key") p.secret_key = v;
    if (k == "aws_session_token") p.session_token = v;
  }
  if (!p.access_key.empty() && !p.secret_key.empty()) return p;
  throw usage_error("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile '" + profile +
                    "' in " + file);
}

bool is_s3_url(std::string_view s) { return s.rfind("s3://", 0) == 0; }

Location parse_url(const std::string& url) {
  if (!is_s3_url(url)) throw usage_error("not an s3:// URL: " + url);
  std::string rest = url.substr(5);
  auto slash = rest.find('/');
  Location l;
  l.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) l.key = rest.substr(slash + 1);
  if (l.bucket.size() < 3) throw usage_error("bad bucket name in " + url + " (3 to 63 characters)");
  return l;
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  static const char* d = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += d[c >> 4];
      out += d[c & 15];
    }
  }
  return out;
}

std::string md5_hex(std::string_view data) { return to_hex(digest_md5(data)); }

namespace {
std::string to_base64(std::string_view bin) {
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, reinterpret_cast<const unsigned char*>(bin.data()), static_cast<int>(bin.size()));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}
}  // namespace

std::string md5_base64(std::string_view data) { return to_base64(digest_md5(data)); }

Md5 md5(std::string_view data) {
  std::string bin = digest_md5(data);
  return {to_hex(bin), to_base64(bin)};
}

std::string multipart_etag(const std::vector<std::string>& part_md5_hex) {
  std::string cat;
  for (const std::string& h : part_md5_hex) {
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) cat += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return md5_hex(cat) + "-" + std::to_string(part_md5_hex.size());
}

std::vector<std::string_view> xml_elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> v;
  std::string open = "<" + std::string(tag) + ">", close = "</" + std::string(tag) + ">";
  std::size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    std::size_t b = pos + open.size();
    std::size_t e = xml.find(close, b);
    if (e == std::string_view::npos) break;
    v.push_back(xml.substr(b, e - b));
    pos = e + close.size();
  }
  return v;
}

std::string xml_text(std::string_view xml, std::string_view tag) {
  auto v = xml_elements(xml, tag);
  if (v.empty()) return "";
  std::string s(v[0]), out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      static const std::pair<const char*, char> ents[] = {
          {"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}, {"&#34;", '"'}};
      bool done = false;
      for (auto& [e, c] : ents) {
        if (s.compare(i, std::strlen(e), e) == 0) {
          out += c;
          i += std::strlen(e) - 1;
          done = true;
          break;
        }
      }
      if (!done) out += '&';
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Response::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

struct Client::Counters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> retries{0};
};

unsigned retry_delay_ms(unsigned base_ms, unsigned attempt, std::string_view retry_after) {
  if (!retry_after.empty() && retry_after.size() <= 6 &&
      std::all_of(retry_after.begin(), retry_after.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::min(kMaxRetryAfterSeconds, static_cast<unsigned>(std::stoul(std::string(retry_after)))) * 1000u;
  }
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::uint64_t cap = std::min<std::uint64_t>(20000, std::uint64_t{base_ms} << std::min(attempt, 16u));
  return static_cast<unsigned>(std::uniform_int_distribution<std::uint64_t>(0, cap)(rng));
}

Client::Client(Config cfg) : cfg_(std::move(cfg)), counters_(std::make_shared<Counters>()) {
  global_init();
  if (cfg_.region.empty()) cfg_.region = getenv_str("AWS_REGION");
  if (cfg_.region.empty()) cfg_.region = getenv_str("AWS_DEFAULT_REGION");
  if (cfg_.region.empty()) cfg_.region = "us-east-1";
  if (cfg_.endpoint.empty()) cfg_.endpoint = getenv_str("AWS_ENDPOINT_URL_S3");
  if (cfg_.endpoint.empty()) cfg_.endpoint = getenv_str("AWS_ENDPOINT_URL");
  if (cfg_.endpoint.empty()) cfg_.endpoint = "https://s3." + cfg_.region + ".amazonaws.com";
  while (!cfg_.endpoint.empty() && cfg_.endpoint.back() == '/') cfg_.endpoint.pop_back();
  if (cfg_.endpoint.find("://") == std::string::npos) throw usage_error("--endpoint must be a URL: " + redacted(cfg_.endpoint));
  scheme_host_ = cfg_.endpoint;
  std::string host = scheme_host_.substr(scheme_host_.find("://") + 3);
  host = host.substr(0, host.find_first_of(":/"));
  // Virtual-hosted addressing cannot work with an IP host: the bucket must be in the path.
  if (host.empty() || is_ip_or_localhost(host)) cfg_.path_style = true;
  sigv4_ = "aws:amz:" + cfg_.region + ":s3";
}

std::uint64_t Client::bytes_sent() const { return counters_->sent.load(); }
std::uint64_t Client::retries() const { return counters_->retries.load(); }

std::string Client::url_for(const Location& where, const std::map<std::string, std::string>& query) const {
  std::string url;
  std::string path = where.key.empty() ? "/" : "/" + uri_encode(where.key, true);
  if (cfg_.path_style) {
    url = scheme_host_ + "/" + uri_encode(where.bucket, false) + (where.key.empty() ? "" : path);
  } else {
    auto p = scheme_host_.find("://") + 3;
    url = scheme_host_.substr(0, p) + where.bucket + "." + scheme_host_.substr(p) + path;
  }
  // curl signs the query string exactly as given: sorted (std::map), every
  // parameter with '=', values encoded with upper-case hex.
  char sep = '?';
  for (const auto& [k, v] : query) {
    url += sep + uri_encode(k, false) + "=" + uri_encode(v, false);
    sep = '&';
  }
  return url;
}

Response Client::request(const std::string& method, const Location& where,
                         const std::map<std::string, std::string>& query, std::vector<std::string> headers,
                         std::string_view body, bool no_body) {
  const std::string url = url_for(where, query);
  // s3api (and AWS) require x-amz-content-sha256; curl 7.88 does not add it but
  // signs it when we do. Integrity comes from Content-MD5 on bodies instead.
  headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  (void)no_body;
  if (method != "GET" && method != "HEAD" &&
      std::none_of(headers.begin(), headers.end(), [](const std::string& s) { return s.rfind("Content-Type:", 0) == 0; })) {
    headers.push_back("Content-Type: application/octet-stream");
  }
  if (!cfg_.creds.session_token.empty()) headers.push_back("x-amz-security-token: " + cfg_.creds.session_token);
  std::string where_s = "s3://" + where.bucket + "/" + where.key;
  for (unsigned attempt = 0;; ++attempt) {
    CURL* h = curl_thread_handle();
    Response r;
    curl_slist* hl = nullptr;
    for (const std::string& s : headers) hl = curl_slist_append(hl, s.c_str());
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    // The key is sent exactly as given, as aws cli sends it: curl would otherwise drop
    // "./" and fold "dir/../" (RFC 3986), storing another key, or with path-style
    // addressing another bucket ("s3://a/../b/k" -> bucket b). S3 signs the path
    // unnormalised, and curl's SigV4 signs the path it sends.
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    // The access key may contain ':' (Swift's "test:tester"): CURLOPT_USERPWD would split there.
    curl_easy_setopt(h, CURLOPT_USERNAME, cfg_.creds.access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, cfg_.creds.secret_key.c_str());
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
    // curl sends "Expect: 100-continue" with bodies over 1 MiB and waits for the go-ahead;
    // send the part at once instead (a refusal costs only the part). An empty "Expect:"
    // header would switch it off too, but curl signs the empty header without sending it.
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    if (method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      // Always a body (maybe empty) so Content-Length is sent; never curl's default
      // form Content-Type, and never an empty "Header:" line (curl signs it but does not send it).
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.empty() ? "" : body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    counters_->sent += body.size();
    std::string what;
    bool transient = false;
    std::string code;
    if (rc != CURLE_OK) {
      what = std::string(curl_easy_strerror(rc)) + " (" + redacted(cfg_.endpoint) + ")";
      transient = true;
    } else {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
      // CompleteMultipartUpload may answer 200 with an <Error> body.
      bool error_in_200 = r.status == 200 && method == "POST" && r.body.find("<Error>") != std::string::npos;
      if (r.status >= 200 && r.status < 300 && !error_in_200) return r;
      code = xml_text(r.body, "Code");
      std::string msg = xml_text(r.body, "Message");
      what = "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + (msg.empty() ? "" : ": " + msg);
      if (code == "SignatureDoesNotMatch") what += " (check the secret key)";
      if (code == "InvalidAccessKeyId") what += " (check the access key)";
      transient = r.status >= 500 || r.status == 429 || r.status == 408 || error_in_200 || code == "RequestTimeout" ||
                  code == "SlowDown";
    }
    if (!transient || attempt >= cfg_.retries) {
      if (transient) {
        what += attempt > 0 ? " (gave up after " + std::to_string(attempt + 1) + " attempts)"
                            : " (no retry: --retries 0)";
      }
      S3Error e(what, r.status, code, transient);
      e.at_path(where_s);
      throw e;
    }
    ++counters_->retries;
    std::this_thread::sleep_for(std::chrono::milliseconds(retry_delay_ms(cfg_.retry_base_ms, attempt, r.header("retry-after"))));
  }
}

void Client::put_object(const Location& at, std::string_view data, const std::string& md5) {
  request("PUT", at, {}, {"Content-MD5: " + md5, "Content-Type: application/octet-stream"}, data);
}

std::string Client::create_multipart(const Location& at) {
  Response r = request("POST", at, {{"uploads", ""}}, {"Content-Type: application/octet-stream"}, {}, true);
  std::string id = xml_text(r.body, "UploadId");
  if (id.empty()) throw remote_error("CreateMultipartUpload answered without an UploadId").at_path("s3://" + at.bucket + "/" + at.key);
  return id;
}

std::string Client::upload_part(const Location& at, const std::string& upload_id, unsigned part, std::string_view data,
                                const std::string& md5) {
  Response r = request("PUT", at, {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}},
                       {"Content-MD5: " + md5}, data);
  return strip_quotes(r.header("etag"));
}

std::vector<PartInfo> Client::list_parts(const Location& at, const std::string& upload_id, unsigned page_size) {
  std::vector<PartInfo> parts;
  std::string marker;
  for (;;) {
    std::map<std::string, std::string> q = {{"max-parts", std::to_string(page_size)}, {"uploadId", upload_id}};
    if (!marker.empty()) q["part-number-marker"] = marker;
    Response r = request("GET", at, q, {});
    for (std::string_view p : xml_elements(r.body, "Part")) {
      PartInfo pi;
      pi.number = static_cast<unsigned>(std::stoul(xml_text(p, "PartNumber")));
      pi.size = std::stoull(xml_text(p, "Size"));
      pi.etag = strip_quotes(xml_text(p, "ETag"));
      parts.push_back(pi);
    }
    if (xml_text(r.body, "IsTruncated") != "true") break;
    std::string next = xml_text(r.body, "NextPartNumberMarker");
    if (next.empty() || next == marker) break;
    marker = next;
  }
  return parts;
}

std::string Client::complete_multipart(const Location& at, const std::string& upload_id,
                                       const std::vector<PartInfo>& parts) {
  std::string xml = "<CompleteMultipartUpload>";
  for (const PartInfo& p : parts) {
    xml += "<Part><PartNumber>" + std::to_string(p.number) + "</PartNumber><ETag>\"" + p.etag + "\"</ETag></Part>";
  }
  xml += "</CompleteMultipartUpload>";
  Response r = request("POST", at, {{"uploadId", upload_id}}, {"Content-Type: application/xml"}, xml);
  return strip_quotes(xml_text(r.body, "ETag"));
}

void Client::abort_multipart(const Location& at, const std::string& upload_id) {
  request("DELETE", at, {{"uploadId", upload_id}}, {}, {}, true);
}

std::optional<ObjectInfo> Client::head(const Location& at) {
  try {
    Response r = request("HEAD", at, {}, {});
    ObjectInfo o;
    o.key = at.key;
    o.size = std::stoull(r.header("content-length").empty() ? "0" : r.header("content-length"));
    o.etag = strip_quotes(r.header("etag"));
    o.modified = r.header("last-modified");
    return o;
  } catch (const S3Error& e) {
    if (e.status() == 404) return std::nullopt;
    throw;
  }
}

std::vector<UploadInfo> Client::list_uploads(const Location& at, unsigned page_size) {
  std::vector<UploadInfo> out;
  std::string key_marker, id_marker;
  Location bucket{at.bucket, ""};
  for (;;) {
    std::map<std::string, std::string> q = {{"uploads", ""}, {"max-uploads", std::to_string(page_size)}};
    if (!at.key.empty()) q["prefix"] = at.key;
    if (!key_marker.empty()) q["key-marker"] = key_marker;
    if (!id_marker.empty()) q["upload-id-marker"] = id_marker;
    Response r = request("GET", bucket, q, {});
    auto uploads = xml_elements(r.body, "Upload");
    for (std::string_view u : uploads) {
      out.push_back({xml_text(u, "Key"), xml_text(u, "UploadId"), xml_text(u, "Initiated")});
    }
    if (xml_text(r.body, "IsTruncated") != "true" || uploads.empty()) break;
    // Swift sends empty Next*Marker elements on a truncated page: go on from the last entry.
    std::string next_key = xml_text(r.body, "NextKeyMarker"), next_id = xml_text(r.body, "NextUploadIdMarker");
    if (next_key.empty()) {
      next_key = out.back().key;
      next_id = out.back().upload_id;
    }
    if (next_key == key_marker && next_id == id_marker) break;
    key_marker = next_key;
    id_marker = next_id;
  }
  return out;
}

std::vector<ObjectInfo> Client::list_objects(const Location& at, unsigned page_size) {
  std::vector<ObjectInfo> out;
  std::string token;
  Location bucket{at.bucket, ""};
  for (;;) {
    std::map<std::string, std::string> q = {{"list-type", "2"}, {"max-keys", std::to_string(page_size)}};
    if (!at.key.empty()) q["prefix"] = at.key;
    if (!token.empty()) q["continuation-token"] = token;
    Response r = request("GET", bucket, q, {});
    for (std::string_view c : xml_elements(r.body, "Contents")) {
      ObjectInfo o;
      o.key = xml_text(c, "Key");
      o.size = std::stoull(xml_text(c, "Size"));
      o.etag = strip_quotes(xml_text(c, "ETag"));
      o.modified = xml_text(c, "LastModified");
      out.push_back(std::move(o));
    }
    if (xml_text(r.body, "IsTruncated") != "true") break;
    std::string next = xml_text(r.body, "NextContinuationToken");
    if (next.empty() || next == token) break;
    token = next;
  }
  return out;
}

std::string Client::get_object(const Location& at) { return request("GET", at, {}, {}).body; }

void Client::create_bucket(const std::string& bucket) {
  try {
    request("PUT", Location{bucket, ""}, {}, {}, {}, true);
  } catch (const S3Error& e) {
    if (e.code() != "BucketAlreadyOwnedByYou" && e.code() != "BucketAlreadyExists") throw;
  }
}

}  // namespace ingot::s3

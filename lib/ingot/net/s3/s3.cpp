#include "ingot/net/s3/s3.h"

#include <curl/curl.h>
#include <expat.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "ingot/net/redact.h"
#include "ingot/pipeline/records.h"

namespace ingot::s3 {

namespace {

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

std::string md5_base64(std::string_view data) {
  std::string out;
  append_base64(out, digest_md5(data));
  return out;
}

Md5 md5(std::string_view data) {
  std::string bin = digest_md5(data);
  Md5 m{to_hex(bin), {}};
  append_base64(m.base64, bin);
  return m;
}

std::string multipart_etag(const std::vector<std::string>& part_md5_hex) {
  std::string cat;
  for (const std::string& h : part_md5_hex) {
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) cat += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return md5_hex(cat) + "-" + std::to_string(part_md5_hex.size());
}

std::string XmlElement::text_of(std::string_view n) const {
  for (const XmlElement& c : children) {
    if (c.name == n) return c.text;
  }
  return "";
}

std::vector<const XmlElement*> XmlElement::all(std::string_view n) const {
  std::vector<const XmlElement*> v;
  for (const XmlElement& c : children) {
    if (c.name == n) v.push_back(&c);
  }
  return v;
}

std::optional<XmlElement> parse_xml(std::string_view body) {
  struct Builder {
    XmlElement root;
    std::vector<XmlElement*> open;  // the path from the root to the current element
    bool seen_root = false;
  } b;
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> p(XML_ParserCreate(nullptr), XML_ParserFree);
  if (!p) throw remote_error("cannot create an XML parser");
  XML_SetUserData(p.get(), &b);
  XML_SetElementHandler(
      p.get(),
      [](void* u, const XML_Char* name, const XML_Char**) {
        auto& bb = *static_cast<Builder*>(u);
        std::string_view n(name);
        if (auto colon = n.rfind(':'); colon != std::string_view::npos) n.remove_prefix(colon + 1);
        XmlElement* e = nullptr;
        if (bb.open.empty()) {
          e = &bb.root;
          bb.seen_root = true;
        } else {
          e = &bb.open.back()->children.emplace_back();
        }
        e->name = n;
        bb.open.push_back(e);
      },
      [](void* u, const XML_Char*) { static_cast<Builder*>(u)->open.pop_back(); });
  XML_SetCharacterDataHandler(p.get(), [](void* u, const XML_Char* s, int len) {
    auto& bb = *static_cast<Builder*>(u);
    if (!bb.open.empty()) bb.open.back()->text.append(s, static_cast<std::size_t>(len));
  });
  if (XML_Parse(p.get(), body.data(), static_cast<int>(body.size()), XML_TRUE) != XML_STATUS_OK || !b.seen_root) {
    return std::nullopt;
  }
  return std::move(b.root);
}

namespace {

std::string where_of(const Location& at) { return "s3://" + at.bucket + "/" + at.key; }

// The XML body of a successful response; a body that is not XML is the server's fault.
XmlElement document(const Response& r, const Location& at) {
  auto x = parse_xml(r.body);
  if (!x) throw remote_error("the server answered with a body that is not well-formed XML").at_path(where_of(at));
  return std::move(*x);
}

// An S3 error response's <Code>, "" when the body is not one.
std::string error_code(const std::string& body) {
  const auto x = parse_xml(body);
  return x ? x->text_of("Code") : "";
}

std::uint64_t number(const std::string& text, const char* what, const Location& at) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    throw remote_error(std::string("the server's ") + what + " '" + text + "' is not a number").at_path(where_of(at));
  }
  return v;
}

}  // namespace

struct Client::Counters {
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> retries{0};
};

Client::Client(Config cfg) : cfg_(std::move(cfg)), counters_(std::make_shared<Counters>()) {
  http::global_init();
  const Profile profile = load_profile(cfg_.profile);
  cfg_.region = find_region(cfg_.region, profile);
  if (cfg_.endpoint.empty()) cfg_.endpoint = find_endpoint("s3", profile);
  if (cfg_.endpoint.empty()) cfg_.endpoint = "https://s3." + cfg_.region + ".amazonaws.com";
  if (profile.get("s3.addressing_style") == "path") cfg_.path_style = true;
  while (!cfg_.endpoint.empty() && cfg_.endpoint.back() == '/') cfg_.endpoint.pop_back();
  if (cfg_.endpoint.find("://") == std::string::npos)
    throw usage_error("--endpoint must be a URL: " + redacted(cfg_.endpoint));
  scheme_host_ = cfg_.endpoint;
  std::string host = scheme_host_.substr(scheme_host_.find("://") + 3);
  host = host.substr(0, host.find_first_of(":/"));
  // Virtual-hosted addressing cannot work with an IP host: the bucket must be in the path.
  if (host.empty() || is_ip_or_localhost(host)) cfg_.path_style = true;
  sigv4_ = "aws:amz:" + cfg_.region + ":s3";
  if (cfg_.creds.access_key.empty()) cfg_.creds = find_credentials(profile, cfg_.region);
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
  return send(method, where, query, std::move(headers), body, no_body, false);
}

Response Client::send(const std::string& method, const Location& where, const std::map<std::string, std::string>& query,
                      std::vector<std::string> headers, std::string_view body, bool no_body, bool sign_here) {
  http::Request req;
  req.method = method;
  req.url = url_for(where, query);
  req.body = body;
  // s3api (and AWS) require x-amz-content-sha256; curl 7.88 does not add it but
  // signs it when we do. Integrity comes from Content-MD5 on bodies instead.
  headers.push_back("x-amz-content-sha256: UNSIGNED-PAYLOAD");
  (void)no_body;
  // Never curl's default form Content-Type, and never an empty "Header:" line (curl
  // signs it but does not send it).
  if (method != "GET" && method != "HEAD" && std::none_of(headers.begin(), headers.end(), [](const std::string& s) {
        return s.rfind("Content-Type:", 0) == 0;
      })) {
    headers.push_back("Content-Type: application/octet-stream");
  }
  if (!cfg_.creds.session_token.empty()) headers.push_back("x-amz-security-token: " + cfg_.creds.session_token);
  if (sign_here) sign_v4(method, req.url, headers);
  req.headers = std::move(headers);
  req.configure = [this, sign_here](CURL* h) {
    // The key is sent exactly as given, as aws cli sends it: curl would otherwise drop
    // "./" and fold "dir/../" (RFC 3986), storing another key, or with path-style
    // addressing another bucket ("s3://a/../b/k" -> bucket b). S3 signs the path
    // unnormalised, and curl's SigV4 signs the path it sends.
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    if (sign_here) return;  // the Authorization header is in place
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    // The access key may contain ':' (Swift's "test:tester"): CURLOPT_USERPWD would split there.
    curl_easy_setopt(h, CURLOPT_USERNAME, cfg_.creds.access_key.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, cfg_.creds.secret_key.c_str());
    // curl sends "Expect: 100-continue" with bodies over 1 MiB and waits for the go-ahead;
    // send the part at once instead (a refusal costs only the part). An empty "Expect:"
    // header would switch it off too, but curl signs the empty header without sending it.
    curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
  };
  // CompleteMultipartUpload may answer 200 with an <Error> body.
  auto error_in_200 = [&](const Response& r) {
    if (r.status != 200 || method != "POST") return false;
    const auto x = parse_xml(r.body);
    return x && x->name == "Error";
  };
  auto judge = [&](const Response& r) {
    if (!r.error.empty()) return http::Verdict::retry;
    if (r.success() && !error_in_200(r)) return http::Verdict::ok;
    const std::string code = error_code(r.body);
    const bool again = http::transient(r) || error_in_200(r) || code == "RequestTimeout" || code == "SlowDown";
    return again ? http::Verdict::retry : http::Verdict::fail;
  };
  const http::Outcome out = http::send(req, {cfg_.retries, cfg_.retry_base_ms}, judge);
  counters_->sent += body.size() * out.attempts;
  counters_->retries += out.attempts - 1;
  const Response& r = out.response;
  if (out.ok()) return r;
  std::string what, code;
  if (!r.error.empty()) {
    what = r.error + " (" + redacted(cfg_.endpoint) + ")";
  } else {
    const auto x = parse_xml(r.body);
    code = x ? x->text_of("Code") : "";
    std::string msg = x ? x->text_of("Message") : "";
    what = "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code) + (msg.empty() ? "" : ": " + msg);
    if (code == "SignatureDoesNotMatch") what += " (check the secret key)";
    if (code == "InvalidAccessKeyId") what += " (check the access key)";
  }
  const bool transient = out.verdict == http::Verdict::retry;
  if (transient) {
    what += out.attempts > 1 ? " (gave up after " + std::to_string(out.attempts) + " attempts)"
                             : " (no retry: --retries 0)";
  }
  S3Error e(what, r.status, code, transient);
  e.at_path("s3://" + where.bucket + "/" + where.key);
  throw e;
}

void Client::put_object(const Location& at, std::string_view data, const std::string& md5) {
  request("PUT", at, {}, {"Content-MD5: " + md5, "Content-Type: application/octet-stream"}, data);
}

std::string Client::create_multipart(const Location& at) {
  Response r = request("POST", at, {{"uploads", ""}}, {"Content-Type: application/octet-stream"}, {}, true);
  std::string id = document(r, at).text_of("UploadId");
  if (id.empty())
    throw remote_error("CreateMultipartUpload answered without an UploadId")
        .at_path("s3://" + at.bucket + "/" + at.key);
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
    const XmlElement x = document(request("GET", at, q, {}), at);
    for (const XmlElement* p : x.all("Part")) {
      PartInfo pi;
      pi.number = static_cast<unsigned>(number(p->text_of("PartNumber"), "PartNumber", at));
      pi.size = number(p->text_of("Size"), "Size", at);
      pi.etag = strip_quotes(p->text_of("ETag"));
      parts.push_back(pi);
    }
    if (x.text_of("IsTruncated") != "true") break;
    std::string next = x.text_of("NextPartNumberMarker");
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
  return strip_quotes(document(r, at).text_of("ETag"));
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
    const XmlElement x = document(request("GET", bucket, q, {}), bucket);
    auto uploads = x.all("Upload");
    for (const XmlElement* u : uploads) {
      out.push_back({u->text_of("Key"), u->text_of("UploadId"), u->text_of("Initiated")});
    }
    if (x.text_of("IsTruncated") != "true" || uploads.empty()) break;
    // Swift sends empty Next*Marker elements on a truncated page: go on from the last entry.
    std::string next_key = x.text_of("NextKeyMarker"), next_id = x.text_of("NextUploadIdMarker");
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
    const XmlElement x = document(request("GET", bucket, q, {}), bucket);
    for (const XmlElement* c : x.all("Contents")) {
      ObjectInfo o;
      o.key = c->text_of("Key");
      o.size = number(c->text_of("Size"), "Size", bucket);
      o.etag = strip_quotes(c->text_of("ETag"));
      o.modified = c->text_of("LastModified");
      out.push_back(std::move(o));
    }
    if (x.text_of("IsTruncated") != "true") break;
    std::string next = x.text_of("NextContinuationToken");
    if (next.empty() || next == token) break;
    token = next;
  }
  return out;
}

std::string Client::get_object(const Location& at) { return request("GET", at, {}, {}).body; }

// ---- SigV4 computed here, for UploadPartCopy (server-side merge) ----
// Every UploadPartCopy signed by curl 7.88 (Debian 12) failed with SignatureDoesNotMatch
// on Swift, where aws cli's passed; most likely curl sorts the canonical headers as whole
// "name:value" lines, so x-amz-copy-source-range lands before x-amz-copy-source
// ('-' < ':') while SigV4 sorts by name. Those requests are signed here instead (AWS
// Signature Version 4, S3 flavour: unsigned payload, the path as sent).
namespace {

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) throw io_error("SHA-256 failed");
  return to_hex(std::string_view(reinterpret_cast<char*>(md), n));
}

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), md, &n)) {
    throw io_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(md), n);
}

std::string trim(std::string_view v) {
  const auto b = v.find_first_not_of(' '), e = v.find_last_not_of(' ');
  return b == std::string_view::npos ? std::string() : std::string(v.substr(b, e - b + 1));
}

}  // namespace

void Client::sign_v4(const std::string& method, const std::string& url, std::vector<std::string>& headers) const {
  char amz_date[17], day[9];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &utc);
  std::strftime(day, sizeof day, "%Y%m%d", &utc);
  const auto scheme_end = url.find("://") + 3;
  const auto path_begin = url.find('/', scheme_end);
  const auto query_begin = url.find('?', path_begin);
  const std::string host = url.substr(scheme_end, path_begin - scheme_end);
  const std::string path = url.substr(path_begin, query_begin - path_begin);
  const std::string query = query_begin == std::string::npos ? "" : url.substr(query_begin + 1);
  headers.push_back("Host: " + host);
  headers.push_back(std::string("x-amz-date: ") + amz_date);
  // Signed: host, content-type and every x-amz-* header, sorted by name.
  std::map<std::string, std::string> signed_headers;
  for (const std::string& h : headers) {
    const auto colon = h.find(':');
    std::string name = h.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "host" || name == "content-type" || name.rfind("x-amz-", 0) == 0)
      signed_headers[name] = trim(std::string_view(h).substr(colon + 1));
  }
  std::string canonical_headers, names;
  for (const auto& [name, value] : signed_headers) {
    canonical_headers += name + ":" + value + "\n";
    names += (names.empty() ? "" : ";") + name;
  }
  const std::string canonical =
      method + "\n" + path + "\n" + query + "\n" + canonical_headers + "\n" + names + "\nUNSIGNED-PAYLOAD";
  const std::string scope = std::string(day) + "/" + cfg_.region + "/s3/aws4_request";
  const std::string to_sign =
      "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + sha256_hex(canonical);
  std::string key = hmac("AWS4" + cfg_.creds.secret_key, day);
  key = hmac(key, cfg_.region);
  key = hmac(key, "s3");
  key = hmac(key, "aws4_request");
  headers.push_back("Authorization: AWS4-HMAC-SHA256 Credential=" + cfg_.creds.access_key + "/" + scope +
                    ", SignedHeaders=" + names + ", Signature=" + to_hex(hmac(key, to_sign)));
}

std::string Client::upload_part_copy(const Location& at, const std::string& upload_id, unsigned part,
                                     const Location& source, const std::string& source_etag, std::uint64_t first,
                                     std::uint64_t last) {
  std::vector<std::string> headers = {
      "x-amz-copy-source: /" + uri_encode(source.bucket, false) + "/" + uri_encode(source.key, true),
      "x-amz-copy-source-range: bytes=" + std::to_string(first) + "-" + std::to_string(last)};
  if (!source_etag.empty()) headers.push_back("x-amz-copy-source-if-match: \"" + source_etag + "\"");
  Response r =
      send("PUT", at, {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}, headers, {}, true, true);
  // S3 may answer a copy 200 with an <Error> body (a failure after the copy started).
  auto x = parse_xml(r.body);
  if (!x || x->name == "Error" || x->text_of("ETag").empty()) {
    const std::string code = x ? x->text_of("Code") : "";
    throw S3Error("UploadPartCopy of part " + std::to_string(part) + " failed" +
                      (x ? ": " + code + " " + x->text_of("Message") : std::string(": no XML answer")),
                  r.status, code, true);
  }
  return strip_quotes(x->text_of("ETag"));
}

void Client::create_bucket(const std::string& bucket) {
  try {
    request("PUT", Location{bucket, ""}, {}, {}, {}, true);
  } catch (const S3Error& e) {
    if (e.code() != "BucketAlreadyOwnedByYou" && e.code() != "BucketAlreadyExists") throw;
  }
}

}  // namespace ingot::s3

// A small S3 client over net/http: requests signed by libcurl's own AWS SigV4
// (CURLOPT_AWS_SIGV4), canonical query strings and key paths built here (curl uses
// them as given), net/http's retry policy plus S3's own transient errors, and the
// handful of calls upload, ls and s3:// outputs need (PUT, multipart, UploadPartCopy,
// ListParts, ListObjectsV2, HEAD, GET).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingot/util/error.h"

#include "ingot/net/http/http.h"
#include "ingot/net/s3/aws_config.h"

namespace ingot::s3 {

struct Config {
  // Empty fields are found as the AWS CLI finds them (aws_config.h) when the Client is made.
  std::string profile;      // --profile; empty: AWS_PROFILE, else "default"
  std::string endpoint;     // "http://127.0.0.1:9000"; empty: find_endpoint, else https://s3.<region>.amazonaws.com
  std::string region;       // empty: find_region
  bool path_style = false;  // also on for the profile's s3.addressing_style = path, and when
                            // the endpoint host is an IP address or localhost
  Credentials creds;        // empty: find_credentials
  unsigned retries = 5;     // attempts after the first one, for transient failures
  unsigned retry_base_ms = 200;  // first back-off (http::RetryPolicy)
};

struct Location {
  std::string bucket;
  std::string key;  // may be empty (ls of a whole bucket) or a prefix
};
// "s3://bucket/key" -> {bucket, key}. Throws a usage Error otherwise.
Location parse_url(const std::string& url);
bool is_s3_url(std::string_view s);

// AWS-style percent-encoding: unreserved A-Za-z0-9-_.~ kept, the rest %XX upper-case;
// '/' kept when keep_slash (key paths).
std::string uri_encode(std::string_view s, bool keep_slash);

// Thrown for a failed request. transient: the failure may go away (network, 5xx, 429),
// which upload treats as "keep the parts for --resume" rather than "abort".
class S3Error : public Error {
 public:
  S3Error(std::string what, long status, std::string code, bool transient)
      : Error(ErrorKind::remote, std::move(what)), status_(status), code_(std::move(code)), transient_(transient) {}
  long status() const { return status_; }
  const std::string& code() const { return code_; }  // S3 error code, e.g. NoSuchUpload
  bool transient() const { return transient_; }

 private:
  long status_;
  std::string code_;
  bool transient_;
};

using Response = http::Response;

struct PartInfo {
  unsigned number = 0;
  std::uint64_t size = 0;
  std::string etag;  // without quotes
};

struct UploadInfo {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601 as the server sent it
};

struct ObjectInfo {
  std::string key;
  std::uint64_t size = 0;
  std::string etag;      // without quotes
  std::string modified;  // ISO 8601 as the server sent it
};

class Client {
 public:
  explicit Client(Config cfg);

  // One signed request, retried on transient failures (net/http's, and S3's
  // RequestTimeout, SlowDown and an <Error> in a 200 to a POST). query is in canonical order
  // by construction (std::map). Non-2xx after the retries throws S3Error.
  Response request(const std::string& method, const Location& where, const std::map<std::string, std::string>& query,
                   std::vector<std::string> headers, std::string_view body = {}, bool no_body = false);

  void put_object(const Location& at, std::string_view data, const std::string& md5_base64);
  std::string create_multipart(const Location& at);
  // Returns the part's ETag (without quotes).
  std::string upload_part(const Location& at, const std::string& upload_id, unsigned part, std::string_view data,
                          const std::string& md5_base64);
  // Every part the server holds, following IsTruncated/NextPartNumberMarker.
  std::vector<PartInfo> list_parts(const Location& at, const std::string& upload_id, unsigned page_size = 1000);
  // Returns the object's ETag (without quotes).
  std::string complete_multipart(const Location& at, const std::string& upload_id, const std::vector<PartInfo>& parts);
  void abort_multipart(const Location& at, const std::string& upload_id);
  // Multipart uploads in progress whose key starts with at.key (ListMultipartUploads),
  // following the key and upload-id markers (the last entry's when the server sends none).
  std::vector<UploadInfo> list_uploads(const Location& at, unsigned page_size = 1000);
  std::optional<ObjectInfo> head(const Location& at);
  // Every object under at.key (a prefix), following NextContinuationToken.
  std::vector<ObjectInfo> list_objects(const Location& at, unsigned page_size = 1000);
  std::string get_object(const Location& at);
  void create_bucket(const std::string& bucket);  // ok when it exists already
  // UploadPartCopy: bytes [first, last] of `source` (only while its ETag is source_etag,
  // when given) become part `part`, copied on the server. Returns the part's ETag.
  std::string upload_part_copy(const Location& at, const std::string& upload_id, unsigned part, const Location& source,
                               const std::string& source_etag, std::uint64_t first, std::uint64_t last);

  const Config& config() const { return cfg_; }
  // Bytes of request bodies handed to the server (retries included).
  std::uint64_t bytes_sent() const;
  // Requests sent again after a transient failure.
  std::uint64_t retries() const;

 private:
  std::string url_for(const Location& where, const std::map<std::string, std::string>& query) const;
  Response send(const std::string& method, const Location& where, const std::map<std::string, std::string>& query,
                std::vector<std::string> headers, std::string_view body, bool no_body, bool sign_here);
  // Adds Host, x-amz-date and an Authorization computed here (see s3.cpp: curl 7.88's
  // header order breaks UploadPartCopy).
  void sign_v4(const std::string& method, const std::string& url, std::vector<std::string>& headers) const;
  Config cfg_;
  std::string scheme_host_;
  std::string sigv4_;
  struct Counters;
  std::shared_ptr<Counters> counters_;
};

// MD5 of data: hex (as S3 ETags of single parts) and base64 (Content-MD5).
std::string md5_hex(std::string_view data);
std::string md5_base64(std::string_view data);
struct Md5 {
  std::string hex, base64;
};
Md5 md5(std::string_view data);  // both from one pass over the data
// The ETag S3 gives a completed multipart object: md5 of the concatenated binary part
// md5s, "-", the number of parts.
std::string multipart_etag(const std::vector<std::string>& part_md5_hex);

// An S3 XML response as expat parsed it: each element's local name (a "prefix:" is
// dropped), its own text (entities and character references decoded) and its child
// elements in document order.
struct XmlElement {
  std::string name;
  std::string text;
  std::vector<XmlElement> children;
  // The text of the first child called name; "" when there is none.
  std::string text_of(std::string_view name) const;
  std::vector<const XmlElement*> all(std::string_view name) const;
};
// The root element; nullopt when body is not well-formed XML (an empty body, a
// proxy's HTML error page).
std::optional<XmlElement> parse_xml(std::string_view body);

}  // namespace ingot::s3

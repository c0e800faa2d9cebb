// Multipart writer of an S3 object (s3_sink.h). write() fills one part buffer; a full
// part is handed to a sender thread, at most kInFlight at a time (the writer waits for
// the oldest beyond that), so memory is (kInFlight + 1) parts whatever the output size.
// Part numbers are given in write order, so parts may finish in any order.
// copy_from() keeps S3's rule that every part but the last holds at least 5 MiB: a
// range that can be a part of its own (after topping up the pending buffer to 5 MiB
// with its first bytes) is copied on the server; a smaller one is downloaded into the
// buffer, so only the bytes around small pieces pass through the client.
#include "ingot/net/s3/s3_sink.h"

#include <algorithm>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>

#include "ingot/net/s3/s3.h"
#include "ingot/util/error.h"

namespace ingot::s3 {

namespace {

constexpr std::uint64_t kMinPart = std::uint64_t{5} << 20;  // S3: every part but the last
constexpr std::uint64_t kMaxPart = std::uint64_t{5} << 30;
constexpr unsigned kMaxParts = 10000;
constexpr std::size_t kInFlight = 3;

std::string where_of(const Location& at) { return "s3://" + at.bucket + "/" + at.key; }

class S3Sink;
std::mutex g_open_mu;
std::set<S3Sink*> g_open;  // sinks not yet committed, for abort_open_uploads()

class S3Sink final : public RemoteSink {
 public:
  explicit S3Sink(const std::string& url) : url_(url), at_(parse_url(url)), client_(Config{}) {
    if (at_.key.empty() || at_.key.back() == '/') throw usage_error("names no object (a prefix?)").at_path(url);
    buf_.reserve(sink_part_size(1));
    std::lock_guard lock(g_open_mu);
    g_open.insert(this);
  }

  ~S3Sink() override {
    {
      std::lock_guard lock(g_open_mu);
      g_open.erase(this);
    }
    if (committed_) return;
    for (auto& f : inflight_) {
      try {
        f.get();
      } catch (...) {
      }
    }
    abort_upload();
  }

  void write(const char* data, std::size_t n) override {
    while (n > 0) {
      const std::size_t room = static_cast<std::size_t>(part_size() - buf_.size());
      const std::size_t k = std::min(n, room);
      buf_.append(data, k);
      data += k;
      n -= k;
      if (buf_.size() == part_size()) send_buffer();
    }
  }

  bool copy_from(const std::string& source, const std::string& version, std::uint64_t offset,
                 std::uint64_t length) override {
    if (!is_s3_url(source)) return false;
    const Location src = parse_url(source);
    if (!buf_.empty() && buf_.size() < kMinPart) {
      // The pending bytes cannot be a part alone: top them up from the range.
      const std::uint64_t need = kMinPart - buf_.size();
      if (length < need + kMinPart) {
        download(src, version, offset, length);
        return true;
      }
      download(src, version, offset, need);
      offset += need;
      length -= need;
    }
    if (length < kMinPart) {
      download(src, version, offset, length);
      return true;
    }
    if (!buf_.empty()) send_buffer();
    // Parts of at most 5 GiB, as even as possible (each then well over 5 MiB).
    const std::uint64_t n = (length + kMaxPart - 1) / kMaxPart;
    for (std::uint64_t i = 0; i < n; ++i) {
      const std::uint64_t a = offset + length * i / n, b = offset + length * (i + 1) / n;
      const unsigned number = next_part();
      const std::string id = ensure_upload();
      wait_for_slot();
      inflight_.push_back(std::async(std::launch::async, [this, id, number, src, version, a, b] {
        const std::string etag = copy_part(id, number, src, version, a, b - a);
        std::lock_guard lock(mu_);
        parts_[number] = {number, b - a, etag};
      }));
      copied_ += b - a;
    }
    return true;
  }

  void commit() override {
    drain();
    if (!multipart_) {
      // Smaller than a part: one PUT, atomic by itself.
      {
        std::lock_guard lock(mu_);
        if (aborting_) throw Error(ErrorKind::interrupted, "interrupted").at_path(url_);
        completing_ = true;
      }
      const Md5 md5 = s3::md5(buf_);
      client_.put_object(at_, buf_, md5.base64);
      auto head = client_.head(at_);
      if (!head || head->size != buf_.size())
        throw remote_error("verification failed: HEAD says " + (head ? std::to_string(head->size) : "missing") +
                           ", expected " + std::to_string(buf_.size()) + " bytes")
            .at_path(url_);
      etag_ = head->etag;
    } else {
      if (!buf_.empty() || parts_.empty()) send_buffer();
      drain();
      complete();
    }
    committed_ = true;
    std::lock_guard lock(g_open_mu);
    g_open.erase(this);
  }

  std::string version() const override { return etag_; }
  std::uint64_t server_copied() const override { return copied_; }

  // From the signal thread: no later request of this sink will create the object.
  void abort_for_signal() {
    {
      std::lock_guard lock(mu_);
      aborting_ = true;
      if (completing_) return;  // too late: the object is being made
    }
    abort_upload();
  }

 private:
  std::uint64_t part_size() const { return sink_part_size(next_number_); }

  unsigned next_part() {
    if (next_number_ > kMaxParts) {
      throw usage_error("the output needs more than 10,000 parts, S3's limit (" + std::to_string(copied_) +
                        " bytes copied on the server in parts of their own): merge fewer, larger pieces")
          .at_path(url_);
    }
    return next_number_++;
  }

  // The upload id, the upload created at the first part. Senders get it by value: the
  // signal thread may clear upload_id_ at any time.
  std::string ensure_upload() {
    std::lock_guard lock(mu_);
    if (aborting_) throw Error(ErrorKind::interrupted, "interrupted").at_path(url_);
    if (!multipart_) upload_id_ = client_.create_multipart(at_);
    multipart_ = true;
    return upload_id_;
  }

  void wait_for_slot() {
    while (inflight_.size() >= kInFlight) {
      auto f = std::move(inflight_.front());
      inflight_.pop_front();
      f.get();  // rethrows the part's Error
    }
  }

  void drain() {
    while (!inflight_.empty()) {
      auto f = std::move(inflight_.front());
      inflight_.pop_front();
      f.get();
    }
  }

  void send_buffer() {
    const unsigned number = next_part();
    const std::string id = ensure_upload();
    wait_for_slot();
    auto data = std::make_shared<std::string>(std::move(buf_));
    buf_ = std::string();
    buf_.reserve(part_size());
    inflight_.push_back(std::async(std::launch::async, [this, id, number, data] {
      const Md5 md5 = s3::md5(*data);
      const std::string etag = client_.upload_part(at_, id, number, *data, md5.base64);
      if (etag.size() == 32 && etag != md5.hex) {
        throw S3Error("part " + std::to_string(number) + ": the server's ETag " + etag +
                          " is not the MD5 of what was sent (" + md5.hex + ")",
                      0, "", false);
      }
      std::lock_guard lock(mu_);
      parts_[number] = {number, data->size(), etag};
      md5s_[number] = md5.hex;
    }));
  }

  // Bytes [offset, offset + length) of src appended to the buffer, a part sent whenever it fills.
  void download(const Location& src, const std::string& version, std::uint64_t offset, std::uint64_t length) {
    while (length > 0) {
      const std::uint64_t k = std::min<std::uint64_t>(length, part_size() - buf_.size());
      std::vector<std::string> headers = {"Range: bytes=" + std::to_string(offset) + "-" +
                                          std::to_string(offset + k - 1)};
      if (!version.empty()) headers.push_back("If-Match: \"" + version + "\"");
      Response r = client_.request("GET", src, {}, headers);
      if (r.body.size() != k) {
        throw remote_error("a ranged GET answered " + std::to_string(r.body.size()) + " bytes for " + std::to_string(k))
            .at_path(where_of(src))
            .at_offset(offset);
      }
      buf_ += r.body;
      offset += k;
      length -= k;
      if (buf_.size() == part_size()) send_buffer();
    }
  }

  // A copy holds only while the source has the ETag the merge checked (its header, its
  // size): x-amz-copy-source-if-match. Swift's S3 API refuses that condition (412) for a
  // multipart object, whose S3 ETag it does not compare: when HEAD still shows the
  // ETag, the copy goes without the condition and the ETag is checked again by HEAD
  // before the object is completed (unchecked_).
  std::string copy_part(const std::string& upload_id, unsigned number, const Location& src, const std::string& version,
                        std::uint64_t offset, std::uint64_t length) {
    const std::uint64_t last = offset + length - 1;
    try {
      return client_.upload_part_copy(at_, upload_id, number, src, version, offset, last);
    } catch (const S3Error& e) {
      if (e.status() != 412) throw;
    }
    auto head = client_.head(src);
    if (!head || head->etag != version) {
      throw data_error("the piece changed during the merge (its ETag is no longer " + version + ")")
          .at_path(where_of(src));
    }
    {
      std::lock_guard lock(mu_);
      unchecked_[where_of(src)] = version;
    }
    return client_.upload_part_copy(at_, upload_id, number, src, "", offset, last);
  }

  // CompleteMultipartUpload, then HEAD: the size must be the bytes given. A completion
  // whose response was lost shows as NoSuchUpload on the retry; HEAD then decides.
  void complete() {
    for (const auto& [url, version] : unchecked_) {
      auto head = client_.head(parse_url(url));
      if (!head || head->etag != version) {
        throw data_error("the piece changed during the merge (its ETag is no longer " + version + ")").at_path(url);
      }
    }
    std::vector<PartInfo> parts;
    std::uint64_t total = 0;
    for (const auto& [n, p] : parts_) {
      // S3's rule, which Swift's test server does not enforce (min_segment_size = 1):
      // checked here so that the tests catch a part plan that real S3 would refuse.
      if (!parts.empty() && parts.back().size < kMinPart) {
        throw Error(ErrorKind::io, "internal: part " + std::to_string(parts.back().number) + " holds " +
                                       std::to_string(parts.back().size) + " bytes, under S3's 5 MiB minimum")
            .at_path(url_);
      }
      parts.push_back(p);
      total += p.size;
    }
    std::string id;
    {
      std::lock_guard lock(mu_);
      if (aborting_) throw Error(ErrorKind::interrupted, "interrupted").at_path(url_);
      completing_ = true;
      id = upload_id_;
    }
    try {
      etag_ = client_.complete_multipart(at_, id, parts);
    } catch (const S3Error& e) {
      auto head = e.code() == "NoSuchUpload" ? client_.head(at_) : std::nullopt;
      if (!head || head->size != total) throw;
    }
    {
      std::lock_guard lock(mu_);
      upload_id_.clear();  // nothing to abort any more
    }
    auto head = client_.head(at_);
    if (!head || head->size != total) {
      throw remote_error("verification failed: HEAD says " + (head ? std::to_string(head->size) : "missing") +
                         ", expected " + std::to_string(total) + " bytes")
          .at_path(url_);
    }
    // Every part sent by this process has a known MD5: the ETag S3 gives the object follows.
    if (md5s_.size() == parts.size() && head->etag.find('-') != std::string::npos) {
      std::vector<std::string> md5s;
      for (const auto& [n, m] : md5s_) md5s.push_back(m);
      if (head->etag != multipart_etag(md5s)) {
        throw remote_error("verification failed: ETag " + head->etag + ", expected " + multipart_etag(md5s))
            .at_path(url_);
      }
    }
    etag_ = head->etag;
  }

  void abort_upload() noexcept {
    std::string id;
    {
      std::lock_guard lock(mu_);
      id = std::exchange(upload_id_, std::string());
    }
    if (id.empty()) return;
    try {
      client_.abort_multipart(at_, id);
    } catch (...) {
      // Unreachable server: the upload stays invisible; a lifecycle rule removes it (docs/remote.md).
    }
  }

  std::string url_;
  Location at_;
  Client client_;
  std::string buf_;  // the part being filled
  unsigned next_number_ = 1;
  std::deque<std::future<void>> inflight_;
  std::mutex mu_;  // parts_, md5s_, upload_id_, aborting_, completing_ (sender threads, signal thread)
  std::string upload_id_;
  std::map<unsigned, PartInfo> parts_;
  std::map<unsigned, std::string> md5s_;          // data parts only (copied parts' bytes are not seen here)
  std::map<std::string, std::string> unchecked_;  // sources copied without If-Match -> their ETag
  std::uint64_t copied_ = 0;
  bool multipart_ = false;  // the upload was created (upload_id_ may be cleared by an abort since)
  bool aborting_ = false, completing_ = false, committed_ = false;
  std::string etag_;
};

}  // namespace

std::uint64_t sink_part_size(unsigned part_number) {
  const unsigned doublings = std::min(6u, (part_number - 1) / 1000);
  return (std::uint64_t{8} << 20) << doublings;
}

std::unique_ptr<RemoteSink> open_sink(const std::string& path) {
  if (!is_s3_url(path)) throw usage_error("only s3:// outputs are written (not https://)").at_path(path);
  return std::make_unique<S3Sink>(path);
}

std::optional<RemoteObject> stat_object(const std::string& path) {
  Client client{Config{}};
  auto head = client.head(parse_url(path));
  if (!head) return std::nullopt;
  return RemoteObject{head->size, head->etag};
}

void remove_object(const std::string& path) {
  Client client{Config{}};
  client.request("DELETE", parse_url(path), {}, {}, {}, true);
}

std::string read_range(const std::string& path, const std::string& version, std::uint64_t offset, std::uint64_t n) {
  if (n == 0) return {};
  Client client{Config{}};
  std::vector<std::string> headers = {"Range: bytes=" + std::to_string(offset) + "-" + std::to_string(offset + n - 1)};
  if (!version.empty()) headers.push_back("If-Match: \"" + version + "\"");
  try {
    return client.request("GET", parse_url(path), {}, headers).body;
  } catch (const S3Error& e) {
    if (e.status() == 416) return {};  // the range starts at or past the end
    if (e.status() == 412)
      throw data_error("the object changed during the run (its ETag is no longer " + version + ")").at_path(path);
    throw;
  }
}

void abort_open_uploads() {
  std::lock_guard lock(g_open_mu);
  for (S3Sink* s : g_open) s->abort_for_signal();
}

}  // namespace ingot::s3

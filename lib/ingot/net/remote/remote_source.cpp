// Block reader of a remote object (remote_source.h). Blocks are kBlock bytes at
// multiples of kBlock; a read of block b after block b-1 (a sequential pass) keeps up to
// kAhead blocks fetched in parallel beyond it; a small read that does not go on from the
// last read (get's record, a --part boundary probe, a ranged index's lookups) fetches
// only its own bytes, any other read its block alone. Read-ahead stops where the reader
// said it will (read_until: a --part's end), and the block there is fetched only up to
// it; a read past it fetches the rest of that block (split's pieces, one after another).
// Memory: (kAhead + 1) blocks. S3 and plain HTTP differ only in how a range is asked for.
#include "ingot/net/remote/remote_source.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "ingot/net/http/http.h"
#include "ingot/net/redact.h"
#include "ingot/net/s3/s3.h"
#include "ingot/util/error.h"

namespace ingot::remote {

namespace {

constexpr std::uint64_t kBlock = 8ull << 20;
constexpr std::uint64_t kAhead = 4;
constexpr std::size_t kLookup = 1 << 20;  // a read this small away from the reader fetches only itself

// How bytes [first, end) of the version seen at open() are fetched: S3 and plain HTTP.
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string fetch(std::uint64_t first, std::uint64_t end) const = 0;
  std::uint64_t size = 0;
  std::string version;
  std::string display;  // the URL with its secrets masked

 protected:
  [[noreturn]] void changed() const {
    throw data_error("the object changed during the run (it is no longer version " + version + "); run again")
        .at_path(display);
  }
};

// The reading. It owns the Object and waits for the fetches in flight before the
// Object goes: a fetch started for read-ahead may still run when the reader is dropped
// (an error elsewhere, get's last record read).
class BlockSource final : public RemoteSource {
 public:
  explicit BlockSource(std::unique_ptr<Object> object) : object_(std::move(object)) {}
  ~BlockSource() override {
    std::lock_guard lock(mu_);
    for (auto& [b, f] : blocks_) f.wait();
  }

  std::uint64_t size() const override { return object_->size; }
  const std::string& version() const override { return object_->version; }
  const std::string& display() const override { return object_->display; }

  void read_until(std::uint64_t end) override {
    std::lock_guard lock(mu_);
    until_ = end;
  }

  std::size_t read_at(char* dst, std::size_t n, std::uint64_t offset) override {
    std::lock_guard lock(mu_);
    const std::uint64_t size = object_->size;
    if (offset >= size) return 0;
    const std::uint64_t b = offset / kBlock;
    // A read from within or at the end of the last one goes on from it (the sniff, then
    // the reader; a probe, then the part's reader; a sequential reader).
    const bool goes_on = last_read_ && offset >= last_read_->first && offset <= last_read_->second;
    last_read_.emplace(offset, offset + n);
    if (n <= kLookup && !goes_on && !blocks_.count(b)) {
      // A lookup away from the reader: its own bytes only. A read going on from it
      // counts as sequential and fetches whole blocks.
      last_ = b;
      const std::string data = checked_fetch(offset, std::min(size, offset + n));
      std::memcpy(dst, data.data(), data.size());
      return data.size();
    }
    std::size_t done = 0;
    while (done < n && offset + done < size) {
      const std::uint64_t pos = offset + done;
      const std::size_t in_block = static_cast<std::size_t>(pos - pos / kBlock * kBlock);
      const std::string& data = block(pos / kBlock, in_block);
      if (in_block >= data.size()) break;
      const std::size_t k = std::min(n - done, data.size() - in_block);
      std::memcpy(dst + done, data.data() + in_block, k);
      done += k;
    }
    return done;
  }

 private:
  std::string checked_fetch(std::uint64_t first, std::uint64_t end) const {
    std::string data = object_->fetch(first, end);
    if (data.size() != end - first) {
      throw remote_error("a ranged GET answered " + std::to_string(data.size()) + " bytes for " +
                         std::to_string(end - first))
          .at_path(object_->display)
          .at_offset(first);
    }
    return data;
  }

  // Block b, fetched now or earlier, holding its byte `need`; with sequential reading,
  // the next ones started, up to the reader's end.
  const std::string& block(std::uint64_t b, std::size_t need) {
    const bool sequential = last_ && (b == *last_ || b == *last_ + 1);
    last_ = b;
    // Blocks behind the reader are done with; far ahead ones belong to another pass.
    // (Dropping a future of std::async waits for its fetch.)
    std::erase_if(blocks_, [&](const auto& e) { return e.first < b || e.first > b + kAhead; });
    const std::uint64_t size = object_->size;
    const std::uint64_t nblocks = (size + kBlock - 1) / kBlock;
    const std::uint64_t stop = std::min(size, until_);  // the reader's end
    const std::uint64_t wanted = std::max(b + 1, (stop + kBlock - 1) / kBlock);
    const std::uint64_t until = std::min({nblocks, wanted, b + 1 + (sequential ? kAhead : 0)});
    auto fetch = [this](std::uint64_t i, std::uint64_t end) {
      return std::async(std::launch::async, [this, i, end] { return checked_fetch(i * kBlock, end); }).share();
    };
    for (std::uint64_t i = b; i < until; ++i) {
      // The block holding the reader's end only up to it (whole when read past it).
      const std::uint64_t end = std::min(size, (i + 1) * kBlock);
      if (!blocks_.count(i)) blocks_.emplace(i, fetch(i, stop > i * kBlock && stop < end ? stop : end));
    }
    if (const std::string& held = blocks_.at(b).get(); held.size() <= need && b * kBlock + need < size) {
      // Read past the reader's end: the rest of the block, appended.
      std::promise<std::string> whole;
      whole.set_value(held + checked_fetch(b * kBlock + held.size(), std::min(size, (b + 1) * kBlock)));
      blocks_[b] = whole.get_future().share();
    }
    return blocks_.at(b).get();  // rethrows the fetch's Error
  }

  std::unique_ptr<Object> object_;
  std::mutex mu_;
  std::uint64_t until_ = UINT64_MAX;                                  // the reader's end (read_until)
  std::optional<std::uint64_t> last_;                                 // block of the last read
  std::optional<std::pair<std::uint64_t, std::uint64_t>> last_read_;  // [offset, end) of the last read
  std::map<std::uint64_t, std::shared_future<std::string>> blocks_;
};

std::string range_header(std::uint64_t first, std::uint64_t end) {
  return "Range: bytes=" + std::to_string(first) + "-" + std::to_string(end - 1);
}

class S3Object final : public Object {
 public:
  explicit S3Object(const std::string& url)
      : at_(s3::parse_url(url)), client_(std::make_shared<s3::Client>(s3::Config{})) {
    display = redacted(url);
    if (at_.key.empty() || at_.key.back() == '/') throw usage_error("names no object (a prefix?)").at_path(url);
    auto head = client_->head(at_);
    if (!head) throw io_error("no such object").at_path(url);
    size = head->size;
    version = head->etag;
  }

  std::string fetch(std::uint64_t first, std::uint64_t end) const override {
    try {
      return client_->request("GET", at_, {}, {range_header(first, end), "If-Match: \"" + version + "\""}).body;
    } catch (const s3::S3Error& e) {
      if (e.status() == 412) changed();
      throw;
    }
  }

 private:
  s3::Location at_;
  std::shared_ptr<s3::Client> client_;
};

// An http(s):// URL: HEAD for the size and the validator, then ranged GETs. A server
// that ignores Range (answers 200 with the whole body) is refused at the first range
// that is not the whole object: reading it would mean downloading it once per block.
class HttpObject final : public Object {
 public:
  explicit HttpObject(const std::string& url) : url_(url) {
    display = redacted(url);
    http::Response r = send({.method = "HEAD", .url = url_});
    if (r.status == 404 || r.status == 410)
      throw io_error("no such object (HTTP " + std::to_string(r.status) + ")").at_path(display);
    fail_unless_success(r, 0);
    const std::string length = r.header("content-length");
    if (length.empty() || length.find_first_not_of("0123456789") != std::string::npos)
      throw remote_error("the server gives no Content-Length, so the object cannot be read by ranges").at_path(display);
    size = std::stoull(length);
    if (r.header("accept-ranges") == "none")
      throw remote_error("the server does not answer Range requests (Accept-Ranges: none): download it first")
          .at_path(display);
    const std::string etag = r.header("etag");
    if (!etag.empty() && !etag.starts_with("W/")) {
      condition_ = "If-Match: " + etag;
      version = etag;
      if (version.size() >= 2 && version.front() == '"' && version.back() == '"')
        version = version.substr(1, version.size() - 2);
    } else if (std::string lm = r.header("last-modified"); !lm.empty()) {
      condition_ = "If-Unmodified-Since: " + lm;
      version = lm;
    } else {
      throw remote_error(
          "the server gives neither a strong ETag nor Last-Modified, so a change during the run "
          "could not be seen: download it first")
          .at_path(display);
    }
  }

  std::string fetch(std::uint64_t first, std::uint64_t end) const override {
    http::Response r = send({.method = "GET", .url = url_, .headers = {range_header(first, end), condition_}});
    if (r.status == 412) changed();
    fail_unless_success(r, first);
    if (r.status == 200 && !(first == 0 && end == size)) {
      throw remote_error(
          "the server does not answer Range requests (HTTP 200 with the whole object): download it "
          "first")
          .at_path(display);
    }
    return std::move(r.body);
  }

 private:
  http::Response send(const http::Request& req) const { return http::send(req, http::RetryPolicy{}).response; }

  void fail_unless_success(const http::Response& r, std::uint64_t offset) const {
    if (r.success()) return;
    std::string what = r.status == 0 ? r.error : "HTTP " + std::to_string(r.status);
    throw remote_error(scrub(std::move(what), url_)).at_path(display).at_offset(offset);
  }

  std::string url_;
  std::string condition_;  // the request header that pins the version
};

}  // namespace

std::unique_ptr<RemoteSource> open(const std::string& path) {
  if (s3::is_s3_url(path)) return std::make_unique<BlockSource>(std::make_unique<S3Object>(path));
  return std::make_unique<BlockSource>(std::make_unique<HttpObject>(path));
}

}  // namespace ingot::remote

// Block reader of an S3 object (s3_source.h). Blocks are kBlock bytes at multiples of
// kBlock; a read of block b after block b-1 (a sequential pass) keeps up to kAhead
// blocks fetched in parallel beyond it; a small read elsewhere (get's record, a --part
// boundary probe) fetches only its own bytes, any other read its block alone.
// Memory: (kAhead + 1) blocks.
#include "ingot/net/s3/s3_source.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <map>
#include <mutex>

#include "ingot/net/s3/s3.h"
#include "ingot/util/error.h"

namespace ingot::s3 {

namespace {

constexpr std::uint64_t kBlock = 8ull << 20;
constexpr std::uint64_t kAhead = 4;
constexpr std::size_t kLookup = 1 << 20;  // a read this small away from the reader fetches only itself

class S3Source final : public RemoteSource {
 public:
  explicit S3Source(const std::string& url)
      : url_(url), at_(parse_url(url)), client_(std::make_shared<Client>(Config{})) {
    if (at_.key.empty() || at_.key.back() == '/') throw usage_error("names no object (a prefix?)").at_path(url);
    auto head = client_->head(at_);
    if (!head) throw io_error("no such object").at_path(url);
    size_ = head->size;
    etag_ = head->etag;
  }

  std::uint64_t size() const override { return size_; }
  const std::string& version() const override { return etag_; }

  std::size_t read_at(char* dst, std::size_t n, std::uint64_t offset) override {
    std::lock_guard lock(mu_);
    if (offset >= size_) return 0;
    const std::uint64_t b = offset / kBlock;
    if (n <= kLookup && !(last_ && (b == *last_ || b == *last_ + 1)) && !blocks_.count(b)) {
      // A lookup away from the reader (get, a --part boundary probe): its own bytes only.
      // A read right after it counts as sequential and fetches whole blocks.
      last_ = b;
      const std::string data = fetch(offset, std::min(size_, offset + n));
      std::memcpy(dst, data.data(), data.size());
      return data.size();
    }
    std::size_t done = 0;
    while (done < n && offset + done < size_) {
      const std::uint64_t pos = offset + done;
      const std::uint64_t b = pos / kBlock;
      const std::string& data = block(b);
      const std::size_t in_block = static_cast<std::size_t>(pos - b * kBlock);
      if (in_block >= data.size()) break;
      const std::size_t k = std::min(n - done, data.size() - in_block);
      std::memcpy(dst + done, data.data() + in_block, k);
      done += k;
    }
    return done;
  }

 private:
  // Block b, fetched now or earlier; with sequential reading, the next ones started.
  const std::string& block(std::uint64_t b) {
    const bool sequential = last_ && (b == *last_ || b == *last_ + 1);
    last_ = b;
    // Blocks behind the reader are done with; far ahead ones belong to another pass.
    std::erase_if(blocks_, [&](const auto& e) { return e.first < b || e.first > b + kAhead; });
    const std::uint64_t nblocks = (size_ + kBlock - 1) / kBlock;
    const std::uint64_t until = std::min(nblocks, b + 1 + (sequential ? kAhead : 0));
    for (std::uint64_t i = b; i < until; ++i) {
      if (!blocks_.count(i)) {
        blocks_.emplace(
            i, std::async(std::launch::async, [this, i] { return fetch(i * kBlock, std::min(size_, (i + 1) * kBlock)); })
                   .share());
      }
    }
    return blocks_.at(b).get();  // rethrows the fetch's Error
  }

  // Bytes [first, end) of the object's version etag_.
  std::string fetch(std::uint64_t first, std::uint64_t end) const {
    const std::uint64_t last = end - 1;
    try {
      Response r = client_->request(
          "GET", at_, {},
          {"Range: bytes=" + std::to_string(first) + "-" + std::to_string(last), "If-Match: \"" + etag_ + "\""});
      if (r.body.size() != last - first + 1) {
        throw remote_error("a ranged GET answered " + std::to_string(r.body.size()) + " bytes for " +
                           std::to_string(last - first + 1))
            .at_path(url_)
            .at_offset(first);
      }
      return std::move(r.body);
    } catch (const S3Error& e) {
      if (e.status() == 412)
        throw data_error("the object changed during the run (its ETag is no longer " + etag_ + "); run again")
            .at_path(url_);
      throw;
    }
  }

  std::string url_;
  Location at_;
  std::shared_ptr<Client> client_;
  std::uint64_t size_ = 0;
  std::string etag_;
  std::mutex mu_;
  std::optional<std::uint64_t> last_;
  std::map<std::uint64_t, std::shared_future<std::string>> blocks_;
};

}  // namespace

std::unique_ptr<RemoteSource> open_remote(const std::string& path) {
  if (!is_s3_url(path)) throw usage_error("only s3:// remote inputs are read so far (https:// is not)").at_path(path);
  return std::make_unique<S3Source>(path);
}

}  // namespace ingot::s3

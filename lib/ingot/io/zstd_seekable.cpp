#include "ingot/io/zstd_seekable.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "ingot/util/error.h"

namespace ingot {
namespace {

constexpr std::uint32_t kSkippableMagic = 0x184D2A5E;  // one of the 16 skippable magics; the format uses this one
constexpr std::uint32_t kSeekableMagic = 0x8F92EAB1;
constexpr std::size_t kFooterBytes = 9;               // frame count, descriptor, magic
constexpr std::uint32_t kMaxFrames = 0x8000000;       // the format's limit
constexpr std::uint32_t kMaxFrameDecoded = 1u << 30;  // the format's limit on a frame's decoded size

void put32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get32(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

}  // namespace

std::string seek_table_frame(const std::vector<SeekFrame>& frames) {
  std::string s;
  put32(s, kSkippableMagic);
  put32(s, static_cast<std::uint32_t>(frames.size() * 8 + kFooterBytes));
  for (const SeekFrame& f : frames) {
    put32(s, f.compressed);
    put32(s, f.decoded);
  }
  put32(s, static_cast<std::uint32_t>(frames.size()));
  s.push_back(0);  // descriptor: no checksums
  put32(s, kSeekableMagic);
  return s;
}

std::unique_ptr<SeekableZstd> SeekableZstd::open(StoredReader read, std::uint64_t stored_size, std::string display) {
  if (stored_size < 8 + kFooterBytes) return nullptr;
  unsigned char footer[kFooterBytes];
  if (read(reinterpret_cast<char*>(footer), kFooterBytes, stored_size - kFooterBytes) != kFooterBytes) return nullptr;
  if (get32(footer + 5) != kSeekableMagic || (footer[4] & 0x7c) != 0) return nullptr;
  const std::uint32_t count = get32(footer);
  const std::size_t entry = (footer[4] & 0x80) ? 12 : 8;
  if (count == 0 || count > kMaxFrames) return nullptr;
  const std::uint64_t table = 8 + std::uint64_t{count} * entry + kFooterBytes;
  if (table > stored_size) return nullptr;
  std::vector<unsigned char> t(table);
  if (read(reinterpret_cast<char*>(t.data()), table, stored_size - table) != table) return nullptr;
  if (get32(t.data()) != kSkippableMagic || get32(t.data() + 4) != table - 8) return nullptr;
  std::unique_ptr<SeekableZstd> z(new SeekableZstd);
  z->stored_starts_.reserve(count + 1);
  z->decoded_starts_.reserve(count + 1);
  std::uint64_t stored = 0, decoded = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const unsigned char* e = t.data() + 8 + std::size_t{i} * entry;
    const std::uint32_t c = get32(e), d = get32(e + 4);
    if (c == 0 || d > kMaxFrameDecoded) return nullptr;
    z->stored_starts_.push_back(stored);
    z->decoded_starts_.push_back(decoded);
    stored += c;
    decoded += d;
  }
  // The frames must fill the file up to the table exactly: anything else (data appended
  // or prepended, pieces concatenated) is not what the table describes.
  if (stored != stored_size - table) return nullptr;
  z->stored_starts_.push_back(stored);
  z->decoded_starts_.push_back(decoded);
  z->read_ = std::move(read);
  z->display_ = std::move(display);
  return z;
}

SeekableZstd::~SeekableZstd() = default;

std::shared_ptr<const std::string> SeekableZstd::frame(std::size_t i) const {
  {
    std::lock_guard lock(mu_);
    if (cached_index_ == i) return cached_;
  }
  const std::uint64_t at = stored_starts_[i];
  std::string stored(stored_starts_[i + 1] - at, '\0');
  if (read_(stored.data(), stored.size(), at) != stored.size()) {
    throw data_error("truncated seekable zstd data: the file ends inside frame " + std::to_string(i))
        .at_path(display_)
        .at_offset(at);
  }
  auto decoded = std::make_shared<std::string>(decoded_starts_[i + 1] - decoded_starts_[i], '\0');
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) throw io_error("out of memory creating a zstd decoder").at_path(display_);
  const std::size_t r = ZSTD_decompressDCtx(dctx, decoded->data(), decoded->size(), stored.data(), stored.size());
  ZSTD_freeDCtx(dctx);
  if (ZSTD_isError(r) || r != decoded->size()) {
    throw data_error(std::string("corrupt seekable zstd data: frame ") + std::to_string(i) +
                     " does not decode to the " + std::to_string(decoded->size()) + " bytes its seek table gives (" +
                     (ZSTD_isError(r) ? ZSTD_getErrorName(r) : std::to_string(r) + " bytes") +
                     "); check it with 'zstd -t'")
        .at_path(display_)
        .at_offset(at);
  }
  std::lock_guard lock(mu_);
  cached_index_ = i;
  cached_ = decoded;
  return decoded;
}

std::size_t SeekableZstd::read_at(char* dst, std::size_t n, std::uint64_t offset) const {
  std::size_t done = 0;
  while (done < n && offset + done < size()) {
    const std::uint64_t at = offset + done;
    // The last frame starting at or before `at` (frames of 0 decoded bytes are skipped).
    const std::size_t i =
        static_cast<std::size_t>(std::upper_bound(decoded_starts_.begin(), decoded_starts_.end(), at) -
                                 decoded_starts_.begin()) -
        1;
    auto f = frame(i);
    const std::size_t from = static_cast<std::size_t>(at - decoded_starts_[i]);
    const std::size_t take = std::min(n - done, f->size() - from);
    std::memcpy(dst + done, f->data() + from, take);
    done += take;
  }
  return done;
}

}  // namespace ingot

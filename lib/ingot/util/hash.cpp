#include "ingot/util/hash.h"

#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "ingot/util/error.h"

namespace ingot {

std::string xxh3_hex(std::uint64_t h) {
  static const char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[static_cast<std::size_t>(i)] = digits[h & 15];
  return s;
}

std::optional<std::uint64_t> parse_xxh3_hex(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

std::uint64_t xxh3_64(const void* data, std::size_t n) { return XXH3_64bits(data, n); }

Xxh3::Xxh3() : state_(XXH3_createState()) {
  if (!state_) throw std::bad_alloc();
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
}

Xxh3::~Xxh3() {
  if (state_) XXH3_freeState(static_cast<XXH3_state_t*>(state_));
}

Xxh3::Xxh3(Xxh3&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}

Xxh3& Xxh3::operator=(Xxh3&& other) noexcept {
  if (this != &other) {
    if (state_) XXH3_freeState(static_cast<XXH3_state_t*>(state_));
    state_ = std::exchange(other.state_, nullptr);
  }
  return *this;
}

void Xxh3::update(const void* data, std::size_t n) {
  if (n) XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, n);
}

std::uint64_t Xxh3::digest() const { return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_)); }

void hash_file_range(Xxh3& h, int fd, std::uint64_t offset, std::uint64_t length, const std::string& path) {
  constexpr std::size_t kBlock = std::size_t{4} << 20;
  const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, std::max<std::uint64_t>(length, 1)));
  std::unique_ptr<char[]> buf(new char[cap]);
  while (length > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, length));
    ssize_t r = ::pread(fd, buf.get(), want, static_cast<off_t>(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read failed", errno).at_path(path).at_offset(offset);
    }
    if (r == 0)
      throw io_error("file is shorter than expected (changed while reading?)").at_path(path).at_offset(offset);
    h.update(buf.get(), static_cast<std::size_t>(r));
    offset += static_cast<std::uint64_t>(r);
    length -= static_cast<std::uint64_t>(r);
  }
}

}  // namespace ingot

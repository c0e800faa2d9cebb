// An output byte buffer for the hot loops: reserve the worst case for a record once,
// then write through a raw pointer, instead of paying std::string's capacity checks on
// every small append.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>

#include "ingot/util/big_alloc.h"

namespace ingot {

// Copies n bytes for the short strings of records, without a libc call per copy.
inline char* copy_short(char* o, const char* s, std::size_t n) {
  while (n >= 16) {
    std::memcpy(o, s, 16);
    o += 16, s += 16, n -= 16;
  }
  if (n & 8) {
    std::memcpy(o, s, 8);
    o += 8, s += 8;
  }
  if (n & 4) {
    std::memcpy(o, s, 4);
    o += 4, s += 4;
  }
  if (n & 2) {
    std::memcpy(o, s, 2);
    o += 2, s += 2;
  }
  if (n & 1) *o++ = *s;
  return o;
}

class ByteBuffer {
 public:
  // Makes room for n more bytes; returns where they go.
  char* reserve(std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    return data_.get() + size_;
  }
  // Marks bytes written through reserve()'s pointer as used, up to `end`.
  void commit(const char* end) { size_ = static_cast<std::size_t>(end - data_.get()); }
  void append(std::string_view s) {
    std::memcpy(reserve(s.size()), s.data(), s.size());
    size_ += s.size();
  }
  void clear() { size_ = 0; }
  const char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  std::string_view view() const { return {data_.get(), size_}; }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ ? cap_ : 4096;
    while (cap < need) cap *= 2;
    BigPtr bigger = alloc_big(cap);
    if (size_) std::memcpy(bigger.get(), data_.get(), size_);
    data_ = std::move(bigger);
    cap_ = cap;
  }
  BigPtr data_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace ingot

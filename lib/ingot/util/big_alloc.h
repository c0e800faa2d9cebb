// Memory for the big per-slot buffers (chunks, converted output). Blocks of 2 MiB and
// more are 2 MiB-aligned and advised as transparent huge pages: the first touch of a
// 32 MiB output buffer is then 16 page faults instead of 8192 (a fault cost ~10 us on
// the 2-core VM of the benchmarks, where faults were a third of CSV -> NDJSON's system
// time), and the kernel's copies into and out of them (pread, write) walk fewer page
// table entries. Where THP is off the advice does nothing.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>

namespace ingot {

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};
using BigPtr = std::unique_ptr<char[], FreeDeleter>;

inline BigPtr alloc_big(std::size_t n) {
  constexpr std::size_t kHuge = std::size_t{2} << 20;
  void* p = nullptr;
  if (n < kHuge) {
    p = std::malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    return BigPtr(static_cast<char*>(p));
  }
  if (::posix_memalign(&p, kHuge, n) != 0) throw std::bad_alloc();
  // Only whole huge pages: a tail of small pages keeps the resident size what is used.
  ::madvise(p, n / kHuge * kHuge, MADV_HUGEPAGE);
  return BigPtr(static_cast<char*>(p));
}

// The same advice for a big block allocated elsewhere (a std::string's), before its
// first touch: the 2 MiB-aligned pages inside it.
inline void advise_huge(void* p, std::size_t n) {
  constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
  const std::uintptr_t b = (reinterpret_cast<std::uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const std::uintptr_t e = (reinterpret_cast<std::uintptr_t>(p) + n) & ~(kHuge - 1);
  if (e > b) ::madvise(reinterpret_cast<void*>(b), e - b, MADV_HUGEPAGE);
}

}  // namespace ingot

#include "ingot/chunk/boundary.h"

#include <cstring>

namespace ingot {

std::size_t count_byte(const char* p, std::size_t n, char c) {
  // Byte counters in blocks of 255 keep the inner loop free of widening, so the
  // compiler vectorises it; this runs on every byte of every CSV chunk in the serial reader.
  std::size_t total = 0;
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  const auto uc = static_cast<unsigned char>(c);
  while (n > 0) {
    std::size_t block = n < 255 * 64 ? n : 255 * 64;
    unsigned char acc[64] = {};
    std::size_t i = 0;
    for (; i + 64 <= block; i += 64) {
      for (int j = 0; j < 64; ++j) acc[j] = static_cast<unsigned char>(acc[j] + (u[i + j] == uc));
    }
    for (int j = 0; j < 64; ++j) total += acc[j];
    for (; i < block; ++i) total += (u[i] == uc);
    u += block;
    n -= block;
  }
  return total;
}

std::size_t last_record_end(const char* p, std::size_t n, RecordKind kind) {
  if (n == 0) return 0;
  if (!is_delimited(kind)) {
    const void* nl = ::memrchr(p, '\n', n);
    return nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1 : 0;
  }
  // Quote parity before position i = (quotes in [0, n)) - (quotes in [i, n)). A '\n'
  // with even parity before it ends a record; walk back from the end to the last one.
  std::size_t parity = count_byte(p, n, '"') & 1;
  for (std::size_t i = n; i-- > 0;) {
    const char c = p[i];
    if (c == '"') {
      parity ^= 1;
    } else if (c == '\n' && parity == 0) {
      return i + 1;
    }
  }
  return 0;
}

RecordScan scan_records(const char* p, std::size_t n, RecordKind kind) {
  RecordScan scan;
  for_each_record_end(p, n, kind, [&](std::size_t end) {
    if (scan.records++ == 0) scan.first_end = end;
  });
  return scan;
}

}  // namespace ingot

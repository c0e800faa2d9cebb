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

std::size_t last_record_end(const char* p, std::size_t n, RecordKind kind, char delim) {
  if (n == 0) return 0;
  if (!is_delimited(kind)) {
    const void* nl = ::memrchr(p, '\n', n);
    return nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1 : 0;
  }
  std::size_t last = 0;
  csv_scan(p, n, grammar_delimiter(kind, delim), CsvState::field_start, [&](std::size_t a, std::size_t b) {
    if (const void* nl = ::memrchr(p + a, '\n', b - a)) last = static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1;
  });
  return last;
}

std::uint64_t count_record_ends(const char* p, std::size_t n, RecordKind kind, char delim) {
  if (!is_delimited(kind)) return count_byte(p, n, '\n');
  std::uint64_t records = 0;
  csv_scan(p, n, grammar_delimiter(kind, delim), CsvState::field_start,
           [&](std::size_t a, std::size_t b) { records += count_byte(p + a, b - a, '\n'); });
  return records;
}

RecordScan scan_records(const char* p, std::size_t n, RecordKind kind, char delim) {
  RecordScan scan;
  auto span = [&](std::size_t a, std::size_t b) {
    const std::size_t k = count_byte(p + a, b - a, '\n');
    if (k > 0 && scan.records == 0) {
      scan.first_end = static_cast<std::size_t>(static_cast<const char*>(std::memchr(p + a, '\n', b - a)) - p) + 1;
    }
    scan.records += k;
  };
  if (!is_delimited(kind)) {
    span(0, n);
  } else {
    csv_scan(p, n, grammar_delimiter(kind, delim), CsvState::field_start, span);
  }
  return scan;
}

}  // namespace ingot

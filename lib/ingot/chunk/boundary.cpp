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

std::size_t last_record_end(const char* p, std::size_t n, RecordKind kind, char delim, std::size_t from) {
  if (n <= from) return 0;
  if (!is_delimited(kind)) {
    const void* nl = ::memrchr(p, '\n', n);
    return nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1 : 0;
  }
  std::size_t last = 0;
  csv_scan(p + from, n - from, grammar_delimiter(kind, delim), CsvState::field_start,
           [&](std::size_t base, std::uint64_t ends) {
             last = from + base + 64 - static_cast<std::size_t>(__builtin_clzll(ends));
           });
  return last;
}

std::uint64_t count_record_ends(const char* p, std::size_t n, RecordKind kind, char delim, std::size_t from) {
  if (!is_delimited(kind)) return count_byte(p, n, '\n');
  std::uint64_t records = 0;
  csv_scan(p + from, n - from, grammar_delimiter(kind, delim), CsvState::field_start,
           [&](std::size_t, std::uint64_t ends) { records += static_cast<std::uint64_t>(__builtin_popcountll(ends)); });
  return records;
}

RecordScan scan_records(const char* p, std::size_t n, RecordKind kind, char delim, std::size_t from) {
  RecordScan scan;
  if (!is_delimited(kind)) {
    scan.records = count_byte(p, n, '\n');
    if (scan.records)
      scan.first_end = static_cast<std::size_t>(static_cast<const char*>(std::memchr(p, '\n', n)) - p) + 1;
    return scan;
  }
  csv_scan(p + from, n - from, grammar_delimiter(kind, delim), CsvState::field_start,
           [&](std::size_t base, std::uint64_t ends) {
             if (scan.records == 0) scan.first_end = from + base + static_cast<std::size_t>(__builtin_ctzll(ends)) + 1;
             scan.records += static_cast<std::size_t>(__builtin_popcountll(ends));
           });
  return scan;
}

}  // namespace ingot

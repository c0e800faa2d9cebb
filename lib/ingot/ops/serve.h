// ingot serve: an HTTP line server over a file and its index (cpp-httplib). Each
// request costs two index lookups and one pread of the records; the file is never
// loaded. A file replaced or modified while serving is detected on every request
// (stat of the path and fstat of the open descriptor against the index's fingerprint)
// and answered with 503: the index describes the old bytes, so reopening would need a
// fresh index, which is an explicit `ingot index` + restart.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ingot/util/error.h"

namespace ingot {

inline constexpr std::uint64_t kDefaultMaxRangeRecords = 10000;
inline constexpr std::uint64_t kDefaultMaxRangeBytes = std::uint64_t{16} << 20;

struct ServeOptions {
  std::string input;
  std::string index;                      // empty: input + ".idx"
  std::string bind = "127.0.0.1";
  int port = 8080;                        // 0: any free port (printed by on_listening)
  unsigned threads = 0;                   // connection threads; 0: kDefaultServeThreads
  std::uint64_t max_range = kDefaultMaxRangeRecords;       // records per /lines/N-M
  std::uint64_t max_range_bytes = kDefaultMaxRangeBytes;   // bytes per response
  // Called once the socket listens, with the bound port and the record count.
  std::function<void(int port, std::uint64_t records)> on_listening;
};

inline constexpr unsigned kDefaultServeThreads = 16;

struct ServeReport {
  int signal = 0;             // the signal that stopped the server (SIGINT, SIGTERM, SIGHUP)
  std::uint64_t requests = 0;
};

// Runs until SIGINT, SIGTERM or SIGHUP (handled here: the server stops cleanly and
// serve returns) or a fatal error (cannot bind, bad index).
Result<ServeReport> serve(const ServeOptions& opts);

}  // namespace ingot

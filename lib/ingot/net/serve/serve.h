// ingot serve: an HTTP line server over a file and its index (Boost.Beast on an Asio
// event loop, so that slow or idle clients cost a socket, not a thread). Each request
// costs two index lookups and one pread of the records; the file is never loaded. A
// file replaced or modified while serving is detected on every request (stat of the
// path and fstat of the open descriptor against the index's fingerprint) and answered
// with 503: the index describes the old bytes, so reopening would need a fresh index,
// which is an explicit `ingot index` + restart.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "ingot/util/error.h"

namespace ingot {

inline constexpr std::uint64_t kDefaultMaxRangeRecords = 10000;
inline constexpr std::uint64_t kDefaultMaxRangeBytes = std::uint64_t{16} << 20;
// One event-loop thread: on 2 cores it left the other to the clients and answered 40%
// more requests than two (tests/bench/bench_serve.sh); more help when pread waits on a disk.
inline constexpr unsigned kDefaultServeThreads = 1;
inline constexpr unsigned kDefaultMaxConnections = 1000;
// Bounds on a request (larger ones are refused: 431, 413) and the time a client may
// take to read a response; fixed, because no GET of this server needs more.
inline constexpr std::uint32_t kMaxRequestHeadBytes = 8 << 10;
inline constexpr std::uint64_t kMaxRequestBodyBytes = 64 << 10;
inline constexpr double kSendTimeout = 60;

struct ServeOptions {
  std::string input;
  std::string index;  // empty: input + ".idx"
  std::string bind = "127.0.0.1";
  int port = 8080;                                        // 0: any free port (printed by on_listening)
  unsigned threads = 0;                                   // event-loop threads; 0: kDefaultServeThreads
  std::uint64_t max_range = kDefaultMaxRangeRecords;      // records per /lines/N-M
  std::uint64_t max_range_bytes = kDefaultMaxRangeBytes;  // bytes per response
  // What a hostile or broken client may hold (docs/security.md, "serve"). Deadlines are
  // totals, not inactivity timers: a client dripping a byte at a time cannot extend them.
  unsigned max_connections = kDefaultMaxConnections;  // more are answered 503 and closed
  double header_timeout = 10;                         // seconds to receive a request head, from the connection's
                                                      // acceptance or from the first byte of a later request
  double body_timeout = 10;                           // seconds to receive a request body (GETs rarely have one)
  double idle_timeout = 5;                            // seconds a kept-alive connection may wait for its next request
  // Called once the socket listens, with the bound port and the record count.
  std::function<void(int port, std::uint64_t records)> on_listening;
};

struct ServeReport {
  int signal = 0;  // the signal that stopped the server (SIGINT, SIGTERM, SIGHUP)
  std::uint64_t requests = 0;
};

// Runs until SIGINT, SIGTERM or SIGHUP (handled here: the server stops cleanly and
// serve returns) or a fatal error (cannot bind, e.g. the port is in use; bad index).
Result<ServeReport> serve(const ServeOptions& opts);

}  // namespace ingot

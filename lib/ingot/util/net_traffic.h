// Process-wide network traffic counters: requests sent, bytes received and sent. The
// one HTTP client layer (net/http: http::perform) counts every attempt it makes, as
// it makes it; the --json reports ("network") and progress ("net X/s in, Y/s out")
// read them. They live in util so that cmd/ and progress read them without depending
// on net/: in `ingot`, which has no network code, they stay zero.
#pragma once

#include <cstdint>

namespace ingot::net_traffic {

struct Totals {
  std::uint64_t requests = 0;   // HTTP requests sent (each retry is one more)
  std::uint64_t bytes_in = 0;   // response body bytes received, of cut responses too
  std::uint64_t bytes_out = 0;  // request body bytes sent
};

void add_request();
void add_bytes_in(std::uint64_t n);
void add_bytes_out(std::uint64_t n);

Totals totals();

}  // namespace ingot::net_traffic

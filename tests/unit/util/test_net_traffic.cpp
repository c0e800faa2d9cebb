// util/net_traffic.h: the process-wide counters net/http adds to from many threads at
// once (the remote reader's block fetches, the sink's part senders) lose no count.
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "ingot/util/net_traffic.h"

namespace net_traffic = ingot::net_traffic;

TEST_CASE("net traffic: counts from many threads add up exactly", "[util][net]") {
  const net_traffic::Totals before = net_traffic::totals();
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 10000; ++i) {
        net_traffic::add_request();
        net_traffic::add_bytes_in(static_cast<std::uint64_t>(t + 1));
        net_traffic::add_bytes_out(2);
      }
    });
  }
  for (auto& th : threads) th.join();
  const net_traffic::Totals after = net_traffic::totals();
  CHECK(after.requests - before.requests == 80000);
  CHECK(after.bytes_in - before.bytes_in == 10000u * (1 + 2 + 3 + 4 + 5 + 6 + 7 + 8));
  CHECK(after.bytes_out - before.bytes_out == 160000);
}

#include "ingot/util/net_traffic.h"

#include <atomic>

namespace ingot::net_traffic {
namespace {

// Relaxed: each counter is a sum read for a report or a rate, never to order other memory.
std::atomic<std::uint64_t> g_requests{0}, g_in{0}, g_out{0};

}  // namespace

void add_request() { g_requests.fetch_add(1, std::memory_order_relaxed); }
void add_bytes_in(std::uint64_t n) { g_in.fetch_add(n, std::memory_order_relaxed); }
void add_bytes_out(std::uint64_t n) { g_out.fetch_add(n, std::memory_order_relaxed); }

Totals totals() {
  return {g_requests.load(std::memory_order_relaxed), g_in.load(std::memory_order_relaxed),
          g_out.load(std::memory_order_relaxed)};
}

}  // namespace ingot::net_traffic

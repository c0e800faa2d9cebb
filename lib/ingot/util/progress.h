// Progress on stderr: bytes done, rate, ETA, records, and when the run moves bytes over
// the network, its throughput ("net X/s in, Y/s out", from util/net_traffic.h). Drawn
// only when enabled (by default: when stderr is a terminal), at most a few times a
// second, erased at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ingot {

class Progress {
 public:
  Progress(bool enabled, std::string label, std::uint64_t total_bytes);
  ~Progress();
  void update(std::uint64_t bytes, std::uint64_t records);
  void finish();  // erases the line
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  bool drawn_ = false;
  std::string label_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_, last_;
  std::uint64_t net_in0_ = 0, net_out0_ = 0;  // network totals when the progress began
};

// The default for --progress/--no-progress: stderr is a terminal.
bool stderr_is_terminal();

}  // namespace ingot

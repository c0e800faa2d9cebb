#include "ingot/util/progress.h"

#include <unistd.h>

#include <cstdio>

#include "ingot/util/net_traffic.h"
#include "ingot/util/units.h"

namespace ingot {

bool stderr_is_terminal() { return ::isatty(2) == 1; }

Progress::Progress(bool enabled, std::string label, std::uint64_t total_bytes)
    : enabled_(enabled), label_(std::move(label)), total_(total_bytes) {
  start_ = last_ = std::chrono::steady_clock::now();
  const net_traffic::Totals t = net_traffic::totals();
  net_in0_ = t.bytes_in;
  net_out0_ = t.bytes_out;
}

Progress::~Progress() { finish(); }

void Progress::update(std::uint64_t bytes, std::uint64_t records) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  double secs = std::chrono::duration<double>(now - start_).count();
  double rate = secs > 0 ? static_cast<double>(bytes) / secs : 0;
  char line[256];
  if (total_ > 0) {
    double eta = rate > 0 ? static_cast<double>(total_ - std::min(bytes, total_)) / rate : 0;
    std::snprintf(line, sizeof line, "\r\033[K%s %s / %s %3.0f%%  %s/s  ETA %.0fs  %llu records", label_.c_str(),
                  format_size(bytes).c_str(), format_size(total_).c_str(),
                  100.0 * static_cast<double>(bytes) / static_cast<double>(total_),
                  format_size(static_cast<std::uint64_t>(rate)).c_str(), eta, static_cast<unsigned long long>(records));
  } else {
    std::snprintf(line, sizeof line, "\r\033[K%s %s  %s/s  %llu records", label_.c_str(), format_size(bytes).c_str(),
                  format_size(static_cast<std::uint64_t>(rate)).c_str(), static_cast<unsigned long long>(records));
  }
  std::string text = line;
  // Network throughput since the start, when the run has moved bytes over the network.
  const net_traffic::Totals t = net_traffic::totals();
  const std::uint64_t in = t.bytes_in - net_in0_, out = t.bytes_out - net_out0_;
  if ((in > 0 || out > 0) && secs > 0) {
    text += "  net " + format_size(static_cast<std::uint64_t>(static_cast<double>(in) / secs)) + "/s in, " +
            format_size(static_cast<std::uint64_t>(static_cast<double>(out) / secs)) + "/s out";
  }
  std::fputs(text.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (drawn_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace ingot

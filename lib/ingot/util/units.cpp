#include "ingot/util/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace ingot {

std::optional<std::uint64_t> parse_size(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0) return std::nullopt;
  std::string_view unit(end, text.data() + text.size() - end);
  std::string u;
  for (char c : unit) u += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (u.size() >= 2 && u.substr(u.size() - 2) == "IB")
    u.resize(u.size() - 2);
  else if (!u.empty() && u.back() == 'B')
    u.pop_back();
  double mult = 1;
  if (u.empty())
    mult = 1;
  else if (u == "K")
    mult = 1024.0;
  else if (u == "M")
    mult = 1024.0 * 1024;
  else if (u == "G")
    mult = 1024.0 * 1024 * 1024;
  else if (u == "T")
    mult = 1024.0 * 1024 * 1024 * 1024;
  else
    return std::nullopt;
  double bytes = value * mult;
  if (bytes >= 1.8e19) return std::nullopt;
  return static_cast<std::uint64_t>(std::llround(bytes));
}

std::string format_size(std::uint64_t bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int i = 0;
  while (v >= 1024 && i < 4) {
    v /= 1024;
    ++i;
  }
  char buf[32];
  if (i == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
  return buf;
}

}  // namespace ingot

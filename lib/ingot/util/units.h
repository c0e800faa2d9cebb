// Parsing and printing of human sizes ("4M", "180MiB", "1.5G") and durations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ingot {

// Binary multiples: K = 1024. Accepts an optional "B"/"iB" suffix. nullopt on garbage.
std::optional<std::uint64_t> parse_size(std::string_view text);

// "1.2 GiB", "512 B": for human summaries.
std::string format_size(std::uint64_t bytes);

}  // namespace ingot

// CLI tests run the real binary; the helpers live in tests/support.h.
#pragma once

#include <nlohmann/json.hpp>

#include "support.h"

namespace ingot_test {

// The "result" object of a command's --json report on stdout (stderr shown on failure).
inline nlohmann::json report(const RunResult& r) {
  INFO(r.err);
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  REQUIRE(!j.is_discarded());
  return j["result"];
}

}  // namespace ingot_test

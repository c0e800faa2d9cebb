// Template bodies for boundary.h.
#pragma once

#include <cstring>

namespace ingot {

template <class F>
void for_each_record_end(const char* p, std::size_t n, RecordKind kind, F&& on_record_end) {
  const char* end = p + n;
  if (!is_delimited(kind)) {
    for (const char* s = p; s < end;) {
      const char* nl = static_cast<const char*>(std::memchr(s, '\n', static_cast<std::size_t>(end - s)));
      if (!nl) return;
      on_record_end(static_cast<std::size_t>(nl + 1 - p));
      s = nl + 1;
    }
    return;
  }
  bool quoted = false;
  for (const char* s = p; s < end; ++s) {
    const char c = *s;
    if (c == '"') {
      quoted = !quoted;
    } else if (c == '\n' && !quoted) {
      on_record_end(static_cast<std::size_t>(s + 1 - p));
    }
  }
}

}  // namespace ingot

// Template bodies for boundary.h.
#pragma once

#include <cstring>

namespace ingot {

template <class F>
CsvState csv_scan(const char* p, std::size_t n, char delim, CsvState s, F&& on_span) {
  const char* const end = p + n;
  const char* i = p;  // the first byte not yet read, in state s
  while (i < end) {
    if (s == CsvState::quoted) {
      const void* close = std::memchr(i, '"', static_cast<std::size_t>(end - i));
      if (!close) return CsvState::quoted;
      i = static_cast<const char*>(close) + 1;
      s = CsvState::field_start;
      continue;
    }
    // Outside quotes from i: find the first quote that opens a field. Before it every
    // byte is outside, so the byte before a quote at q > i decides: a delimiter or
    // '\n' makes q a field start; anything else (a literal '"' included) does not.
    const char* q = i;
    for (;;) {
      const void* hit = std::memchr(q, '"', static_cast<std::size_t>(end - q));
      if (!hit) {
        on_span(static_cast<std::size_t>(i - p), n);
        // The state after the last byte, which lies in [i, end) outside quotes.
        const char last = end[-1];
        return last == delim || last == '\n' ? CsvState::field_start : CsvState::unquoted;
      }
      q = static_cast<const char*>(hit);
      const bool opens = q == i ? s == CsvState::field_start : (q[-1] == delim || q[-1] == '\n');
      if (opens) break;
      ++q;
      if (q == end) {
        on_span(static_cast<std::size_t>(i - p), n);
        return CsvState::unquoted;
      }
    }
    if (q > i) on_span(static_cast<std::size_t>(i - p), static_cast<std::size_t>(q - p));
    i = q + 1;
    s = CsvState::quoted;
  }
  return s;
}

template <class F>
void for_each_record_end(const char* p, std::size_t n, RecordKind kind, F&& on_record_end, char delim) {
  auto lines = [&](std::size_t a, std::size_t b) {
    for (const char* s = p + a; s < p + b;) {
      const char* nl = static_cast<const char*>(std::memchr(s, '\n', static_cast<std::size_t>(p + b - s)));
      if (!nl) return;
      on_record_end(static_cast<std::size_t>(nl + 1 - p));
      s = nl + 1;
    }
  };
  if (!is_delimited(kind)) {
    lines(0, n);
    return;
  }
  csv_scan(p, n, grammar_delimiter(kind, delim), CsvState::field_start, lines);
}

}  // namespace ingot

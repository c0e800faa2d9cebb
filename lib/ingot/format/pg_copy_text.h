// PostgreSQL COPY's text format, the input ingot sends to COPY for every source: fields
// joined by tabs, rows ended by LF, NULL as \N, and backslash, tab, LF and CR in a
// value written as \\, \t, \n and \r. The server parses it ~12% faster than its CSV
// format (measured: docs/upload.md, "PostgreSQL"), and the client has
// tokenized every record anyway.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "ingot/util/swar.h"

namespace ingot {

// Room a field needs: every byte may double, plus one 16-byte store past the end.
inline std::size_t copy_text_field_max(std::size_t n) { return 2 * n + 16; }

namespace copy_text_detail {

inline char* escape_bytes(char* o, const char* s, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[i];
    switch (c) {
      case '\\':
        *o++ = '\\';
        *o++ = '\\';
        break;
      case '\t':
        *o++ = '\\';
        *o++ = 't';
        break;
      case '\n':
        *o++ = '\\';
        *o++ = 'n';
        break;
      case '\r':
        *o++ = '\\';
        *o++ = 'r';
        break;
      default: *o++ = c;
    }
  }
  return o;
}

}  // namespace copy_text_detail

// Writes one non-NULL value, escaped; returns the end. The field may be read up to 15
// bytes past its end (chunks and the CSV tokenizer's scratch have 64 readable bytes of
// padding) and up to 16 bytes past the written end may be overwritten: room for
// copy_text_field_max(field.size()).
inline char* write_copy_text_field(char* o, std::string_view field) {
  const char* s = field.data();
  std::size_t n = field.size();
#if defined(__SSE2__)
  while (n > 0) {
    const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s));
    const __m128i x =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('\\')), _mm_cmpeq_epi8(w, _mm_set1_epi8('\t'))),
                     _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('\n')), _mm_cmpeq_epi8(w, _mm_set1_epi8('\r'))));
    const std::size_t k = n < 16 ? n : 16;
    const unsigned live = k == 16 ? 0xFFFFu : (1u << k) - 1;
    if ((static_cast<unsigned>(_mm_movemask_epi8(x)) & live) == 0) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o), w);
      o += k;
    } else {
      o = copy_text_detail::escape_bytes(o, s, k);
    }
    s += k;
    n -= k;
  }
  return o;
#else
  return copy_text_detail::escape_bytes(o, s, n);
#endif
}

// The same into a string, for values without padding (the NDJSON converter's cells):
// the common value with nothing to escape is one word-wide scan and one append.
inline void append_copy_text_field(std::string& out, std::string_view field) {
  const std::size_t k = swar::find4(field.data(), field.size(), '\\', '\t', '\n', '\r');
  out.append(field.data(), k);
  if (k == field.size()) return;
  const std::size_t at = out.size();
  out.resize(at + 2 * (field.size() - k));
  char* end = copy_text_detail::escape_bytes(out.data() + at, field.data() + k, field.size() - k);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

// One text-format row (without its line end) back into values, for --infer-types:
// \N is nullopt, escapes undone.
inline std::vector<std::optional<std::string>> parse_copy_text_row(std::string_view row) {
  std::vector<std::optional<std::string>> fields;
  std::string v;
  bool null = false;
  for (std::size_t i = 0;; ++i) {
    if (i == row.size() || row[i] == '\t') {
      fields.push_back(null ? std::nullopt : std::optional<std::string>(v));
      v.clear();
      null = false;
      if (i == row.size()) break;
      continue;
    }
    if (row[i] != '\\' || i + 1 == row.size()) {
      v += row[i];
      continue;
    }
    const char e = row[++i];
    if (e == 'N')
      null = true;
    else
      v += e == 't' ? '\t' : e == 'n' ? '\n' : e == 'r' ? '\r' : e;
  }
  return fields;
}

}  // namespace ingot

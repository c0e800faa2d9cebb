// Small JSON text helpers shared by the writers: string escaping and the JSON number
// grammar (used to keep numbers byte-for-byte and to type CSV fields).
#pragma once

#include <string>
#include <string_view>

namespace ingot {

// Appends s as a JSON string literal (quotes included). s must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);
// The same into raw memory with room for json_string_max(s.size()) bytes; returns the end.
char* write_json_string(char* out, std::string_view s);
inline std::size_t json_string_max(std::size_t n) { return 6 * n + 2; }

// True when s is exactly one number per RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// Inline: it runs on every field of every CSV record.
inline bool is_json_number(std::string_view s) {
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };

  std::size_t i = 0, n = s.size();
  if (n == 0 || (s[0] != '-' && !is_digit(s[0]))) return false;  // most text fails here
  if (i < n && s[i] == '-') ++i;
  if (i == n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    ++i;
    if (i == n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i == n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  return i == n;
}

// Trims JSON insignificant white space (space, tab, CR, LF) from both ends.
std::string_view trim_json_ws(std::string_view s);

}  // namespace ingot

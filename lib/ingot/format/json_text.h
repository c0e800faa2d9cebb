// Small JSON text helpers shared by the writers: string escaping and the JSON number
// grammar (used to keep numbers byte-for-byte and to type CSV fields).
#pragma once

#include <string>
#include <string_view>

namespace ingot {

// Appends s as a JSON string literal (quotes included). s must be valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

// True when s is exactly one number per RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s);

// Trims JSON insignificant white space (space, tab, CR, LF) from both ends.
std::string_view trim_json_ws(std::string_view s);

}  // namespace ingot

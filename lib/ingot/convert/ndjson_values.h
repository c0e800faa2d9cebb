// JSON value helpers of the NDJSON walkers (convert_ndjson.cpp's chunk converter and
// ndjson_leaf_scan.cpp's Parquet walk), so that both validate and spell every value
// alike: number tokens, string bodies, raw keys, the compact text of containers, the
// nesting limit and the reject reasons.
//
// Compiled once per CPU variant, inside its namespace, like ndjson_shape.h: include only
// from the per-CPU-level files.
#pragma once

#ifndef INGOT_NDJSON_VARIANT
#error "include only from the per-CPU-level files (convert_ndjson.cpp, ndjson_leaf_scan.cpp)"
#endif

#include <simdjson.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "ingot/chunk/chunker.h"
#include "ingot/convert/convert_internal.h"
#include "ingot/format/json_text.h"
#include "ingot/util/swar.h"

namespace ingot::detail::INGOT_NDJSON_VARIANT {

namespace od = simdjson::ondemand;
using simdjson::error_code;

inline bool has_backslash(std::string_view s) { return swar::find2(s.data(), s.size(), '\\', '\\') != s.size(); }

inline bool is_json_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// A raw token without the white space simdjson leaves after it (rare in NDJSON, so
// checked before calling out).
inline std::string_view trim_token(std::string_view raw) {
  return !raw.empty() && (is_json_ws(raw.back()) || is_json_ws(raw.front())) ? trim_json_ws(raw) : raw;
}

// A number's raw token without surrounding white space, or empty when it is not
// exactly one JSON number. Digits-and-dots spellings are decided 16 bytes at once
// (tokens lie in padded chunks, so the load may pass their end); others by the grammar.
inline std::string_view number_token(std::string_view raw) {
  raw = trim_token(raw);
  const std::size_t n = raw.size();
  if (n - 1 < 16) {
    const int fast = swar::digits_dot_number16(raw.data(), n);
    if (fast >= 0) return fast ? raw : std::string_view();
  }
  return is_json_number(raw) ? raw : std::string_view();
}

// The body of a string token: without quotes; `escaped` when it holds a backslash.
inline std::string_view string_body(std::string_view token, bool& escaped) {
  token = trim_token(token);
  std::string_view body = token.substr(1, token.size() >= 2 ? token.size() - 2 : 0);
  escaped = has_backslash(body);
  return body;
}

// A key as written (escaped), from the pointer simdjson gives just after its quote.
// Stage 1 proved the closing quote exists, and the chunk buffer is padded, so the
// word-wide scan may read past it.
inline std::string_view raw_key(od::raw_json_string key) {
  const char* s = key.raw();
  const char* p = s;
  for (;;) {
    p += swar::find_quote_or_backslash_padded(p);
    if (*p == '"') break;
    p += 2;  // an escape: skip the backslash and the escaped byte
  }
  return {s, static_cast<std::size_t>(p - s)};
}

// Objects and arrays nested deeper than this make the line invalid: the walkers recurse
// once per level, and 100,000 levels overflowed the stack. 1024 (simdjson's DOM default)
// still overflowed a TBB worker's stack in the AddressSanitizer build, whose frames are
// much bigger; real data rarely nests past a few dozen levels.
inline constexpr std::uint32_t kMaxJsonDepth = 256;

// Walks one JSON value at nesting `depth`, appending its compact text to `out` (null:
// only validate). With `leaf`, an object sets *leaf when it holds a member that
// flattening would make a column: a non-object value, in it or in its object members
// ({"a":{}} holds none, {"a":[]} does).
inline error_code write_compact(od::value v, std::string* out, std::uint32_t depth, bool* leaf = nullptr) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      if (out) *out += '{';
      bool first = true;
      for (auto fr : obj) {
        od::field f;
        if (auto e = std::move(fr).get(f)) return e;
        if (out) {
          if (!first) *out += ',';
          *out += '"';
          out->append(raw_key(f.key()));
          *out += "\":";
        }
        first = false;
        od::value fv = f.value();
        bool* member_leaf = nullptr;
        if (leaf && !*leaf) {
          od::json_type ft;
          if (auto e = fv.type().get(ft)) return e;
          if (ft == od::json_type::object)
            member_leaf = leaf;
          else
            *leaf = true;
        }
        if (auto e = write_compact(fv, out, depth + 1, member_leaf)) return e;
      }
      if (out) *out += '}';
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      if (depth >= kMaxJsonDepth) return simdjson::DEPTH_ERROR;
      od::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      if (out) *out += '[';
      bool first = true;
      for (auto er : arr) {
        od::value el;
        if (auto e = std::move(er).get(el)) return e;
        if (out && !first) *out += ',';
        first = false;
        if (auto e = write_compact(el, out, depth + 1)) return e;
      }
      if (out) *out += ']';
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view tok = trim_json_ws(v.raw_json_token());
      bool escaped;
      string_body(tok, escaped);
      if (escaped) {
        std::string_view s;
        if (auto e = v.get_string().get(s)) return e;
      }
      if (out) out->append(tok);
      return simdjson::SUCCESS;
    }
    case od::json_type::number: {
      std::string_view tok = number_token(v.raw_json_token());
      if (tok.empty()) return simdjson::NUMBER_ERROR;
      if (out) out->append(tok);
      return simdjson::SUCCESS;
    }
    case od::json_type::boolean: {
      bool b;
      if (auto e = v.get_bool().get(b)) return e;
      if (out) *out += b ? "true" : "false";
      return simdjson::SUCCESS;
    }
    case od::json_type::null: {
      bool is_null;
      if (auto e = v.is_null().get(is_null)) return e;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      if (out) *out += "null";
      return simdjson::SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

// A code simdjson never returns, for "valid JSON, but not an object". NUM_ERROR_CODES
// (the count, not an error) rather than -1: -1 is outside the enum's range, which
// UBSan reports as undefined behaviour (found by tests/fuzz/fuzz_convert_ndjson).
inline constexpr auto kNotAnObject = simdjson::NUM_ERROR_CODES;

inline std::string reason_for(error_code e) {
  if (e == kNotAnObject) return "not a JSON object";
  switch (e) {
    case simdjson::INCORRECT_TYPE: return "invalid JSON: malformed value";
    case simdjson::UTF8_ERROR: return "invalid UTF-8";
    case simdjson::TRAILING_CONTENT: return "trailing content after the JSON value";
    case simdjson::UNCLOSED_STRING: return "invalid JSON: unclosed string";
    case simdjson::NUMBER_ERROR: return "invalid JSON: malformed number";
    case simdjson::DEPTH_ERROR: return "invalid JSON: nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    default: return std::string("invalid JSON: ") + simdjson::error_message(e);
  }
}

// The reject of chunk c's line at [p, raw_end) that failed with e, `line` newlines into
// the chunk.
inline Reject line_reject(const Chunk& c, error_code e, std::uint64_t line, const char* p, const char* raw_end) {
  Reject r;
  r.line = line;
  r.offset = static_cast<std::uint64_t>(p - c.data);
  r.raw = std::string_view(p, static_cast<std::size_t>(raw_end - p));
  r.reason = reason_for(e);
  return r;
}

inline bool is_blank(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  }
  return true;
}

// Calls each(p, len, capacity, raw_end, line) for every line of a chunk after its BOM:
// len without the '\n' and a '\r' before it, capacity the bytes readable from p (the
// chunk's padding included), raw_end just past the line's '\n' (the chunk's end for a
// last line without one), line the number of newlines before it. Returns the chunk's
// newlines.
template <class Each>
std::uint64_t for_each_chunk_line(const Chunk& c, Each&& each) {
  const char* p = c.data + bom_length(c.data, c.size, c.offset);
  const char* end = c.data + c.size;
  const char* cap_end = end + kChunkPadding;
  std::uint64_t line = 0;
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* le = nl ? nl : end;
    std::size_t len = static_cast<std::size_t>(le - p);
    if (len > 0 && p[len - 1] == '\r') --len;
    each(p, len, static_cast<std::size_t>(cap_end - p), nl ? nl + 1 : end, line);
    if (!nl) break;
    ++line;
    p = nl + 1;
  }
  return line;
}

}  // namespace ingot::detail::INGOT_NDJSON_VARIANT

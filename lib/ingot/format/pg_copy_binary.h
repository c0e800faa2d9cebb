// PostgreSQL COPY's binary format, which upload sends a CSV/TSV source in when the target
// table's columns are all of types encoded here and one at least is not text: the
// server then parses no numbers, dates or timestamps (a 128 MiB taxi CSV into a typed
// table: 1.45-1.57 CPU-s in the backend for binary, 2.4 s for text, 2.45-2.6 s for CSV;
// docs/upload.md, "PostgreSQL"). A value is encoded only when its text is one the
// server's own input function reads to exactly that value, in a plain spelling
// (`-12`, `3.5e2`, `2023-10-08 19:50:19.25`); for anything else the encoder says no and
// the caller sends the chunk in the text format, so the server judges (and words the
// error of) every value ingot is not certain of.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ingot {

// The column types with a binary encoding here, by what the value becomes.
enum class CopyBinaryType : std::uint8_t { boolean, int2, int4, int8, float8, text, date, timestamp };

// The type of a column of type OID oid (pg_attribute.atttypid), if it is one of the
// above: bool, int2, int4, int8, float4, float8, text, varchar, bpchar (their length
// limits are checked by the same input function on the server), date, timestamp.
// Not float4: servers before 12 read it through strtod and round twice.
// Domains, arrays, numeric, timestamptz (its text depends on the session's TimeZone)
// and the rest are not.
std::optional<CopyBinaryType> copy_binary_type(std::uint32_t oid);

// The stream's header (signature, flags, header extension length) and trailer.
inline constexpr std::string_view kCopyBinaryHeader{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};
inline constexpr std::string_view kCopyBinaryTrailer{"\377\377", 2};

// Room one field needs: its 4-byte length and the larger of the text and 8 bytes.
inline std::size_t copy_binary_field_max(std::size_t text_size) { return 4 + (text_size > 8 ? text_size : 8); }

// Writes a tuple's field count (big-endian int16).
inline char* write_copy_binary_count(char* o, std::uint16_t n) {
  o[0] = static_cast<char>(n >> 8);
  o[1] = static_cast<char>(n);
  return o + 2;
}

// A NULL field: length -1.
inline char* write_copy_binary_null(char* o) {
  for (int i = 0; i < 4; ++i) o[i] = '\377';
  return o + 4;
}

// Writes the field for the non-NULL text value v of a column of type t (length and
// bytes; room: copy_binary_field_max(v.size())) and returns its end, or nullptr when v
// is not one this encoder is certain of (the caller falls back to the text format).
char* write_copy_binary_value(char* o, CopyBinaryType t, std::string_view v);

}  // namespace ingot

// The Thrift compact protocol, write side only: what Parquet's footer (FileMetaData)
// and page headers are encoded with. Fields are written in increasing id order, as
// the generated Thrift code does; the encoder does not check it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ingot::parquet {

// Compact protocol type codes (field headers and list element types).
enum class TType : std::uint8_t {
  bool_true = 1,
  bool_false = 2,
  byte = 3,
  i16 = 4,
  i32 = 5,
  i64 = 6,
  double_ = 7,
  binary = 8,
  list = 9,
  set = 10,
  map = 11,
  struct_ = 12,
};

class CompactWriter {
 public:
  explicit CompactWriter(std::string& out) : out_(out) {}

  void field_i16(std::int16_t id, std::int16_t v);
  void field_i32(std::int16_t id, std::int32_t v);
  void field_i64(std::int16_t id, std::int64_t v);
  void field_bool(std::int16_t id, bool v);
  void field_binary(std::int16_t id, std::string_view v);
  // A struct-valued field (or a union's one member); close it with end_struct().
  void begin_struct(std::int16_t id);
  void end_struct();
  // A list-valued field of `size` elements of `elem`; then write the elements with
  // the element calls below (structs: begin_list_struct() ... end_struct()).
  void begin_list(std::int16_t id, TType elem, std::uint32_t size);
  void elem_i32(std::int32_t v) { varint(zigzag(v)); }
  void elem_binary(std::string_view v);
  void begin_list_struct();
  // Ends the top-level struct (the stop byte).
  void stop() { out_.push_back('\0'); }

  static std::uint64_t zigzag(std::int64_t v) {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  }
  void varint(std::uint64_t v);

 private:
  void field_header(std::int16_t id, TType type);

  std::string& out_;
  std::int16_t last_ = 0;            // the last field id of the open struct
  std::vector<std::int16_t> outer_;  // the last ids of the enclosing structs
};

}  // namespace ingot::parquet

// The Thrift compact protocol encoder (see thrift_compact.h); the encoding follows
// Thrift's doc/specs/thrift-compact-protocol.md.
#include "ingot/parquet/thrift_compact.h"

namespace ingot::parquet {

void CompactWriter::varint(std::uint64_t v) {
  while (v >= 0x80) {
    out_.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out_.push_back(static_cast<char>(v));
}

// A field id 1..15 above the previous one fits in the header byte's high nibble; any
// other id follows the type byte as a zigzag varint (an i16).
void CompactWriter::field_header(std::int16_t id, TType type) {
  const int delta = id - last_;
  if (delta > 0 && delta <= 15) {
    out_.push_back(static_cast<char>((delta << 4) | static_cast<int>(type)));
  } else {
    out_.push_back(static_cast<char>(type));
    varint(zigzag(id));
  }
  last_ = id;
}

void CompactWriter::field_i16(std::int16_t id, std::int16_t v) {
  field_header(id, TType::i16);
  varint(zigzag(v));
}

void CompactWriter::field_i32(std::int16_t id, std::int32_t v) {
  field_header(id, TType::i32);
  varint(zigzag(v));
}

void CompactWriter::field_i64(std::int16_t id, std::int64_t v) {
  field_header(id, TType::i64);
  varint(zigzag(v));
}

// A boolean field carries its value in the header's type nibble and has no body.
void CompactWriter::field_bool(std::int16_t id, bool v) { field_header(id, v ? TType::bool_true : TType::bool_false); }

void CompactWriter::field_binary(std::int16_t id, std::string_view v) {
  field_header(id, TType::binary);
  elem_binary(v);
}

void CompactWriter::elem_binary(std::string_view v) {
  varint(v.size());
  out_.append(v);
}

void CompactWriter::begin_struct(std::int16_t id) {
  field_header(id, TType::struct_);
  outer_.push_back(last_);
  last_ = 0;
}

void CompactWriter::begin_list_struct() {
  outer_.push_back(last_);
  last_ = 0;
}

void CompactWriter::end_struct() {
  out_.push_back('\0');
  last_ = outer_.back();
  outer_.pop_back();
}

// Up to 14 elements: the size in the header's high nibble; more: 0xF then a varint.
void CompactWriter::begin_list(std::int16_t id, TType elem, std::uint32_t size) {
  field_header(id, TType::list);
  if (size < 15) {
    out_.push_back(static_cast<char>((size << 4) | static_cast<unsigned>(elem)));
  } else {
    out_.push_back(static_cast<char>(0xF0 | static_cast<unsigned>(elem)));
    varint(size);
  }
}

}  // namespace ingot::parquet

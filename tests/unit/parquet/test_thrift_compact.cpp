// The Thrift compact encoder byte for byte against encodings worked out by hand from
// Thrift's compact protocol spec (field header nibbles, zigzag varints, list headers,
// nested structs restoring the outer field id).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "ingot/parquet/thrift_compact.h"

using namespace ingot::parquet;

namespace {

std::vector<unsigned> bytes(const std::string& s) {
  std::vector<unsigned> v;
  for (unsigned char c : s) v.push_back(c);
  return v;
}

}  // namespace

TEST_CASE("parquet thrift: varint and zigzag", "[parquet][thrift]") {
  std::string out;
  CompactWriter w(out);
  w.varint(0);
  w.varint(127);
  w.varint(128);
  w.varint(300);
  CHECK(bytes(out) == std::vector<unsigned>{0x00, 0x7F, 0x80, 0x01, 0xAC, 0x02});
  CHECK(CompactWriter::zigzag(0) == 0);
  CHECK(CompactWriter::zigzag(-1) == 1);
  CHECK(CompactWriter::zigzag(1) == 2);
  CHECK(CompactWriter::zigzag(-2) == 3);
  CHECK(CompactWriter::zigzag(INT64_MAX) == UINT64_MAX - 1);
  CHECK(CompactWriter::zigzag(INT64_MIN) == UINT64_MAX);
}

TEST_CASE("parquet thrift: short and long field headers", "[parquet][thrift]") {
  std::string out;
  CompactWriter w(out);
  w.field_i32(1, 1);       // delta 1, i32 (5): 0x15, zigzag(1) = 2
  w.field_i64(3, -1);      // delta 2, i64 (6): 0x26, zigzag(-1) = 1
  w.field_i32(20, 0);      // delta 17 > 15: type byte 0x05, then zigzag(20) = 40
  w.field_i16(7, 5);       // going back: long form again, i16 (4): 0x04, zigzag(7) = 14, zigzag(5) = 10
  w.field_bool(8, true);   // delta 1, BOOLEAN_TRUE (1): 0x11, no body
  w.field_bool(9, false);  // 0x12
  w.stop();
  CHECK(bytes(out) ==
        std::vector<unsigned>{0x15, 0x02, 0x26, 0x01, 0x05, 0x28, 0x00, 0x04, 0x0E, 0x0A, 0x11, 0x12, 0x00});
}

TEST_CASE("parquet thrift: binary, lists and nested structs", "[parquet][thrift]") {
  std::string out;
  CompactWriter w(out);
  w.field_binary(4, "ab");         // 0x48, length 2, bytes
  w.begin_list(5, TType::i32, 3);  // delta 1, list (9): 0x19; size 3, i32: 0x35
  w.elem_i32(0);
  w.elem_i32(-1);
  w.elem_i32(64);                       // zigzag 128: 0x80 0x01
  w.begin_struct(6);                    // 0x1C; inside, ids restart from 0
  w.field_i32(1, 2);                    // 0x15 0x04
  w.end_struct();                       // 0x00
  w.field_i32(7, 3);                    // delta 1 from the struct's id 6: 0x15 0x06
  w.begin_list(8, TType::struct_, 15);  // 0x19; 15 elements: 0xFC then varint 15
  for (int i = 0; i < 15; ++i) {
    w.begin_list_struct();
    w.end_struct();
  }
  w.stop();
  std::vector<unsigned> want{0x48, 0x02, 'a',  'b',  0x19, 0x35, 0x00, 0x01, 0x80, 0x01,
                             0x1C, 0x15, 0x04, 0x00, 0x15, 0x06, 0x19, 0xFC, 0x0F};
  for (int i = 0; i < 15; ++i) want.push_back(0x00);
  want.push_back(0x00);
  CHECK(bytes(out) == want);
}

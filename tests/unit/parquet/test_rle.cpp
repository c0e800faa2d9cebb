// The RLE / bit-packing hybrid encoder: the bit layout example of Parquet's
// Encodings.md, hand-worked runs at group boundaries, and random sequences decoded
// back by a reader written here from the spec's grammar.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ingot/parquet/rle.h"

using namespace ingot::parquet;

namespace {

std::vector<unsigned> bytes(const std::string& s) {
  std::vector<unsigned> v;
  for (unsigned char c : s) v.push_back(c);
  return v;
}

std::uint64_t read_varint(const std::string& s, std::size_t& at) {
  std::uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(s.at(at++));
    v |= std::uint64_t{b & 0x7Fu} << shift;
    if (!(b & 0x80)) return v;
  }
}

// Decodes n values of the hybrid encoding; fails the test on a malformed stream.
std::vector<std::uint32_t> decode(const std::string& s, std::size_t n, int bit_width) {
  std::vector<std::uint32_t> out;
  std::size_t at = 0;
  while (out.size() < n) {
    const std::uint64_t header = read_varint(s, at);
    if (header & 1) {
      const std::size_t values = (header >> 1) * 8;
      REQUIRE(values > 0);
      for (std::size_t i = 0; i < values; ++i) {
        std::uint32_t v = 0;
        for (int b = 0; b < bit_width; ++b) {
          const std::size_t bit = i * static_cast<std::size_t>(bit_width) + static_cast<std::size_t>(b);
          if ((static_cast<unsigned char>(s.at(at + bit / 8)) >> (bit % 8)) & 1) v |= 1u << b;
        }
        if (out.size() < n) out.push_back(v);
      }
      at += (header >> 1) * static_cast<std::size_t>(bit_width);
    } else {
      const std::size_t count = header >> 1;
      REQUIRE(count > 0);
      std::uint32_t v = 0;
      for (int i = 0; i < (bit_width + 7) / 8; ++i)
        v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s.at(at++))) << (8 * i);
      for (std::size_t i = 0; i < count; ++i) out.push_back(v);
    }
  }
  REQUIRE(at == s.size());  // nothing after the last value's run
  return out;
}

}  // namespace

TEST_CASE("parquet rle: the spec's bit-packing example", "[parquet][rle]") {
  // Encodings.md: 0..7 at bit width 3 pack to 10001000 11000110 11111010.
  std::vector<std::uint32_t> v{0, 1, 2, 3, 4, 5, 6, 7};
  std::string out;
  append_rle_hybrid(out, v, 3);
  CHECK(bytes(out) == std::vector<unsigned>{0x03, 0x88, 0xC6, 0xFA});
}

TEST_CASE("parquet rle: runs and literal groups at their boundaries", "[parquet][rle]") {
  std::string out;
  append_rle_hybrid(out, std::vector<std::uint8_t>(100, 0), 1);
  CHECK(bytes(out) == std::vector<unsigned>{0xC8, 0x01, 0x00});  // RLE run: varint(100 << 1), value byte

  out.clear();
  append_rle_hybrid(out, std::vector<std::uint8_t>{1, 0, 1, 0, 1, 0, 1, 0}, 1);
  CHECK(bytes(out) == std::vector<unsigned>{0x03, 0x55});  // one bit-packed group

  // 3 ones then 12 zeros: the run does not leave 8 after completing the group, so all
  // 15 values are literals (2 groups, the last padded).
  std::vector<std::uint8_t> v(3, 1);
  v.resize(15, 0);
  out.clear();
  append_rle_hybrid(out, v, 1);
  CHECK(bytes(out) == std::vector<unsigned>{0x05, 0x07, 0x00});

  // 3 ones then 13 zeros: 5 zeros complete the group, the other 8 are a run.
  v.push_back(0);
  out.clear();
  append_rle_hybrid(out, v, 1);
  CHECK(bytes(out) == std::vector<unsigned>{0x03, 0x07, 0x10, 0x00});

  out.clear();
  append_rle_hybrid(out, std::vector<std::uint32_t>(9, 300), 9);  // value in 2 bytes
  CHECK(bytes(out) == std::vector<unsigned>{0x12, 0x2C, 0x01});

  CHECK(bit_width_for(0) == 0);
  CHECK(bit_width_for(1) == 1);
  CHECK(bit_width_for(255) == 8);
  CHECK(bit_width_for(256) == 9);
}

TEST_CASE("parquet rle: random sequences decode back", "[parquet][rle]") {
  std::mt19937 rng(7);
  for (int iter = 0; iter < 300; ++iter) {
    const int width = 1 + static_cast<int>(rng() % 20);
    const std::size_t n = rng() % 2000;
    std::vector<std::uint32_t> v;
    while (v.size() < n) {
      const std::uint32_t x = rng() & ((1u << width) - 1);
      const std::size_t run = rng() % 4 == 0 ? rng() % 40 : 1;
      for (std::size_t i = 0; i < run && v.size() < n; ++i) v.push_back(x);
    }
    std::string out;
    append_rle_hybrid(out, v, width);
    INFO("width " << width << ", " << n << " values");
    CHECK(decode(out, n, width) == v);
  }
}

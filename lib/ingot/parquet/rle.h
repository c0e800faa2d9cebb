// Parquet's RLE / bit-packing hybrid encoding: definition levels (bit width 1, with a
// 4-byte length prefix in a v1 data page) and dictionary indices (a bit-width byte,
// then the runs).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace ingot::parquet {

// Appends the hybrid encoding of values (each < 2^bit_width, bit_width 1..32) to out:
// a run of 8 or more equal values that starts on a group boundary becomes an RLE run,
// everything else bit-packed groups of 8 (the last group padded with zeros; a reader
// knows the value count from the page header).
void append_rle_hybrid(std::string& out, std::span<const std::uint32_t> values, int bit_width);
void append_rle_hybrid(std::string& out, std::span<const std::uint8_t> values, int bit_width);

// The bits needed for values 0..max_value (0 for 0).
int bit_width_for(std::uint64_t max_value);

}  // namespace ingot::parquet

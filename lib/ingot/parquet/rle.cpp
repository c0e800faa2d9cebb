// The RLE / bit-packing hybrid encoder (see rle.h and Parquet's Encodings.md).
#include "ingot/parquet/rle.h"

#include <algorithm>
#include <cstring>

namespace ingot::parquet {
namespace {

void varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// values.size() is a multiple of 8 except at the very end of the input.
// At most 63 groups per run: the header then fits one byte, which every reader takes.
template <class T>
void bit_packed(std::string& out, std::span<const T> values, int bit_width) {
  constexpr std::size_t kMaxRun = 63 * 8;
  while (values.size() > kMaxRun) {
    bit_packed(out, values.first(kMaxRun), bit_width);
    values = values.subspan(kMaxRun);
  }
  if (values.empty()) return;
  const std::size_t groups = (values.size() + 7) / 8;
  varint(out, (groups << 1) | 1);
  // Values go in LSB first through a 64-bit accumulator (bit_width <= 32, so a value
  // and the bits pending before it always fit); the last group is padded with zeros.
  const std::size_t start = out.size();
  out.resize(start + groups * static_cast<std::size_t>(bit_width));
  char* p = out.data() + start;
  if (bit_width <= 16) {
    // A group of 8 values is bit_width bytes: at most 128 bits, built in one integer.
    __extension__ using U128 = unsigned __int128;
    const std::size_t w = static_cast<std::size_t>(bit_width);
    const std::size_t n = values.size();
    for (std::size_t base = 0; base < n; base += 8) {
      U128 acc = 0;
      const std::size_t m = std::min<std::size_t>(8, n - base);
      for (std::size_t j = 0; j < m; ++j) acc |= static_cast<U128>(values[base + j]) << (j * w);
      std::memcpy(p, &acc, w);  // little-endian: the low bytes first, as the spec packs them
      p += w;
    }
    return;
  }
  std::uint64_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < groups * 8; ++i) {
    acc |= std::uint64_t{i < values.size() ? static_cast<std::uint64_t>(values[i]) : 0} << bits;
    bits += bit_width;
    while (bits >= 8) {
      *p++ = static_cast<char>(acc & 0xFF);
      acc >>= 8;
      bits -= 8;
    }
  }
}

template <class T>
void rle_run(std::string& out, T value, std::size_t count, int bit_width) {
  varint(out, count << 1);
  const int bytes = (bit_width + 7) / 8;
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<char>((static_cast<std::uint64_t>(value) >> (8 * i)) & 0xFF));
}

template <class T>
void encode(std::string& out, std::span<const T> values, int bit_width) {
  const std::size_t n = values.size();
  std::size_t lit_begin = 0;  // pending values for bit-packing: [lit_begin, i)
  std::size_t i = 0;
  while (i < n) {
    std::size_t run = 1;
    if constexpr (sizeof(T) == 1) {
      // Levels: runs are long; 8 at a time.
      const std::uint64_t pattern = 0x0101010101010101ULL * static_cast<std::uint8_t>(values[i]);
      while (i + run + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, values.data() + i + run, 8);
        if (w != pattern) break;
        run += 8;
      }
    }
    while (i + run < n && values[i + run] == values[i]) ++run;
    const std::size_t pending = i - lit_begin;
    if (run >= 8) {
      // Complete the pending group from the run, then the rest of the run (if still
      // 8 or more) is an RLE run; a shorter rest joins the literals.
      const std::size_t fill = (8 - pending % 8) % 8;
      const std::size_t rest = run - fill;
      if (rest >= 8) {
        bit_packed(out, values.subspan(lit_begin, pending + fill), bit_width);
        rle_run(out, values[i], rest, bit_width);
        i += run;
        lit_begin = i;
        continue;
      }
    }
    i += run;
  }
  bit_packed(out, values.subspan(lit_begin, n - lit_begin), bit_width);
}

}  // namespace

void append_rle_hybrid(std::string& out, std::span<const std::uint32_t> values, int bit_width) {
  encode(out, values, bit_width);
}

void append_rle_hybrid(std::string& out, std::span<const std::uint8_t> values, int bit_width) {
  encode(out, values, bit_width);
}

int bit_width_for(std::uint64_t max_value) {
  int w = 0;
  while (max_value >> w) ++w;
  return w;
}

}  // namespace ingot::parquet

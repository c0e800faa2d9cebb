// Compressing writers for --compress gz|zst: turn a byte stream into one gzip member
// (zlib, default level 6) or seekable zstd (libzstd, default level 3: a frame per
// 4 MiB of input and a seek table, zstd_seekable.h). The caller
// owns the output bytes (OutputFile and split's piece sinks write them), so a
// Compressor holds no pointer to its destination and moves freely.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "ingot/io/decompress.h"

namespace ingot {

class Compressor {
 public:
  // level 0: the codec's default. Throws a usage Error for Codec::none.
  static std::unique_ptr<Compressor> create(Codec codec, int level = 0);
  virtual ~Compressor();
  // Appends the compressed form of [p, p+n) to out; may append nothing (kept inside).
  virtual void update(const char* p, std::size_t n, std::string& out) = 0;
  // Appends the rest of the stream (gzip trailer, zstd epilogue). Call once, last.
  virtual void finish(std::string& out) = 0;
  Codec codec() const { return codec_; }

 protected:
  explicit Compressor(Codec codec) : codec_(codec) {}
  Codec codec_;
};

// Compresses a whole buffer (tests, small files).
std::string compress_all(Codec codec, const std::string& data, int level = 0);
// Decompresses a whole buffer; throws Error (with `display` as the path) when corrupt.
std::string decompress_all(Codec codec, const std::string& data, const std::string& display = "<memory>");

}  // namespace ingot

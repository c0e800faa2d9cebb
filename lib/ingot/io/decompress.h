// Transparent decompression of gzip (zlib) and zstd (libzstd) input, recognised by
// its magic bytes, never by its name. A Decompressor reads compressed bytes
// sequentially (from a file descriptor, or any RawReader: a remote object) and hands
// out the decoded bytes; InputFile uses one to make a compressed file, stream or
// remote object look like a plain, non-seekable stream.
// Multi-member gzip and multi-frame zstd (what `cat a.gz b.gz` and `zstd` produce)
// decode to the concatenation of their members. Corrupt or truncated data throws a
// data Error naming the path and the compressed byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ingot {

enum class Codec : unsigned char { none, gzip, zstd };

// "none", "gzip", "zstd" (as written in manifests and reports).
const char* codec_name(Codec codec);
// "gz"/"gzip", "zst"/"zstd", "none"; nullopt otherwise.
std::optional<Codec> parse_codec(std::string_view name);
// The usual file-name suffix: ".gz", ".zst", "" for none.
const char* codec_suffix(Codec codec);
// gzip: 1f 8b; zstd: 28 b5 2f fd (a zstd frame; skippable frames 5? 2a 4d 18 too).
// Needs the first 4 bytes (fewer: only what they can decide).
Codec detect_codec(const void* head, std::size_t n);
// Compressed formats ingot recognises but does not decode: "bzip2" (BZh1-9 and a block
// or end-of-stream magic), "xz" (fd 37 7a 58), "zip" (PK 03 04 / PK 05 06);
// nullptr otherwise. Needs the first 10 bytes (fewer: only what they can decide).
const char* foreign_compression(const void* head, std::size_t n);
// Throws the data Error for such input: what it is and how to decompress it first.
[[noreturn]] void refuse_foreign_compression(const char* format, const std::string& display);
// The name without a trailing ".gz" or ".zst".
std::string strip_codec_suffix(const std::string& name);

// Where compressed bytes come from: up to n bytes into dst, 0 only at the end; throws Error.
using RawReader = std::function<std::size_t(char* dst, std::size_t n)>;

class Decompressor {
 public:
  // Reads fd sequentially from its current position; `head` holds bytes already read
  // from it (by the magic sniffing of a stream). `display` names the input in errors.
  static std::unique_ptr<Decompressor> create(Codec codec, int fd, std::string display, std::string head = {});
  // Reads its compressed bytes from `raw` (a remote object, read by ranges).
  static std::unique_ptr<Decompressor> create(Codec codec, RawReader raw, std::string display);
  // Decodes from memory (tests, fuzzing).
  static std::unique_ptr<Decompressor> from_memory(Codec codec, std::string data, std::string display);

  virtual ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Up to n decoded bytes; fewer only at the end of the input. Throws Error.
  std::size_t read(char* dst, std::size_t n);
  Codec codec() const { return codec_; }
  // Compressed bytes consumed so far.
  std::uint64_t compressed_offset() const { return consumed_ + pos_; }

 protected:
  Decompressor(Codec codec, RawReader raw, std::string display, std::string head);

  // One decoder call on in[pos_, len_) into dst[0, n). Sets produced and advances pos_.
  // Returns true while inside a member/frame (more compressed bytes are needed to end it).
  virtual void step(char* dst, std::size_t n, std::size_t& produced) = 0;
  // Whether the decoder is between members/frames (a clean place for the input to end).
  virtual bool at_boundary() const = 0;
  // At a boundary with more input: checks the next member's magic and resets the decoder.
  virtual void start_member() {}

  [[noreturn]] void corrupt(const std::string& what) const;
  // Reads more compressed bytes; false at the end of the input.
  bool refill();
  std::size_t available() const { return len_ - pos_; }

  Codec codec_;
  RawReader raw_;  // empty: all the input is in head
  std::string display_;
  std::vector<unsigned char> buf_;
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t consumed_ = 0;  // compressed bytes before buf_[0]
  bool raw_eof_ = false;
  bool done_ = false;
};

}  // namespace ingot

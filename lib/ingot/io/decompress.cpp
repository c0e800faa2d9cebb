#include "ingot/io/decompress.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ingot/util/error.h"

namespace ingot {

const char* codec_name(Codec codec) {
  switch (codec) {
    case Codec::none: return "none";
    case Codec::gzip: return "gzip";
    case Codec::zstd: return "zstd";
  }
  return "none";
}

std::optional<Codec> parse_codec(std::string_view name) {
  if (name == "gz" || name == "gzip") return Codec::gzip;
  if (name == "zst" || name == "zstd") return Codec::zstd;
  if (name == "none") return Codec::none;
  return std::nullopt;
}

const char* codec_suffix(Codec codec) {
  switch (codec) {
    case Codec::none: return "";
    case Codec::gzip: return ".gz";
    case Codec::zstd: return ".zst";
  }
  return "";
}

Codec detect_codec(const void* head, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(head);
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Codec::gzip;
  if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return Codec::zstd;
  // A zstd skippable frame (magic 0x184D2A5?) may come first, e.g. with seek tables.
  if (n >= 4 && (p[0] & 0xf0) == 0x50 && p[1] == 0x2a && p[2] == 0x4d && p[3] == 0x18) return Codec::zstd;
  return Codec::none;
}

const char* foreign_compression(const void* head, std::size_t n) {
  const std::string_view h(static_cast<const char*>(head), n);
  // bzip2: "BZh" + block size, then the first block's magic (pi) or, for an empty
  // stream, the end-of-stream magic (sqrt pi): text starting "BZh9" is not taken for it.
  if (n >= 10 && h.starts_with("BZh") && h[3] >= '1' && h[3] <= '9' &&
      (h.substr(4, 6) == "\x31\x41\x59\x26\x53\x59" || h.substr(4, 6) == "\x17\x72\x45\x38\x50\x90")) {
    return "bzip2";
  }
  if (h.starts_with("\xfd"
                    "7zX"))
    return "xz";  // fd 37 7a 58 5a 00; 0xfd never starts text
  if (h.starts_with("PK\x03\x04") || h.starts_with("PK\x05\x06")) return "zip";
  return nullptr;
}

void refuse_foreign_compression(const char* format, const std::string& display) {
  const std::string f = format;
  const char* how = f == "bzip2" ? "bunzip2" : f == "xz" ? "unxz" : "unzip";
  throw data_error((f == "zip" ? std::string("a zip archive") : f + "-compressed data") +
                   ", which ingot does not read (only gzip and zstd): " + (f == "zip" ? "extract" : "decompress") +
                   " it first (" + how + ")")
      .at_path(display);
}

std::string strip_codec_suffix(const std::string& name) {
  for (const char* z : {".gz", ".zst"}) {
    const std::size_t n = std::strlen(z);
    if (name.size() > n && name.compare(name.size() - n, n, z) == 0) return name.substr(0, name.size() - n);
  }
  return name;
}

namespace {

constexpr std::size_t kInBuffer = 256 * 1024;

class GzipDecoder final : public Decompressor {
 public:
  GzipDecoder(RawReader raw, std::string display, std::string head)
      : Decompressor(Codec::gzip, std::move(raw), std::move(display), std::move(head)) {
    std::memset(&z_, 0, sizeof z_);
    // 15 + 16: gzip wrapper only (the magic said gzip); the trailer's CRC and length are checked.
    if (inflateInit2(&z_, 15 + 16) != Z_OK) throw io_error("zlib: inflateInit2 failed").at_path(display_);
  }
  ~GzipDecoder() override { inflateEnd(&z_); }

 private:
  void step(char* dst, std::size_t n, std::size_t& produced) override {
    z_.next_in = buf_.data() + pos_;
    z_.avail_in = static_cast<uInt>(std::min<std::size_t>(available(), 1u << 30));
    z_.next_out = reinterpret_cast<Bytef*>(dst);
    z_.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    const uInt out_before = z_.avail_out;
    const uInt in_before = z_.avail_in;
    int rc = inflate(&z_, Z_NO_FLUSH);
    pos_ += in_before - z_.avail_in;
    produced = out_before - z_.avail_out;
    switch (rc) {
      case Z_OK: break;
      case Z_BUF_ERROR: break;  // no progress possible now: needs input (or output space)
      case Z_STREAM_END: in_member_ = false; break;
      case Z_MEM_ERROR: throw io_error("out of memory decoding gzip").at_path(display_);
      default: corrupt(std::string("corrupt gzip data (") + (z_.msg ? z_.msg : "invalid data") + ")");
    }
  }
  bool at_boundary() const override { return !in_member_; }
  void start_member() override {
    // Another member must follow; anything else is not gzip (or is trailing garbage).
    while (available() < 2 && refill()) {
    }
    if (available() < 2 || buf_[pos_] != 0x1f || buf_[pos_ + 1] != 0x8b) {
      corrupt("unexpected bytes after the end of a gzip member (not gzip data)");
    }
    if (inflateReset(&z_) != Z_OK) throw io_error("zlib: inflateReset failed").at_path(display_);
    in_member_ = true;
  }

  z_stream z_;
  bool in_member_ = true;
};

class ZstdDecoder final : public Decompressor {
 public:
  ZstdDecoder(RawReader raw, std::string display, std::string head)
      : Decompressor(Codec::zstd, std::move(raw), std::move(display), std::move(head)) {
    dctx_ = ZSTD_createDCtx();
    if (!dctx_) throw io_error("out of memory creating a zstd decoder").at_path(display_);
  }
  ~ZstdDecoder() override { ZSTD_freeDCtx(dctx_); }

 private:
  void step(char* dst, std::size_t n, std::size_t& produced) override {
    ZSTD_inBuffer in{buf_.data() + pos_, available(), 0};
    ZSTD_outBuffer out{dst, n, 0};
    const std::size_t r = ZSTD_decompressStream(dctx_, &out, &in);
    if (ZSTD_isError(r)) {
      pos_ += in.pos;
      corrupt(std::string("corrupt zstd data (") + ZSTD_getErrorName(r) + ")");
    }
    pos_ += in.pos;
    produced = out.pos;
    // 0: a frame just ended completely (and all its output was flushed).
    pending_ = r != 0;
  }
  bool at_boundary() const override { return !pending_; }

  ZSTD_DCtx* dctx_ = nullptr;
  bool pending_ = true;  // the magic was seen: a frame has begun
};

}  // namespace

namespace {

std::unique_ptr<Decompressor> make_decoder(Codec codec, RawReader raw, std::string display, std::string head) {
  switch (codec) {
    case Codec::gzip: return std::make_unique<GzipDecoder>(std::move(raw), std::move(display), std::move(head));
    case Codec::zstd: return std::make_unique<ZstdDecoder>(std::move(raw), std::move(display), std::move(head));
    case Codec::none: break;
  }
  throw usage_error("no decompressor for uncompressed data").at_path(display);
}

}  // namespace

std::unique_ptr<Decompressor> Decompressor::create(Codec codec, int fd, std::string display, std::string head) {
  // The reader runs while the Decompressor lives; `where` copies the name for its errors.
  RawReader raw = [fd, where = display, at = std::uint64_t{0}](char* dst, std::size_t n) mutable -> std::size_t {
    for (;;) {
      ssize_t r = ::read(fd, dst, n);
      if (r < 0) {
        if (errno == EINTR) continue;
        throw sys_error("read failed", errno).at_path(where).at_offset(at);
      }
      at += static_cast<std::uint64_t>(r);
      return static_cast<std::size_t>(r);
    }
  };
  return make_decoder(codec, std::move(raw), std::move(display), std::move(head));
}

std::unique_ptr<Decompressor> Decompressor::create(Codec codec, RawReader raw, std::string display) {
  return make_decoder(codec, std::move(raw), std::move(display), {});
}

std::unique_ptr<Decompressor> Decompressor::from_memory(Codec codec, std::string data, std::string display) {
  return make_decoder(codec, nullptr, std::move(display), std::move(data));
}

Decompressor::Decompressor(Codec codec, RawReader raw, std::string display, std::string head)
    : codec_(codec), raw_(std::move(raw)), display_(std::move(display)) {
  buf_.resize(std::max(kInBuffer, head.size()));
  std::memcpy(buf_.data(), head.data(), head.size());
  len_ = head.size();
  raw_eof_ = !raw_;
}

Decompressor::~Decompressor() = default;

void Decompressor::corrupt(const std::string& what) const {
  throw data_error(what + " at compressed byte " + std::to_string(compressed_offset()) +
                   (codec_ == Codec::gzip ? "; check it with 'gzip -t'" : "; check it with 'zstd -t'"))
      .at_path(display_);
}

bool Decompressor::refill() {
  if (raw_eof_) return false;
  if (pos_ > 0) {
    std::memmove(buf_.data(), buf_.data() + pos_, len_ - pos_);
    consumed_ += pos_;
    len_ -= pos_;
    pos_ = 0;
  }
  if (len_ == buf_.size()) return true;
  const std::size_t r = raw_(reinterpret_cast<char*>(buf_.data() + len_), buf_.size() - len_);
  if (r == 0) {
    raw_eof_ = true;
    return false;
  }
  len_ += r;
  return true;
}

std::size_t Decompressor::read(char* dst, std::size_t n) {
  std::size_t done = 0;
  int stalls = 0;
  while (done < n && !done_) {
    if (available() == 0) refill();
    if (at_boundary()) {
      if (available() == 0 && raw_eof_) {
        done_ = true;
        break;
      }
      start_member();
    }
    std::size_t produced = 0;
    const std::size_t before = pos_;
    step(dst + done, n - done, produced);
    done += produced;
    if (produced > 0 || pos_ != before) {
      stalls = 0;
    } else if (available() == 0 && raw_eof_ && !at_boundary()) {
      corrupt(std::string("truncated ") + codec_name(codec_) + " data: the input ends inside a compressed " +
              (codec_ == Codec::gzip ? "member" : "frame"));
    } else if (available() > 0 && ++stalls > 2) {
      corrupt(std::string("corrupt ") + codec_name(codec_) + " data (the decoder cannot make progress)");
    }
  }
  return done;
}

}  // namespace ingot

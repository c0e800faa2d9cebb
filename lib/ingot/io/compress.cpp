#include "ingot/io/compress.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "ingot/io/zstd_seekable.h"
#include "ingot/util/error.h"

namespace ingot {
namespace {

class GzipEncoder final : public Compressor {
 public:
  explicit GzipEncoder(int level) : Compressor(Codec::gzip) {
    std::memset(&z_, 0, sizeof z_);
    // 15 + 16: a gzip wrapper (header + CRC-32 trailer), as gzip(1) writes.
    if (deflateInit2(&z_, level > 0 ? std::min(level, 9) : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw io_error("zlib: deflateInit2 failed");
    }
  }
  ~GzipEncoder() override { deflateEnd(&z_); }

  void update(const char* p, std::size_t n, std::string& out) override { run(p, n, Z_NO_FLUSH, out); }
  void finish(std::string& out) override { run(nullptr, 0, Z_FINISH, out); }

 private:
  void run(const char* p, std::size_t n, int flush, std::string& out) {
    // Feed at most 1 GiB per call: avail_in is 32 bits.
    do {
      const std::size_t take = std::min<std::size_t>(n, std::size_t{1} << 30);
      z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(p));
      z_.avail_in = static_cast<uInt>(take);
      const int f = take == n ? flush : Z_NO_FLUSH;
      int rc;
      do {
        const std::size_t old = out.size();
        const std::size_t room = std::max<std::size_t>(64 * 1024, deflateBound(&z_, z_.avail_in) / 4);
        out.resize(old + room);
        z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
        z_.avail_out = static_cast<uInt>(room);
        rc = deflate(&z_, f);
        out.resize(old + room - z_.avail_out);
        if (rc == Z_STREAM_ERROR) throw io_error("zlib: deflate failed");
      } while (z_.avail_out == 0 || (f == Z_FINISH && rc != Z_STREAM_END));
      p += take;
      n -= take;
    } while (n > 0);
  }
  z_stream z_;
};

// Writes the seekable format (zstd_seekable.h): a new frame every kSeekableFrameBytes
// of input, the seek table after the last. The frames cut at fixed input offsets, so
// the bytes are the same for any thread count; any zstd decoder reads the file.
class ZstdEncoder final : public Compressor {
 public:
  explicit ZstdEncoder(int level) : Compressor(Codec::zstd) {
    cctx_ = ZSTD_createCCtx();
    if (!cctx_) throw io_error("out of memory creating a zstd encoder");
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level > 0 ? std::min(level, ZSTD_maxCLevel()) : 3);
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 1);  // as zstd(1): a corrupt frame is detected
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(cctx_); }

  void update(const char* p, std::size_t n, std::string& out) override {
    while (n > 0) {
      const std::size_t take = std::min(n, kSeekableFrameBytes - frame_in_);
      frame_in_ += take;
      const bool full = frame_in_ == kSeekableFrameBytes;
      run(p, take, full ? ZSTD_e_end : ZSTD_e_continue, out);
      if (full) end_frame();
      p += take;
      n -= take;
    }
  }
  void finish(std::string& out) override {
    if (frame_in_ > 0 || frames_.empty()) {  // an empty input still gets one (empty) frame
      run(nullptr, 0, ZSTD_e_end, out);
      end_frame();
    }
    out += seek_table_frame(frames_);
  }

 private:
  void run(const char* p, std::size_t n, ZSTD_EndDirective mode, std::string& out) {
    ZSTD_inBuffer in{p, n, 0};
    for (;;) {
      const std::size_t old = out.size();
      const std::size_t room = std::max<std::size_t>(ZSTD_CStreamOutSize(), n / 4);
      out.resize(old + room);
      ZSTD_outBuffer ob{out.data() + old, room, 0};
      const std::size_t r = ZSTD_compressStream2(cctx_, &ob, &in, mode);
      out.resize(old + ob.pos);
      frame_out_ += ob.pos;
      if (ZSTD_isError(r)) throw io_error(std::string("zstd: ") + ZSTD_getErrorName(r));
      // continue: done once all input is taken; end: once nothing is left to flush.
      if (mode == ZSTD_e_continue ? in.pos == in.size : r == 0) break;
    }
  }
  void end_frame() {
    frames_.push_back({static_cast<std::uint32_t>(frame_out_), static_cast<std::uint32_t>(frame_in_)});
    frame_in_ = frame_out_ = 0;
  }
  ZSTD_CCtx* cctx_ = nullptr;
  std::size_t frame_in_ = 0;   // input bytes in the frame being written
  std::size_t frame_out_ = 0;  // its compressed bytes so far
  std::vector<SeekFrame> frames_;
};

}  // namespace

Compressor::~Compressor() = default;

std::unique_ptr<Compressor> Compressor::create(Codec codec, int level) {
  switch (codec) {
    case Codec::gzip: return std::make_unique<GzipEncoder>(level);
    case Codec::zstd: return std::make_unique<ZstdEncoder>(level);
    case Codec::none: break;
  }
  throw usage_error("no compressor for 'none'");
}

std::string compress_all(Codec codec, const std::string& data, int level) {
  std::string out;
  auto c = Compressor::create(codec, level);
  c->update(data.data(), data.size(), out);
  c->finish(out);
  return out;
}

std::string decompress_all(Codec codec, const std::string& data, const std::string& display) {
  auto d = Decompressor::from_memory(codec, data, display);
  std::string out;
  char buf[64 * 1024];
  while (std::size_t n = d->read(buf, sizeof buf)) out.append(buf, n);
  return out;
}

}  // namespace ingot

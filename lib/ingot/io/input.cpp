#include "ingot/io/input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "ingot/util/error.h"

namespace ingot {

namespace {
RemoteOpener remote_opener = nullptr;

std::size_t pread_all(int fd, char* dst, std::size_t n, std::uint64_t offset, const std::string& display) {
  std::size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, dst + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read failed", errno).at_path(display).at_offset(offset + done);
    }
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  return done;
}
}  // namespace

void set_remote_opener(RemoteOpener opener) { remote_opener = opener; }

bool is_remote_path(const std::string& path) {
  return path.starts_with("s3://") || path.starts_with("https://") || path.starts_with("http://");
}

InputFile InputFile::open(const std::string& path, Decode decode, Remote remote) {
  InputFile f;
  f.path_ = path;
  // The compression of a seekable input, from its stored bytes (`stored` reads them):
  // seekable zstd stays seekable over its decoded bytes, any other codec makes the input
  // a stream of decoded bytes, read in order.
  auto sniff = [&f](StoredReader stored) {
    unsigned char magic[10];
    const std::size_t n = f.read_at(reinterpret_cast<char*>(magic), sizeof magic, 0);
    if (const char* foreign = foreign_compression(magic, n)) refuse_foreign_compression(foreign, f.display_);
    f.codec_ = detect_codec(magic, n);
    if (f.codec_ == Codec::zstd) f.zseek_ = SeekableZstd::open(std::move(stored), f.size_, f.display_);
    if (f.zseek_) {
      f.size_ = f.zseek_->size();
    } else if (f.codec_ != Codec::none) {
      f.seekable_ = false;
      f.size_ = 0;
      f.mtime_ns_ = 0;
    }
  };
  if (is_remote_path(path)) {
    if (remote == Remote::refuse) {
      throw usage_error("this command does not read remote inputs: download it first").at_path(path);
    }
    if (!remote_opener) throw usage_error("remote inputs are read by ingot-net, which is not running").at_path(path);
    f.remote_ = remote_opener(path);
    f.display_ = f.remote_->display();
    f.seekable_ = true;
    f.size_ = f.remote_->size();
    if (decode == Decode::auto_detect) {
      sniff([src = f.remote_](char* dst, std::size_t len, std::uint64_t at) { return src->read_at(dst, len, at); });
    }
    return f;
  }
  if (path == "-") {
    f.fd_ = 0;
    f.display_ = "<stdin>";
  } else {
    f.display_ = path;
    f.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (f.fd_ < 0) throw sys_error("cannot open", errno).at_path(path);
    f.owns_fd_ = true;
  }
  struct stat st;
  if (::fstat(f.fd_, &st) != 0) throw sys_error("cannot stat", errno).at_path(f.display_);
  if (S_ISDIR(st.st_mode)) throw io_error("is a directory, not a file").at_path(f.display_);
  f.seekable_ = S_ISREG(st.st_mode);
  if (f.seekable_) {
    f.size_ = f.stored_size_ = static_cast<std::uint64_t>(st.st_size);
    f.mtime_ns_ = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    ::posix_fadvise(f.fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (decode == Decode::auto_detect) {
      sniff([fd = f.fd_, display = f.display_](char* dst, std::size_t len, std::uint64_t at) {
        return pread_all(fd, dst, len, at, display);
      });
    }
  } else {
    // Reading a stream's magic consumes it: done at the first read(), so that merely
    // opening stdin (to ask its size, say) takes nothing from it.
    f.sniffed_ = decode == Decode::raw;
  }
  return f;
}

InputFile::InputFile(InputFile&& o) noexcept { *this = std::move(o); }

InputFile& InputFile::operator=(InputFile&& o) noexcept {
  if (this != &o) {
    if (owns_fd_ && fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    owns_fd_ = std::exchange(o.owns_fd_, false);
    seekable_ = o.seekable_;
    size_ = o.size_;
    mtime_ns_ = o.mtime_ns_;
    stream_pos_ = o.stream_pos_;
    path_ = std::move(o.path_);
    display_ = std::move(o.display_);
    codec_ = o.codec_;
    sniffed_ = o.sniffed_;
    pending_ = std::move(o.pending_);
    dec_ = std::move(o.dec_);
    stored_size_ = o.stored_size_;
    remote_ = std::move(o.remote_);
    zseek_ = std::move(o.zseek_);
  }
  return *this;
}

InputFile::~InputFile() {
  if (owns_fd_ && fd_ >= 0) ::close(fd_);
}

std::size_t InputFile::read_at(char* dst, std::size_t n, std::uint64_t offset) const {
  if (zseek_) return zseek_->read_at(dst, n, offset);
  if (remote_) return remote_->read_at(dst, n, offset);
  return pread_all(fd_, dst, n, offset, display_);
}

void InputFile::read_until(std::uint64_t end) const {
  if (remote_ && !zseek_) remote_->read_until(end);
}

bool InputFile::changed_since_open() const {
  if (remote_ || !seekable_) return false;
  struct stat st;
  if (::fstat(fd_, &st) != 0) return true;
  return static_cast<std::uint64_t>(st.st_size) != stored_size_ ||
         static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec != mtime_ns_;
}

std::size_t InputFile::read(char* dst, std::size_t n) {
  if (zseek_) {
    const std::size_t got = zseek_->read_at(dst, n, stream_pos_);
    stream_pos_ += got;
    return got;
  }
  if (!sniffed_) {
    sniffed_ = true;
    // Reads pending_ up to `want` bytes (fewer only at the end of the stream).
    auto fill_to = [&](std::size_t want) {
      std::size_t got = pending_.size();
      pending_.resize(want);
      while (got < want) {
        ssize_t r = ::read(fd_, pending_.data() + got, want - got);
        if (r < 0) {
          if (errno == EINTR) continue;
          throw sys_error("read failed", errno).at_path(display_).at_offset(got);
        }
        if (r == 0) break;
        got += static_cast<std::size_t>(r);
      }
      pending_.resize(got);
      return got;
    };
    std::size_t got = fill_to(4);
    codec_ = detect_codec(pending_.data(), got);
    if (got == 4 && pending_.starts_with("BZh")) {
      // Maybe bzip2: its block magic follows (read more only then, so that a stream
      // is never waited on for more than the 4 bytes every stream is sniffed for).
      got = fill_to(10);
    }
    if (const char* foreign = foreign_compression(pending_.data(), got)) refuse_foreign_compression(foreign, display_);
  }
  if (compressed()) {
    if (!dec_ && remote_) {
      dec_ = Decompressor::create(
          codec_,
          [src = remote_, at = std::uint64_t{0}](char* out, std::size_t len) mutable {
            const std::size_t got = src->read_at(out, len, at);
            at += got;
            return got;
          },
          display_);
    }
    if (!dec_) dec_ = Decompressor::create(codec_, fd_, display_, std::exchange(pending_, {}));
    std::size_t got = dec_->read(dst, n);
    stream_pos_ += got;
    return got;
  }
  std::size_t done = std::min(n, pending_.size());
  if (done > 0) {
    std::memcpy(dst, pending_.data(), done);
    pending_.erase(0, done);
  }
  while (done < n) {
    ssize_t r = ::read(fd_, dst + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read failed", errno).at_path(display_).at_offset(stream_pos_ + done);
    }
    if (r == 0) break;
    done += static_cast<std::size_t>(r);
  }
  stream_pos_ += done;
  return done;
}

Fingerprint InputFile::fingerprint() const {
  Fingerprint fp;
  fp.size = size_;
  fp.mtime_ns = mtime_ns_;
  if (remote_) {  // the object's version, without reading it
    fp.size = zseek_ ? size_ : remote_->size();
    fp.edge_hash = XXH3_64bits(remote_->version().data(), remote_->version().size());
    return fp;
  }
  if (!seekable_) return fp;
  constexpr std::size_t kEdge = 64 * 1024;
  std::vector<char> buf(2 * kEdge);
  std::size_t head = read_at(buf.data(), std::min<std::uint64_t>(kEdge, size_), 0);
  std::size_t tail = 0;
  if (size_ > kEdge) {
    std::uint64_t from = size_ > 2 * kEdge ? size_ - kEdge : kEdge;
    tail = read_at(buf.data() + head, size_ - from, from);
  }
  fp.edge_hash = XXH3_64bits(buf.data(), head + tail);
  return fp;
}

}  // namespace ingot

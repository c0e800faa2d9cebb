#include "ingot/io/copy.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>

#include "ingot/io/output.h"
#include "ingot/util/error.h"

namespace ingot {
namespace {

// Set once copy_file_range said "not here"; every later copy goes straight to the fallback.
std::atomic<bool> g_no_cfr{false};

[[noreturn]] void throw_write_error(int err, const std::string& out_path) {
  if (err == EPIPE) throw BrokenPipe();
  if (err == ENOSPC) throw io_error("disk full while writing").at_path(out_path);
  if (err == EFBIG) throw io_error("file too large (file size limit reached) while writing").at_path(out_path);
  throw sys_error("write failed", err).at_path(out_path);
}

void pwrite_all(int fd, const char* p, std::size_t n, std::uint64_t off, const std::string& out_path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw_write_error(errno, out_path);
    }
    p += w;
    n -= static_cast<std::size_t>(w);
    off += static_cast<std::uint64_t>(w);
  }
}

void copy_by_read_write(int in_fd, std::uint64_t in_off, int out_fd, std::optional<std::uint64_t> out_off,
                        std::uint64_t n, const std::string& in_path, const std::string& out_path) {
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  const std::size_t cap = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, std::max<std::uint64_t>(n, 1)));
  std::unique_ptr<char[]> buf(new char[cap]);
  while (n > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, n));
    ssize_t r = ::pread(in_fd, buf.get(), want, static_cast<off_t>(in_off));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw sys_error("read failed", errno).at_path(in_path).at_offset(in_off);
    }
    if (r == 0)
      throw io_error("file is shorter than expected (changed while copying?)").at_path(in_path).at_offset(in_off);
    const std::size_t got = static_cast<std::size_t>(r);
    if (out_off) {
      pwrite_all(out_fd, buf.get(), got, *out_off, out_path);
      *out_off += got;
    } else {
      write_all(out_fd, buf.get(), got, out_path);
    }
    in_off += got;
    n -= got;
  }
}

}  // namespace

void copy_range(int in_fd, std::uint64_t in_off, int out_fd, std::optional<std::uint64_t> out_off, std::uint64_t n,
                const std::string& in_path, const std::string& out_path) {
  // One call moves at most ~2 GiB; loop in 1 GiB steps so progress and EINTR are cheap.
  constexpr std::uint64_t kStep = std::uint64_t{1} << 30;
  while (n > 0 && !g_no_cfr.load(std::memory_order_relaxed)) {
    loff_t src = static_cast<loff_t>(in_off);
    loff_t dst = out_off ? static_cast<loff_t>(*out_off) : 0;
    ssize_t r = ::copy_file_range(in_fd, &src, out_fd, out_off ? &dst : nullptr,
                                  static_cast<std::size_t>(std::min(n, kStep)), 0);
    if (r < 0) {
      const int err = errno;
      if (err == EINTR) continue;
      // Not supported for this pair of files (cross-device on old kernels, pipes,
      // special files, some FUSE/NFS): the plain loop below does the same job.
      if (err == EXDEV || err == ENOSYS || err == EINVAL || err == EOPNOTSUPP || err == EBADF) {
        if (err == ENOSYS) g_no_cfr.store(true, std::memory_order_relaxed);
        break;
      }
      if (err == EIO) throw sys_error("read or write failed", err).at_path(out_path);
      throw_write_error(err, out_path);
    }
    if (r == 0)
      throw io_error("file is shorter than expected (changed while copying?)").at_path(in_path).at_offset(in_off);
    const auto got = static_cast<std::uint64_t>(r);
    in_off += got;
    if (out_off) *out_off += got;
    n -= got;
  }
  if (n > 0) copy_by_read_write(in_fd, in_off, out_fd, out_off, n, in_path, out_path);
}

}  // namespace ingot

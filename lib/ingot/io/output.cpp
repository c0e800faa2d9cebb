#include "ingot/io/output.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "ingot/io/compress.h"
#include "ingot/io/input.h"
#include "ingot/util/cleanup.h"
#include "ingot/util/error.h"

namespace ingot {

std::string parent_dir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void write_all(int fd, const char* data, std::size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, std::min(n, kWritePiece));
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) throw BrokenPipe();
      if (errno == ENOSPC) throw io_error("disk full while writing").at_path(path);
      if (errno == EFBIG) throw io_error("file too large (file size limit reached) while writing").at_path(path);
      throw sys_error("write failed", errno).at_path(path);
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

namespace {

constexpr std::string_view kTempTag = ".ingot-tmp-";

// The PID of ".NAME.ingot-tmp-PID-N" when `entry` is such a name for `base`, else 0.
pid_t temporary_owner(std::string_view entry, std::string_view base) {
  if (entry.size() < 1 + base.size() + kTempTag.size() + 3 || entry[0] != '.') return 0;
  if (entry.substr(1, base.size()) != base || entry.substr(1 + base.size(), kTempTag.size()) != kTempTag) return 0;
  std::string_view rest = entry.substr(1 + base.size() + kTempTag.size());
  auto dash = rest.find('-');
  if (dash == 0 || dash == std::string_view::npos || dash + 1 == rest.size()) return 0;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (i != dash && (rest[i] < '0' || rest[i] > '9')) return 0;
  }
  if (dash > 9) return 0;  // no PID has 10 digits
  pid_t pid = 0;
  for (char c : rest.substr(0, dash)) pid = pid * 10 + (c - '0');
  return pid;
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Each directory is listed once per process (split writes thousands of pieces into one):
// the stale temporaries found, by the base name they were for.
std::mutex g_stale_mutex;
std::map<std::string, std::map<std::string, std::vector<std::string>>> g_stale_by_dir;

}  // namespace

void remove_stale_temporaries(const std::string& path) {
  const std::string dir = parent_dir(path);
  auto slash = path.find_last_of('/');
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::lock_guard lock(g_stale_mutex);
  auto [it, fresh] = g_stale_by_dir.try_emplace(dir);
  if (fresh) {
    if (DIR* d = ::opendir(dir.c_str())) {
      const pid_t self = ::getpid();
      while (const dirent* e = ::readdir(d)) {
        std::string_view name = e->d_name;
        auto tag = name.find(kTempTag);
        if (name.size() < 2 || name[0] != '.' || tag == std::string_view::npos || tag < 2) continue;
        std::string_view for_base = name.substr(1, tag - 1);
        const pid_t pid = temporary_owner(name, for_base);
        if (pid <= 0 || pid == self || process_alive(pid)) continue;
        it->second[std::string(for_base)].emplace_back(name);
      }
      ::closedir(d);
    }
  }
  auto stale = it->second.find(base);
  if (stale == it->second.end()) return;
  const std::string prefix = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  for (const std::string& name : stale->second) ::unlink((prefix + name).c_str());
  it->second.erase(stale);
}

namespace {
std::optional<RemoteOutputs> g_remote_outputs;
}  // namespace

void set_remote_outputs(RemoteOutputs fns) { g_remote_outputs = fns; }

const RemoteOutputs& remote_outputs(const std::string& path) {
  if (!g_remote_outputs) throw usage_error("remote outputs are written by the network helper ingot-net").at_path(path);
  return *g_remote_outputs;
}

std::string destination_for(const std::string& output, const std::string& source) {
  if (!is_remote_path(output) || output.back() != '/' || source == "-") return output;
  std::string name = source.substr(source.find_last_of('/') + 1);
  return name.empty() ? output : output + name;
}

OutputFile OutputFile::create(const std::string& path, OutputOptions opts) {
  OutputFile f;
  f.opts_ = opts;
  if (opts.compress != Codec::none) f.z_ = Compressor::create(opts.compress, opts.level);
  if (is_remote_path(path)) {
    const RemoteOutputs& r = remote_outputs(path);
    if (path.back() == '/') throw usage_error("names no object (a prefix?)").at_path(path);
    // Checked here, not made atomic: S3 has no portable "create if absent" for multipart.
    if (!opts.overwrite && r.stat(path)) throw io_error("output exists (use --force to overwrite)").at_path(path);
    f.path_ = path;
    f.remote_ = r.open(path);
    return f;
  }
  if (path == "-") {
    f.fd_ = 1;
    f.is_stdout_ = true;
    f.path_ = "<stdout>";
    return f;
  }
  f.path_ = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw io_error("output is a directory").at_path(path);
    if (!S_ISREG(st.st_mode)) {
      // A device or FIFO (/dev/null, a named pipe): write to it, never rename over it.
      f.fd_ = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (f.fd_ < 0) throw sys_error("cannot open output", errno).at_path(path);
      f.is_special_ = true;
      struct stat null_st;
      f.is_null_device_ = S_ISCHR(st.st_mode) && ::stat("/dev/null", &null_st) == 0 && st.st_rdev == null_st.st_rdev;
      return f;
    }
    if (!opts.overwrite) throw io_error("output exists (use --force to overwrite)").at_path(path);
  }
  std::string dir = parent_dir(path);
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw io_error("output directory does not exist: " + dir).at_path(path);
  }
  remove_stale_temporaries(path);
  static std::atomic<unsigned> counter{0};
  auto slash = path.find_last_of('/');
  std::string dir_prefix = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  for (int attempt = 0; attempt < 100; ++attempt) {
    f.temp_ = dir_prefix + "." + base + ".ingot-tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    // Register before creating, so no instant exists where the file is on disk but unknown
    // to the signal handler.
    f.cleanup_slot_ = cleanup::register_path(f.temp_);
    f.fd_ = ::open(f.temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (f.fd_ >= 0) return f;
    int err = errno;
    cleanup::unregister_path(f.cleanup_slot_);
    f.cleanup_slot_ = -1;
    if (err != EEXIST) throw sys_error("cannot create output in " + dir, err).at_path(path);
  }
  throw io_error("cannot create a temporary output file").at_path(path);
}

OutputFile::OutputFile(OutputFile&& o) noexcept { *this = std::move(o); }

OutputFile& OutputFile::operator=(OutputFile&& o) noexcept {
  if (this != &o) {
    discard();
    fd_ = std::exchange(o.fd_, -1);
    cleanup_slot_ = std::exchange(o.cleanup_slot_, -1);
    is_stdout_ = o.is_stdout_;
    is_special_ = o.is_special_;
    is_null_device_ = o.is_null_device_;
    committed_ = std::exchange(o.committed_, true);
    opts_ = o.opts_;
    written_ = o.written_;
    path_ = std::move(o.path_);
    temp_ = std::move(o.temp_);
    z_ = std::move(o.z_);
    zbuf_ = std::move(o.zbuf_);
    remote_ = std::move(o.remote_);
  }
  return *this;
}

OutputFile::~OutputFile() { discard(); }

void OutputFile::discard() noexcept {
  remote_.reset();  // uncommitted: the sink discards what it sent
  if (is_special_ && fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  if (committed_ || is_stdout_ || fd_ < 0) return;
  ::close(fd_);
  ::unlink(temp_.c_str());
  cleanup::unregister_path(cleanup_slot_);
  fd_ = -1;
  cleanup_slot_ = -1;
}

void OutputFile::write(const char* data, std::size_t n) {
  if (z_) {
    z_->update(data, n, zbuf_);
    if (zbuf_.size() < (std::size_t{1} << 20)) return;
    data = zbuf_.data();
    n = zbuf_.size();
  }
  if (remote_)
    remote_->write(data, n);
  else
    write_all(fd_, data, n, path_);
  written_ += n;
  if (z_) zbuf_.clear();
}

void OutputFile::rewind() {
  if (!rewindable()) throw io_error("cannot rewind an output written in place").at_path(path_);
  if (z_) z_ = Compressor::create(opts_.compress, opts_.level);
  zbuf_.clear();
  written_ = 0;
  if (remote_) {
    remote_.reset();  // uncommitted: the sink discards what it sent
    remote_ = remote_outputs(path_).open(path_);
    return;
  }
  if (is_special_) return;  // /dev/null
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
    throw sys_error("cannot rewind output", errno).at_path(path_);
}

void OutputFile::commit() {
  if (committed_) return;
  if (z_) {
    z_->finish(zbuf_);
    z_.reset();
    if (remote_)
      remote_->write(zbuf_.data(), zbuf_.size());
    else
      write_all(fd_, zbuf_.data(), zbuf_.size(), path_);
    written_ += zbuf_.size();
    zbuf_ = std::string();
  }
  if (remote_) {
    remote_->commit();
    committed_ = true;
    return;
  }
  committed_ = true;
  if (is_stdout_) return;
  if (is_special_) {
    if (::close(fd_) != 0) {
      int err = errno;
      fd_ = -1;
      throw sys_error("close failed", err).at_path(path_);
    }
    fd_ = -1;
    return;
  }
  if (opts_.fsync && ::fsync(fd_) != 0) {
    int err = errno;
    committed_ = false;
    throw sys_error("fsync failed", err).at_path(path_);
  }
  // close() can report a deferred write error (NFS, quota): check it before the rename.
  if (::close(fd_) != 0) {
    int err = errno;
    fd_ = -1;
    ::unlink(temp_.c_str());
    cleanup::unregister_path(cleanup_slot_);
    throw sys_error("close failed", err).at_path(path_);
  }
  fd_ = -1;
  if (!opts_.overwrite) {
    // link() fails with EEXIST instead of replacing, closing the check-then-rename race.
    if (::link(temp_.c_str(), path_.c_str()) != 0) {
      int err = errno;
      ::unlink(temp_.c_str());
      cleanup::unregister_path(cleanup_slot_);
      throw sys_error("cannot create output", err).at_path(path_);
    }
    ::unlink(temp_.c_str());
  } else if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    ::unlink(temp_.c_str());
    cleanup::unregister_path(cleanup_slot_);
    throw sys_error("cannot rename output into place", err).at_path(path_);
  }
  cleanup::unregister_path(cleanup_slot_);
  cleanup_slot_ = -1;
}

}  // namespace ingot

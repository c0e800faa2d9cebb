// An output: stdout, or a file written under a temporary name in the target directory
// and renamed over the final name only by commit(). An existing device or FIFO
// (/dev/null, a named pipe) is written in place: renaming over it would replace it. Until then a crash, an error or a
// signal leaves nothing under the final name (the temporary is unlinked by the
// destructor or the signal handler). A remote name (s3://) is written through a
// RemoteSink (below) with the same rule: the object appears only at commit().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ingot/io/decompress.h"

namespace ingot {

class Compressor;

struct OutputOptions {
  bool overwrite = true;         // false: refuse when the final name exists (split without --force)
  bool fsync = false;            // fsync the data before the rename
  Codec compress = Codec::none;  // --compress: write() takes plain bytes, the file gets them compressed
  int level = 0;                 // compression level; 0 = the codec's default
};

// An object elsewhere (s3://bucket/key) written as a stream: nothing appears under its
// name before commit(), and a sink destroyed uncommitted discards what it sent. The
// network helper ingot-net registers the functions (RemoteOutputs); `ingot` has none
// (it execs ingot-net for a command naming a remote path, cmd/main.cpp).
class RemoteSink {
 public:
  virtual ~RemoteSink() = default;
  virtual void write(const char* data, std::size_t n) = 0;
  // Appends bytes [offset, offset + length) of the remote object `source` without them
  // passing through this process (S3 UploadPartCopy) when the sink can; false: it
  // cannot (another kind of store), and the caller writes the bytes itself.
  virtual bool copy_from(const std::string& source, const std::string& source_version, std::uint64_t offset,
                         std::uint64_t length) = 0;
  // Bytes that copy_from() copied on the server so far (the rest of its ranges, around
  // small pieces, were downloaded and sent).
  virtual std::uint64_t server_copied() const = 0;
  virtual void commit() = 0;
  // After commit: what identifies the object written (its ETag).
  virtual std::string version() const = 0;
};
struct RemoteObject {
  std::uint64_t size = 0;
  std::string version;  // ETag
};
struct RemoteOutputs {
  std::unique_ptr<RemoteSink> (*open)(const std::string& path);
  std::optional<RemoteObject> (*stat)(const std::string& path);  // nullopt: no such object
  void (*remove)(const std::string& path);                       // an object written earlier in the run
  // Bytes [offset, offset + n) of an object while its ETag is `version` (fewer at its
  // end): one small ranged GET, where a RemoteSource would fetch a whole block.
  std::string (*read)(const std::string& path, const std::string& version, std::uint64_t offset, std::uint64_t n);
};
void set_remote_outputs(RemoteOutputs fns);
// The registered functions; throws a usage Error naming `path` when there are none.
const RemoteOutputs& remote_outputs(const std::string& path);

// `s3://bucket/dir/` as a destination names `s3://bucket/dir/<file name of source>`
// (as aws s3 cp, s5cmd and rclone do); any other destination is returned as is.
std::string destination_for(const std::string& output, const std::string& source);

class OutputFile {
 public:
  // "-" is stdout. Throws Error when the directory is missing or not writable.
  static OutputFile create(const std::string& path, OutputOptions opts = {});

  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&& other) noexcept;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // removes the temporary unless committed

  void write(const char* data, std::size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  // Moves the temporary to the final name (or flushes stdout). After commit the object is inert.
  void commit();
  // Whether rewind() can take back what was written: a temporary file, a remote object
  // or /dev/null (which kept nothing), not stdout or another device/FIFO written in place.
  bool rewindable() const { return !committed_ && !is_stdout_ && (!is_special_ || is_null_device_); }
  // Discards everything written so far (the next write starts the output again, and a
  // --compress stream starts anew); a remote object's upload is dropped uncommitted and
  // a new one opened. Only when rewindable().
  void rewind();

  bool is_stdout() const { return is_stdout_; }
  // -1 for a remote output: callers that copy by descriptor check remote() first.
  int fd() const { return fd_; }
  bool remote() const { return remote_ != nullptr; }
  // A remote output's sink (copy_from); null for files.
  RemoteSink* remote_sink() const { return remote_.get(); }
  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }
  std::uint64_t bytes_written() const { return written_; }  // as stored (compressed, with --compress)

 private:
  OutputFile() = default;
  void discard() noexcept;

  int fd_ = -1;
  int cleanup_slot_ = -1;
  bool is_stdout_ = false;
  bool is_special_ = false;      // an existing non-regular file, written in place
  bool is_null_device_ = false;  // that file is /dev/null
  bool committed_ = false;
  OutputOptions opts_;
  std::uint64_t written_ = 0;
  std::string path_;
  std::string temp_;
  std::unique_ptr<Compressor> z_;  // with OutputOptions::compress
  std::string zbuf_;               // compressed bytes not yet written
  std::unique_ptr<RemoteSink> remote_;
};

// write_all's largest write() call. On the benchmark VM, 1.3 GB written to a fresh file in
// 1 MiB calls took 4.9-6.3 s, in 64 KiB calls 0.65-0.86 s (as fast as `cat`), likely as
// large writes get large page-cache folios from memory the VM had handed back to its
// host (tests/bench/README.md). 21k calls per GB cost ~10 ms.
inline constexpr std::size_t kWritePiece = std::size_t{64} << 10;

// Writes all of data to fd, at most kWritePiece bytes per call; throws Error naming `path` (ENOSPC says "disk full"),
// or BrokenPipe on EPIPE.
void write_all(int fd, const char* data, std::size_t n, const std::string& path);

// Removes the temporaries `.NAME.ingot-tmp-PID-N` of `path` left by runs that were
// killed (SIGKILL, a crash, power loss): those whose PID is no live process on this
// machine. OutputFile::create calls it; a directory is listed once per process.
void remove_stale_temporaries(const std::string& path);

// Directory part of a path ("." when none).
std::string parent_dir(const std::string& path);

}  // namespace ingot

// An input: a regular file read with pread at any offset, a remote object read by
// ranges (s3://, https://: a RemoteSource, below), or a stream (stdin, a pipe) read
// sequentially. The chunker needs only read_at() on seekable inputs and read()
// on streams; every error carries the path and the offset.
// gzip and zstd data (recognised by magic bytes, in files, streams and remote objects) is decoded
// transparently: such an input is a non-seekable stream of the decoded bytes, except
// seekable zstd (what ingot writes, zstd_seekable.h) in a file or object, which is a
// seekable input of its decoded bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ingot/io/decompress.h"
#include "ingot/io/zstd_seekable.h"

namespace ingot {

// Identity of a source file, used by indexes, manifests and upload journals to tell
// "the same file" from "a file that changed".
struct Fingerprint {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint64_t edge_hash = 0;  // xxh3 of the first and last 64 KiB
  bool operator==(const Fingerprint&) const = default;
};

// An object elsewhere (s3://bucket/key, an https:// URL that answers Range requests)
// read by ranges. The network helper ingot-net registers the opener; `ingot` itself
// has none (it execs ingot-net for a command naming such a path, cmd/main.cpp).
class RemoteSource {
 public:
  virtual ~RemoteSource() = default;
  virtual std::uint64_t size() const = 0;
  // What identifies this version of the object (its ETag): the input's fingerprint.
  virtual const std::string& version() const = 0;
  // The name errors and reports show: the URL with its secrets (a signature) masked.
  virtual const std::string& display() const = 0;
  // Up to n bytes at offset, fewer only at the end. Reads are mostly sequential; the
  // source may read ahead. Throws Error (the object changed, the network failed).
  virtual std::size_t read_at(char* dst, std::size_t n, std::uint64_t offset) = 0;
  // The sequential reader will stop at `end` (a --part's range): read-ahead stops there
  // too. A read past it is still answered.
  virtual void read_until(std::uint64_t end) { (void)end; }
};
using RemoteOpener = std::unique_ptr<RemoteSource> (*)(const std::string& path);
void set_remote_opener(RemoteOpener opener);
// s3:// and http(s):// names.
bool is_remote_path(const std::string& path);

// raw: the bytes as stored, compressed or not (merge, byte-exact uploads).
enum class Decode { auto_detect, raw };

class InputFile {
 public:
  // "-" opens stdin. Throws Error (missing file, directory, permission). A remote path
  // is opened only for callers that pass Remote::allow (the readers that need no file
  // descriptor; docs/remote.md lists them), else refused with a usage Error.
  enum class Remote { refuse, allow };
  static InputFile open(const std::string& path, Decode decode = Decode::auto_detect, Remote remote = Remote::refuse);

  InputFile(InputFile&& other) noexcept;
  InputFile& operator=(InputFile&& other) noexcept;
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  ~InputFile();

  // As given on the command line ("-" for stdin); display_name() says "<stdin>".
  const std::string& path() const { return path_; }
  const std::string& display_name() const { return display_; }
  bool seekable() const { return seekable_; }
  std::uint64_t size() const { return size_; }  // 0 for streams
  std::int64_t mtime_ns() const { return mtime_ns_; }
  // -1 for a remote input: callers that need a file descriptor check direct() first.
  int fd() const { return fd_; }
  bool remote() const { return remote_ != nullptr; }
  // Whether fd() holds the very bytes read_at() returns (false for a remote input and
  // for seekable zstd, whose fd holds the compressed bytes): copies by fd need it.
  bool direct() const { return fd_ >= 0 && !zseek_; }
  // The compression of the stored bytes. A regular file knows it at open(); a stream
  // only after its first read() (none until then).
  Codec codec() const { return codec_; }
  // Whether the input is decoded as a stream (no random access). Seekable zstd is not.
  bool compressed() const { return codec_ != Codec::none && !zseek_; }
  // For a local file: whether its size or mtime differ from what open() saw (the file
  // was modified or truncated meanwhile). Always false for remote and stream inputs.
  bool changed_since_open() const;

  // Reads up to n bytes at offset (fewer only at end of file). Seekable inputs only.
  std::size_t read_at(char* dst, std::size_t n, std::uint64_t offset) const;
  // Where the sequential reader of a remote input will stop (RemoteSource::read_until).
  void read_until(std::uint64_t end) const;
  // Reads up to n bytes from the current stream position (fewer only at EOF).
  std::size_t read(char* dst, std::size_t n);

  Fingerprint fingerprint() const;

 private:
  InputFile() = default;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool seekable_ = false;
  std::uint64_t size_ = 0;
  std::int64_t mtime_ns_ = 0;
  std::uint64_t stream_pos_ = 0;
  std::string path_;
  std::string display_;
  Codec codec_ = Codec::none;
  bool sniffed_ = true;            // false: a stream whose magic is still unread
  std::string pending_;            // stream bytes read by the sniffing, not yet handed out
  std::uint64_t stored_size_ = 0;  // a regular file's size on disk (size_ is the decoded size)
  std::shared_ptr<RemoteSource> remote_;
  std::shared_ptr<SeekableZstd> zseek_;  // seekable zstd: read_at decodes its frames
  std::unique_ptr<Decompressor> dec_;    // created at the first read() of compressed input
};

}  // namespace ingot

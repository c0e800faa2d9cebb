// The on-disk record index (docs/index-format.md): a 128-byte header, packed blocks of
// record boundaries, and a directory of fixed-size block entries, so boundary i is
// found with one directory read and one block read, O(1) whatever the file size.
//
// Each block holds 128 boundaries as a line (base + j * slope) plus j-th residual
// packed at the block's own bit width; records of similar length have residuals of a
// few bits, which is how the index stays under 2 bytes per record.
//
// Integrity: the header has its own checksum and states the index's exact size (so a
// truncated index is caught at open); every block entry has a checksum over itself and
// its packed bits (checked on every lookup, ~100 ns); the whole body has a checksum
// checked by verify() (ingot index --verify, ingot serve at start), which reads the
// whole index and is too slow for every `ingot get` on a large file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/record_kind.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"

#include <xxhash.h>

namespace ingot {

inline constexpr char kIndexMagic[8] = {'I', 'N', 'G', 'O', 'T', 'I', 'D', 'X'};
inline constexpr std::uint32_t kIndexVersion = 1;
inline constexpr std::size_t kIndexHeaderSize = 128;
inline constexpr std::size_t kIndexEntrySize = 24;
inline constexpr std::uint32_t kIndexBlock = 128;

enum IndexFlags : std::uint32_t {
  kIndexUnterminated = 1,  // the last record has no terminator (file without final newline)
};

// What an index says about itself and its source (the header, decoded).
struct IndexMeta {
  RecordKind kind = RecordKind::lines;
  std::uint64_t records = 0;      // data records (a CSV header is not one)
  std::uint64_t header_len = 0;   // bytes of the CSV/TSV header at range_begin; 0 = none
  std::uint64_t range_begin = 0;  // the indexed byte range of the source ...
  std::uint64_t range_end = 0;    // ... (the whole file, or one --part / manifest piece)
  Fingerprint source;             // of the whole source file
  std::uint32_t flags = 0;
  std::uint32_t block_records = kIndexBlock;
  std::uint64_t directory_offset = 0;
  std::uint64_t index_size = 0;
  std::uint64_t body_checksum = 0;

  bool whole_file() const { return range_begin == 0 && range_end == source.size; }
};

// Streams record boundaries (record starts, then the end of the last record) into an
// index file. Memory: one block plus the directory (24 bytes per 128 records).
class IndexWriter {
 public:
  // `out` must be a file (the header is written last, at offset 0).
  IndexWriter(OutputFile& out, const IndexMeta& meta);
  // Boundaries must not decrease; the first is range_begin + header_len.
  void add(std::uint64_t boundary);
  void set_flags(std::uint32_t flags) { meta_.flags |= flags; }
  // Writes the last block, the directory and the header; the caller commits `out`.
  // Returns the final header (records = boundaries - 1).
  IndexMeta finish();

 private:
  void flush_block();

  OutputFile& out_;
  IndexMeta meta_;
  std::vector<std::uint64_t> block_;
  std::vector<unsigned char> packed_;
  std::string directory_;
  std::uint64_t boundaries_ = 0;
  std::uint64_t pos_ = kIndexHeaderSize;  // where the next block's bits go
  std::uint64_t last_ = 0;
  struct StateFree {
    void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
  };
  std::unique_ptr<XXH3_state_t, StateFree> body_hash_;  // of everything after the header
};

// A read-only view of an index file, memory-mapped: opening costs one header read and
// checks (magic, version, header checksum, size); lookups touch one directory entry and
// one block, each checked. Every failure throws a data Error naming the index path.
// A remote index (s3:// beside its object, docs/remote.md) of at most 1 MiB is read
// whole into memory in one ranged GET; a larger one by ranges: its header at open, then
// a lookup fetches a page of 64 directory entries and their blocks' bits (two ranged
// GETs), a run of decode_block(b), decode_block(b + 1), ... pages of 4096; the last 4
// pages are kept. All lookups are safe from several threads at once.
class IndexReader {
 public:
  static IndexReader open(const std::string& path);
  // nullopt when there is no such file or object; any other failure throws, as open().
  static std::optional<IndexReader> open_if_exists(const std::string& path);
  IndexReader(IndexReader&& other) noexcept;
  IndexReader& operator=(IndexReader&& other) noexcept;
  IndexReader(const IndexReader&) = delete;
  IndexReader& operator=(const IndexReader&) = delete;
  ~IndexReader();

  const IndexMeta& meta() const { return meta_; }
  std::uint64_t records() const { return meta_.records; }
  const std::string& path() const { return path_; }

  // Source offset of boundary i, 0 <= i <= records(): the start of record i + 1
  // (1-based), or the end of the last record for i = records().
  std::uint64_t boundary(std::uint64_t i) const;
  // Decodes block b into out (resized to its boundary count).
  void decode_block(std::uint64_t b, std::vector<std::uint64_t>& out) const;
  std::uint64_t blocks() const;

  // Checks the body checksum and every block; reads the whole index (a ranged one
  // streamed, twice: in memory a few read blocks and pages at a time).
  void verify() const;

  // Empty when the index was built from `src` as it is now (size, mtime, edge hash)
  // and, when whole_file_only, covers all of it; otherwise why not, for a message.
  std::string source_mismatch(const InputFile& src, bool whole_file_only) const;

 private:
  IndexReader() = default;
  struct Page;
  struct Ranged;
  struct Block {
    std::uint64_t base, pos, len;
    std::uint32_t slope;
    unsigned width, count;
    const unsigned char* bits;         // len bytes
    std::shared_ptr<const Page> hold;  // keeps `bits` alive (a ranged index)
  };
  Block block(std::uint64_t b) const;
  std::shared_ptr<const Page> page(std::uint64_t b) const;
  std::shared_ptr<const Page> load_page(std::uint64_t first, std::uint64_t count) const;
  void read_remote(std::uint64_t offset, std::size_t n, unsigned char* dst) const;
  void verify_ranged() const;
  void verify_mapped_checksum() const;
  [[noreturn]] void corrupt(const std::string& what) const;
  void load_remote();
  static IndexReader parse_header(IndexReader r, const unsigned char* h, std::uint64_t size);

  std::string path_;
  std::shared_ptr<const std::vector<unsigned char>> bytes_;  // a remote index, read whole (map_ points in)
  const unsigned char* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::shared_ptr<Ranged> ranged_;  // a large remote index, read by ranges (map_ is null)
  IndexMeta meta_;
};

// Serialises / parses the 128-byte header (exposed for tests).
std::string encode_index_header(const IndexMeta& meta);

}  // namespace ingot

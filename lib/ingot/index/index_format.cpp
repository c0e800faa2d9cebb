#include "ingot/index/index_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "ingot/util/error.h"

namespace ingot {
namespace {

// Little-endian on disk whatever the host; the loads compile to plain moves on x86.
void put_le(std::string& s, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes; ++k) s.push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

std::uint64_t load_le(const unsigned char* p, std::size_t n) {
  if constexpr (std::endian::native == std::endian::little) {
    if (n >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
  std::uint64_t v = 0;
  for (std::size_t k = 0; k < n && k < 8; ++k) v |= std::uint64_t{p[k]} << (8 * k);
  return v;
}

std::uint64_t le64(const unsigned char* p) { return load_le(p, 8); }
std::uint32_t le32(const unsigned char* p) { return static_cast<std::uint32_t>(load_le(p, 4)); }

std::uint32_t kind_code(RecordKind k) { return static_cast<std::uint32_t>(k); }

// Value j of a block of w-bit values packed LSB-first into p[0, len).
std::uint64_t unpack(const unsigned char* p, std::size_t len, unsigned w, std::uint64_t j) {
  if (w == 0) return 0;
  const std::uint64_t bit = j * w;
  const std::size_t byte = static_cast<std::size_t>(bit >> 3);
  const unsigned sh = static_cast<unsigned>(bit & 7);
  std::uint64_t v = load_le(p + byte, len - byte) >> sh;
  if (sh + w > 64) v |= std::uint64_t{p[byte + 8]} << (64 - sh);
  return w == 64 ? v : v & ((std::uint64_t{1} << w) - 1);
}

// Packs n values of w bits LSB-first; whole 64-bit words go out at once (this runs in
// the serial stage of `ingot index`, once per record).
void pack(const std::uint64_t* u, std::size_t n, unsigned w, std::vector<unsigned char>& out) {
  const std::size_t bytes = (n * w + 7) / 8;
  out.assign(bytes + 8, 0);  // slack for the last whole-word store
  std::uint64_t acc = 0;
  unsigned have = 0;  // bits pending in acc, always < 64
  std::size_t o = 0;
  for (std::size_t j = 0; j < n && w > 0; ++j) {
    const std::uint64_t v = u[j];  // < 2^w
    acc |= v << have;
    if (have + w >= 64) {
      for (int k = 0; k < 8; ++k) out[o++] = static_cast<unsigned char>(acc >> (8 * k));
      const unsigned used = 64 - have;  // bits of v now stored, 1..64
      acc = used < 64 ? v >> used : 0;
      have = have + w - 64;
    } else {
      have += w;
    }
  }
  for (; have > 0; have = have > 8 ? have - 8 : 0) {
    out[o++] = static_cast<unsigned char>(acc);
    acc >>= 8;
  }
  out.resize(bytes);
}

// A block's checksum covers its directory entry (less the checksum) and its packed
// bits, so a flipped bit, a swapped entry or a block moved elsewhere are all caught.
std::uint32_t block_checksum(const unsigned char* entry20, const unsigned char* packed, std::size_t len) {
  const std::uint64_t seed = XXH3_64bits(entry20, 20);
  return static_cast<std::uint32_t>(XXH3_64bits_withSeed(packed, len, seed));
}

std::uint64_t block_count(std::uint64_t records, std::uint32_t per_block) {
  return (records + 1 + per_block - 1) / per_block;  // records + 1 boundaries
}

}  // namespace

std::string encode_index_header(const IndexMeta& m) {
  std::string h(kIndexMagic, sizeof kIndexMagic);
  put_le(h, kIndexVersion, 4);
  put_le(h, kind_code(m.kind), 4);
  put_le(h, m.records, 8);
  put_le(h, m.header_len, 8);
  put_le(h, m.range_begin, 8);
  put_le(h, m.range_end, 8);
  put_le(h, m.source.size, 8);
  put_le(h, static_cast<std::uint64_t>(m.source.mtime_ns), 8);
  put_le(h, m.source.edge_hash, 8);
  put_le(h, m.block_records, 4);
  put_le(h, m.flags, 4);
  put_le(h, m.directory_offset, 8);
  put_le(h, m.index_size, 8);
  put_le(h, m.body_checksum, 8);
  h.resize(kIndexHeaderSize - 8, '\0');  // reserved, zero
  put_le(h, XXH3_64bits(h.data(), h.size()), 8);
  return h;
}

// ------------------------------------------------------------------ writer

IndexWriter::IndexWriter(OutputFile& out, const IndexMeta& meta)
    : out_(out), meta_(meta), body_hash_(XXH3_createState()) {
  if (out_.is_stdout()) throw usage_error("an index must be written to a file, not stdout");
  if (!body_hash_) throw std::bad_alloc();
  XXH3_64bits_reset(body_hash_.get());
  meta_.block_records = kIndexBlock;
  block_.reserve(kIndexBlock);
  out_.write(std::string(kIndexHeaderSize, '\0'));  // placeholder; finish() writes the header
}

void IndexWriter::add(std::uint64_t boundary) {
  if (boundaries_ > 0 && boundary < last_) {
    throw io_error("internal error: index boundaries out of order").at_path(out_.path());
  }
  last_ = boundary;
  ++boundaries_;
  block_.push_back(boundary);
  if (block_.size() == kIndexBlock) flush_block();
}

void IndexWriter::flush_block() {
  const std::size_t n = block_.size();
  if (n == 0) return;
  const std::uint64_t first = block_[0];
  std::uint64_t slope = n > 1 ? (block_[n - 1] - first) / (n - 1) : 0;
  if (slope > std::numeric_limits<std::uint32_t>::max()) slope = 0;  // records > 4 GiB: plain deltas
  // Residuals from the line first + j * slope; the smallest becomes 0 by moving the base
  // down (wrapping arithmetic, undone exactly on decode).
  std::int64_t min_r = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const auto r = static_cast<std::int64_t>(block_[j] - first - j * slope);
    min_r = std::min(min_r, r);
  }
  const auto bias = static_cast<std::uint64_t>(-min_r);
  std::uint64_t u[kIndexBlock];
  std::uint64_t max_u = 0;
  for (std::size_t j = 0; j < n; ++j) {
    u[j] = block_[j] - first - j * slope + bias;
    max_u = std::max(max_u, u[j]);
  }
  const unsigned width = max_u ? static_cast<unsigned>(std::bit_width(max_u)) : 0;
  pack(u, n, width, packed_);

  std::string entry;
  put_le(entry, first - bias, 8);
  put_le(entry, (pos_ << 8) | width, 8);
  put_le(entry, slope, 4);
  const auto* e = reinterpret_cast<const unsigned char*>(entry.data());
  put_le(entry, block_checksum(e, packed_.data(), packed_.size()), 4);
  directory_ += entry;

  out_.write(reinterpret_cast<const char*>(packed_.data()), packed_.size());
  XXH3_64bits_update(body_hash_.get(), packed_.data(), packed_.size());
  pos_ += packed_.size();
  block_.clear();
}

IndexMeta IndexWriter::finish() {
  if (boundaries_ == 0) throw io_error("internal error: an index needs at least one boundary");
  flush_block();
  meta_.records = boundaries_ - 1;
  meta_.directory_offset = pos_;
  out_.write(directory_);
  XXH3_64bits_update(body_hash_.get(), directory_.data(), directory_.size());
  meta_.index_size = pos_ + directory_.size();
  meta_.body_checksum = XXH3_64bits_digest(body_hash_.get());
  const std::string header = encode_index_header(meta_);
  if (::pwrite(out_.fd(), header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
    throw sys_error("cannot write the index header", errno).at_path(out_.path());
  }
  return meta_;
}

// ------------------------------------------------------------------ reader

IndexReader::IndexReader(IndexReader&& o) noexcept { *this = std::move(o); }

IndexReader& IndexReader::operator=(IndexReader&& o) noexcept {
  if (this != &o) {
    if (map_ && !bytes_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
    path_ = std::move(o.path_);
    bytes_ = std::move(o.bytes_);
    map_ = std::exchange(o.map_, nullptr);
    map_size_ = std::exchange(o.map_size_, 0);
    meta_ = o.meta_;
  }
  return *this;
}

IndexReader::~IndexReader() {
  if (map_ && !bytes_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

void IndexReader::corrupt(const std::string& what) const {
  throw data_error("index " + path_ + " " + what + "; rebuild it with 'ingot index'");
}

std::optional<IndexReader> IndexReader::open_if_exists(const std::string& path) {
  if (is_remote_path(path)) {
    try {
      return open(path);
    } catch (const Error& e) {
      // The remote reader says io for "no such object"; a failed request is a remote error.
      if (e.kind() == ErrorKind::io && e.message().find("no such object") != std::string::npos) return std::nullopt;
      throw;
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) return std::nullopt;
  return open(path);
}

// A remote index (an s3:// object beside its source) is read whole, in one ranged GET
// up to 8 MiB (about 4 M records): `get` then needs one more GET, for the records.
void IndexReader::load_remote() {
  InputFile in = InputFile::open(path_, Decode::raw, InputFile::Remote::allow);
  // Read whole, so held in memory whole: past this size (~130 M records) a local copy
  // is the better answer than a download per `get`.
  constexpr std::uint64_t kMaxRemoteIndex = std::uint64_t{256} << 20;
  if (in.size() > kMaxRemoteIndex) {
    throw usage_error("index " + path_ + " is " + std::to_string(in.size() >> 20) +
                      " MiB, more than is read whole from the network (256 MiB): copy it to a local file and "
                      "pass --index FILE");
  }
  auto bytes = std::make_shared<std::vector<unsigned char>>(in.size());
  std::size_t got = 0;
  while (got < bytes->size()) {
    const std::size_t n = in.read_at(reinterpret_cast<char*>(bytes->data()) + got, bytes->size() - got, got);
    if (n == 0) throw io_error("index " + path_ + " shrank while it was read");
    got += n;
  }
  if (bytes->size() < kIndexHeaderSize) {
    if (bytes->size() < sizeof kIndexMagic || std::memcmp(bytes->data(), kIndexMagic, sizeof kIndexMagic) != 0)
      throw data_error("index " + path_ + " is not an ingot index (bad magic)");
    corrupt("is truncated (" + std::to_string(bytes->size()) + " bytes, less than a header)");
  }
  map_ = bytes->data();
  map_size_ = bytes->size();
  bytes_ = std::move(bytes);
}

IndexReader IndexReader::open(const std::string& path) {
  IndexReader r;
  r.path_ = path;
  if (is_remote_path(path)) {
    r.load_remote();
    return parse_header(std::move(r));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw sys_error("cannot open index " + path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw sys_error("cannot stat index " + path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw io_error("index " + path + " is not a regular file");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < kIndexHeaderSize) {
    // Short: a truncated index only if it starts like one; else it is no index at all.
    unsigned char magic[sizeof kIndexMagic];
    const bool starts_like_one = ::pread(fd, magic, sizeof magic, 0) == static_cast<ssize_t>(sizeof magic) &&
                                 std::memcmp(magic, kIndexMagic, sizeof magic) == 0;
    ::close(fd);
    if (!starts_like_one) throw data_error("index " + path + " is not an ingot index (bad magic)");
    r.corrupt("is truncated (" + std::to_string(size) + " bytes, less than a header)");
  }
  void* m = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  const int err = errno;
  ::close(fd);
  if (m == MAP_FAILED) throw sys_error("cannot map index " + path, err);
  r.map_ = static_cast<const unsigned char*>(m);
  r.map_size_ = size;
  // A lookup touches two pages; read-ahead would only pull in index we don't need.
  ::madvise(m, size, MADV_RANDOM);
  return parse_header(std::move(r));
}

IndexReader IndexReader::parse_header(IndexReader r) {
  const std::string& path = r.path_;
  const std::uint64_t size = r.map_size_;
  const unsigned char* h = r.map_;
  if (std::memcmp(h, kIndexMagic, sizeof kIndexMagic) != 0) {
    throw data_error("index " + path + " is not an ingot index (bad magic)");
  }
  const std::uint32_t version = le32(h + 8);
  if (version != kIndexVersion) {
    r.corrupt("has format version " + std::to_string(version) + "; this ingot reads version " +
              std::to_string(kIndexVersion));
  }
  if (XXH3_64bits(h, kIndexHeaderSize - 8) != le64(h + kIndexHeaderSize - 8)) {
    r.corrupt("is corrupt (header checksum mismatch)");
  }
  IndexMeta& m_ = r.meta_;
  const std::uint32_t kind = le32(h + 12);
  if (kind > kind_code(RecordKind::tsv)) r.corrupt("is corrupt (unknown record kind)");
  m_.kind = static_cast<RecordKind>(kind);
  m_.records = le64(h + 16);
  m_.header_len = le64(h + 24);
  m_.range_begin = le64(h + 32);
  m_.range_end = le64(h + 40);
  m_.source.size = le64(h + 48);
  m_.source.mtime_ns = static_cast<std::int64_t>(le64(h + 56));
  m_.source.edge_hash = le64(h + 64);
  m_.block_records = le32(h + 72);
  m_.flags = le32(h + 76);
  m_.directory_offset = le64(h + 80);
  m_.index_size = le64(h + 88);
  m_.body_checksum = le64(h + 96);
  if (m_.index_size != size) {
    r.corrupt(size < m_.index_size
                  ? "is truncated (" + std::to_string(size) + " of " + std::to_string(m_.index_size) + " bytes)"
                  : "has " + std::to_string(size - m_.index_size) + " stray bytes at its end");
  }
  if (m_.block_records == 0 || m_.range_begin > m_.range_end || m_.range_end > m_.source.size ||
      m_.header_len > m_.range_end - m_.range_begin || m_.records > m_.range_end - m_.range_begin ||
      m_.directory_offset < kIndexHeaderSize ||
      m_.directory_offset + block_count(m_.records, m_.block_records) * kIndexEntrySize != m_.index_size) {
    r.corrupt("is corrupt (inconsistent header)");
  }
  return r;
}

std::uint64_t IndexReader::blocks() const { return block_count(meta_.records, meta_.block_records); }

IndexReader::Block IndexReader::block(std::uint64_t b) const {
  const unsigned char* e = map_ + meta_.directory_offset + b * kIndexEntrySize;
  Block bl;
  bl.base = le64(e);
  const std::uint64_t pw = le64(e + 8);
  bl.pos = pw >> 8;
  bl.width = static_cast<unsigned>(pw & 0xff);
  bl.slope = le32(e + 16);
  const std::uint64_t total = meta_.records + 1;
  bl.count = static_cast<unsigned>(std::min<std::uint64_t>(meta_.block_records, total - b * meta_.block_records));
  if (bl.width > 64) corrupt("is corrupt (block " + std::to_string(b) + ")");
  bl.len = (std::uint64_t{bl.count} * bl.width + 7) / 8;
  if (bl.pos < kIndexHeaderSize || bl.pos > meta_.directory_offset || bl.len > meta_.directory_offset - bl.pos ||
      block_checksum(e, map_ + bl.pos, bl.len) != le32(e + 20)) {
    corrupt("is corrupt (checksum mismatch in block " + std::to_string(b) + ")");
  }
  return bl;
}

std::uint64_t IndexReader::boundary(std::uint64_t i) const {
  const Block bl = block(i / meta_.block_records);
  const std::uint64_t j = i % meta_.block_records;
  const std::uint64_t v = bl.base + j * bl.slope + unpack(map_ + bl.pos, bl.len, bl.width, j);
  if (v < meta_.range_begin || v > meta_.range_end) corrupt("is corrupt (offset out of range)");
  return v;
}

void IndexReader::decode_block(std::uint64_t b, std::vector<std::uint64_t>& out) const {
  const Block bl = block(b);
  out.resize(bl.count);
  for (unsigned j = 0; j < bl.count; ++j) {
    out[j] = bl.base + j * std::uint64_t{bl.slope} + unpack(map_ + bl.pos, bl.len, bl.width, j);
    if (out[j] < meta_.range_begin || out[j] > meta_.range_end || (j > 0 && out[j] < out[j - 1])) {
      corrupt("is corrupt (offset out of range in block " + std::to_string(b) + ")");
    }
  }
}

void IndexReader::verify() const {
  // One sequential pass: ask for read-ahead for it, then back to lookups' advice.
  void* m = const_cast<unsigned char*>(map_);
  ::madvise(m, map_size_, MADV_SEQUENTIAL);
  struct Restore {
    void* m;
    std::size_t n;
    ~Restore() { ::madvise(m, n, MADV_RANDOM); }
  } restore{m, map_size_};
  if (XXH3_64bits(map_ + kIndexHeaderSize, map_size_ - kIndexHeaderSize) != meta_.body_checksum) {
    corrupt("is corrupt (checksum mismatch)");
  }
  std::vector<std::uint64_t> v;
  std::uint64_t prev = meta_.range_begin + meta_.header_len;
  const std::uint64_t n = blocks();
  for (std::uint64_t b = 0; b < n; ++b) {
    decode_block(b, v);
    if ((b == 0 && v.front() != prev) || v.front() < prev) corrupt("is corrupt (offsets out of order)");
    prev = v.back();
  }
  if (prev != meta_.range_end) corrupt("is corrupt (does not end at the end of its range)");
}

std::string IndexReader::source_mismatch(const InputFile& src, bool whole_file_only) const {
  const Fingerprint fp = src.fingerprint();
  if (fp.size != meta_.source.size) {
    return "it was built for a file of " + std::to_string(meta_.source.size) + " bytes, this one has " +
           std::to_string(fp.size) + " (the file changed, or the index belongs to another file)";
  }
  if (fp.edge_hash != meta_.source.edge_hash) {
    return "the file's content differs from when it was indexed (or the index belongs to another file)";
  }
  if (fp.mtime_ns != meta_.source.mtime_ns) return "the file was modified after it was indexed";
  if (whole_file_only && !meta_.whole_file()) {
    return "it indexes only bytes " + std::to_string(meta_.range_begin) + "-" + std::to_string(meta_.range_end) +
           " of the file (a --part or manifest piece index)";
  }
  return {};
}

}  // namespace ingot

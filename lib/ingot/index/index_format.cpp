#include "ingot/index/index_format.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <mutex>
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

// A remote index up to this size is read whole, in one ranged GET; a larger one by
// ranges. INGOT_REMOTE_INDEX_WHOLE_MAX (bytes) lowers it, for tests (docs/remote.md).
std::uint64_t remote_whole_max() {
  if (const char* v = std::getenv("INGOT_REMOTE_INDEX_WHOLE_MAX"); v && *v) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    if (end && *end == '\0') return n;
  }
  return std::uint64_t{1} << 20;
}

constexpr std::uint64_t kLookupPage = 64;  // blocks a lookup fetches: 1.5 KiB of entries, <= 64 KiB of bits
constexpr std::uint64_t kRunPage = 4096;   // blocks a run of decode_block(b), (b + 1), ... fetches
constexpr std::size_t kCachedPages = 4;
constexpr std::size_t kVerifyRead = 4 << 20;  // verify's streaming reads

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
    ranged_ = std::move(o.ranged_);
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

// A large remote index, read by ranges: the object, and the last pages fetched.
struct IndexReader::Page {
  std::uint64_t first = 0, count = 0;  // blocks [first, first + count)
  std::vector<unsigned char> entries;  // their directory entries
  std::uint64_t bits_begin = 0;        // index offset of bits[0]
  std::vector<unsigned char> bits;     // their packed bits (empty when the entries are inconsistent)
};

struct IndexReader::Ranged {
  explicit Ranged(InputFile f) : in(std::move(f)) {}
  InputFile in;
  std::mutex mu;
  std::vector<std::shared_ptr<const Page>> pages;  // most recent last
  std::uint64_t next = 0;                          // the block after the last one asked for
  std::uint64_t streak = 0;                        // blocks asked for in order, so far
};

// A remote index (an s3:// object beside its source) up to remote_whole_max() is read
// whole, in one ranged GET: `get` then needs one more GET, for the records. A larger
// one is read by ranges: here only its header.
void IndexReader::load_remote() {
  InputFile in = InputFile::open(path_, Decode::raw, InputFile::Remote::allow);
  const std::uint64_t size = in.size();
  if (size > std::max<std::uint64_t>(remote_whole_max(), kIndexHeaderSize)) {
    ranged_ = std::make_shared<Ranged>(std::move(in));
    auto header = std::make_shared<std::vector<unsigned char>>(kIndexHeaderSize);
    read_remote(0, kIndexHeaderSize, header->data());
    bytes_ = std::move(header);
    return;
  }
  auto bytes = std::make_shared<std::vector<unsigned char>>(size);
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

void IndexReader::read_remote(std::uint64_t offset, std::size_t n, unsigned char* dst) const {
  std::size_t got = 0;
  while (got < n) {
    const std::size_t k = ranged_->in.read_at(reinterpret_cast<char*>(dst) + got, n - got, offset + got);
    if (k == 0) throw io_error("index " + path_ + " shrank while it was read");
    got += k;
  }
}

// Blocks [first, first + count): their entries, then the bits they point at, which
// are contiguous in a sound index (blocks are written in order). Entries that say
// otherwise get no bits, so each of their blocks fails its check in block().
std::shared_ptr<const IndexReader::Page> IndexReader::load_page(std::uint64_t first, std::uint64_t count) const {
  auto p = std::make_shared<Page>();
  p->first = first;
  p->count = count;
  p->entries.resize(static_cast<std::size_t>(count * kIndexEntrySize));
  read_remote(meta_.directory_offset + first * kIndexEntrySize, p->entries.size(), p->entries.data());
  const unsigned char* e0 = p->entries.data();
  const unsigned char* el = e0 + (count - 1) * kIndexEntrySize;
  const std::uint64_t begin = le64(e0 + 8) >> 8;
  const std::uint64_t last_pos = le64(el + 8) >> 8;
  const unsigned last_width = static_cast<unsigned>(le64(el + 8) & 0xff);
  const std::uint64_t last_count =
      std::min<std::uint64_t>(meta_.block_records, meta_.records + 1 - (first + count - 1) * meta_.block_records);
  const std::uint64_t end = last_pos + (last_count * last_width + 7) / 8;
  const std::uint64_t most = count * ((std::uint64_t{meta_.block_records} * 64 + 7) / 8);
  if (last_width <= 64 && begin >= kIndexHeaderSize && begin <= last_pos && last_pos <= meta_.directory_offset &&
      end <= meta_.directory_offset && end - begin <= most) {
    p->bits_begin = begin;
    p->bits.resize(static_cast<std::size_t>(end - begin));
    read_remote(begin, p->bits.size(), p->bits.data());
  }
  return p;
}

// The page holding block b: a kept one, else fetched (a page of kLookupPage around b,
// or of kRunPage from b when the blocks are being asked for in order: verify, a merge;
// not get's two lookups). One fetch at a time.
std::shared_ptr<const IndexReader::Page> IndexReader::page(std::uint64_t b) const {
  Ranged& r = *ranged_;
  std::lock_guard lock(r.mu);
  if (b + 1 != r.next) {  // (the same block again leaves the run as it is)
    r.streak = b > 0 && b == r.next ? r.streak + 1 : 0;
    r.next = b + 1;
  }
  const bool run = r.streak >= 8;
  for (auto it = r.pages.rbegin(); it != r.pages.rend(); ++it) {
    if (b >= (*it)->first && b - (*it)->first < (*it)->count) return *it;
  }
  const std::uint64_t first = run ? b : b - b % kLookupPage;
  const std::uint64_t count = std::min(run ? kRunPage : kLookupPage, blocks() - first);
  std::shared_ptr<const Page> p = load_page(first, count);
  if (r.pages.size() == kCachedPages) r.pages.erase(r.pages.begin());
  r.pages.push_back(p);
  return p;
}

IndexReader IndexReader::open(const std::string& path) {
  IndexReader r;
  r.path_ = path;
  if (is_remote_path(path)) {
    r.load_remote();
    const unsigned char* h = r.bytes_->data();
    const std::uint64_t size = r.ranged_ ? r.ranged_->in.size() : r.map_size_;
    return parse_header(std::move(r), h, size);
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
  const unsigned char* h = r.map_;
  return parse_header(std::move(r), h, size);
}

IndexReader IndexReader::parse_header(IndexReader r, const unsigned char* h, std::uint64_t size) {
  const std::string& path = r.path_;
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
  Block bl;
  // The entry, and the index bytes [lo, hi) at hand, bits[0] being index offset lo.
  const unsigned char* e;
  const unsigned char* bits;
  std::uint64_t lo, hi;
  if (ranged_) {
    if (b >= blocks()) corrupt("is corrupt (block " + std::to_string(b) + ")");
    bl.hold = page(b);
    e = bl.hold->entries.data() + (b - bl.hold->first) * kIndexEntrySize;
    bits = bl.hold->bits.data();
    lo = bl.hold->bits_begin;
    hi = lo + bl.hold->bits.size();
  } else {
    e = map_ + meta_.directory_offset + b * kIndexEntrySize;
    bits = map_;
    lo = 0;
    hi = meta_.directory_offset;
  }
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
      bl.pos < lo || bl.pos > hi || bl.len > hi - bl.pos ||
      block_checksum(e, bits + (bl.pos - lo), bl.len) != le32(e + 20)) {
    corrupt("is corrupt (checksum mismatch in block " + std::to_string(b) + ")");
  }
  bl.bits = bits + (bl.pos - lo);
  return bl;
}

std::uint64_t IndexReader::boundary(std::uint64_t i) const {
  const Block bl = block(i / meta_.block_records);
  const std::uint64_t j = i % meta_.block_records;
  const std::uint64_t v = bl.base + j * bl.slope + unpack(bl.bits, bl.len, bl.width, j);
  if (v < meta_.range_begin || v > meta_.range_end) corrupt("is corrupt (offset out of range)");
  return v;
}

void IndexReader::decode_block(std::uint64_t b, std::vector<std::uint64_t>& out) const {
  const Block bl = block(b);
  out.resize(bl.count);
  for (unsigned j = 0; j < bl.count; ++j) {
    out[j] = bl.base + j * std::uint64_t{bl.slope} + unpack(bl.bits, bl.len, bl.width, j);
    if (out[j] < meta_.range_begin || out[j] > meta_.range_end || (j > 0 && out[j] < out[j - 1])) {
      corrupt("is corrupt (offset out of range in block " + std::to_string(b) + ")");
    }
  }
}

// A ranged index: the body checksum over a streamed read, then every block by runs of
// pages (decode_block in order).
void IndexReader::verify_ranged() const {
  XXH3_state_t* st = XXH3_createState();
  if (!st) throw std::bad_alloc();
  std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(st, &XXH3_freeState);
  XXH3_64bits_reset(st);
  std::vector<unsigned char> buf(kVerifyRead);
  for (std::uint64_t at = kIndexHeaderSize; at < meta_.index_size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), meta_.index_size - at));
    read_remote(at, n, buf.data());
    XXH3_64bits_update(st, buf.data(), n);
    at += n;
  }
  if (XXH3_64bits_digest(st) != meta_.body_checksum) corrupt("is corrupt (checksum mismatch)");
}

void IndexReader::verify() const {
  if (ranged_) {
    verify_ranged();
  } else {
    verify_mapped_checksum();
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

void IndexReader::verify_mapped_checksum() const {
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

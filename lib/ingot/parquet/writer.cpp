// The Parquet writer (see writer.h). Field numbers and enum values are those of
// parquet-format's parquet.thrift; a comment names each struct where it is written.
#include "ingot/parquet/writer.h"

#include <sys/mman.h>
#include <snappy.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>

#include "ingot/parquet/rle.h"
#include "ingot/parquet/thrift_compact.h"
#include "ingot/util/error.h"

namespace ingot::parquet {

// parquet.thrift enums.
namespace {
enum Physical : std::int32_t { kBoolean = 0, kInt32 = 1, kInt64 = 2, kDouble = 5, kByteArray = 6 };
enum Encoding : std::int32_t { kPlain = 0, kRle = 3, kRleDictionary = 8 };
enum PageType : std::int32_t { kDataPage = 0, kDictionaryPage = 2 };
enum Converted : std::int32_t { kUtf8 = 0, kDate = 6, kTimestampMicros = 10 };
constexpr std::int32_t kOptional = 1;  // FieldRepetitionType
constexpr std::string_view kMagic = "PAR1";

Physical physical(ColumnType t) {
  switch (t) {
    case ColumnType::boolean: return kBoolean;
    case ColumnType::int64:
    case ColumnType::timestamp:
    case ColumnType::timestamptz: return kInt64;
    case ColumnType::double_: return kDouble;
    case ColumnType::string: return kByteArray;
    case ColumnType::date: return kInt32;
  }
  return kByteArray;
}

// Bytes of one value in the buffers (booleans: one byte until packed); 0: length-prefixed.
std::size_t value_width(ColumnType t) {
  switch (t) {
    case ColumnType::boolean: return 1;
    case ColumnType::date: return 4;
    case ColumnType::int64:
    case ColumnType::timestamp:
    case ColumnType::timestamptz:
    case ColumnType::double_: return 8;
    case ColumnType::string: return 0;
  }
  return 0;
}

std::uint32_t load_u32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);  // Parquet is little-endian, as is every target ingot builds for
  out.append(b, 4);
}

}  // namespace

const char* column_type_name(ColumnType t) {
  switch (t) {
    case ColumnType::boolean: return "BOOLEAN";
    case ColumnType::int64: return "INT64";
    case ColumnType::double_: return "DOUBLE";
    case ColumnType::string: return "STRING";
    case ColumnType::date: return "DATE";
    case ColumnType::timestamp: return "TIMESTAMP";
    case ColumnType::timestamptz: return "TIMESTAMPTZ";
  }
  return "?";
}

std::optional<ColumnType> parse_column_type(std::string_view name) {
  for (ColumnType t : {ColumnType::boolean, ColumnType::int64, ColumnType::double_, ColumnType::string,
                       ColumnType::date, ColumnType::timestamp, ColumnType::timestamptz}) {
    if (name == column_type_name(t)) return t;
  }
  return std::nullopt;
}

std::optional<Compression> parse_compression(std::string_view name) {
  if (name == "zstd" || name == "zst") return Compression::zstd;
  if (name == "snappy") return Compression::snappy;
  if (name == "none" || name == "uncompressed") return Compression::none;
  return std::nullopt;
}

// ---- RowBatch -----------------------------------------------------------------------

void ByteVec::grow(std::size_t need) {
  const std::size_t cap = std::max<std::size_t>({need, 2 * cap_, 256});
  void* p = std::realloc(p_, cap);
  if (!p) throw std::bad_alloc();
  p_ = static_cast<char*>(p);
  cap_ = cap;
}

void RowBatch::reset(std::size_t ncols) {
  cols_.resize(ncols);
  for (Column& c : cols_) {
    c.defs.clear();
    c.plain.clear();
  }
  row_end_.clear();
  bytes_ = 0;
  row_bytes_ = 0;
}

// Each column holds at most one cell of the unfinished row, its last.
void RowBatch::drop_row() {
  const std::size_t r = rows();
  for (Column& c : cols_) {
    if (c.defs.size() == r) continue;
    if (c.defs.data()[r]) c.plain.shrink_to(c.last);
    c.defs.shrink_to(r);
  }
  row_bytes_ = 0;
}

void RowBatch::reorder(const std::vector<std::int32_t>& from) {
  std::vector<Column> cols(from.size());
  const std::size_t r = rows();
  for (std::size_t i = 0; i < from.size(); ++i) {
    if (from[i] >= 0) {
      cols[i] = std::move(cols_[static_cast<std::size_t>(from[i])]);
    } else {
      char* d = cols[i].defs.extend(r);
      if (r) std::memset(d, 0, r);
    }
  }
  // A row's size counts a byte per column (end_row).
  const auto more = static_cast<std::int64_t>(from.size()) - static_cast<std::int64_t>(cols_.size());
  for (std::size_t k = 0; k < r; ++k) {
    row_end_[k] =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(row_end_[k]) + more * static_cast<std::int64_t>(k + 1));
  }
  bytes_ = r ? row_end_[r - 1] : 0;
  cols_ = std::move(cols);
}

namespace {

// Where row r's values start in a batch column's PLAIN bytes (its size at r = rows):
// found only where a row group ends inside a batch, so counted, not stored per row.
std::size_t plain_offset(const RowBatch::Column& c, ColumnType t, std::size_t r, std::size_t rows) {
  if (r == 0) return 0;
  if (r == rows) return c.plain.size();
  std::size_t values = 0;
  for (std::size_t i = 0; i < r; ++i) values += c.defs.data()[i] != 0;
  if (const std::size_t w = value_width(t)) return values * w;
  std::size_t at = 0;
  for (; values > 0; --values) at += 4 + load_u32(c.plain.data() + at);
  return at;
}

}  // namespace

// ---- column chunks ------------------------------------------------------------------

namespace {

// A growing byte buffer in its own mapping, asked to be backed by transparent huge
// pages: a row group's column buffers reach --row-group-size together, and filling
// that much fresh memory in 4 KiB pages costs a page fault each (a quarter of the
// whole conversion's time on a virtual machine, all of it in the serial consumer).
// Where the kernel gives no huge pages it is an ordinary mapping.
class GroupBuffer {
 public:
  GroupBuffer() = default;
  GroupBuffer(const GroupBuffer&) = delete;
  GroupBuffer& operator=(const GroupBuffer&) = delete;
  GroupBuffer(GroupBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)), cap_(std::exchange(o.cap_, 0)) {}
  GroupBuffer& operator=(GroupBuffer&&) = delete;
  ~GroupBuffer() {
    if (data_) ::munmap(data_, cap_);
  }

  const char* data() const { return data_; }
  std::size_t size() const { return size_; }
  char operator[](std::size_t i) const { return data_[i]; }
  std::string_view view() const { return {data_, size_}; }
  void clear() { size_ = 0; }
  void reserve(std::size_t n) {
    if (n > cap_) grow(n);
  }
  void append(const void* p, std::size_t n) {
    if (n == 0) return;
    if (size_ + n > cap_) grow(std::max(size_ + n, cap_ * 2));
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }

 private:
  static constexpr std::size_t kPage = std::size_t{4} << 10;
  static constexpr std::size_t kHuge = std::size_t{2} << 20;
  void grow(std::size_t n) {
    // Small buffers (small row groups) stay in 4 KiB pages: a huge page each would
    // add 2 MiB of memory per column for a few KiB of data.
    const bool huge = n >= kHuge;
    const std::size_t unit = huge ? kHuge : kPage;
    n = (n + unit - 1) / unit * unit;
    void* p = data_ ? ::mremap(data_, cap_, n, MREMAP_MAYMOVE)
                    : ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (huge) ::madvise(p, n, MADV_HUGEPAGE);  // advice only: no huge pages is no error
    data_ = static_cast<char*>(p);
    cap_ = n;
  }
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

struct ColumnBuffer {
  GroupBuffer defs;  // per row: 1 = a value, 0 = null
  GroupBuffer plain;
};

// Statistics of a column chunk: min_value/max_value in PLAIN encoding (strings without
// their length), compared as the column's type orders them (TypeDefinedOrder).
struct Stats {
  bool any = false;
  std::string min, max;
  std::uint64_t nulls = 0;
};

// Strings longer than this get no min/max: the footer stays small, and a reader that
// finds none simply cannot skip on that column.
constexpr std::size_t kMaxStatBytes = 256;

template <class T>
void fixed_stats(Stats& s, std::string_view plain) {
  const std::size_t n = plain.size() / sizeof(T);
  if (n == 0) return;
  T lo, hi;
  std::memcpy(&lo, plain.data(), sizeof(T));
  hi = lo;
  for (std::size_t i = 1; i < n; ++i) {
    T v;
    std::memcpy(&v, plain.data() + i * sizeof(T), sizeof(T));
    if (v < lo) lo = v;
    if (hi < v) hi = v;
  }
  if constexpr (std::is_floating_point_v<T>) {
    // The spec: a zero min is written as -0.0 and a zero max as +0.0.
    if (lo == 0) lo = -T(0);
    if (hi == 0) hi = T(0);
  }
  s.any = true;
  s.min.resize(sizeof(T));  // (assign() of the bytes draws a false -Wrestrict from GCC 12)
  s.max.resize(sizeof(T));
  std::memcpy(s.min.data(), &lo, sizeof(T));
  std::memcpy(s.max.data(), &hi, sizeof(T));
}

Stats compute_stats(ColumnType t, const ColumnBuffer& b) {
  Stats s;
  std::size_t nulls = 0;  // a local: the loop vectorizes
  const char* defs = b.defs.data();
  for (std::size_t i = 0, n = b.defs.size(); i < n; ++i) nulls += defs[i] == 0;
  s.nulls = nulls;
  switch (t) {
    case ColumnType::boolean: fixed_stats<std::uint8_t>(s, b.plain.view()); break;
    case ColumnType::date: fixed_stats<std::int32_t>(s, b.plain.view()); break;
    case ColumnType::int64:
    case ColumnType::timestamp:
    case ColumnType::timestamptz: fixed_stats<std::int64_t>(s, b.plain.view()); break;
    case ColumnType::double_: fixed_stats<double>(s, b.plain.view()); break;
    case ColumnType::string: {
      std::string_view lo, hi;
      for (std::size_t at = 0; at < b.plain.size();) {
        const std::uint32_t n = load_u32(b.plain.data() + at);
        std::string_view v(b.plain.data() + at + 4, n);
        at += 4 + n;
        if (!s.any || v < lo) lo = v;  // string_view compares as unsigned bytes (char_traits<char>)
        if (!s.any || hi < v) hi = v;
        s.any = true;
      }
      if (s.any && lo.size() <= kMaxStatBytes && hi.size() <= kMaxStatBytes) {
        s.min.assign(lo);
        s.max.assign(hi);
      } else {
        s.any = false;
      }
      break;
    }
  }
  return s;
}

// What the footer says of one column chunk; offsets relative to the chunk's start.
struct ChunkMeta {
  std::vector<std::int32_t> encodings;
  std::int64_t num_values = 0;
  std::int64_t uncompressed = 0;  // page headers + uncompressed page bodies
  std::int64_t compressed = 0;    // as written
  std::int64_t data_page = 0;
  std::optional<std::int64_t> dictionary_page;
  Stats stats;
};

struct EncodedChunk {
  std::string bytes;
  ChunkMeta meta;
};

// A thread's page buffers and zstd context, kept from one column chunk to the next (a
// fresh context and buffers per chunk cost more page faults than the compression).
struct PageBuffers {
  PageBuffers() = default;
  PageBuffers(const PageBuffers&) = delete;
  PageBuffers& operator=(const PageBuffers&) = delete;
  ~PageBuffers() {
    if (zctx) ZSTD_freeCCtx(zctx);
  }
  std::string header;
  std::string zbuf;
  ZSTD_CCtx* zctx = nullptr;
};

class PageWriter {
 public:
  PageWriter(const WriterOptions& opts, EncodedChunk& out, PageBuffers& buf)
      : opts_(opts), out_(out), header_(buf.header), zbuf_(buf.zbuf), zctx_(buf.zctx) {}

  // PageHeader { 1: type, 2: uncompressed_page_size, 3: compressed_page_size,
  //   5: DataPageHeader { 1: num_values, 2: encoding, 3: definition_level_encoding,
  //                       4: repetition_level_encoding }
  //   7: DictionaryPageHeader { 1: num_values, 2: encoding } }
  void page(PageType type, std::int32_t num_values, std::int32_t encoding, const std::string& body) {
    const std::string_view stored = compress(body);
    header_.clear();
    CompactWriter w(header_);
    w.field_i32(1, type);
    w.field_i32(2, static_cast<std::int32_t>(body.size()));
    w.field_i32(3, static_cast<std::int32_t>(stored.size()));
    if (type == kDataPage) {
      w.begin_struct(5);
      w.field_i32(1, num_values);
      w.field_i32(2, encoding);
      w.field_i32(3, kRle);
      w.field_i32(4, kRle);
      w.end_struct();
    } else {
      w.begin_struct(7);
      w.field_i32(1, num_values);
      w.field_i32(2, encoding);
      w.end_struct();
    }
    w.stop();
    out_.meta.uncompressed += static_cast<std::int64_t>(header_.size() + body.size());
    out_.meta.compressed += static_cast<std::int64_t>(header_.size() + stored.size());
    out_.bytes += header_;
    out_.bytes += stored;
  }

 private:
  // The stored bytes: body itself, or the front of zbuf_, which keeps its size from page
  // to page (resizing it down and up again zero-filled up to a page per page).
  std::string_view compress(const std::string& body) {
    if (opts_.compression == Compression::none) return body;
    if (opts_.compression == Compression::snappy) {
      // Parquet's SNAPPY is the raw block format, no framing.
      const std::size_t bound = snappy::MaxCompressedLength(body.size());
      if (zbuf_.size() < bound) zbuf_.resize(bound);
      std::size_t n = 0;
      snappy::RawCompress(body.data(), body.size(), zbuf_.data(), &n);
      return std::string_view(zbuf_.data(), n);
    }
    if (!zctx_) zctx_ = ZSTD_createCCtx();
    const std::size_t bound = ZSTD_compressBound(body.size());
    if (zbuf_.size() < bound) zbuf_.resize(bound);
    const std::size_t n = ZSTD_compressCCtx(zctx_, zbuf_.data(), bound, body.data(), body.size(), opts_.zstd_level);
    if (ZSTD_isError(n)) throw io_error(std::string("zstd: ") + ZSTD_getErrorName(n));
    return std::string_view(zbuf_.data(), n);
  }

  const WriterOptions& opts_;
  EncodedChunk& out_;
  std::string& header_;
  std::string& zbuf_;
  ZSTD_CCtx*& zctx_;
};

// The body of a v1 data page starts with the definition levels: their RLE-hybrid
// bytes after a 4-byte length.
void append_levels(std::string& body, const std::uint8_t* defs, std::size_t n) {
  const std::size_t at = body.size();
  body.append(4, '\0');
  append_rle_hybrid(body, std::span<const std::uint8_t>(defs, n), 1);
  const auto len = static_cast<std::uint32_t>(body.size() - at - 4);
  std::memcpy(body.data() + at, &len, 4);
}

// The values of a column buffer: fixed-width ones are found by their index; strings
// (length-prefixed) by the offsets of their PLAIN bytes, found once per chunk.
struct Values {
  std::size_t width = 0;             // 0: strings
  std::vector<std::size_t> offsets;  // strings: where each value's length prefix starts, then the end
  std::size_t count = 0;

  std::size_t begin(std::size_t i) const { return width ? i * width : offsets[i]; }
  std::size_t size(std::size_t i) const { return width ? width : offsets[i + 1] - offsets[i]; }
};

void split_values(ColumnType t, std::string_view plain, Values& v) {
  v.width = value_width(t);
  v.offsets.clear();
  if (v.width) {
    v.count = plain.size() / v.width;
    return;
  }
  for (std::size_t at = 0; at < plain.size();) {
    v.offsets.push_back(at);
    at += 4 + load_u32(plain.data() + at);
  }
  v.count = v.offsets.size();
  v.offsets.push_back(plain.size());
}

// Pages cut at rows: a page ends after the row whose values bring it to page_bytes.
struct PageCut {
  std::size_t row_begin, row_end;  // rows
  std::size_t val_begin, val_end;  // non-null values
};

void cut_pages(const ColumnBuffer& b, const Values& vals, std::size_t page_bytes, std::vector<PageCut>& pages) {
  pages.clear();
  PageCut cur{0, 0, 0, 0};
  std::size_t bytes = 0, v = 0;
  const std::size_t n = b.defs.size();
  const char* defs = b.defs.data();
  // After row r: a page ends when it holds page_bytes, and at the last row.
  auto maybe_cut = [&](std::size_t r) {
    if (bytes >= page_bytes || r + 1 == n) {
      cur.row_end = r + 1;
      cur.val_end = v;
      pages.push_back(cur);
      cur = PageCut{r + 1, r + 1, v, v};
      bytes = 0;
    }
  };
  if (vals.width) {  // fixed-width values: the same cuts without a value's size per row
    const std::size_t w = vals.width;
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t has = defs[r] != 0;
      v += has;
      bytes += has * w + 1;
      maybe_cut(r);
    }
    return;
  }
  for (std::size_t r = 0; r < n; ++r) {
    if (defs[r]) bytes += vals.size(v++);
    bytes += 1;  // a level
    maybe_cut(r);
  }
}

// A dictionary of fixed-width values (booleans excepted): open addressing on the
// value's bits, which is all the equality PLAIN needs (-0.0 and 0.0, or two NaNs of
// different payloads, stay distinct values, as their bytes are).
template <class T>
class FixedDictionary {
 public:
  void clear() {
    slots_.assign(std::size_t{1} << 12, Slot{T{}, kEmpty});
    size_ = 0;
  }
  // The indices of count PLAIN values into out, each new value appended to dict; false
  // as soon as dict passes limit. A value equal to the one before takes its index
  // without a probe (runs are common).
  bool index_all(const char* plain, std::size_t count, std::uint32_t* out, std::string& dict, std::size_t limit) {
    Slot* slots = slots_.data();  // locals, not members: the stores to out could alias them
    std::size_t mask = slots_.size() - 1;
    T prev{};
    std::uint32_t prev_index = kEmpty;
    for (std::size_t k = 0; k < count; ++k) {
      T v;
      std::memcpy(&v, plain + k * sizeof(T), sizeof(T));
      if (v == prev && prev_index != kEmpty) {
        out[k] = prev_index;
        continue;
      }
      std::size_t i = hash(v) & mask;
      std::uint32_t index;
      for (;; i = (i + 1) & mask) {
        const Slot& s = slots[i];
        if (s.index == kEmpty || s.key == v) break;
      }
      if (slots[i].index != kEmpty) {
        index = slots[i].index;
      } else {
        index = static_cast<std::uint32_t>(size_++);
        slots[i] = Slot{v, index};
        if (size_ * 2 > slots_.size()) {
          grow();
          slots = slots_.data();
          mask = slots_.size() - 1;
        }
        dict.append(reinterpret_cast<const char*>(&v), sizeof(T));
        if (dict.size() > limit) return false;
      }
      out[k] = index;
      prev = v;
      prev_index = index;
    }
    return true;
  }
  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint32_t kEmpty = UINT32_MAX;
  // Keys in the table itself: a probe reads one slot, not a slot and then the key.
  struct Slot {
    T key;
    std::uint32_t index;
  };
  static std::size_t hash(T v) {
    std::uint64_t x = 0;
    std::memcpy(&x, &v, sizeof v);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return static_cast<std::size_t>(x);
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{T{}, kEmpty});
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index == kEmpty) continue;
      std::size_t i = hash(s.key) & mask;
      while (slots_[i].index != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
};

// A dictionary of strings (their PLAIN bytes, length prefix included): open addressing
// on a hash of the bytes, the views kept by index.
class StringDictionary {
 public:
  void clear() {
    slots_.assign(std::size_t{1} << 10, Slot{0, kEmpty});
    keys_.clear();
  }
  std::uint32_t find_or_add(std::string_view v, bool& added) {
    const std::uint64_t h = hash(v);
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>(h) & mask;
    for (;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.index == kEmpty) break;
      if (s.hash == h && keys_[s.index] == v) {
        added = false;
        return s.index;
      }
    }
    added = true;
    const auto index = static_cast<std::uint32_t>(keys_.size());
    keys_.push_back(v);
    slots_[i] = Slot{h, index};
    if (keys_.size() * 2 > slots_.size()) grow();
    return index;
  }
  std::size_t size() const { return keys_.size(); }

 private:
  static constexpr std::uint32_t kEmpty = UINT32_MAX;
  struct Slot {
    std::uint64_t hash;
    std::uint32_t index;
  };
  static std::uint64_t hash(std::string_view v) {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ v.size();
    std::size_t i = 0;
    for (; i + 8 <= v.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, v.data() + i, 8);
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    }
    if (i < v.size()) {
      std::uint64_t w = 0;
      std::memcpy(&w, v.data() + i, v.size() - i);
      h = (h ^ w) * 0xff51afd7ed558ccdULL;
    }
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2, Slot{0, kEmpty});
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.index == kEmpty) continue;
      std::size_t i = static_cast<std::size_t>(s.hash) & mask;
      while (slots_[i].index != kEmpty) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  std::vector<std::string_view> keys_;
};

// Scratch of one encoding thread, kept from one column chunk to the next.
struct Scratch {
  Values vals;
  std::vector<PageCut> pages;
  std::string dict;
  std::vector<std::uint32_t> indices;
  FixedDictionary<std::uint64_t> dict64;
  FixedDictionary<std::uint32_t> dict32;
  StringDictionary dict_strings;
  std::string body;
  PageBuffers pages_out;
};

template <class T>
bool fixed_dictionary(FixedDictionary<T>& d, std::string_view plain, std::size_t count, std::size_t page_bytes,
                      std::string& dict, std::vector<std::uint32_t>& indices) {
  d.clear();
  indices.resize(count);
  return d.index_all(plain.data(), count, indices.data(), dict, page_bytes);
}

// Dictionary encoding pays when the distinct values plus the packed indices take less
// than the PLAIN values; it is given up once the dictionary would pass one page.
bool try_dictionary(ColumnType t, std::string_view plain, Scratch& s, std::size_t page_bytes, std::uint32_t& entries,
                    int& bit_width) {
  const Values& vals = s.vals;
  if (vals.count == 0) return false;
  s.indices.clear();
  s.indices.reserve(vals.count);
  s.dict.clear();
  bool fits = true;
  if (vals.width == 8) {
    fits = fixed_dictionary(s.dict64, plain, vals.count, page_bytes, s.dict, s.indices);
    entries = static_cast<std::uint32_t>(s.dict64.size());
  } else if (vals.width == 4) {
    fits = fixed_dictionary(s.dict32, plain, vals.count, page_bytes, s.dict, s.indices);
    entries = static_cast<std::uint32_t>(s.dict32.size());
  } else if (t == ColumnType::string) {
    auto& index = s.dict_strings;
    index.clear();
    for (std::size_t i = 0; i < vals.count && fits; ++i) {
      const std::string_view v(plain.data() + vals.begin(i), vals.size(i));
      bool added;
      s.indices.push_back(index.find_or_add(v, added));
      if (added) {
        s.dict.append(v);
        fits = s.dict.size() <= page_bytes;
      }
    }
    entries = static_cast<std::uint32_t>(index.size());
  } else {
    return false;
  }
  if (!fits) return false;
  bit_width = std::max(1, bit_width_for(entries - 1));
  const std::size_t packed = (vals.count * static_cast<std::size_t>(bit_width) + 7) / 8;
  return s.dict.size() + packed + packed / 8 < plain.size();
}

// Encodes into out, whose buffer is reused from the last row group.
void encode_column(ColumnType type, const ColumnBuffer& b, const WriterOptions& opts, Scratch& s, EncodedChunk& out) {
  out.bytes.clear();
  out.meta = ChunkMeta{};
  out.meta.num_values = static_cast<std::int64_t>(b.defs.size());
  out.meta.stats = compute_stats(type, b);
  split_values(type, b.plain.view(), s.vals);
  const Values& vals = s.vals;
  cut_pages(b, vals, opts.page_bytes, s.pages);
  PageWriter pw(opts, out, s.pages_out);
  int bit_width = 0;
  std::uint32_t entries = 0;
  const bool use_dict = opts.dictionary && type != ColumnType::boolean &&
                        try_dictionary(type, b.plain.view(), s, opts.page_bytes, entries, bit_width);
  std::string& body = s.body;
  if (use_dict) {
    out.meta.encodings = {kPlain, kRle, kRleDictionary};
    out.meta.dictionary_page = 0;
    pw.page(kDictionaryPage, static_cast<std::int32_t>(entries), kPlain, s.dict);
  } else {
    out.meta.encodings = {kPlain, kRle};
  }
  out.meta.data_page = static_cast<std::int64_t>(out.bytes.size());
  for (const PageCut& p : s.pages) {
    body.clear();
    append_levels(body, reinterpret_cast<const std::uint8_t*>(b.defs.data()) + p.row_begin, p.row_end - p.row_begin);
    if (use_dict) {
      body.push_back(static_cast<char>(bit_width));
      append_rle_hybrid(body, std::span<const std::uint32_t>(s.indices.data() + p.val_begin, p.val_end - p.val_begin),
                        bit_width);
    } else if (type == ColumnType::boolean) {
      const std::size_t n = p.val_end - p.val_begin;
      const std::size_t at = body.size();
      body.append((n + 7) / 8, '\0');
      for (std::size_t i = 0; i < n; ++i) {
        if (b.plain[p.val_begin + i]) body[at + i / 8] = static_cast<char>(body[at + i / 8] | (1 << (i % 8)));
      }
    } else if (p.val_end > p.val_begin) {
      const std::size_t from = vals.begin(p.val_begin);
      const std::size_t to = vals.begin(p.val_end - 1) + vals.size(p.val_end - 1);
      body.append(b.plain.data() + from, to - from);
    }
    pw.page(kDataPage, static_cast<std::int32_t>(p.row_end - p.row_begin), use_dict ? kRleDictionary : kPlain, body);
  }
}

}  // namespace

// ---- the file -----------------------------------------------------------------------

struct Writer::Impl {
  std::vector<ColumnBuffer> buffers;
  struct Group {
    std::vector<ChunkMeta> chunks;  // offsets absolute
    std::int64_t rows = 0;
    std::int64_t offset = 0;
    std::int64_t uncompressed = 0;
    std::int64_t compressed = 0;
  };
  std::vector<Group> groups;
  std::vector<EncodedChunk> encoded;
  tbb::enumerable_thread_specific<Scratch> scratch;
  bool reserved = false;
};

Writer::Writer(std::vector<ColumnSpec> columns, WriterOptions opts, Sink sink)
    : columns_(std::move(columns)), opts_(std::move(opts)), sink_(std::move(sink)), impl_(std::make_unique<Impl>()) {
  impl_->buffers.resize(columns_.size());
  emit(kMagic);
}

Writer::~Writer() = default;

std::size_t Writer::row_groups() const { return impl_->groups.size(); }

void Writer::emit(std::string_view bytes) {
  sink_(bytes);
  offset_ += bytes.size();
}

void Writer::write(const RowBatch& batch) {
  const std::size_t n = batch.rows();
  std::size_t r = 0;
  while (r < n) {
    const std::uint64_t before = r ? batch.bytes_through(r - 1) : 0;
    const std::uint64_t room = opts_.row_group_bytes > group_bytes_ ? opts_.row_group_bytes - group_bytes_ : 1;
    // The first row at which the group reaches its size.
    std::size_t lo = r, hi = n;
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (batch.bytes_through(mid) - before >= room)
        hi = mid;
      else
        lo = mid + 1;
    }
    if (lo == n) {
      append(batch, r, n);
      return;
    }
    append(batch, r, lo + 1);
    flush_row_group();
    r = lo + 1;
  }
}

void Writer::append(const RowBatch& batch, std::size_t begin, std::size_t end) {
  if (begin == end) return;
  if (file_full_) {
    // The last file is complete; these rows start the next one (so no file is empty).
    write_footer();
    impl_->groups.clear();
    file_rows_ = 0;
    offset_ = 0;
    sink_ = next_file();
    file_full_ = false;
    emit(kMagic);
  }
  if (group_rows_ == 0) reserve_group(batch);
  const std::size_t rows = batch.rows();
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const RowBatch::Column& c = batch.column(i);
    ColumnBuffer& b = impl_->buffers[i];
    b.defs.append(c.defs.data() + begin, end - begin);
    const std::size_t from = plain_offset(c, columns_[i].type, begin, rows);
    b.plain.append(c.plain.data() + from, plain_offset(c, columns_[i].type, end, rows) - from);
  }
  group_bytes_ += batch.bytes_through(end - 1) - (begin ? batch.bytes_through(begin - 1) : 0);
  group_rows_ += end - begin;
  file_rows_ += end - begin;
  rows_ += end - begin;
}

// A row group's buffers grow to about row_group_bytes together: reserving each
// column's share (as in the group's first batch) up front spares the serial consumer
// the copies of growing them. The memory is only reserved, not touched, and the
// capacity stays for the next groups.
void Writer::reserve_group(const RowBatch& batch) {
  if (impl_->reserved || batch.rows() == 0) return;
  impl_->reserved = true;
  const std::uint64_t total = std::min<std::uint64_t>(opts_.row_group_bytes, std::uint64_t{1} << 30);
  const std::uint64_t batch_bytes = std::max<std::uint64_t>(1, batch.bytes_through(batch.rows() - 1));
  const std::uint64_t rows = total / std::max<std::uint64_t>(1, batch_bytes / batch.rows()) + 1;
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    ColumnBuffer& b = impl_->buffers[i];
    const std::uint64_t share = batch.column(i).plain.size() * (total / batch_bytes + 1);
    b.plain.reserve(static_cast<std::size_t>(std::min(share + share / 8, total)));
    b.defs.reserve(static_cast<std::size_t>(rows + rows / 8));
  }
}

// The columns of a row group are encoded and compressed in parallel (each on its own);
// they are written in column order, so the bytes do not depend on the threads.
void Writer::flush_row_group() {
  if (group_rows_ == 0) return;
  const std::size_t ncols = columns_.size();
  impl_->encoded.resize(ncols);
  tbb::parallel_for(std::size_t{0}, ncols, [&](std::size_t i) {
    encode_column(columns_[i].type, impl_->buffers[i], opts_, impl_->scratch.local(), impl_->encoded[i]);
  });
  Impl::Group g;
  g.rows = static_cast<std::int64_t>(group_rows_);
  g.offset = static_cast<std::int64_t>(offset_);
  for (std::size_t i = 0; i < ncols; ++i) {
    EncodedChunk& e = impl_->encoded[i];
    const auto base = static_cast<std::int64_t>(offset_);
    e.meta.data_page += base;
    if (e.meta.dictionary_page) *e.meta.dictionary_page += base;
    g.uncompressed += e.meta.uncompressed;
    g.compressed += e.meta.compressed;
    emit(e.bytes);
    g.chunks.push_back(std::move(e.meta));
    impl_->buffers[i].defs.clear();
    impl_->buffers[i].plain.clear();
  }
  impl_->groups.push_back(std::move(g));
  group_rows_ = 0;
  group_bytes_ = 0;
  if (opts_.max_file_bytes && offset_ >= opts_.max_file_bytes) file_full_ = true;
}

void Writer::finish() {
  flush_row_group();
  write_footer();
}

void Writer::write_footer() {
  std::string f;
  CompactWriter w(f);
  // FileMetaData { 1: version, 2: schema, 3: num_rows, 4: row_groups, 6: created_by, 7: column_orders }
  w.field_i32(1, 1);
  w.begin_list(2, TType::struct_, static_cast<std::uint32_t>(columns_.size() + 1));
  // SchemaElement { 1: type, 3: repetition_type, 4: name, 5: num_children, 6: converted_type, 10: logicalType }
  w.begin_list_struct();
  w.field_binary(4, "schema");
  w.field_i32(5, static_cast<std::int32_t>(columns_.size()));
  w.end_struct();
  for (const ColumnSpec& c : columns_) {
    w.begin_list_struct();
    w.field_i32(1, physical(c.type));
    w.field_i32(3, kOptional);
    w.field_binary(4, c.name);
    // LogicalType union { 1: STRING, 6: DATE, 8: TIMESTAMP { 1: isAdjustedToUTC, 2: unit (union: 2 MICROS) } }
    switch (c.type) {
      case ColumnType::string:
        w.field_i32(6, kUtf8);
        w.begin_struct(10);
        w.begin_struct(1);
        w.end_struct();
        w.end_struct();
        break;
      case ColumnType::date:
        w.field_i32(6, kDate);
        w.begin_struct(10);
        w.begin_struct(6);
        w.end_struct();
        w.end_struct();
        break;
      case ColumnType::timestamp:
      case ColumnType::timestamptz:
        // ConvertedType TIMESTAMP_MICROS means UTC-adjusted: a wall-clock column has the
        // LogicalType alone, as parquet-format's LogicalTypes.md asks.
        if (c.type == ColumnType::timestamptz) w.field_i32(6, kTimestampMicros);
        w.begin_struct(10);
        w.begin_struct(8);
        w.field_bool(1, c.type == ColumnType::timestamptz);
        w.begin_struct(2);
        w.begin_struct(2);
        w.end_struct();
        w.end_struct();
        w.end_struct();
        w.end_struct();
        break;
      default: break;
    }
    w.end_struct();
  }
  w.field_i64(3, static_cast<std::int64_t>(file_rows_));
  w.begin_list(4, TType::struct_, static_cast<std::uint32_t>(impl_->groups.size()));
  std::int16_t ordinal = 0;
  for (const Impl::Group& g : impl_->groups) {
    // RowGroup { 1: columns, 2: total_byte_size, 3: num_rows, 5: file_offset, 6: total_compressed_size, 7: ordinal }
    w.begin_list_struct();
    w.begin_list(1, TType::struct_, static_cast<std::uint32_t>(g.chunks.size()));
    for (std::size_t i = 0; i < g.chunks.size(); ++i) {
      const ChunkMeta& m = g.chunks[i];
      // ColumnChunk { 2: file_offset (deprecated: 0), 3: meta_data }
      w.begin_list_struct();
      w.field_i64(2, 0);
      // ColumnMetaData { 1: type, 2: encodings, 3: path_in_schema, 4: codec, 5: num_values,
      //   6: total_uncompressed_size, 7: total_compressed_size, 9: data_page_offset,
      //   11: dictionary_page_offset, 12: statistics }
      w.begin_struct(3);
      w.field_i32(1, physical(columns_[i].type));
      w.begin_list(2, TType::i32, static_cast<std::uint32_t>(m.encodings.size()));
      for (std::int32_t e : m.encodings) w.elem_i32(e);
      w.begin_list(3, TType::binary, 1);
      w.elem_binary(columns_[i].name);
      // CompressionCodec { UNCOMPRESSED = 0, SNAPPY = 1, ZSTD = 6 }
      w.field_i32(4, opts_.compression == Compression::zstd ? 6 : opts_.compression == Compression::snappy ? 1 : 0);
      w.field_i64(5, m.num_values);
      w.field_i64(6, m.uncompressed);
      w.field_i64(7, m.compressed);
      w.field_i64(9, m.data_page);
      if (m.dictionary_page) w.field_i64(11, *m.dictionary_page);
      // Statistics { 3: null_count, 5: max_value, 6: min_value }
      w.begin_struct(12);
      w.field_i64(3, static_cast<std::int64_t>(m.stats.nulls));
      if (m.stats.any) {
        w.field_binary(5, m.stats.max);
        w.field_binary(6, m.stats.min);
      }
      w.end_struct();
      w.end_struct();
      w.end_struct();
    }
    w.field_i64(2, g.uncompressed);
    w.field_i64(3, g.rows);
    w.field_i64(5, g.offset);
    w.field_i64(6, g.compressed);
    if (ordinal < INT16_MAX) w.field_i16(7, ordinal++);  // an i16: absent past 32,767 groups
    w.end_struct();
  }
  w.field_binary(6, opts_.created_by);
  // ColumnOrder union { 1: TYPE_ORDER }: min_value/max_value follow the type's order.
  w.begin_list(7, TType::struct_, static_cast<std::uint32_t>(columns_.size()));
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    w.begin_list_struct();
    w.begin_struct(1);
    w.end_struct();
    w.end_struct();
  }
  w.stop();
  emit(f);
  std::string tail;
  put_u32(tail, static_cast<std::uint32_t>(f.size()));
  tail += kMagic;
  emit(tail);
}

}  // namespace ingot::parquet

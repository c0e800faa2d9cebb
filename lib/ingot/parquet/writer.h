// A Parquet file writer for flat tables of optional columns: what `ingot convert -o
// x.parquet` writes. The subset of the format it writes (ARCHITECTURE.md, "parquet/"):
// one file footer (FileMetaData, Thrift compact), row groups of v1 data pages with
// RLE definition levels (max level 1) and PLAIN values, or an RLE_DICTIONARY page
// after a PLAIN dictionary page where that is smaller; zstd, snappy or no compression;
// min/max/null-count statistics per column chunk. No nesting, no repetition levels.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ingot::parquet {

// The column types ingot writes, each one physical type with its logical annotation.
enum class ColumnType : std::uint8_t {
  boolean,      // BOOLEAN
  int64,        // INT64
  double_,      // DOUBLE
  string,       // BYTE_ARRAY, STRING (ConvertedType UTF8)
  date,         // INT32, DATE: days since 1970-01-01
  timestamp,    // INT64, TIMESTAMP(isAdjustedToUTC = false, MICROS): a wall-clock time, no zone
  timestamptz,  // INT64, TIMESTAMP(isAdjustedToUTC = true, MICROS): an instant, micros since the UTC epoch
};
// "BOOLEAN", "INT64", "DOUBLE", "STRING", "DATE", "TIMESTAMP", "TIMESTAMPTZ"
const char* column_type_name(ColumnType t);
std::optional<ColumnType> parse_column_type(std::string_view name);

enum class Compression : std::uint8_t { none, zstd, snappy };
std::optional<Compression> parse_compression(std::string_view name);

struct ColumnSpec {
  std::string name;
  ColumnType type;
};

// A growable byte buffer whose appends are inline: a RowBatch takes one per cell, and
// std::string's out-of-line append cost more than the value's conversion. The hot
// members are always inlined, as numbers.h's are (built into the x86-64-v3 object too).
class ByteVec {
 public:
  ByteVec() = default;
  ByteVec(const ByteVec&) = delete;
  ByteVec& operator=(const ByteVec&) = delete;
  ByteVec(ByteVec&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) { o.p_ = nullptr, o.n_ = o.cap_ = 0; }
  ByteVec& operator=(ByteVec&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    std::swap(cap_, o.cap_);
    return *this;
  }
  ~ByteVec() { std::free(p_); }

  const char* data() const { return p_; }
  std::size_t size() const { return n_; }
  void clear() { n_ = 0; }
  void shrink_to(std::size_t n) { n_ = n; }  // n <= size()
  // k more bytes at the end, uninitialized: where they start.
  [[gnu::always_inline]] char* extend(std::size_t k) {
    if (n_ + k > cap_) grow(n_ + k);
    char* at = p_ + n_;
    n_ += k;
    return at;
  }
  [[gnu::always_inline]] void append(const void* s, std::size_t k) {
    if (k) std::memcpy(extend(k), s, k);
  }

 private:
  void grow(std::size_t need);
  char* p_ = nullptr;
  std::size_t n_ = 0;
  std::size_t cap_ = 0;
};

// Rows of typed values column by column, each value already in PLAIN encoding
// (booleans one byte each until a page packs them). Filled by a pipeline worker,
// then handed to Writer::write() in row order.
class RowBatch {
 public:
  struct Column {
    ByteVec defs;          // per row: 1 = a value, 0 = null
    ByteVec plain;         // the values
    std::size_t last = 0;  // where the last value added starts in plain (for drop_row)
  };

  void reset(std::size_t ncols);
  std::size_t rows() const { return row_end_.size(); }
  std::size_t columns() const { return cols_.size(); }
  const Column& column(std::size_t i) const { return cols_[i]; }
  // Data bytes (PLAIN values) of rows [0, r].
  std::uint64_t bytes_through(std::size_t r) const { return row_end_[r]; }

  // One call per column, in any order, then end_row().
  [[gnu::always_inline]] void add_null(std::size_t col) { *cols_[col].defs.extend(1) = 0; }
  [[gnu::always_inline]] void add_bool(std::size_t col, bool v) {
    const char b = v ? 1 : 0;
    add_raw(col, &b, 1);
  }
  [[gnu::always_inline]] void add_int32(std::size_t col, std::int32_t v) { add_raw(col, &v, 4); }
  [[gnu::always_inline]] void add_int64(std::size_t col, std::int64_t v) { add_raw(col, &v, 8); }
  [[gnu::always_inline]] void add_double(std::size_t col, double v) { add_raw(col, &v, 8); }
  [[gnu::always_inline]] void add_string(std::size_t col, std::string_view v) {
    Column& c = cols_[col];
    *c.defs.extend(1) = 1;
    const auto n = static_cast<std::uint32_t>(v.size());
    c.last = c.plain.size();
    char* at = c.plain.extend(4 + v.size());
    std::memcpy(at, &n, 4);  // Parquet is little-endian, as is every target ingot builds for
    if (!v.empty()) std::memcpy(at + 4, v.data(), v.size());
    row_bytes_ += 4 + v.size();
  }
  // A row's size counts one byte per cell besides its values: the level a row group
  // holds for each, so that rows of nulls also fill a row group.
  [[gnu::always_inline]] void end_row() {
    bytes_ += row_bytes_ + cols_.size();
    row_bytes_ = 0;
    row_end_.push_back(bytes_);
  }
  // Drops the cells added since the last end_row() (a row that turned out invalid).
  void drop_row();

  // The columns of a finished batch in another order, for convert_parquet.cpp's one
  // walk, whose columns grow after a batch was made: column i becomes the old column
  // from[i], or a column of nulls where from[i] < 0; every old column must appear
  // exactly once (the rows' sizes count the columns added, not values dropped).
  void reorder(const std::vector<std::int32_t>& from);

 private:
  [[gnu::always_inline]] void add_raw(std::size_t col, const void* p, std::size_t n) {
    Column& c = cols_[col];
    *c.defs.extend(1) = 1;
    c.last = c.plain.size();
    std::memcpy(c.plain.extend(n), p, n);
    row_bytes_ += n;
  }
  std::vector<Column> cols_;
  std::vector<std::uint64_t> row_end_;
  std::uint64_t bytes_ = 0;
  std::uint64_t row_bytes_ = 0;  // PLAIN bytes added since the last end_row()
};

struct WriterOptions {
  Compression compression = Compression::zstd;
  int zstd_level = 1;  // docs/parquet.md, "The file", has the measurements behind it
  std::uint64_t row_group_bytes = std::uint64_t{128} << 20;  // cut a row group once its data reaches this
  std::size_t page_bytes = std::size_t{1} << 20;             // and a data page once its values reach this
  bool dictionary = true;
  std::string created_by = "ingot";
  // More than one file: after the row group that brings a file to this size, the next
  // rows go to a new file from Writer::next_file (0: one file).
  std::uint64_t max_file_bytes = 0;
};

class Writer {
 public:
  using Sink = std::function<void(std::string_view)>;
  // Writes the leading magic through sink at once.
  Writer(std::vector<ColumnSpec> columns, WriterOptions opts, Sink sink);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends the batch's rows; a row group is cut after the row that brings its data to
  // row_group_bytes, so where groups end depends on the rows alone, not on batches.
  void write(const RowBatch& batch);
  // Writes the buffered rows as the last row group (none when there are no rows; a file
  // of zero rows has no row group) and the footer.
  void finish();

  std::uint64_t rows() const { return rows_; }
  std::uint64_t bytes_written() const { return offset_; }  // of the current file
  std::size_t row_groups() const;                          // of the current file
  // With max_file_bytes: the sink of the next file, asked for once the last one is
  // complete (footer written) and more rows come.
  std::function<Sink()> next_file;

 private:
  struct Impl;
  void append(const RowBatch& batch, std::size_t begin, std::size_t end);
  void reserve_group(const RowBatch& batch);
  void flush_row_group();
  void write_footer();
  void emit(std::string_view bytes);

  std::vector<ColumnSpec> columns_;
  WriterOptions opts_;
  Sink sink_;
  std::uint64_t offset_ = 0;
  std::uint64_t rows_ = 0;       // all files
  std::uint64_t file_rows_ = 0;  // the current file
  bool file_full_ = false;
  std::uint64_t group_rows_ = 0;
  std::uint64_t group_bytes_ = 0;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ingot::parquet

// CSV/TSV: a tokenizer over one chunk (records may hold quoted delimiters, doubled
// quotes, CR and LF) and the field writer. Written here rather than taken from
// fast-cpp-csv-parser, which cannot read newlines inside quotes and fixes the column
// count at compile time (see ARCHITECTURE.md); tests use it as a reference.
//
// The grammar is chunk/boundary.h's, Python's csv module (strict=False): a '"' opens a
// quoted field only at a field's start; elsewhere outside quotes it is an ordinary
// byte (5'11" stays 5'11"). Text after a closing quote joins the field ("ab"cd reads
// abcd, quotes after the closing one are literal). Read strictly (set_strict_quotes),
// those two cases make the record malformed (rejected whole) but never move its end, so
// the tokenizer and the chunker agree on every record end either way.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ingot {

struct CsvRecord {
  std::span<const std::string_view> fields;  // valid until the next call to next() or reset()
  std::size_t begin = 0;                     // offset of the record in the tokenized bytes
  std::size_t end = 0;                       // one past its terminator
  std::uint32_t newlines = 0;                // '\n' bytes inside the record, terminator included
  const char* error = nullptr;               // why it is malformed, or null
  std::string_view raw(const char* base) const { return {base + begin, end - begin}; }
};

// An empty field views the input where it stands: at its closing quote when it was
// quoted (""), else at its delimiter or terminator (or the end of the input). COPY's
// CSV format reads the first as an empty string and the second as NULL.
inline bool csv_quoted_empty(std::string_view field, const char* input_end) {
  return field.empty() && field.data() != input_end && *field.data() == '"';
}

// Fields are found through a 64-byte window: one SIMD pass marks every delimiter, '\n'
// and '"' in it, and each field end is then a bit scan, so the common short unquoted
// field costs a few instructions instead of a byte loop. Reads never go past
// data[size) (the last window is copied), so no padding is needed.
class CsvTokenizer {
 public:
  explicit CsvTokenizer(char delimiter = ',') : delim_(delimiter) {}
  // Takes effect at the next reset().
  void set_delimiter(char delimiter) { delim_ = delimiter; }
  // A quote inside an unquoted field or text after a closing quote marks the record.
  void set_strict_quotes(bool strict) { strict_ = strict; }
  // Bytes must start on a record boundary; the last record may lack a terminator.
  void reset(const char* data, std::size_t size);
  bool next(CsvRecord& rec);

  // Unescaped quoted fields (the only fields not viewing the input) live in a buffer
  // with this many readable bytes past any field, so a writer may load whole 16-byte
  // words from any field of a padded input.
  static constexpr std::size_t kScratchPadding = 64;

 private:
  // Bit i set when p[i] is special, for p[i] before end_; reads nothing past end_.
  std::uint64_t window_mask(const char* p) const;
  std::uint64_t tail_mask(const char* p) const;
  std::string_view* grow_fields(std::string_view* at);
  // Makes room for n more unescaped bytes after scratch_used_, moving the buffer (and
  // rebasing the views of this record's fields into it) when it is too small.
  void reserve_scratch(std::size_t n, std::string_view* fields_end);

  char delim_;
  bool strict_ = false;
  const char* begin_ = nullptr;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  // The window: bit i of wmask_ is set when wbase_[i] is a special byte not yet
  // consumed. Specials are consumed in order; a jump forward (past a quoted field's
  // end or a malformed record) rebuilds the window at the new position.
  const char* wbase_ = nullptr;
  std::uint64_t wmask_ = 0;
  std::unique_ptr<std::string_view[]> fields_;
  std::size_t fields_cap_ = 0;
  std::unique_ptr<char[]> scratch_;
  std::size_t scratch_cap_ = 0;
  std::size_t scratch_used_ = 0;
};

// Makes header names unique as DuckDB does: a name seen before in the row becomes
// name_1 (name_2, ... when that is taken too, by any column of the row), so no column
// overwrites another when records become objects. Returns one "old -> new (column N)"
// per renamed column, for the warning the commands print.
std::vector<std::string> rename_duplicate_columns(std::vector<std::string>& names);

// Appends one field, quoted (with doubled quotes) only when it holds the delimiter, a
// quote, CR or LF, as RFC 4180 requires.
void append_csv_field(std::string& out, std::string_view field, char delimiter);
bool csv_needs_quoting(std::string_view field, char delimiter);
// The same into raw memory with room for csv_field_max(field.size()); returns the end.
char* write_csv_field(char* out, std::string_view field, char delimiter);
inline std::size_t csv_field_max(std::size_t n) { return 2 * n + 2; }

}  // namespace ingot

// RFC 4180 CSV/TSV: a tokenizer over one chunk (records may hold quoted delimiters,
// doubled quotes, CR and LF) and the field writer. Written here rather than taken
// from fast-cpp-csv-parser, which cannot read newlines inside quotes and fixes the
// column count at compile time (see ARCHITECTURE.md); tests use it as a reference.
//
// Quote semantics match chunk/boundary.h: every '"' toggles the quoted state, so the
// tokenizer and the chunker agree on where every record ends. A quote inside an
// unquoted field, or text after a closing quote, makes the record malformed (it is
// rejected whole) but does not move the record's end.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ingot {

struct CsvRecord {
  std::vector<std::string_view> fields;  // valid until the next call to next()
  std::size_t begin = 0;                 // offset of the record in the tokenized bytes
  std::size_t end = 0;                   // one past its terminator
  std::uint32_t newlines = 0;            // '\n' bytes inside the record, terminator included
  const char* error = nullptr;           // why it is malformed, or null
  std::string_view raw(const char* base) const { return {base + begin, end - begin}; }
};

class CsvTokenizer {
 public:
  explicit CsvTokenizer(char delimiter = ',') : delim_(delimiter) {}
  // Bytes must start on a record boundary; the last record may lack a terminator.
  // padded: at least 8 readable bytes follow data[size) (chunk buffers have 64), so
  // field scans may read whole words past the end.
  void reset(const char* data, std::size_t size, bool padded = false);
  bool next(CsvRecord& rec);

 private:
  // Skips to the end of a malformed record by quote parity, from a given state.
  void skip_malformed(const char*& p, bool quoted, CsvRecord& rec);

  char delim_;
  const char* begin_ = nullptr;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::string scratch_;  // unescaped quoted fields; capacity >= chunk, so views stay valid
  bool padded_ = false;
};

// Appends one field, quoted (with doubled quotes) only when it holds the delimiter, a
// quote, CR or LF, as RFC 4180 requires.
void append_csv_field(std::string& out, std::string_view field, char delimiter);
bool csv_needs_quoting(std::string_view field, char delimiter);
// The same into raw memory with room for csv_field_max(field.size()); returns the end.
char* write_csv_field(char* out, std::string_view field, char delimiter);
inline std::size_t csv_field_max(std::size_t n) { return 2 * n + 2; }

}  // namespace ingot

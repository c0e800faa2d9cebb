// make_row_converter (chunk_converter.h): rows of one format with each row's bytes and
// source record, from NDJSON (convert_ndjson.cpp's converter) or CSV/TSV (below: COPY
// text straight from the tokenizer's fields, as upload to PostgreSQL sends them), and
// make_copy_binary_converter: CSV/TSV to COPY binary tuples, else that same COPY text.
#include <stdexcept>

#include "ingot/convert/chunk_converter.h"
#include "ingot/format/pg_copy_binary.h"
#include "ingot/format/pg_copy_text.h"

namespace ingot::detail {

namespace {

class NdjsonRows final : public RowConverter {
 public:
  NdjsonRows(const std::vector<std::string>& columns, RowFormat format)
      : converter_(make_ndjson_converter(columns, format, true)) {}
  void convert(const Chunk& c, std::vector<ConvertedRow>& rows, ChunkTally& tally) override {
    converter_->convert(c, out_, rows, tally);
  }
  const char* data() const override { return out_.data(); }

 private:
  std::unique_ptr<NdjsonChunkConverter> converter_;
  std::string out_;
};

// Tokenizes a chunk for COPY: a record with a tokenizer error becomes a reject with its
// chunk-local line, a blank one is counted, and each other one goes to row(rec), which
// returns false to stop (the chunk then goes another way). Field counts and encodings
// are left to the server. Fills tally (cleared first) and its newline count; returns
// false when row() stopped.
template <class Row>
bool for_each_copy_record(const Chunk& c, CsvTokenizer& tokenizer, ChunkTally& tally, Row&& row) {
  tally.clear();
  tokenizer.reset(c.data, c.size);
  CsvRecord rec;
  std::uint64_t line = 0;  // newlines before the record, in the chunk
  while (tokenizer.next(rec)) {
    const std::uint64_t at = line;
    line += rec.newlines;
    if (rec.error) {
      Reject r;
      r.line = at;
      r.offset = rec.begin;
      r.raw = rec.raw(c.data);
      r.reason = rec.error;
      tally.rejects.push_back(std::move(r));
    } else if (is_blank_record(rec.raw(c.data))) {
      ++tally.counts.blank;
    } else if (!row(rec)) {
      return false;
    }
  }
  tally.newlines = line;
  return true;
}

// CSV/TSV -> COPY text-format rows. An empty unquoted field is NULL and "" an empty
// string, as COPY's CSV format reads them. A blank line is no row (COPY would read a
// row of NULLs, or refuse it); a malformed record (a stray quote) is rejected here with
// the tokenizer's reason, as convert rejects it. Field counts are left to the server
// ("missing data for column ...").
class DelimitedCopyTextRows final : public RowConverter {
 public:
  DelimitedCopyTextRows(char delim, bool strict_quotes) : tokenizer_(delim) {
    tokenizer_.set_strict_quotes(strict_quotes);
  }
  void convert(const Chunk& c, std::vector<ConvertedRow>& rows, ChunkTally& tally) override {
    rows.clear();
    text_.clear();
    const char* const end = c.data + c.size;
    for_each_copy_record(c, tokenizer_, tally, [&](const CsvRecord& rec) {
      const std::size_t raw_len = rec.end - rec.begin;
      char* o = text_.reserve(copy_text_field_max(raw_len) + 3 * rec.fields.size() + 1);
      for (std::size_t i = 0; i < rec.fields.size(); ++i) {
        const std::string_view f = rec.fields[i];
        if (i) *o++ = '\t';
        if (f.empty() && !csv_quoted_empty(f, end)) {
          *o++ = '\\';
          *o++ = 'N';
        } else {
          o = write_copy_text_field(o, f);
        }
      }
      *o++ = '\n';
      text_.commit(o);
      rows.push_back(ConvertedRow{text_.size(), rec.begin, rec.end});
      return true;
    });
    tally.counts.valid = rows.size();
  }
  const char* data() const override { return text_.data(); }

 private:
  CsvTokenizer tokenizer_;
  ByteBuffer text_;
};

// CSV/TSV -> COPY binary tuples, or the chunk in COPY text (DelimitedCopyTextRows) when
// one of its values has no certain encoding or a record has another field count than
// the table has columns (the server's text path then words the error). The records,
// rejects and counts are the tokenizer's either way.
class DelimitedCopyBinaryRows final : public RowConverter {
 public:
  DelimitedCopyBinaryRows(char delim, bool strict_quotes, std::vector<CopyBinaryType> types)
      : tokenizer_(delim), text_(delim, strict_quotes), types_(std::move(types)) {
    tokenizer_.set_strict_quotes(strict_quotes);
  }
  void convert(const Chunk& c, std::vector<ConvertedRow>& rows, ChunkTally& tally) override {
    binary_ = encode(c, rows, tally);
    if (!binary_) text_.convert(c, rows, tally);
  }
  const char* data() const override { return binary_ ? out_.data() : text_.data(); }
  bool binary() const override { return binary_; }

 private:
  bool encode(const Chunk& c, std::vector<ConvertedRow>& rows, ChunkTally& tally) {
    rows.clear();
    out_.clear();
    const char* const end = c.data + c.size;
    const std::size_t ncols = types_.size();
    const bool done = for_each_copy_record(c, tokenizer_, tally, [&](const CsvRecord& rec) {
      if (rec.fields.size() != ncols) return false;
      // Each field: its length and at most max(text, 8) bytes; the texts add up to at
      // most the record's raw bytes.
      char* o = out_.reserve(2 + 12 * ncols + (rec.end - rec.begin));
      o = write_copy_binary_count(o, static_cast<std::uint16_t>(ncols));
      for (std::size_t i = 0; i < ncols; ++i) {
        const std::string_view f = rec.fields[i];
        if (f.empty() && !csv_quoted_empty(f, end)) {
          o = write_copy_binary_null(o);
        } else if (!(o = write_copy_binary_value(o, types_[i], f))) {
          return false;
        }
      }
      out_.commit(o);
      rows.push_back(ConvertedRow{out_.size(), rec.begin, rec.end});
      return true;
    });
    tally.counts.valid = rows.size();
    return done;
  }

  CsvTokenizer tokenizer_;
  DelimitedCopyTextRows text_;
  std::vector<CopyBinaryType> types_;
  ByteBuffer out_;
  bool binary_ = false;
};

}  // namespace

std::unique_ptr<RowConverter> make_row_converter(RecordKind from, RowFormat format,
                                                 const std::vector<std::string>& columns, char delim,
                                                 bool strict_quotes) {
  if (from == RecordKind::ndjson) return std::make_unique<NdjsonRows>(columns, format);
  if (is_delimited(from) && format == RowFormat::copy_text) {
    return std::make_unique<DelimitedCopyTextRows>(delim, strict_quotes);
  }
  throw std::logic_error("make_row_converter: no such conversion");
}

std::unique_ptr<RowConverter> make_copy_binary_converter(char delim, bool strict_quotes,
                                                         std::vector<CopyBinaryType> types) {
  return std::make_unique<DelimitedCopyBinaryRows>(delim, strict_quotes, std::move(types));
}

}  // namespace ingot::detail

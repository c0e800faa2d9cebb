// make_row_converter (chunk_converter.h): rows of one format with each row's bytes and
// source record, from NDJSON (convert_ndjson.cpp's converter) or CSV/TSV (below: COPY
// text straight from the tokenizer's fields, as upload to PostgreSQL sends them).
#include <stdexcept>

#include "ingot/convert/chunk_converter.h"
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
    tally.clear();
    text_.clear();
    tokenizer_.reset(c.data, c.size);
    const char* const end = c.data + c.size;
    CsvRecord rec;
    std::uint64_t line = 0;  // newlines before the record, in the chunk
    while (tokenizer_.next(rec)) {
      const std::uint64_t at = line;
      line += rec.newlines;
      if (rec.error) {
        Reject r;
        r.line = at;
        r.offset = rec.begin;
        r.raw = rec.raw(c.data);
        r.reason = rec.error;
        tally.rejects.push_back(std::move(r));
        continue;
      }
      if (is_blank_record(rec.raw(c.data))) {
        ++tally.counts.blank;
        continue;
      }
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
    }
    tally.newlines = line;
    tally.counts.valid = rows.size();
  }
  const char* data() const override { return text_.data(); }

 private:
  CsvTokenizer tokenizer_;
  ByteBuffer text_;
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

}  // namespace ingot::detail

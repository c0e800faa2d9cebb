// The record checks of CSV/TSV input, shared by the CSV/TSV -> NDJSON/CSV converter
// (convert_csv.cpp) and the Parquet rows (convert_parquet.cpp): a template, so each
// keeps its own inlined loop.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>

#include "ingot/chunk/chunker.h"
#include "ingot/convert/convert_internal.h"
#include "ingot/format/csv.h"
#include "ingot/pipeline/records.h"

namespace ingot::detail {

// Tokenizes a chunk and sorts its records: a blank one is counted, one with a tokenizer
// error, another field count than nfields (expected: "expected N fields, found ") or
// invalid UTF-8 becomes a reject with its chunk-local line and offset; each valid one
// is counted and handed to valid(rec, raw, skip) (skip: the BOM's bytes, before
// rec.begin/rec.end). Fills tally (cleared first) and its newline count.
template <class Valid>
void for_each_delimited_record(const Chunk& c, CsvTokenizer& tokenizer, CsvRecord& rec, char delim, bool strict_quotes,
                               std::size_t nfields, const std::string& expected, ChunkTally& tally, Valid&& valid) {
  tally.clear();
  // One UTF-8 check for the whole chunk; only a failing chunk is checked per record.
  const bool utf8_ok = simdjson::validate_utf8(c.data, c.size);
  tokenizer.set_delimiter(delim);
  tokenizer.set_strict_quotes(strict_quotes);
  const std::size_t skip = bom_length(c.data, c.size, c.offset);
  const char* base = c.data + skip;
  tokenizer.reset(base, c.size - skip);
  std::uint64_t line = 0;
  while (tokenizer.next(rec)) {
    std::string_view raw = rec.raw(base);
    const char* reason = rec.error;
    std::string detail;
    if (!reason && is_blank_record(raw)) {
      ++tally.counts.blank;
    } else {
      if (!reason && rec.fields.size() != nfields) {
        detail = expected + std::to_string(rec.fields.size());
      } else if (!reason && !utf8_ok && !simdjson::validate_utf8(raw.data(), raw.size())) {
        reason = "invalid UTF-8";
      }
      if (reason || !detail.empty()) {
        Reject r;
        r.line = line;
        r.offset = rec.begin + skip;
        r.raw = raw;
        r.reason = reason ? reason : detail;
        tally.rejects.push_back(std::move(r));
      } else {
        ++tally.counts.valid;
        valid(rec, raw, skip);
      }
    }
    line += rec.newlines;
  }
  tally.newlines = line;
}

}  // namespace ingot::detail

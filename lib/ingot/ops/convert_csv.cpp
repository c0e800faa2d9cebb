// CSV/TSV -> NDJSON, or CSV <-> TSV. The header row gives the keys; each record is
// tokenized by format/csv and written as one JSON object per line (or re-quoted for
// the other delimiter). Records with the wrong field count, malformed quoting or
// invalid UTF-8 are rejected whole.
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "ingot/format/csv.h"
#include "ingot/format/json_text.h"
#include "ingot/ops/convert_internal.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/byte_buffer.h"

namespace ingot::detail {
namespace {

struct CsvWork {
  CsvTokenizer tokenizer;
  CsvRecord rec;
  ChunkTally tally;
  ByteBuffer out;
};

bool is_blank_record(std::string_view raw) { return raw == "\n" || raw == "\r\n" || raw == "\r" || raw.empty(); }

// Writes one value (room for json_string_max(v.size()) bytes); returns the end.
char* write_typed_value(char* o, std::string_view v, ValueTypes types) {
  if (types == ValueTypes::auto_detect) {
    if (v.empty()) {
      std::memcpy(o, "null", 4);
      return o + 4;
    }
    if (is_json_number(v) || v == "true" || v == "false") return copy_short(o, v.data(), v.size());
  }
  return write_json_string(o, v);
}

}  // namespace

void convert_delimited(ConvertRun& run) {
  const ConvertOptions& opts = run.opts;
  const char in_delim = opts.delimiter.value_or(default_delimiter(run.from));
  const bool to_json = run.to == RecordKind::ndjson;
  const char out_delim = run.to == RecordKind::tsv ? '\t' : ',';

  // The header (or, with --no-header, the first record's width) comes from the first
  // record of the file, even when this run converts a later part of it.
  std::string first;
  std::uint64_t header_len = 0;
  {
    Chunker head(run.in, run.from, 0, kToEnd, opts.chunker);
    if (run.in.seekable()) {
      first = head.take_first_record();
    }
  }
  std::optional<Chunker> stream_chunker;
  if (!run.in.seekable()) {
    stream_chunker.emplace(run.in, run.from, 0, kToEnd, opts.chunker);
    first = stream_chunker->take_first_record();
  }
  const std::size_t bom = bom_length(first.data(), first.size(), 0);
  std::vector<std::string> keys;
  {
    CsvTokenizer tok(in_delim);
    tok.reset(first.data() + bom, first.size() - bom);
    CsvRecord rec;
    if (!first.empty() && tok.next(rec)) {
      if (rec.error) throw data_error(std::string("malformed header: ") + rec.error).at_path(run.in.display_name()).at_line(1);
      if (!simdjson::validate_utf8(first.data(), first.size())) {
        throw data_error("header is not valid UTF-8").at_path(run.in.display_name()).at_line(1);
      }
      for (std::size_t i = 0; i < rec.fields.size(); ++i) {
        keys.push_back(opts.header ? std::string(rec.fields[i]) : "col" + std::to_string(i + 1));
      }
    }
  }
  if (opts.header) {
    header_len = first.size();
    if (run.begin < header_len) {
      run.begin = header_len;
      run.ledger.skip_lines(static_cast<std::uint64_t>(std::count(first.begin(), first.end(), '\n')));
    }
  }
  run.columns = keys;

  // Pre-escaped `"key":` prefixes, so the hot loop only appends.
  std::vector<std::string> prefixes;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    std::string p = i ? "," : "{";
    append_json_string(p, keys[i]);
    p += ':';
    prefixes.push_back(std::move(p));
  }
  if (!to_json && !keys.empty() && opts.header) {
    std::string h;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (i) h += out_delim;
      append_csv_field(h, keys[i], out_delim);
    }
    h += '\n';
    run.out.write(h);
  }

  std::optional<Chunker> file_chunker;
  if (!stream_chunker) file_chunker.emplace(run.in, run.from, run.begin, run.end, opts.chunker);
  Chunker& chunker = stream_chunker ? *stream_chunker : *file_chunker;
  const std::size_t nkeys = keys.size();
  std::size_t prefix_bytes = 0;
  for (const auto& p : prefixes) prefix_bytes += p.size();
  const std::string expected = "expected " + std::to_string(nkeys) + " fields, found ";
  std::uint64_t done = 0;
  auto transform = [&](const Chunk& c, CsvWork& w) {
        w.tally.clear();
        w.out.clear();
        // One UTF-8 check for the whole chunk; only a failing chunk is checked per record.
        const bool utf8_ok = simdjson::validate_utf8(c.data, c.size);
        w.tokenizer = CsvTokenizer(in_delim);
        const std::size_t skip = bom_length(c.data, c.size, c.offset);
        const char* base = c.data + skip;
        w.tokenizer.reset(base, c.size - skip, /*padded=*/true);
        std::uint64_t line = 0;
        CsvRecord& rec = w.rec;
        while (w.tokenizer.next(rec)) {
          std::string_view raw = rec.raw(base);
          const char* reason = rec.error;
          std::string detail;
          if (!reason && is_blank_record(raw)) {
            ++w.tally.counts.blank;
          } else {
            if (!reason && rec.fields.size() != nkeys) {
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
              w.tally.rejects.push_back(std::move(r));
            } else {
              ++w.tally.counts.valid;
              // Reserve the worst case once, then write without per-append checks.
              const std::size_t raw_len = raw.size();
              char* o = w.out.reserve(prefix_bytes + json_string_max(raw_len) + 2 * nkeys + 4);
              if (to_json) {
                for (std::size_t i = 0; i < nkeys; ++i) {
                  o = copy_short(o, prefixes[i].data(), prefixes[i].size());
                  o = write_typed_value(o, rec.fields[i], opts.types);
                }
                if (nkeys) {
                  *o++ = '}';
                } else {
                  *o++ = '{';
                  *o++ = '}';
                }
              } else {
                for (std::size_t i = 0; i < nkeys; ++i) {
                  if (i) *o++ = out_delim;
                  o = write_csv_field(o, rec.fields[i], out_delim);
                }
              }
              *o++ = '\n';
              w.out.commit(o);
            }
          }
          line += rec.newlines;
        }
        w.tally.newlines = line;
  };
  auto consume = [&](const Chunk& c, CsvWork& w) {
        run.ledger.add(c, w.tally);
        run.out.write(w.out.data(), w.out.size());
        done += c.size;
        if (opts.progress) opts.progress(done, run.ledger.counts().total());
  };
  if (!opts.header && stream_chunker && !first.empty()) {
    // The first record was taken off the stream to learn its width; it is data too.
    CsvWork w;
    Chunk c;
    c.data = first.data();
    c.size = first.size();
    transform(c, w);
    consume(c, w);
  }
  run_pipeline<CsvWork>(chunker, opts.pipeline, transform, consume);
  run.bytes = done + header_len;
}

}  // namespace ingot::detail

// CSV/TSV -> NDJSON, or CSV <-> TSV. The header row gives the keys; each record is
// tokenized by format/csv and written as one JSON object per line (or re-quoted for
// the other delimiter). Records with the wrong field count, malformed quoting or
// invalid UTF-8 are rejected whole.
#include <simdjson.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ingot/format/csv.h"
#include "ingot/format/json_text.h"
#include "ingot/convert/convert_internal.h"
#include "ingot/convert/delimited_records.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/byte_buffer.h"
#include "ingot/util/swar.h"

namespace ingot::detail {
namespace {

struct CsvWork {
  CsvTokenizer tokenizer;
  CsvRecord rec;
  ChunkTally tally;
  ByteBuffer out;
};

// Inlined (it runs for every short non-number field): lengths first.
[[gnu::always_inline]] inline bool is_json_literal(std::string_view v) {
  return (v.size() == 4 && std::memcmp(v.data(), "true", 4) == 0) ||
         (v.size() == 5 && std::memcmp(v.data(), "false", 5) == 0);
}

#if defined(__SSE2__)
// The writers below load and store whole 16-byte words: a field may be read up to 15
// bytes past its end (chunks and the tokenizer's scratch buffer have 64 readable bytes
// of padding) and the output may be written up to 16 bytes past the value (the caller
// reserves kWriteSlack more than it keeps).
inline __m128i load16(const char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline void store16(char* o, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(o), v); }

// Bit i set when byte i of v needs a JSON escape: '"', '\\' or a control byte < 0x20.
inline unsigned escape_bits(__m128i v) {
  const __m128i ctrl = _mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x1F)), _mm_setzero_si128());
  const __m128i x =
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))), ctrl);
  return static_cast<unsigned>(_mm_movemask_epi8(x));
}

// Bit i set when byte i of v may occur in a JSON number: a digit, '.', 'e', 'E', '+', '-'.
inline unsigned number_bytes(__m128i v) {
  const __m128i t = _mm_sub_epi8(v, _mm_set1_epi8('0'));
  const __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(t, _mm_set1_epi8(9)), t);
  const __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));  // 'E' -> 'e'
  const __m128i sign = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')), _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
  const __m128i other = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')), _mm_cmpeq_epi8(lower, _mm_set1_epi8('e')));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(digit, sign), other)));
}

// Whether the 1..16 bytes of s (16 readable) are a JSON number.
inline bool is_number16(std::string_view s) {
  const int fast = swar::digits_dot_number16(s.data(), s.size());
  return fast >= 0 ? fast == 1 : is_json_number(s);
}
#endif

// Writes one value: a number, true/false or null as is (--types auto), else a JSON
// string. Room for json_string_max(v.size()) + kWriteSlack bytes; returns the end.
constexpr std::size_t kWriteSlack = 32;
[[gnu::always_inline]] inline char* write_typed_value(char* o, std::string_view v, bool auto_types) {
  const std::size_t n = v.size();
  if (auto_types && n == 0) {
    std::memcpy(o, "null", 4);
    return o + 4;
  }
#if defined(__SSE2__)
  if (n <= 16) {
    const __m128i w = load16(v.data());
    if (auto_types && (is_number16(v) || is_json_literal(v))) {
      store16(o, w);
      return o + n;
    }
    if ((escape_bits(w) & ((1u << n) - 1)) == 0) {
      *o = '"';
      store16(o + 1, w);
      o[n + 1] = '"';
      return o + n + 2;
    }
    return write_json_string(o, v);
  }
  if (n <= 32) {  // two overlapping words cover it
    const __m128i a = load16(v.data()), b = load16(v.data() + n - 16);
    // Only a field of number bytes goes to the grammar (a timestamp does not).
    if (auto_types && (number_bytes(a) & number_bytes(b)) == 0xFFFF && is_json_number(v)) {
      return copy_short(o, v.data(), n);
    }
    if ((escape_bits(a) | escape_bits(b)) == 0) {
      *o = '"';
      store16(o + 1, a);
      store16(o + 1 + n - 16, b);
      o[n + 1] = '"';
      return o + n + 2;
    }
    return write_json_string(o, v);
  }
  if (auto_types && is_json_number(v)) return copy_short(o, v.data(), n);
  return write_json_string(o, v);
#else
  if (auto_types && (is_json_number(v) || is_json_literal(v))) return copy_short(o, v.data(), n);
  return write_json_string(o, v);
#endif
}

}  // namespace

// The `{"key":` / `,"key":` texts before each value, each in a slot of `width` bytes (a
// multiple of 16) so that every copy is the same few whole words.
struct KeyPrefixes {
  std::size_t width = 16;
  std::size_t total = 0;  // sum of the lengths
  std::unique_ptr<char[]> slots;
  std::vector<std::size_t> len;
  // CSV/TSV -> NDJSON with the quote-free records fast (convert_quote_free), for this
  // width and --types; set by DelimitedChunkConverter.
  using QuoteFree = void (*)(const Chunk&, const KeyPrefixes&, CsvTokenizer&, CsvRecord&, char, bool,
                             const std::string&, ChunkTally&, ByteBuffer&);
  QuoteFree quote_free = nullptr;

  explicit KeyPrefixes(const std::vector<std::string>& keys) {
    std::vector<std::string> texts;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::string p = i ? "," : "{";
      append_json_string(p, keys[i]);
      p += ':';
      width = std::max(width, (p.size() + 15) / 16 * 16);
      total += p.size();
      len.push_back(p.size());
      texts.push_back(std::move(p));
    }
    slots.reset(new char[width * std::max<std::size_t>(keys.size(), 1)]());
    for (std::size_t i = 0; i < texts.size(); ++i)
      std::memcpy(slots.get() + i * width, texts[i].data(), texts[i].size());
  }
};

namespace {

// One record as a JSON object. W is the prefix slot width when known at compile time
// (16 or 32 covers keys up to 29 bytes), 0 for any width.
template <std::size_t W, bool AutoTypes>
char* write_json_record(char* o, const KeyPrefixes& keys, std::span<const std::string_view> fields) {
  const std::size_t width = W ? W : keys.width;
  const char* slot = keys.slots.get();
  const std::size_t* len = keys.len.data();
  for (std::size_t i = 0; i < fields.size(); ++i, slot += width) {
    for (std::size_t k = 0; k < width; k += 16) std::memcpy(o + k, slot + k, 16);
    o += len[i];
    o = write_typed_value(o, fields[i], AutoTypes);
  }
  return o;
}

using RecordWriter = char* (*)(char*, const KeyPrefixes&, std::span<const std::string_view>);
template <bool AutoTypes>
RecordWriter pick_record_writer(std::size_t width) {
  if (width == 16) return write_json_record<16, AutoTypes>;
  if (width == 32) return write_json_record<32, AutoTypes>;
  return write_json_record<0, AutoTypes>;
}

// Bit i set when p[i] is a or b, for i in [0, 64); reads exactly 64 bytes.
inline std::uint64_t mask64_eq2(const char* p, char a, char b) { return swar::mask64_eq3(p, a, b, b); }

// Hands a record the tokenizer read to `valid` or makes it a reject, as
// for_each_delimited_record does; returns its newlines.
template <class Valid>
std::uint32_t sort_record(const CsvRecord& rec, std::string_view raw, std::uint64_t line, std::uint64_t offset,
                          bool utf8_ok, std::size_t nfields, const std::string& expected, ChunkTally& tally,
                          Valid&& valid) {
  const char* reason = rec.error;
  std::string detail;
  if (!reason && is_blank_record(raw)) {
    ++tally.counts.blank;
    return rec.newlines;
  }
  if (!reason && rec.fields.size() != nfields) {
    detail = expected + std::to_string(rec.fields.size());
  } else if (!reason && !utf8_ok && !simdjson::validate_utf8(raw.data(), raw.size())) {
    reason = "invalid UTF-8";
  }
  if (reason || !detail.empty()) {
    Reject r;
    r.line = line;
    r.offset = offset;
    r.raw = raw;
    r.reason = reason ? reason : detail;
    tally.rejects.push_back(std::move(r));
  } else {
    ++tally.counts.valid;
    valid();
  }
  return rec.newlines;
}

// CSV/TSV -> NDJSON, a record without '"' at a time. Without quotes the tokenizer's
// grammar is plain: a record is a line ('\n' included; the last may lack one), its
// fields are the bytes between delimiters, and the last field loses one '\r' before
// the line end (CRLF). So a record is found with memchr and its fields with a 64-byte
// mask of delimiters and quotes, each value written as it is found (no field views); a
// record with another field count is rolled back and rejected with the tokenizer's
// reason. A record with a '"' (2.5% of the taxi CSV's) is rolled back too and read by
// the tokenizer, reset at its start. Counts, rejects (line, offset, raw bytes, reason),
// newlines and output bytes are those of for_each_delimited_record (tests/unit/convert
// compare the two, INGOT_CSV_QUOTE_FREE=0 selecting the tokenizer alone).
template <std::size_t W, bool AutoTypes>
void convert_quote_free(const Chunk& c, const KeyPrefixes& keys, CsvTokenizer& tokenizer, CsvRecord& rec, char delim,
                        bool strict_quotes, const std::string& expected, ChunkTally& tally, ByteBuffer& out) {
  tally.clear();
  out.clear();
  tokenizer.set_delimiter(delim);
  tokenizer.set_strict_quotes(strict_quotes);
  const bool utf8_ok = simdjson::validate_utf8(c.data, c.size);
  const std::size_t skip = bom_length(c.data, c.size, c.offset);
  const char* p = c.data + skip;
  const char* const end = c.data + c.size;
  const std::size_t nkeys = keys.len.size();
  const std::size_t width = W ? W : keys.width;
  const std::size_t room = keys.total + 4 * nkeys + 4 + width + kWriteSlack;
  std::uint64_t line = 0;
  while (p < end) {
    const char* record = p;
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* rend = nl ? nl + 1 : end;  // the record's raw end, if it has no quote
    const std::string_view raw(record, static_cast<std::size_t>(rend - record));
    if (is_blank_record(raw)) {
      ++tally.counts.blank;
      line += nl != nullptr;
      p = rend;
      continue;
    }
    const char* fend = nl ? nl : end;
    if (fend[-1] == '\r') --fend;  // raw is not blank, so fend > record
    char* o = out.reserve(room + json_string_max(raw.size()));
    const char* slot = keys.slots.get();
    std::size_t nfields = 0;  // counted past nkeys, written up to it
    const char* f = record;   // the field's start
    const char* w = record;   // the window: its delimiter and quote bits at or after f
    std::uint64_t m = mask64_eq2(w, delim, '"');
    bool quoted = false;
    for (;;) {
      while (m == 0 && w + 64 < fend) {
        w += 64;
        m = mask64_eq2(w, delim, '"');
      }
      const char* d = m ? w + __builtin_ctzll(m) : fend;
      if (d >= fend) {
        d = fend;
      } else if (*d == '"') {
        quoted = true;
        break;
      }
      if (nfields < nkeys) {
        for (std::size_t k = 0; k < width; k += 16) std::memcpy(o + k, slot + k, 16);
        o += keys.len[nfields];
        o = write_typed_value(o, std::string_view(f, static_cast<std::size_t>(d - f)), AutoTypes);
        slot += width;
      }
      ++nfields;
      if (d == fend) break;
      m &= m - 1;
      f = d + 1;
    }
    if (quoted) {
      tokenizer.reset(record, static_cast<std::size_t>(end - record));
      tokenizer.next(rec);
      const std::string_view qraw = rec.raw(record);
      line += sort_record(rec, qraw, line, static_cast<std::uint64_t>(record - c.data), utf8_ok, nkeys, expected, tally,
                          [&] {
                            char* q = out.reserve(room + json_string_max(qraw.size()));
                            q = write_json_record<W, AutoTypes>(q, keys, rec.fields);
                            if (nkeys) {
                              *q++ = '}';
                            } else {
                              *q++ = '{';
                              *q++ = '}';
                            }
                            *q++ = '\n';
                            out.commit(q);
                          });
      p = record + rec.end;
      continue;
    }
    p = rend;
    const char* reason = nullptr;
    std::string detail;
    if (nfields != nkeys) {
      detail = expected + std::to_string(nfields);
    } else if (!utf8_ok && !simdjson::validate_utf8(raw.data(), raw.size())) {
      reason = "invalid UTF-8";
    } else {
      *o++ = '}';
      *o++ = '\n';
      out.commit(o);
      ++tally.counts.valid;
      line += nl != nullptr;
      continue;
    }
    Reject r;
    r.line = line;
    r.offset = static_cast<std::uint64_t>(record - c.data);
    r.raw = raw;
    r.reason = reason ? reason : detail;
    tally.rejects.push_back(std::move(r));
    line += nl != nullptr;
  }
  tally.newlines = line;
}

// INGOT_CSV_QUOTE_FREE=0 in the environment turns the quote-free path off (tests
// compare both paths byte for byte); read per chunk, so a test may switch it.
bool quote_free_enabled() {
  const char* v = std::getenv("INGOT_CSV_QUOTE_FREE");
  return v == nullptr || std::string_view(v) != "0";
}

template <bool AutoTypes>
KeyPrefixes::QuoteFree pick_quote_free(std::size_t width) {
  if (width == 16) return convert_quote_free<16, AutoTypes>;
  if (width == 32) return convert_quote_free<32, AutoTypes>;
  return convert_quote_free<0, AutoTypes>;
}

}  // namespace

std::vector<std::string> delimited_keys(std::string_view first, char delim, bool header, bool strict_quotes,
                                        const std::string& path) {
  const std::size_t bom = bom_length(first.data(), first.size(), 0);
  std::vector<std::string> keys;
  CsvTokenizer tok(delim);
  tok.set_strict_quotes(strict_quotes);
  tok.reset(first.data() + bom, first.size() - bom);
  CsvRecord rec;
  if (!first.empty() && tok.next(rec)) {
    if (rec.error) throw data_error(std::string("malformed header: ") + rec.error).at_path(path).at_line(1);
    if (!simdjson::validate_utf8(first.data(), first.size())) {
      throw data_error("header is not valid UTF-8").at_path(path).at_line(1);
    }
    for (std::size_t i = 0; i < rec.fields.size(); ++i) {
      keys.push_back(header ? std::string(rec.fields[i]) : "col" + std::to_string(i + 1));
    }
  }
  return keys;
}

DelimitedChunkConverter::DelimitedChunkConverter(const std::vector<std::string>& keys, char in_delim, RecordKind to,
                                                 ValueTypes types, bool strict_quotes)
    : prefixes_(std::make_unique<KeyPrefixes>(keys)),
      nkeys_(keys.size()),
      in_delim_(in_delim),
      strict_quotes_(strict_quotes),
      to_json_(to == RecordKind::ndjson),
      out_delim_(to == RecordKind::tsv ? '\t' : ','),
      expected_("expected " + std::to_string(keys.size()) + " fields, found ") {
  write_record_ = types == ValueTypes::auto_detect ? pick_record_writer<true>(prefixes_->width)
                                                   : pick_record_writer<false>(prefixes_->width);
  // The quote-free path assumes the CLI's delimiters: not a quote or line-end byte.
  if (to_json_ && in_delim != '"' && in_delim != '\n' && in_delim != '\r') {
    prefixes_->quote_free = types == ValueTypes::auto_detect ? pick_quote_free<true>(prefixes_->width)
                                                             : pick_quote_free<false>(prefixes_->width);
  }
}

DelimitedChunkConverter::~DelimitedChunkConverter() = default;

void DelimitedChunkConverter::convert(const Chunk& c, CsvTokenizer& tokenizer, CsvRecord& rec, ChunkTally& tally,
                                      ByteBuffer& out) const {
  const KeyPrefixes& prefixes = *prefixes_;
  const RecordWriter write_record = write_record_;
  const std::size_t nkeys = nkeys_;
  // Room for 5 output bytes per input byte from the start (the taxi CSV gives 4.25 as
  // NDJSON), so that a slot's buffer does not grow through every power of two on its
  // first chunk: each step copied what it held into fresh memory, and fresh pages are
  // dear on the benchmark VM (tests/bench/README.md). Only the bytes written are
  // touched, so the reservation itself costs no resident memory. Capped (a chunk
  // holding one huge record grows the buffer as before) and only for NDJSON output:
  // CSV/TSV output is about the input's size.
  out.clear();
  if (to_json_) out.reserve(std::min<std::size_t>(c.size, std::size_t{64} << 20) * 5 + 4096);
  if (prefixes.quote_free && quote_free_enabled()) {
    prefixes.quote_free(c, prefixes, tokenizer, rec, in_delim_, strict_quotes_, expected_, tally, out);
    return;
  }
  for_each_delimited_record(
      c, tokenizer, rec, in_delim_, strict_quotes_, nkeys, expected_, tally,
      [&](const CsvRecord& record, std::string_view raw, std::size_t) {
        // Reserve the worst case once, then write without per-append checks.
        const std::size_t raw_len = raw.size();
        char* o = out.reserve(prefixes.total + json_string_max(raw_len) + 4 * nkeys + 4 + prefixes.width + kWriteSlack);
        if (to_json_) {
          o = write_record(o, prefixes, record.fields);
          if (nkeys) {
            *o++ = '}';
          } else {
            *o++ = '{';
            *o++ = '}';
          }
        } else {
          for (std::size_t i = 0; i < nkeys; ++i) {
            if (i) *o++ = out_delim_;
            o = write_csv_field(o, record.fields[i], out_delim_);
          }
        }
        *o++ = '\n';
        out.commit(o);
      });
}

void convert_delimited(ConvertRun& run) {
  const ConvertOptions& opts = run.opts;
  const char in_delim = opts.delimiter.value_or(default_delimiter(run.from));
  const bool to_json = run.to == RecordKind::ndjson;
  const char out_delim = run.to == RecordKind::tsv ? '\t' : ',';
  ChunkerOptions copts = opts.chunker;
  copts.delimiter = in_delim;

  // The header (or, with --no-header, the first record's width) comes from the first
  // record of the file, even when this run converts a later part of it.
  std::string first;
  std::uint64_t header_len = 0;
  {
    Chunker head(run.in, run.from, 0, kToEnd, copts);
    if (run.in.seekable()) {
      first = head.take_first_record();
    }
  }
  std::optional<Chunker> stream_chunker;
  if (!run.in.seekable()) {
    stream_chunker.emplace(run.in, run.from, 0, kToEnd, copts);
    first = stream_chunker->take_first_record();
  }
  std::vector<std::string> keys =
      delimited_keys(first, in_delim, opts.header, copts.strict_quotes, run.in.display_name());
  // Objects cannot hold a key twice; CSV and TSV output keep the header as it is.
  if (to_json) run.renamed_columns = rename_duplicate_columns(keys);
  if (opts.header) {
    header_len = first.size();
    if (run.begin < header_len) {
      run.begin = header_len;
      run.ledger.skip_lines(static_cast<std::uint64_t>(std::count(first.begin(), first.end(), '\n')));
    }
  }
  run.columns = keys;

  // Pre-escaped `"key":` prefixes, so the hot loop only copies.
  const DelimitedChunkConverter converter(keys, in_delim, run.to, opts.types, copts.strict_quotes);
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
  if (!stream_chunker) file_chunker.emplace(run.in, run.from, run.begin, run.end, copts);
  Chunker& chunker = stream_chunker ? *stream_chunker : *file_chunker;
  std::uint64_t done = 0;
  auto transform = [&](const Chunk& c, CsvWork& w) { converter.convert(c, w.tokenizer, w.rec, w.tally, w.out); };
  auto consume = [&](const Chunk& c, CsvWork& w) {
    run.ledger.add(c, w.tally);
    run.out.write(w.out.data(), w.out.size());
    done += c.size;
    if (opts.progress) opts.progress(done, run.ledger.counts().total());
  };
  if (!opts.header && stream_chunker && !first.empty()) {
    // The first record was taken off the stream to learn its width; it is data too.
    CsvWork w;
    // Padded like a chunk: the value writers load whole words past a field's end.
    const std::string padded = first + std::string(kChunkPadding, '\0');
    Chunk c;
    c.data = padded.data();
    c.size = first.size();
    transform(c, w);
    consume(c, w);
  }
  run_pipeline<CsvWork>(chunker, opts.pipeline, transform, consume);
  run.bytes = done + header_len;
}

}  // namespace ingot::detail

// The chunker and the CSV/TSV tokenizer on arbitrary bytes, every record kind and
// chunk sizes derived from the input. Properties: the chunks concatenate to the input,
// each chunk but the last ends on a record end found by a naive byte-by-byte scan
// (Python's csv grammar; '\n' outside quotes ends a record), and
// last_record_end / for_each_record_end / scan_records / CsvTokenizer agree with it.
#include <algorithm>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "ingot/chunk/boundary.h"
#include "ingot/chunk/chunker.h"
#include "ingot/format/csv.h"
#include "ingot/io/input.h"
#include "ingot/util/error.h"

using namespace ingot;

namespace {

[[noreturn]] void fail(const char* what, std::size_t at) {
  std::fprintf(stderr, "property failed: %s (at %zu)\n", what, at);
  std::abort();
}

// Python's csv grammar one byte at a time: a '"' opens a quoted field only at a field's
// start (after a delimiter, a line end, the input's start or a closing quote).
std::vector<std::size_t> naive_ends(const char* p, std::size_t n, RecordKind kind) {
  std::vector<std::size_t> ends;
  const char d = default_delimiter(kind);
  bool quoted = false, field_start = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (quoted) {
      if (p[i] == '"') quoted = false, field_start = true;
    } else if (is_delimited(kind) && p[i] == '"' && field_start) {
      quoted = true;
    } else {
      field_start = p[i] == d || p[i] == '\n';
      if (p[i] == '\n') ends.push_back(i + 1);
    }
  }
  return ends;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ingot_fuzz::Params prm{data, size};
  const std::uint8_t mode = prm.byte();
  const RecordKind kind = static_cast<RecordKind>(mode % 4);
  const std::size_t chunk = 1 + prm.byte() % 64 + (mode & 0x80 ? 4096 : 0);
  const char* p = reinterpret_cast<const char*>(prm.p);
  const std::size_t n = prm.n;

  const std::vector<std::size_t> ends = naive_ends(p, n, kind);
  const std::set<std::size_t> end_set(ends.begin(), ends.end());

  // Boundary helpers against the naive scan.
  const std::size_t last = last_record_end(p, n, kind);
  if (last != (ends.empty() ? 0 : ends.back())) fail("last_record_end", last);
  std::vector<std::size_t> walked;
  for_each_record_end(p, n, kind, [&](std::size_t e) { walked.push_back(e); });
  if (walked != ends) fail("for_each_record_end", walked.size());
  const RecordScan scan = scan_records(p, n, kind);
  if (scan.records != ends.size()) fail("scan_records.records", scan.records);
  if (scan.first_end != (ends.empty() ? 0 : ends.front())) fail("scan_records.first_end", scan.first_end);
  if (count_byte(p, n, '\n') != static_cast<std::size_t>(std::count(p, p + n, '\n'))) fail("count_byte", 0);

  // The tokenizer finds the same record ends (plus an unterminated last record).
  if (is_delimited(kind)) {
    CsvTokenizer tok(default_delimiter(kind));
    std::string padded(p, n);
    tok.reset(padded.data(), padded.size());
    CsvRecord rec;
    std::size_t i = 0, prev = 0;
    while (tok.next(rec)) {
      if (rec.begin != prev) fail("tokenizer record start", rec.begin);
      const std::size_t want = i < ends.size() ? ends[i] : n;
      if (rec.end != want) fail("tokenizer record end", rec.end);
      prev = rec.end;
      ++i;
      if (i > ends.size() + 1) fail("tokenizer records", i);
    }
    if (prev != n) fail("tokenizer stopped early", prev);
  }

  // The chunker over a real file.
  const std::string path = ingot_fuzz::scratch("chunk.in");
  ingot_fuzz::write_whole(path, p, n);
  try {
    InputFile in = InputFile::open(path, Decode::raw);
    ChunkerOptions o;
    o.chunk_size = chunk;
    o.max_record = std::size_t{1} << 20;
    Chunker ch(in, kind, 0, kToEnd, o);
    Buffer buf;
    Chunk c;
    std::size_t at = 0;
    std::uint64_t seq = 0;
    bool saw_last = false;
    while (ch.next(buf, c)) {
      if (saw_last) fail("chunk after the last", at);
      if (c.seq != seq++ || c.offset != at || c.size == 0) fail("chunk order", at);
      if (std::memcmp(c.data, p + at, c.size) != 0) fail("chunk bytes", at);
      for (std::size_t k = 0; k < kChunkPadding; ++k) {
        if (c.data[c.size + k] != 0) fail("chunk padding", at);
      }
      at += c.size;
      if (!c.last && !end_set.count(at)) fail("chunk does not end on a record end", at);
      saw_last = c.last;
    }
    if (at != n) fail("chunks do not cover the input", at);
  } catch (const Error&) {
    // A record longer than max_record or an input ending inside quotes: the only
    // legitimate errors here.
  }
  return 0;
}

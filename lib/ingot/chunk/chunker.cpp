#include "ingot/chunk/chunker.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ingot/chunk/boundary.h"
#include "ingot/util/error.h"
#include "ingot/util/units.h"

namespace ingot {

void Buffer::reserve(std::size_t n, std::size_t keep) {
  if (n <= capacity_) return;
  std::size_t cap = std::max(n, capacity_ + capacity_ / 2);
  BigPtr bigger = alloc_big(cap + kChunkPadding);
  if (keep > 0) std::memcpy(bigger.get(), data_.get(), keep);
  std::memset(bigger.get() + cap, 0, kChunkPadding);
  data_ = std::move(bigger);
  capacity_ = cap;
}

Chunker::Chunker(InputFile& in, RecordKind kind, std::uint64_t begin, std::uint64_t end, ChunkerOptions opts)
    : in_(in), kind_(kind), pos_(begin), end_(end), opts_(opts) {
  if (in_.seekable()) {
    end_ = std::min(end_, in_.size());
    in_.read_until(end_);  // a remote input reads no further ahead
  }
  if (opts_.chunk_size == 0) opts_.chunk_size = 1;
  delim_ = grammar_delimiter(kind_, opts_.delimiter);
}

std::size_t Chunker::fill(char* dst, std::size_t n) {
  if (eof_) return 0;
  std::size_t got;
  if (in_.seekable()) {
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - pos_));
    got = n ? in_.read_at(dst, n, pos_) : 0;
    if (got < n) throw io_error("file shrank while reading").at_path(in_.display_name()).at_offset(pos_ + got);
    if (pos_ + got >= end_) eof_ = true;
  } else {
    got = in_.read(dst, n);
    if (got < n) eof_ = true;
  }
  pos_ += got;
  return got;
}

std::size_t Chunker::scan(const char* p, std::size_t from, std::size_t n, CsvState& state) const {
  if (!is_delimited(kind_)) {
    const void* nl = ::memrchr(p + from, '\n', n - from);
    return nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - p) + 1 : 0;
  }
  std::size_t last = 0;
  state = csv_scan(p + from, n - from, delim_, state, [&](std::size_t base, std::uint64_t ends) {
    last = from + base + 64 - static_cast<std::size_t>(__builtin_clzll(ends));
  });
  return last;
}

std::uint64_t Chunker::line_at(const char* p, std::uint64_t p_offset, std::uint64_t offset) const {
  // Error paths only: a file is re-read from its start; a stream counts what it handed out.
  if (in_.seekable()) {
    std::vector<char> buf(std::size_t{1} << 20);
    std::uint64_t lines = 1;
    for (std::uint64_t o = 0; o < offset;) {
      const std::size_t n =
          in_.read_at(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), offset - o)), o);
      if (n == 0) break;
      lines += count_byte(buf.data(), n, '\n');
      o += n;
    }
    return lines;
  }
  return 1 + lines_before_ + count_byte(p, static_cast<std::size_t>(offset - p_offset), '\n');
}

std::size_t Chunker::content_length(const char* rec, std::size_t n, bool terminated) {
  // The terminator ('\n' or "\r\n") does not count.
  if (!terminated) return n;
  return n - 1 - (n >= 2 && rec[n - 2] == '\r' ? 1 : 0);
}

CsvState Chunker::state_after(const char* p, std::size_t from, std::size_t to, std::size_t& opened) const {
  // Error paths only: byte at a time, noting where the last quoted field opened (a
  // quote right after a closing one is the second half of a doubled quote, not an opening).
  CsvState s = CsvState::field_start;
  bool just_closed = false;
  for (std::size_t i = from; i < to; ++i) {
    const CsvState t = csv_step(s, p[i], delim_);
    if (t == CsvState::quoted && s != CsvState::quoted && !just_closed) opened = i;
    just_closed = s == CsvState::quoted && t != CsvState::quoted;
    s = t;
  }
  return s;
}

void Chunker::record_too_long(const char* p, std::uint64_t p_offset, std::size_t rec, std::size_t n) const {
  // When the record is inside quotes at the byte that takes it past the limit, say
  // where the quote opened: most often it never closes. Only the record's first
  // limit + 1 bytes decide, so the message is the same for every chunk size.
  std::string hint;
  CsvState s = CsvState::field_start;
  std::size_t opened = 0;
  if (is_delimited(kind_)) {
    n = std::min(n, rec + opts_.max_record + 1);
    s = state_after(p, rec + leading_bom(p + rec, n - rec, p_offset + rec), n, opened);
    if (s == CsvState::quoted) {
      hint = "; an unclosed quote opened on line " + std::to_string(line_at(p, p_offset, p_offset + opened)) + "?";
    }
  }
  throw data_error("record longer than --max-record-size (" + format_size(opts_.max_record) + ")" + hint)
      .at_path(in_.display_name())
      .at_line(line_at(p, p_offset, p_offset + rec))
      .at_offset(p_offset + rec);
}

void Chunker::unclosed_quote(const char* p, std::uint64_t p_offset, std::size_t rec, std::size_t n) const {
  std::size_t opened = rec;
  state_after(p, rec + leading_bom(p + rec, n - rec, p_offset + rec), n, opened);
  throw data_error("unclosed quote (opened on line " + std::to_string(line_at(p, p_offset, p_offset + opened)) +
                   ") runs to the end of the file")
      .at_path(in_.display_name())
      .at_line(line_at(p, p_offset, p_offset + rec))
      .at_offset(p_offset + rec);
}

void Chunker::check_records(const char* p, std::uint64_t p_offset, std::size_t cut, std::size_t n, bool at_eof,
                            CsvState state) const {
  const std::size_t limit = opts_.max_record;
  // A complete record longer than the limit needs a chunk of more than limit + 1 bytes;
  // only then are the records walked one by one.
  if (cut > limit + 1) {
    std::size_t prev = 0;
    for_each_record_end(
        p, cut, kind_,
        [&](std::size_t e) {
          if (content_length(p + prev, e - prev, true) > limit) record_too_long(p, p_offset, prev, e);
          prev = e;
        },
        delim_, leading_bom(p, cut, p_offset));
  }
  // The record after the cut: complete only at the end of the input. Before that, a
  // final '\r' may be the start of its "\r\n" terminator; at the end, the tokenizer
  // strips it like one (a last record "...\r" is as long as "...\r\n").
  std::size_t tail = n - cut;
  if (tail > 0 && p[n - 1] == '\r') --tail;
  if (tail > limit) record_too_long(p, p_offset, cut, n);
  // Only the input's end, not a range's (split's planning reads ranges ending anywhere).
  const bool input_end = !in_.seekable() || end_ == in_.size();
  if (at_eof && input_end && n > cut && state == CsvState::quoted) unclosed_quote(p, p_offset, cut, n);
}

std::string Chunker::take_first_record() {
  // Read growing windows until the first record ends (or the input does).
  std::size_t window = 64 * 1024;
  const std::uint64_t start = position();
  for (;;) {
    // At the input's start the grammar begins after a byte order mark.
    const std::size_t bom = leading_bom(carry_.data(), carry_.size(), start);
    auto scan = scan_records(carry_.data(), carry_.size(), kind_, delim_, bom);
    if (scan.first_end > 0 || eof_) {
      const std::size_t n = scan.first_end > 0 ? scan.first_end : carry_.size();
      CsvState state = CsvState::field_start;
      if (scan.first_end == 0) scan_state(carry_.data() + bom, n - bom, state);
      check_records(carry_.data(), start, scan.first_end > 0 ? n : 0, n, scan.first_end == 0, state);
      std::string first = carry_.substr(0, n);
      carry_.erase(0, n);
      if (!in_.seekable()) lines_before_ += count_byte(first.data(), first.size(), '\n');
      return first;
    }
    check_records(carry_.data(), start, 0, carry_.size(), false, CsvState::field_start);
    std::size_t old = carry_.size();
    carry_.resize(old + window);
    carry_.resize(old + fill(carry_.data() + old, window));
    window *= 2;
  }
}

void Chunker::scan_state(const char* p, std::size_t n, CsvState& state) const {
  if (is_delimited(kind_)) state = csv_scan(p, n, delim_, state, [](std::size_t, std::uint64_t) {});
}

bool Chunker::next(Buffer& buf, Chunk& out) {
  if (eof_ && carry_.empty()) return false;
  const std::uint64_t start = position();
  std::size_t n = carry_.size();
  buf.reserve(n + opts_.chunk_size);
  std::memcpy(buf.data(), carry_.data(), n);
  carry_.clear();
  std::size_t want = opts_.chunk_size;
  // The grammar's state after the bytes already scanned, which hold no record end
  // when the loop goes round (a record longer than the chunk): only new bytes are read.
  CsvState state = CsvState::field_start;
  std::size_t scanned = 0;
  std::size_t cut = 0;
  for (;;) {
    n += fill(buf.data() + n, want);
    // At the input's start the grammar begins after a byte order mark (fewer than 3
    // bytes read there yet: they are scanned again once more arrive).
    if (scanned == 0 && start == 0 && n < 3) {
      if (!eof_) {
        want = std::max<std::size_t>(want, 3);
        buf.reserve(n + want, n);
        continue;
      }
    } else if (scanned == 0) {
      scanned = leading_bom(buf.data(), n, start);
    }
    cut = scan(buf.data(), scanned, n, state);
    scanned = n;
    if (eof_) {
      check_records(buf.data(), start, cut, n, true, state);
      cut = n;
      break;
    }
    if (cut > 0) {
      check_records(buf.data(), start, cut, n, false, state);
      break;
    }
    // No record end yet: one record longer than the chunk. Grow and keep reading.
    check_records(buf.data(), start, 0, n, false, state);
    want = std::max(want, n);
    buf.reserve(n + want, n);
  }
  carry_.assign(buf.data() + cut, n - cut);
  std::memset(buf.data() + cut, 0, std::min(kChunkPadding, buf.capacity() + kChunkPadding - cut));
  if (!in_.seekable()) lines_before_ += count_byte(buf.data(), cut, '\n');
  out.seq = seq_++;
  out.offset = start;
  out.data = buf.data();
  out.size = cut;
  out.last = eof_ && carry_.empty();
  if (cut == 0) return next(buf, out);  // an empty tail; nothing to hand out
  return true;
}

namespace {

constexpr std::size_t kAlignWindow = 64 * 1024;

// First '\n' at or after pos, plus one; size when none.
std::uint64_t next_line_start(const InputFile& in, std::uint64_t pos) {
  std::vector<char> buf(kAlignWindow);
  while (pos < in.size()) {
    std::size_t got = in.read_at(buf.data(), buf.size(), pos);
    if (got == 0) break;
    if (const void* nl = std::memchr(buf.data(), '\n', got)) {
      return pos + static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data()) + 1;
    }
    pos += got;
  }
  return in.size();
}

// One past the first '\n' at or after byte `from` read in a state other than quoted,
// given the state before `from`; size when none.
std::uint64_t first_end_from(const InputFile& in, std::uint64_t from, CsvState s, char delim) {
  std::vector<char> buf(kAlignWindow);
  for (std::uint64_t off = from; off < in.size();) {
    const std::size_t n = in.read_at(buf.data(), buf.size(), off);
    if (n == 0) break;
    std::size_t found = 0;
    s = csv_scan(buf.data(), n, delim, s, [&](std::size_t base, std::uint64_t ends) {
      if (!found) found = base + static_cast<std::size_t>(__builtin_ctzll(ends)) + 1;
    });
    if (found) return off + found;
    off += n;
  }
  return in.size();
}

std::size_t file_bom(const InputFile& in);

// The state before byte q, by a scan from the start of the file (after its BOM).
CsvState state_at(const InputFile& in, std::uint64_t q, char delim) {
  std::vector<char> buf(std::size_t{4} << 20);
  CsvState s = CsvState::field_start;
  for (std::uint64_t off = std::min<std::uint64_t>(file_bom(in), q); off < q;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), q - off));
    n = in.read_at(buf.data(), n, off);
    if (n == 0) break;
    s = csv_scan(buf.data(), n, delim, s, [](std::size_t, std::uint64_t) {});
    off += n;
  }
  return s;
}

// A byte order mark at the start of the file: the grammar starts after it.
std::size_t file_bom(const InputFile& in) {
  char head[3];
  const std::size_t n = in.size() >= 3 ? in.read_at(head, 3, 0) : 0;
  return leading_bom(head, n, 0);
}

}  // namespace

std::uint64_t align_csv(const InputFile& in, std::uint64_t q, char delim, std::uint64_t window) {
  // Read from q under every state the grammar could be in there, in lockstep. The DFA
  // is deterministic, so once the runs agree they agree for good, and that run is the
  // true one whatever the state at q was.
  CsvState run[3] = {CsvState::field_start, CsvState::unquoted, CsvState::quoted};
  std::vector<char> buf(kAlignWindow);
  const std::uint64_t limit = q + window;
  for (std::uint64_t off = q; off < in.size() && off < limit;) {
    const std::size_t n =
        in.read_at(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), limit - off)), off);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = buf[i];
      for (CsvState& s : run) s = csv_step(s, c, delim);
      if (run[0] == run[1] && run[1] == run[2]) return first_end_from(in, off + i + 1, run[0], delim);
    }
    off += n;
  }
  if (limit >= in.size()) return in.size();  // never agreed before the end: no record start is certain
  // Undecided within the window: the exact state, from the start of the file.
  return first_end_from(in, limit, state_at(in, limit, delim), delim);
}

std::uint64_t align_to_record(const InputFile& in, std::uint64_t pos, RecordKind kind, char delim) {
  if (pos == 0 || pos >= in.size()) return std::min(pos, in.size());
  // The record starting at pos, if any, ends with the byte at pos - 1: search from there.
  if (!is_delimited(kind)) return next_line_start(in, pos - 1);
  // Inside a byte order mark (or on its last byte): the first record's end, read from
  // where the grammar starts. The runs from any state would read the mark as data.
  if (const std::size_t bom = file_bom(in); pos <= bom) {
    return first_end_from(in, bom, CsvState::field_start, grammar_delimiter(kind, delim));
  }
  return align_csv(in, pos - 1, grammar_delimiter(kind, delim), kAlignConvergeWindow);
}

ByteRange part_range(const InputFile& in, RecordKind kind, std::uint64_t k, std::uint64_t n, char delim) {
  if (n == 0 || k == 0 || k > n) throw usage_error("--part K/N needs 1 <= K <= N");
  const std::uint64_t size = in.size();
  // size * i / n without overflow for any file size.
  auto nominal = [&](std::uint64_t i) { return (size / n) * i + (size % n) * i / n; };
  ByteRange r;
  r.begin = align_to_record(in, nominal(k - 1), kind, delim);
  r.end = align_to_record(in, nominal(k), kind, delim);
  if (r.end < r.begin) r.end = r.begin;
  return r;
}

}  // namespace ingot

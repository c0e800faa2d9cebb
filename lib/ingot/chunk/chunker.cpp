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
  std::unique_ptr<char[]> bigger(new char[cap + kChunkPadding]);
  if (keep > 0) std::memcpy(bigger.get(), data_.get(), keep);
  std::memset(bigger.get() + cap, 0, kChunkPadding);
  data_ = std::move(bigger);
  capacity_ = cap;
}

Chunker::Chunker(InputFile& in, RecordKind kind, std::uint64_t begin, std::uint64_t end,
                 ChunkerOptions opts)
    : in_(in), kind_(kind), pos_(begin), end_(end), opts_(opts) {
  if (in_.seekable()) end_ = std::min(end_, in_.size());
  if (opts_.chunk_size == 0) opts_.chunk_size = 1;
  opts_.max_record = std::max(opts_.max_record, opts_.chunk_size);
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

std::string Chunker::take_first_record() {
  // Read growing windows until the first record ends (or the input does).
  std::size_t window = 64 * 1024;
  for (;;) {
    auto scan = scan_records(carry_.data(), carry_.size(), kind_);
    if (scan.first_end > 0 || eof_) {
      std::size_t n = scan.first_end > 0 ? scan.first_end : carry_.size();
      std::string first = carry_.substr(0, n);
      carry_.erase(0, n);
      return first;
    }
    if (carry_.size() >= opts_.max_record) {
      throw data_error("first record is longer than the record size limit (" + format_size(opts_.max_record) +
                       "); an unbalanced quote?")
          .at_path(in_.display_name());
    }
    std::size_t old = carry_.size();
    carry_.resize(old + window);
    carry_.resize(old + fill(carry_.data() + old, window));
    window *= 2;
  }
}

bool Chunker::next(Buffer& buf, Chunk& out) {
  if (eof_ && carry_.empty()) return false;
  const std::uint64_t start = position();
  std::size_t n = carry_.size();
  buf.reserve(n + opts_.chunk_size);
  std::memcpy(buf.data(), carry_.data(), n);
  carry_.clear();
  std::size_t want = opts_.chunk_size;
  std::size_t scanned = 0;  // bytes before this already known to hold no record end
  std::size_t cut = 0;
  for (;;) {
    n += fill(buf.data() + n, want);
    if (eof_) {
      cut = n;
      // The last record has no end to wait for, but the limit holds for it too (only
      // a chunk grown past the limit can hold one that long).
      if (n >= opts_.max_record) {
        const std::size_t tail = last_record_end(buf.data(), n, kind_);
        if (n - tail >= opts_.max_record) {
          throw data_error("a record is longer than the record size limit (" + format_size(opts_.max_record) +
                           ", --max-record-size)" + (is_delimited(kind_) ? "; an unbalanced quote?" : ""))
              .at_path(in_.display_name())
              .at_offset(start + tail);
        }
      }
      break;
    }
    // Lines: only the new bytes can hold the last newline. CSV needs the parity of all.
    cut = is_delimited(kind_) ? last_record_end(buf.data(), n, kind_)
                              : last_record_end(buf.data() + scanned, n - scanned, kind_);
    if (cut > 0) {
      if (!is_delimited(kind_)) cut += scanned;
      break;
    }
    // No record end yet: one record longer than the chunk. Grow and keep reading.
    if (n >= opts_.max_record) {
      throw data_error("a record is longer than the record size limit (" + format_size(opts_.max_record) +
                       ", --max-record-size)" + (is_delimited(kind_) ? "; an unbalanced quote?" : ""))
          .at_path(in_.display_name())
          .at_offset(start);
    }
    scanned = n;
    want = std::max(want, n);
    buf.reserve(n + want, n);
  }
  carry_.assign(buf.data() + cut, n - cut);
  std::memset(buf.data() + cut, 0, std::min(kChunkPadding, buf.capacity() + kChunkPadding - cut));
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

// Exact: the quote parity of [0, q) decides whether byte q is inside a quoted field;
// then walk forward from q to the first '\n' outside quotes.
std::uint64_t csv_align_exact(const InputFile& in, std::uint64_t q) {
  std::vector<char> buf(std::size_t{4} << 20);
  std::uint64_t off = 0;
  std::size_t parity = 0;
  while (off < q) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), q - off));
    n = in.read_at(buf.data(), n, off);
    if (n == 0) break;
    parity ^= count_byte(buf.data(), n, '"') & 1;
    off += n;
  }
  bool quoted = parity != 0;
  while (off < in.size()) {
    std::size_t n = in.read_at(buf.data(), buf.size(), off);
    for (std::size_t i = 0; i < n; ++i) {
      if (buf[i] == '"') quoted = !quoted;
      else if (buf[i] == '\n' && !quoted) return off + i + 1;
    }
    off += n;
  }
  return in.size();
}

// Speculative: parse forward from byte q under both hypotheses (inside / outside quotes)
// with RFC 4180's grammar: outside, a quote may only open a field; inside, a closing
// quote must be followed by a delimiter, a line end or another quote. The first
// hypothesis to break the grammar is false. Returns 0 when the window cannot decide.
std::uint64_t csv_align_speculative(const InputFile& in, std::uint64_t q, char delim) {
  std::vector<char> buf(4 * kAlignWindow);
  std::uint64_t from = q > 0 ? q - 1 : 0;  // one byte of context for "field start"
  std::size_t n = in.read_at(buf.data(), buf.size(), from);
  const char* p = buf.data();
  std::size_t start = static_cast<std::size_t>(q - from);
  auto valid_under = [&](bool quoted, std::uint64_t& first_boundary) {
    first_boundary = 0;
    for (std::size_t i = start; i < n; ++i) {
      char c = p[i];
      char prev = i > 0 ? p[i - 1] : '\n';
      if (c == '"') {
        if (!quoted) {
          if (prev != delim && prev != '\n' && prev != '\r' && !(i > 0 && p[i - 1] == '"')) return false;
          quoted = true;
        } else {
          char nx = i + 1 < n ? p[i + 1] : '\0';
          if (i + 1 < n && nx != delim && nx != '\n' && nx != '\r' && nx != '"') return false;
          quoted = false;
        }
      } else if (c == '\n' && !quoted && first_boundary == 0) {
        first_boundary = from + i + 1;
      }
    }
    return true;
  };
  std::uint64_t b_out = 0, b_in = 0;
  bool out_ok = valid_under(false, b_out);
  bool in_ok = valid_under(true, b_in);
  if (out_ok && !in_ok && b_out) return b_out;
  if (in_ok && !out_ok && b_in) return b_in;
  if (out_ok && in_ok && b_out && b_out == b_in) return b_out;
  return 0;
}

}  // namespace

std::uint64_t align_to_record(const InputFile& in, std::uint64_t pos, RecordKind kind) {
  if (pos == 0 || pos >= in.size()) return std::min(pos, in.size());
  // The record starting at pos, if any, ends with the byte at pos - 1: search from there.
  if (!is_delimited(kind)) return next_line_start(in, pos - 1);
  if (std::uint64_t b = csv_align_speculative(in, pos - 1, default_delimiter(kind))) return b;
  return csv_align_exact(in, pos - 1);
}

ByteRange part_range(const InputFile& in, RecordKind kind, std::uint64_t k, std::uint64_t n) {
  if (n == 0 || k == 0 || k > n) throw usage_error("--part K/N needs 1 <= K <= N");
  const std::uint64_t size = in.size();
  // size * i / n without overflow for any file size.
  auto nominal = [&](std::uint64_t i) { return (size / n) * i + (size % n) * i / n; };
  ByteRange r;
  r.begin = align_to_record(in, nominal(k - 1), kind);
  r.end = align_to_record(in, nominal(k), kind);
  if (r.end < r.begin) r.end = r.begin;
  return r;
}

}  // namespace ingot

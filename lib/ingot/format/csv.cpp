#include "ingot/format/csv.h"

#include <algorithm>
#include <cstring>
#include <functional>

#include "ingot/chunk/boundary.h"
#include "ingot/util/swar.h"

namespace ingot {

void CsvTokenizer::reset(const char* data, std::size_t size) {
  begin_ = p_ = data;
  end_ = data + size;
  wbase_ = data;
  wmask_ = window_mask(data);
}

std::uint64_t CsvTokenizer::tail_mask(const char* p) const {
  // Classify a zero-padded copy and clear the bits past the end.
  const auto left = static_cast<std::size_t>(end_ - p);
  if (left == 0) return 0;
  char tail[64] = {};
  std::memcpy(tail, p, left);
  return swar::mask64_eq3(tail, delim_, '\n', '"') & ((std::uint64_t{1} << left) - 1);
}

inline std::uint64_t CsvTokenizer::window_mask(const char* p) const {
  if (end_ - p >= 64) return swar::mask64_eq3(p, delim_, '\n', '"');
  return tail_mask(p);
}

std::string_view* CsvTokenizer::grow_fields(std::string_view* at) {
  const auto n = static_cast<std::size_t>(at - fields_.get());
  const std::size_t cap = fields_cap_ * 2 + 32;
  std::unique_ptr<std::string_view[]> bigger(new std::string_view[cap]);
  std::copy(fields_.get(), at, bigger.get());
  fields_ = std::move(bigger);
  fields_cap_ = cap;
  return fields_.get() + n;
}

void CsvTokenizer::reserve_scratch(std::size_t n, std::string_view* fields_end) {
  if (scratch_used_ + n + kScratchPadding <= scratch_cap_) return;
  const std::size_t cap = std::max(scratch_cap_ * 2, scratch_used_ + n + kScratchPadding + 4096);
  // Zeroed, so that loads past a field read defined bytes.
  std::unique_ptr<char[]> bigger(new char[cap]());
  const char* old = scratch_.get();
  if (scratch_used_) std::memcpy(bigger.get(), old, scratch_used_);
  for (std::string_view* f = fields_.get(); f < fields_end; ++f) {
    if (std::less_equal<>()(old, f->data()) && std::less<>()(f->data(), old + scratch_used_)) {
      *f = std::string_view(bigger.get() + (f->data() - old), f->size());
    }
  }
  scratch_ = std::move(bigger);
  scratch_cap_ = cap;
}

void CsvTokenizer::skip_malformed(const char*& p, bool quoted, CsvRecord& rec) const {
  for (; p < end_; ++p) {
    if (*p == '"') {
      quoted = !quoted;
    } else if (*p == '\n') {
      ++rec.newlines;
      if (!quoted) {
        ++p;
        return;
      }
    }
  }
}

bool CsvTokenizer::next(CsvRecord& rec) {
  if (p_ >= end_) return false;
  rec.error = nullptr;
  rec.begin = static_cast<std::size_t>(p_ - begin_);
  // The hot state lives in locals, so the compiler keeps it in registers across the
  // stores of field views.
  const char* p = p_;
  const char* const end = end_;
  const char d = delim_;
  const char* wbase = wbase_;
  std::uint64_t wmask = wmask_;
  std::string_view* f = fields_.get();
  std::string_view* fend = f + fields_cap_;
  std::uint32_t newlines = 0;
  scratch_used_ = 0;
  // Consumes the next special byte and returns it, or end when none is left.
  auto take = [&]() -> const char* {
    while (wmask == 0) {
      if (end - wbase <= 64) return end;
      wbase += 64;
      wmask = window_mask(wbase);
    }
    const char* e = wbase + __builtin_ctzll(wmask);
    wmask &= wmask - 1;
    return e;
  };
  // Drops the specials before q (q at or after every consumed one).
  auto jump = [&](const char* q) {
    const auto off = static_cast<std::size_t>(q - wbase);
    if (off < 64) {
      wmask &= ~std::uint64_t{0} << off;
    } else if (q < end) {
      wbase = q;
      wmask = window_mask(q);
    } else {
      wbase = end;
      wmask = 0;
    }
  };
  auto push = [&](const char* s, std::size_t n) {
    if (f == fend) {
      f = grow_fields(f);
      fend = fields_.get() + fields_cap_;
    }
    *f++ = std::string_view(s, n);
  };
  for (;;) {
    // One field starts at p and runs to the next special byte.
    const char* e = take();
    if (e == end) {  // the last field of an unterminated last record
      const char* fe = end;
      if (fe > p && fe[-1] == '\r') --fe;
      push(p, static_cast<std::size_t>(fe - p));
      p = end;
      break;
    }
    const char c = *e;
    if (c == d) {
      push(p, static_cast<std::size_t>(e - p));
      p = e + 1;
      continue;
    }
    if (c == '\n') {
      const char* fe = e;
      if (fe > p && fe[-1] == '\r') --fe;  // CRLF
      push(p, static_cast<std::size_t>(fe - p));
      ++newlines;
      p = e + 1;
      break;
    }
    // A quote.
    if (e != p) {
      rec.error = "quote inside an unquoted field";
      rec.newlines = newlines;
      p = e;
      skip_malformed(p, false, rec);
      newlines = rec.newlines;
      jump(p);
      break;
    }
    // A quoted field: its content is viewed in place unless it holds a doubled quote,
    // which is then undoubled into the scratch buffer.
    const char* seg = p + 1;  // start of the content not yet copied
    bool copying = false;
    std::size_t start = 0;  // of the field in scratch
    for (;;) {
      const char* x = take();
      if (x == end) {
        rec.error = "unterminated quoted field";
        p = end;
        goto done;
      }
      if (*x == '\n') {
        ++newlines;
      } else if (*x == '"') {
        if (x + 1 < end && x[1] == '"') {  // doubled quote: keep one
          take();  // the second quote
          const auto n = static_cast<std::size_t>(x + 1 - seg);
          if (!copying) {
            copying = true;
            start = scratch_used_;
          }
          reserve_scratch(n, f);
          std::memcpy(scratch_.get() + scratch_used_, seg, n);
          scratch_used_ += n;
          seg = x + 2;
          continue;
        }
        // The closing quote.
        if (copying) {
          const auto n = static_cast<std::size_t>(x - seg);
          reserve_scratch(n, f);
          std::memcpy(scratch_.get() + scratch_used_, seg, n);
          scratch_used_ += n;
          push(scratch_.get() + start, scratch_used_ - start);
        } else {
          push(seg, static_cast<std::size_t>(x - seg));
        }
        p = x + 1;
        break;
      }
      // else a delimiter or newline inside the quotes
    }
    if (p >= end) break;
    if (*p == d) {
      jump(++p);
      continue;
    }
    if (*p == '\n') {
      ++newlines;
      jump(++p);
      break;
    }
    if (*p == '\r' && p + 1 < end && p[1] == '\n') {
      ++newlines;
      jump(p += 2);
      break;
    }
    if (*p == '\r' && p + 1 == end) {
      ++p;
      break;
    }
    rec.error = "text after a closing quote";
    rec.newlines = newlines;
    skip_malformed(p, false, rec);
    newlines = rec.newlines;
    jump(p);
    break;
  }
done:
  p_ = p;
  wbase_ = wbase;
  wmask_ = wmask;
  rec.newlines = newlines;
  rec.fields = std::span<const std::string_view>(fields_.get(), static_cast<std::size_t>(f - fields_.get()));
  rec.end = static_cast<std::size_t>(p - begin_);
  return true;
}

bool csv_needs_quoting(std::string_view field, char delimiter) {
  return swar::find4(field.data(), field.size(), delimiter, '"', '\n', '\r') != field.size();
}

char* write_csv_field(char* o, std::string_view field, char delimiter) {
  if (!csv_needs_quoting(field, delimiter)) {
    std::memcpy(o, field.data(), field.size());
    return o + field.size();
  }
  *o++ = '"';
  for (char c : field) {
    if (c == '"') *o++ = '"';
    *o++ = c;
  }
  *o++ = '"';
  return o;
}

void append_csv_field(std::string& out, std::string_view field, char delimiter) {
  if (!csv_needs_quoting(field, delimiter)) {
    out.append(field);
    return;
  }
  out += '"';
  std::size_t run = 0;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '"') {
      out.append(field.data() + run, i + 1 - run);
      out += '"';
      run = i + 1;
    }
  }
  out.append(field.data() + run, field.size() - run);
  out += '"';
}

}  // namespace ingot

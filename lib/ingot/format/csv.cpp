#include "ingot/format/csv.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <unordered_set>

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
  // Ends the unquoted part of a field: the next delimiter, '\n' or the end. A '"'
  // there is an ordinary byte (or, read strictly, makes the record malformed).
  auto unquoted_end = [&](const char* e) {
    while (e != end && *e == '"') {
      if (strict_ && !rec.error) rec.error = "quote inside an unquoted field";
      e = take();
    }
    return e;
  };
  // The field's last byte before a '\n' terminator loses a '\r' (CRLF), as does the last
  // field of an input that ends in '\r'.
  auto trim_cr = [&](const char* s, const char* fe) { return fe > s && fe[-1] == '\r' ? fe - 1 : fe; };
  for (;;) {
    // One field starts at p and runs to the next special byte.
    const char* e = take();
    // The common cases first: an unquoted field ended by the delimiter or a '\n'.
    if (e != end) {
      const char c = *e;
      if (c == d) {
        push(p, static_cast<std::size_t>(e - p));
        p = e + 1;
        continue;
      }
      if (c == '\n') {
        push(p, static_cast<std::size_t>(trim_cr(p, e) - p));
        ++newlines;
        p = e + 1;
        break;
      }
    }
    if (e == end || *e != '"' || e != p) {
      e = unquoted_end(e);
      if (e == end) {  // the last field of an unterminated last record
        push(p, static_cast<std::size_t>(trim_cr(p, end) - p));
        p = end;
        break;
      }
      if (*e == d) {
        push(p, static_cast<std::size_t>(e - p));
        p = e + 1;
        continue;
      }
      push(p, static_cast<std::size_t>(trim_cr(p, e) - p));
      ++newlines;
      p = e + 1;
      break;
    }
    // A quoted field: its content is viewed in place unless it holds a doubled quote,
    // which is then undoubled into the scratch buffer.
    const char* seg = p + 1;  // start of the content not yet copied
    bool copying = false;
    std::size_t start = 0;  // of the field in scratch
    auto copy = [&](const char* from, const char* to) {
      const auto n = static_cast<std::size_t>(to - from);
      if (!copying) {
        copying = true;
        start = scratch_used_;
      }
      reserve_scratch(n, f);
      std::memcpy(scratch_.get() + scratch_used_, from, n);
      scratch_used_ += n;
    };
    const char* x;
    for (;;) {
      x = take();
      if (x == end) {
        rec.error = "unterminated quoted field";
        p = end;
        goto done;
      }
      if (*x == '\n') {
        ++newlines;
      } else if (*x == '"') {
        if (x + 1 < end && x[1] == '"') {  // doubled quote: keep one
          take();                          // the second quote
          copy(seg, x + 1);
          seg = x + 2;
          continue;
        }
        break;  // the closing quote
      }
      // else a delimiter or newline inside the quotes
    }
    p = x + 1;
    const char* after = p < end ? p : nullptr;
    if (after && *after != d && *after != '\n' && !(*after == '\r' && (after + 1 == end || after[1] == '\n'))) {
      // Text after the closing quote joins the field, up to the next delimiter or line
      // end, quotes in it taken literally (Python's csv reads it so).
      if (strict_ && !rec.error) rec.error = "text after a closing quote";
      copy(seg, x);
      jump(p);
      const char* fe = unquoted_end(take());
      const char* te = fe == end || *fe == '\n' ? trim_cr(p, fe) : fe;
      copy(p, te);
      push(scratch_.get() + start, scratch_used_ - start);
      if (fe == end) {
        p = end;
        break;
      }
      p = fe + 1;
      if (*fe == d) continue;
      ++newlines;
      break;
    }
    if (copying) {
      copy(seg, x);
      push(scratch_.get() + start, scratch_used_ - start);
    } else {
      push(seg, static_cast<std::size_t>(x - seg));
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
    if (p + 1 < end) {  // "\r\n"
      ++newlines;
      jump(p += 2);
      break;
    }
    ++p;  // a final '\r'
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

std::vector<std::string> rename_duplicate_columns(std::vector<std::string>& names) {
  std::vector<std::string> renamed;
  const std::unordered_set<std::string> original(names.begin(), names.end());
  std::unordered_set<std::string> taken;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (taken.insert(names[i]).second) continue;
    std::string candidate;
    for (std::size_t k = 1;; ++k) {
      candidate = names[i] + "_" + std::to_string(k);
      if (!original.count(candidate) && !taken.count(candidate)) break;
    }
    renamed.push_back(names[i] + " -> " + candidate + " (column " + std::to_string(i + 1) + ")");
    names[i] = candidate;
    taken.insert(candidate);
  }
  return renamed;
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

#include "ingot/format/csv.h"

#include <cstring>

#include "ingot/chunk/boundary.h"
#include "ingot/util/swar.h"

namespace ingot {

void CsvTokenizer::reset(const char* data, std::size_t size, bool padded) {
  padded_ = padded;
  begin_ = p_ = data;
  end_ = data + size;
  if (scratch_.capacity() < size) scratch_.reserve(size);
}

void CsvTokenizer::skip_malformed(const char*& p, bool quoted, CsvRecord& rec) {
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
  rec.fields.clear();
  rec.error = nullptr;
  rec.newlines = 0;
  rec.begin = static_cast<std::size_t>(p_ - begin_);
  scratch_.clear();
  const char* p = p_;
  const char d = delim_;
  for (;;) {
    // One field starts at p.
    if (p < end_ && *p == '"') {
      ++p;
      std::size_t start = scratch_.size();
      for (;;) {
        const char* q = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end_ - p)));
        if (!q) {
          // Unterminated quoted field: runs to the end of the input.
          rec.newlines += static_cast<std::uint32_t>(count_byte(p, static_cast<std::size_t>(end_ - p), '\n'));
          rec.error = "unterminated quoted field";
          p = end_;
          goto done;
        }
        rec.newlines += static_cast<std::uint32_t>(count_byte(p, static_cast<std::size_t>(q - p), '\n'));
        scratch_.append(p, static_cast<std::size_t>(q - p));
        p = q + 1;
        if (p < end_ && *p == '"') {  // doubled quote
          scratch_ += '"';
          ++p;
          continue;
        }
        break;
      }
      rec.fields.emplace_back(scratch_.data() + start, scratch_.size() - start);
      if (p >= end_) goto done;
      if (*p == d) {
        ++p;
        continue;
      }
      if (*p == '\n') {
        ++rec.newlines;
        ++p;
        goto done;
      }
      if (*p == '\r' && p + 1 < end_ && p[1] == '\n') {
        ++rec.newlines;
        p += 2;
        goto done;
      }
      if (*p == '\r' && p + 1 == end_) {
        ++p;
        goto done;
      }
      rec.error = "text after a closing quote";
      skip_malformed(p, false, rec);
      goto done;
    }
    // Unquoted field: up to the delimiter, the line end or a (stray) quote.
    const char* s = p;
    {
      const auto left = static_cast<std::size_t>(end_ - p);
      p += padded_ ? swar::find3_padded(p, left, d, '\n', '"') : swar::find4(p, left, d, '\n', '"', d);
    }
    if (p < end_ && *p == '"') {
      rec.error = "quote inside an unquoted field";
      skip_malformed(p, false, rec);
      goto done;
    }
    {
      const char* fe = p;
      const bool at_eol = p >= end_ || *p == '\n';
      if (at_eol && fe > s && fe[-1] == '\r') --fe;  // CRLF
      rec.fields.emplace_back(s, static_cast<std::size_t>(fe - s));
      if (p >= end_) goto done;
      if (*p == '\n') {
        ++rec.newlines;
        ++p;
        goto done;
      }
      ++p;  // delimiter
      if (p >= end_) {  // a trailing delimiter at end of input: one more empty field
        rec.fields.emplace_back();
        goto done;
      }
    }
  }
done:
  p_ = p;
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

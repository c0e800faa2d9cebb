// The redactor (net/redact.h). Spans, not a rewritten string: the CLI overwrites the
// same bytes of argv, and a redacted string keeps everything else exactly as written.
// The spans come from a scan of the raw text; libcurl or libpq then parses the string
// too, and when their reading of the userinfo, query or conninfo differs from the
// scan's, the whole string after the scheme is masked instead of trusting either.
#include "ingot/net/redact.h"

#include <curl/curl.h>
#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

namespace ingot {

namespace {

constexpr auto npos = std::string_view::npos;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex_value(s[i + 1])) >= 0 && (lo = hex_value(s[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

// A secret found by the scan, with the keyword or parameter name that holds it
// ("password" for a userinfo password), to be matched against libpq's reading.
struct Found {
  std::string key;
  SecretSpan span;
};

// The position after "scheme://", or npos when s does not start with a URL scheme.
std::size_t after_scheme(std::string_view s) {
  const std::size_t p = s.find("://");
  if (p == npos || p == 0 || !std::isalpha(static_cast<unsigned char>(s[0]))) return npos;
  for (std::size_t i = 1; i < p; ++i) {
    const char c = s[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return npos;
  }
  return p + 3;
}

// name=value pieces between '&'s in [begin, end): the values of secret names.
void scan_params(std::string_view s, std::size_t begin, std::size_t end, std::vector<Found>& out) {
  for (std::size_t i = begin; i < end;) {
    std::size_t amp = s.find('&', i);
    if (amp == npos || amp > end) amp = end;
    const std::string_view piece = s.substr(i, amp - i);
    const std::size_t eq = piece.find('=');
    if (eq != npos && eq + 1 < piece.size()) {
      std::string name = percent_decode(piece.substr(0, eq), true);
      if (is_secret_name(name)) out.push_back({std::move(name), {i + eq + 1, piece.size() - eq - 1}});
    }
    i = amp + 1;
  }
}

struct UrlScan {
  std::optional<SecretSpan> user, password;
  std::size_t query = npos, query_end = npos;  // after '?'
  std::size_t fragment = npos;                 // after '#', to the end
  std::vector<Found> found;                    // query and fragment secrets
  bool consistent = true;
};

// The userinfo ends at the last '@' of the authority (libpq's authority runs to the
// first '/', a generic URL's to the first of "/?#"); masking to the last '@' also
// covers a password holding a raw '@' that a parser would cut short.
UrlScan scan_url(std::string_view s, std::size_t after, bool pg) {
  UrlScan u;
  std::size_t region_end = pg ? s.find('/', after) : s.find_first_of("/?#", after);
  if (region_end == npos) region_end = s.size();
  const std::string_view region = s.substr(after, region_end - after);
  const std::size_t at = region.rfind('@');
  if (at != npos) {
    const std::size_t colon = region.substr(0, at).find(':');
    if (colon != npos) {
      u.user = SecretSpan{after, colon};
      u.password = SecretSpan{after + colon + 1, at - colon - 1};
    } else {
      u.user = SecretSpan{after, at};
    }
  }
  // An '@' further on (in a path, or after a '?' or '/' inside a password) means the
  // parsers and the scan may disagree on where the userinfo ends.
  const std::size_t q = s.find('?', after);
  const std::size_t last_at = s.rfind('@', q == npos ? npos : q);
  const bool at_here = at != npos;
  if (last_at != npos && last_at >= after && (!at_here || last_at != after + at)) u.consistent = false;
  if (at_here && (last_at == npos || last_at < after)) u.consistent = false;

  const std::size_t qm = s.find('?', region_end);
  const std::size_t hash = pg ? npos : s.find('#', region_end);  // libpq has no fragments
  if (qm != npos && (hash == npos || qm < hash)) {
    u.query = qm + 1;
    u.query_end = hash == npos ? s.size() : hash;
    scan_params(s, u.query, u.query_end, u.found);
  }
  if (hash != npos) {
    u.fragment = hash + 1;
    scan_params(s, u.fragment, s.size(), u.found);
  }
  return u;
}

// Every part libcurl finds must be where the scan found it.
bool curl_agrees(std::string_view s, const UrlScan& u) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> h(curl_url(), &curl_url_cleanup);
  if (!h) return false;
  const std::string text(s);
  if (curl_url_set(h.get(), CURLUPART_URL, text.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK) return false;
  auto part = [&](CURLUPart what) -> std::optional<std::string> {
    char* v = nullptr;
    if (curl_url_get(h.get(), what, &v, 0) != CURLUE_OK || !v) return std::nullopt;
    std::string out(v);
    curl_free(v);
    return out;
  };
  auto at = [&](std::size_t pos, std::size_t end, const std::optional<std::string>& v) {
    return !v || (pos != npos && s.substr(pos, end - pos) == *v);
  };
  auto span_at = [&](const std::optional<SecretSpan>& sp, const std::optional<std::string>& v) {
    return !v || (sp && s.substr(sp->pos, sp->len) == *v);
  };
  return span_at(u.user, part(CURLUPART_USER)) && span_at(u.password, part(CURLUPART_PASSWORD)) &&
         at(u.query, u.query_end, part(CURLUPART_QUERY)) && at(u.fragment, s.size(), part(CURLUPART_FRAGMENT));
}

// A conninfo value as libpq reads it: single quotes removed, backslash escapes undone.
std::string conninfo_value(std::string_view v) {
  if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += v[i] == '\\' && i + 1 < v.size() ? v[++i] : v[i];
  return out;
}

// libpq parses the string, and every secret keyword it sets has the value the scan
// found for it (decoded), and the other way round: where the two disagree on where a
// password ends, libpq would use, and quote in its errors, bytes the scan did not mask.
bool libpq_agrees(std::string_view s, const std::vector<Found>& found, bool url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(std::string(s).c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return false;
  auto value = [&](const Found& f) {
    const std::string_view raw = s.substr(f.span.pos, f.span.len);
    return url ? percent_decode(raw, false) : conninfo_value(raw);
  };
  bool ok = true;
  for (const PQconninfoOption* o = opts; o->keyword; ++o) {
    if (!is_secret_name(o->keyword)) continue;
    const std::string libpq = o->val ? o->val : "";
    bool seen = false;
    for (const Found& f : found) {
      if (f.key != o->keyword) continue;
      seen = true;
      ok = ok && value(f) == libpq;
    }
    ok = ok && (seen || libpq.empty());
  }
  PQconninfoFree(opts);
  return ok;
}

// keyword = value pairs as libpq's conninfo_parse reads them: a value is a run of
// non-blanks or a single-quoted string, with backslash escapes in both. nullopt when
// the syntax is broken.
std::optional<std::vector<Found>> scan_conninfo(std::string_view s) {
  auto blank = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  std::vector<Found> out;
  const std::size_t n = s.size();
  std::size_t i = 0;
  for (;;) {
    while (i < n && blank(s[i])) ++i;
    if (i >= n) break;
    const std::size_t k = i;
    while (i < n && s[i] != '=' && !blank(s[i])) ++i;
    std::string key(s.substr(k, i - k));
    while (i < n && blank(s[i])) ++i;
    if (i >= n || s[i] != '=') return std::nullopt;
    ++i;
    while (i < n && blank(s[i])) ++i;
    const std::size_t v = i;
    if (i < n && s[i] == '\'') {
      for (++i;; ++i) {
        if (i >= n) return std::nullopt;
        if (s[i] == '\\') {
          if (++i >= n) return std::nullopt;
        } else if (s[i] == '\'') {
          ++i;
          break;
        }
      }
    } else {
      while (i < n && !blank(s[i])) i += s[i] == '\\' && i + 1 < n ? 2 : 1;
    }
    if (i > v && is_secret_name(key)) out.push_back({std::move(key), {v, i - v}});
  }
  return out;
}

std::vector<SecretSpan> from(std::size_t pos, std::size_t size) {
  if (pos >= size) return {};
  return {{pos, size - pos}};
}

std::vector<SecretSpan> sorted(std::vector<SecretSpan> v) {
  std::sort(v.begin(), v.end(), [](const SecretSpan& a, const SecretSpan& b) { return a.pos < b.pos; });
  std::vector<SecretSpan> out;
  for (const SecretSpan& sp : v) {
    if (sp.len == 0) continue;
    if (!out.empty() && sp.pos <= out.back().pos + out.back().len) {
      out.back().len = std::max(out.back().pos + out.back().len, sp.pos + sp.len) - out.back().pos;
    } else {
      out.push_back(sp);
    }
  }
  return out;
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + with.size())) {
    text.replace(p, what.size(), with);
  }
}

}  // namespace

bool is_secret_name(std::string_view name) {
  const std::string n = lowercase(name);
  for (const char* part :
       {"pass", "secret", "token", "signature", "credential", "auth", "apikey", "api_key", "api-key"}) {
    if (n.find(part) != std::string::npos) return true;
  }
  return n == "sig" || n == "pwd" || n.ends_with("key") || n.ends_with("sig");
}

namespace {

// secret_spans, and whether the string parsed the same for the scan and the parser that
// will use it (exact = false: masked whole).
std::vector<SecretSpan> spans_of(std::string_view s, bool& exact) {
  exact = true;
  const std::size_t after = after_scheme(s);
  if (after != npos) {
    const std::string scheme = lowercase(s.substr(0, after - 3));
    if (scheme == "s3") {
      // A bucket and a literal key: '?' and '#' belong to the key. Only a bucket part
      // holding an '@' (no bucket name does) can carry credentials.
      const std::size_t slash = s.find('/', after);
      const std::string_view bucket = s.substr(after, slash == npos ? npos : slash - after);
      const std::size_t at = bucket.rfind('@');
      return at == npos ? std::vector<SecretSpan>{} : std::vector<SecretSpan>{{after, at}};
    }
    const bool pg = scheme == "postgresql" || scheme == "postgres";
    const UrlScan u = scan_url(s, after, pg);
    bool agrees = u.consistent;
    if (agrees && pg) {
      std::vector<Found> f = u.found;
      if (u.password) f.push_back({"password", *u.password});
      agrees = libpq_agrees(s, f, true);
    } else if (agrees) {
      agrees = curl_agrees(s, u);
    }
    if (!agrees) {
      exact = false;
      return from(after, s.size());
    }
    std::vector<SecretSpan> out;
    if (u.password) {
      out.push_back(*u.password);
    } else if (u.user && !pg) {
      out.push_back(*u.user);  // https://TOKEN@host: the only credential is the "user"
    }
    for (const Found& f : u.found) out.push_back(f.span);
    return sorted(std::move(out));
  }
  if (s.find('=') != npos) {
    const std::optional<std::vector<Found>> found = scan_conninfo(s);
    if (!found || !libpq_agrees(s, *found, false)) {
      exact = false;
      return from(s.find('=') + 1, s.size());
    }
    std::vector<SecretSpan> out;
    for (const Found& f : *found) out.push_back(f.span);
    return sorted(std::move(out));
  }
  // Neither a URL nor a conninfo (an endpoint without its scheme, say): whatever
  // precedes an '@' may be credentials.
  const std::size_t at = s.rfind('@');
  return at == npos || at == 0 ? std::vector<SecretSpan>{} : std::vector<SecretSpan>{{0, at}};
}

}  // namespace

std::vector<SecretSpan> secret_spans(std::string_view s) {
  bool exact = true;
  return spans_of(s, exact);
}

bool parses_unambiguously(std::string_view s) {
  bool exact = true;
  spans_of(s, exact);
  return exact;
}

std::string redacted(std::string_view s) {
  std::string out;
  std::size_t pos = 0;
  for (const SecretSpan& sp : secret_spans(s)) {
    out.append(s.substr(pos, sp.pos - pos));
    out += "***";
    pos = sp.pos + sp.len;
  }
  out.append(s.substr(pos));
  return out;
}

std::string scrub(std::string text, std::string_view original) {
  const std::vector<SecretSpan> spans = secret_spans(original);
  if (spans.empty()) return text;
  replace_all(text, original, redacted(original));
  for (const SecretSpan& sp : spans) {
    std::string raw(original.substr(sp.pos, sp.len));
    std::string quoted =
        raw.size() >= 2 && raw.front() == '\'' && raw.back() == '\'' ? raw.substr(1, raw.size() - 2) : "";
    for (const std::string& v : {raw, percent_decode(raw, false), quoted}) {
      if (v.size() >= 4) replace_all(text, v, "***");
    }
  }
  return text;
}

bool is_postgres_destination(const std::string& dest) {
  const std::size_t after = after_scheme(dest);
  if (after != npos) {
    const std::string scheme = lowercase(std::string_view(dest).substr(0, after - 3));
    return scheme == "postgresql" || scheme == "postgres";
  }
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dest.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) return false;
  bool any = false;
  for (const PQconninfoOption* o = opts; o->keyword; ++o) any = any || o->val != nullptr;
  PQconninfoFree(opts);
  return any;
}

}  // namespace ingot

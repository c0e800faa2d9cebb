// The one redactor of destinations and endpoints (docs/security.md): every summary,
// --dry-run, --json report, error message and journal of upload and ls shows a
// destination through it, and the CLI overwrites the same bytes of its argv. URLs are
// taken apart by libcurl's URL API, PostgreSQL URLs and keyword conninfo strings by
// libpq's PQconninfoParse; what neither parses is masked whole. Lives in the network
// module (it links both).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ingot {

// Bytes of the string that hold a secret: a userinfo password (or a bare user name,
// often a token, in an http(s) URL), the value of a password=/sslpassword= conninfo
// keyword or query parameter, of a token, signature or key parameter; or, when the
// string does not parse, everything after "scheme://" (or the first '=').
struct SecretSpan {
  std::size_t pos = 0;
  std::size_t len = 0;
};
std::vector<SecretSpan> secret_spans(std::string_view s);

// False when the string's secrets cannot be told exactly (it does not parse, or the
// parser that would use it reads its password other than the URL rules do, as for a raw
// '@' or '/' in a password): such a destination is refused, since the parser's own
// errors could quote the parts of it that were not masked.
bool parses_unambiguously(std::string_view s);

// The string with every secret span replaced by "***".
std::string redacted(std::string_view s);

// `text` (an error message, say) with every appearance of `original` replaced by its
// redacted form and every secret of `original` (as written and percent-decoded, when
// at least 4 bytes) by "***".
std::string scrub(std::string text, std::string_view original);

// Whether a query parameter or conninfo keyword names a secret (case-insensitive).
bool is_secret_name(std::string_view name);

// A PostgreSQL destination: a postgresql:// or postgres:// URL, or a libpq keyword
// conninfo string (host=... dbname=..., service=NAME) that PQconninfoParse accepts.
bool is_postgres_destination(const std::string& dest);

}  // namespace ingot

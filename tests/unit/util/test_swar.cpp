// util/swar.h against byte-at-a-time references: every search at every alignment (0-7)
// and every length up to 300 bytes, on bytes chosen to trip word-at-a-time tricks (the
// targets' neighbours, their high-bit twins, 0x00, 0x7f, 0x80, 0xff), with the padded
// variants' padding full of matches that must not count.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "ingot/util/swar.h"

namespace swar = ingot::swar;

namespace {

// Bytes near the targets in value or bit pattern: what a wrong borrow or mask would
// mistake for a match.
std::vector<char> confusers(const std::string& targets) {
  std::vector<char> v = {'\0', '\x01', '\x1f', '\x20', '\x7f', '\x80', '\x81', '\xff', 'a', '0'};
  for (char t : targets) {
    const auto u = static_cast<unsigned char>(t);
    for (unsigned x : {u - 1u, u + 1u, u ^ 0x80u, u ^ 0x01u, u ^ 0x40u}) v.push_back(static_cast<char>(x & 0xff));
  }
  std::vector<char> out;
  for (char c : v) {
    if (targets.find(c) == std::string::npos) out.push_back(c);
  }
  return out;
}

// Random text of confusers with the targets sprinkled in at `density` (0: none).
std::string sample(std::mt19937& rng, std::size_t n, const std::string& targets, double density) {
  const std::vector<char> other = confusers(targets);
  std::string s(n, '\0');
  std::uniform_real_distribution<double> u(0, 1);
  for (char& c : s) {
    if (!targets.empty() && u(rng) < density)
      c = targets[rng() % targets.size()];
    else
      c = other[rng() % other.size()];
  }
  return s;
}

std::size_t ref_find(const char* p, std::size_t n, const std::string& set) {
  for (std::size_t i = 0; i < n; ++i) {
    if (set.find(p[i]) != std::string::npos) return i;
  }
  return n;
}

std::size_t ref_json_escape(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c < 0x20 || c == '"' || c == '\\') return i;
  }
  return n;
}

// The JSON number grammar for strings of digits and dots: 1 a number, 0 not one; -1
// when any other byte occurs.
int ref_digits_dot(const std::string& s) {
  for (char c : s) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) return -1;
  }
  const auto dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  if (whole.empty() || (whole.size() > 1 && whole[0] == '0')) return 0;
  if (dot == std::string::npos) return 1;
  const std::string frac = s.substr(dot + 1);
  return !frac.empty() && frac.find('.') == std::string::npos;
}

constexpr std::size_t kMaxLen = 300;

}  // namespace

TEST_CASE("swar: find2 and find4 equal a byte loop at every alignment and length up to 300", "[swar]") {
  std::mt19937 rng(7);
  for (const std::string& set : {std::string("\",", 2), std::string("\n\r", 2), std::string("\"\\\n,", 4),
                                 std::string("\0\xff", 2), std::string("\x80\x7f\x01\t", 4)}) {
    for (double density : {0.0, 0.01, 0.2}) {
      for (std::size_t len = 0; len <= kMaxLen; ++len) {
        for (std::size_t align = 0; align < 8; ++align) {
          const std::string buf = sample(rng, align + len + 8, set, density);
          const char* p = buf.data() + align;
          INFO("set " << set.size() << " bytes, length " << len << ", alignment " << align << ", density " << density);
          if (set.size() == 2) {
            REQUIRE(swar::find2(p, len, set[0], set[1]) == ref_find(p, len, set));
          } else {
            REQUIRE(swar::find4(p, len, set[0], set[1], set[2], set[3]) == ref_find(p, len, set));
          }
        }
      }
    }
  }
}

TEST_CASE("swar: a single match is found at every position of every length", "[swar]") {
  // One target byte at position k in a run of its nearest confusers, everything else
  // equal: the exact index, never an earlier false mark.
  for (std::size_t len = 1; len <= 80; ++len) {
    for (std::size_t k = 0; k < len; ++k) {
      for (std::size_t align = 0; align < 8; ++align) {
        for (char filler : {'\x21', '\x23', '\xa2', '\0', '\xff'}) {
          std::string buf(align + len + 8, filler);
          buf[align + k] = '"';
          const char* p = buf.data() + align;
          INFO("length " << len << ", match at " << k << ", alignment " << align << ", filler " << int(filler));
          REQUIRE(swar::find2(p, len, '"', '"') == k);
          REQUIRE(swar::find4(p, len, '\\', '"', '\n', '\r') == k);
          REQUIRE(swar::find3_padded(p, len, '"', ',', '\n') == k);
          REQUIRE(swar::find_quote_or_backslash_padded(p) == k);
          if (filler != '\0') {
            REQUIRE(swar::find_json_escape(p, len) == k);
          }
        }
      }
    }
  }
}

TEST_CASE("swar: find3_padded ignores matches in the padding past n", "[swar]") {
  std::mt19937 rng(11);
  const std::string set = "\",\n";
  for (std::size_t len = 0; len <= kMaxLen; ++len) {
    for (std::size_t align = 0; align < 8; ++align) {
      for (double density : {0.0, 0.02, 0.3}) {
        for (std::size_t clean = 0; clean < 8; ++clean) {
          // The padding: `clean` bytes that are no match, then matches, none inside [p, p+n).
          std::string buf = sample(rng, align + len, set, density);
          buf += std::string(clean, 'x') + std::string(8 - clean, ',');
          const char* p = buf.data() + align;
          INFO("length " << len << ", alignment " << align << ", density " << density << ", clean padding " << clean);
          REQUIRE(swar::find3_padded(p, len, '"', ',', '\n') == ref_find(p, len, set));
        }
      }
    }
  }
}

TEST_CASE("swar: find_quote_or_backslash_padded finds the first of several, at every alignment", "[swar]") {
  std::mt19937 rng(13);
  for (std::size_t len = 0; len <= kMaxLen; ++len) {
    for (std::size_t align = 0; align < 8; ++align) {
      std::string buf = sample(rng, align + len, "\"\\", 0.02);
      buf += (rng() & 1) ? '"' : '\\';  // the one the caller guarantees
      buf += std::string(7, '"');
      const char* p = buf.data() + align;
      INFO("length " << len << ", alignment " << align);
      REQUIRE(swar::find_quote_or_backslash_padded(p) == ref_find(p, len + 1, "\"\\"));
    }
  }
}

TEST_CASE("swar: find_json_escape finds quotes, backslashes and control bytes, never UTF-8", "[swar]") {
  std::mt19937 rng(17);
  for (double density : {0.0, 0.01, 0.1}) {
    for (std::size_t len = 0; len <= kMaxLen; ++len) {
      for (std::size_t align = 0; align < 8; ++align) {
        // Printable ASCII and every byte >= 0x80 (UTF-8), with escapes at `density`.
        std::string buf(align + len + 8, ' ');
        std::uniform_real_distribution<double> u(0, 1);
        for (char& c : buf) {
          if (u(rng) < density)
            c = "\"\\\x00\x01\x1f\n\t"[rng() % 7];
          else
            c = static_cast<char>(rng() % 2 ? 0x20 + rng() % 0x60 : 0x80 + rng() % 0x80);
        }
        const char* p = buf.data() + align;
        INFO("length " << len << ", alignment " << align << ", density " << density);
        REQUIRE(swar::find_json_escape(p, len) == ref_json_escape(p, len));
      }
    }
  }
  // Exact edges: 0x1f escapes, 0x20 and 0x7f do not; 0x80-0xff never do.
  for (int b = 0; b < 256; ++b) {
    std::string s(16, 'x');
    s[9] = static_cast<char>(b);
    const bool escaped = b < 0x20 || b == '"' || b == '\\';
    INFO("byte " << b);
    REQUIRE(swar::find_json_escape(s.data(), 16) == (escaped ? 9u : 16u));
  }
}

TEST_CASE("swar: mask64_eq3 sets exactly the bits of a, b and c at every alignment", "[swar]") {
  std::mt19937 rng(19);
  for (std::size_t align = 0; align < 64; ++align) {
    for (double density : {0.0, 0.05, 0.5, 1.0}) {
      const std::string buf = sample(rng, align + 64, "\"\n,", density);
      const char* p = buf.data() + align;
      std::uint64_t want = 0;
      for (int i = 0; i < 64; ++i) want |= std::uint64_t{p[i] == '"' || p[i] == '\n' || p[i] == ','} << i;
      INFO("alignment " << align << ", density " << density);
      REQUIRE(swar::mask64_eq3(p, '"', '\n', ',') == want);
    }
  }
}

TEST_CASE("swar: digits_dot_number16 agrees with the JSON number grammar for every spelling of up to 6 bytes",
          "[swar]") {
  // Every string over {0, 1, 9, ., x} of lengths 1-6 (x: a byte that is neither), then
  // random ones up to 16; the 16 readable bytes past n hold digits and dots that must
  // not change the answer.
  const std::string alphabet = "019.x";
  std::vector<std::string> all = {""};
  std::vector<std::string> cases;
  for (int len = 1; len <= 6; ++len) {
    std::vector<std::string> next;
    for (const std::string& s : all) {
      for (char c : alphabet) next.push_back(s + c);
    }
    all = next;
    cases.insert(cases.end(), all.begin(), all.end());
  }
  std::mt19937 rng(23);
  for (int i = 0; i < 20000; ++i) {
    std::string s(1 + rng() % 16, '0');
    for (char& c : s) c = "0123456789.-e+ "[rng() % (rng() % 4 ? 11 : 15)];
    cases.push_back(s);
  }
  for (const std::string& s : cases) {
    const std::string buf = s + "1.0.1.0.1.0.1.0.1.0.1.0.1.0.1.0";
    INFO("'" << s << "'");
#if defined(__SSE2__)
    REQUIRE(swar::digits_dot_number16(buf.data(), s.size()) == ref_digits_dot(s));
#else
    REQUIRE(swar::digits_dot_number16(buf.data(), s.size()) == -1);
#endif
  }
  // The examples of its comment.
  for (const char* yes : {"3", "0.5", "12.04", "0", "1234567890123456"}) {
    INFO(yes);
    CHECK(swar::digits_dot_number16((std::string(yes) + std::string(16, '.')).data(), std::strlen(yes)) == 1);
  }
  for (const char* no : {"00", "1.", ".5", "1.2.3", "01"}) {
    INFO(no);
    CHECK(swar::digits_dot_number16((std::string(no) + std::string(16, '0')).data(), std::strlen(no)) == 0);
  }
}

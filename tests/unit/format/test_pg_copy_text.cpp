// PostgreSQL COPY text format (format/pg_copy_text.h): the word-wide writer and the
// string appender escape exactly like a byte loop, and the row parser undoes them.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "ingot/format/pg_copy_text.h"

using namespace ingot;

TEST_CASE("pg copy text: the word-wide field writer escapes exactly like a byte loop", "[csv][pg]") {
  std::mt19937 rng(11);
  const char alphabet[] = "ab\\\t\n\r.N\"\xc3";
  for (int round = 0; round < 3000; ++round) {
    std::string v;
    const std::size_t len = rng() % 70;
    for (std::size_t i = 0; i < len; ++i) v += alphabet[rng() % (sizeof alphabet - 1)];
    std::string want;
    for (char c : v) {
      switch (c) {
        case '\\': want += "\\\\"; break;
        case '\t': want += "\\t"; break;
        case '\n': want += "\\n"; break;
        case '\r': want += "\\r"; break;
        default: want += c;
      }
    }
    // The field may be read 15 bytes past its end, the output written 16 past its end.
    std::string padded = v + std::string(16, '\\');
    std::string out(copy_text_field_max(v.size()), '\0');
    char* end = write_copy_text_field(out.data(), std::string_view(padded.data(), v.size()));
    REQUIRE(std::string(out.data(), end) == want);
    std::string appended = "x";
    append_copy_text_field(appended, v);
    REQUIRE(appended == "x" + want);
    // And back, as --infer-types reads a row: a value, a NULL, the value again.
    const auto fields = parse_copy_text_row(want + "\t\\N\t" + want);
    REQUIRE(fields.size() == 3);
    REQUIRE(fields[0] == v);
    REQUIRE(!fields[1].has_value());
    REQUIRE(fields[2] == v);
  }
}

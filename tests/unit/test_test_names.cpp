// CTest's catch_discover_tests splits test names at ';' and runs fragments that match
// nothing, which "pass": a test whose name holds ';' silently never runs. Guard it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

TEST_CASE("tests: no test name contains a semicolon", "[meta]") {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(INGOT_TEST_DATA).parent_path();
  const std::regex test_case(R"re(TEST_CASE\("([^"]*)")re");
  int files = 0;
  for (const char* sub : {"unit", "cli"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / sub)) {
      if (entry.path().extension() != ".cpp") continue;
      ++files;
      std::ifstream f(entry.path());
      std::stringstream ss;
      ss << f.rdbuf();
      const std::string text = ss.str();
      for (std::sregex_iterator it(text.begin(), text.end(), test_case), end; it != end; ++it) {
        INFO(entry.path().filename().string() << ": " << (*it)[1]);
        CHECK((*it)[1].str().find(';') == std::string::npos);
      }
    }
  }
  REQUIRE(files > 4);
}

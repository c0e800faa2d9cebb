// Peak memory does not grow with the input: convert (both directions), split and index
// of inputs at least 8x the memory bound stay under the bound of ARCHITECTURE.md
// ("Memory bound"): 16 MiB + 2 x threads x 8 x chunk size, i.e. 48 MiB for -j2
// --chunk-size 1M. Peak RSS is the child's ru_maxrss from wait4.
#include <sched.h>

#include "peak_rss.h"

using namespace ingot_test;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr unsigned kThreads = 2;
constexpr std::uint64_t kChunk = 1 * kMiB;
constexpr std::uint64_t kBound = 16 * kMiB + 2 * kThreads * 8 * kChunk;  // 48 MiB

// Writes `block` repeatedly until the file holds at least `bytes` (fast: one block built).
void write_repeated(const fs::path& path, const std::string& block, std::uint64_t bytes) {
  std::ofstream f(path, std::ios::binary);
  for (std::uint64_t n = 0; n < bytes; n += block.size())
    f.write(block.data(), static_cast<std::streamsize>(block.size()));
  REQUIRE(f.good());
}

// Taxi-like records: several types, strings needing CSV quoting, non-ASCII.
std::string ndjson_block() {
  std::string s;
  for (int i = 0; i < 8000; ++i) {
    s += "{\"vendorid\":" + std::to_string(i % 3) + ",\"pickup\":\"2024-01-" + std::to_string(10 + i % 18) +
         " 10:" + std::to_string(10 + i % 50) + ":00\",\"distance\":" + std::to_string(i % 97) + "." +
         std::to_string(i % 89) + ",\"zone\":\"Zürich " + std::to_string(i % 263) +
         "\",\"note\":\"a, \\\"quoted\\\" text\",\"amount\":" + std::to_string(i % 500) +
         ".5,\"paid\":" + (i % 2 ? "true" : "false") + "}\n";
  }
  return s;
}

std::string csv_block() {
  std::string s;
  for (int i = 0; i < 8000; ++i) {
    s += std::to_string(i % 3) + ",2024-01-" + std::to_string(10 + i % 18) + " 10:" + std::to_string(10 + i % 50) +
         ":00," + std::to_string(i % 97) + "." + std::to_string(i % 89) + ",Zürich " + std::to_string(i % 263) +
         ",\"a, \"\"quoted\"\"\ntext\"," + std::to_string(i % 500) + ".5,true\n";
  }
  return s;
}

}  // namespace

TEST_CASE("memory: convert, split and index of inputs 8x the bound stay under it", "[cli][memory]") {
#ifdef INGOT_TEST_ASAN
  WARN("AddressSanitizer build (shadow memory, quarantine): peak RSS says nothing about ingot's bound; skipped");
  return;
#endif
  TempDir dir;
  const fs::path nd = dir / "big.ndjson", csv = dir / "big.csv";
  write_repeated(nd, ndjson_block(), 8 * kBound);
  write_repeated(csv, "vendorid,pickup,distance,zone,note,amount,paid\n", 1);
  {
    std::ofstream f(csv, std::ios::binary | std::ios::app);
    const std::string block = csv_block();
    for (std::uint64_t n = 0; n < 8 * kBound; n += block.size())
      f.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  REQUIRE(fs::file_size(nd) >= 8 * kBound);
  REQUIRE(fs::file_size(csv) >= 8 * kBound);
  fs::create_directories(dir / "pieces");

  const std::vector<std::string> common = {"-j", std::to_string(kThreads), "--chunk-size", "1M", "-q"};
  struct Run {
    std::string what;
    std::vector<std::string> args;
  };
  const std::vector<Run> runs = {
      {"convert NDJSON -> CSV (key union pre-pass + conversion)",
       {"convert", nd.string(), "--to", "csv", "-o", "/dev/null"}},
      {"convert CSV -> NDJSON", {"convert", csv.string(), "--to", "ndjson", "-o", "/dev/null"}},
      {"split --records", {"split", nd.string(), "--records", "400000", "--prefix", (dir / "pieces/r-").string()}},
      {"index", {"index", nd.string(), "-o", (dir / "big.idx").string()}},
  };
  std::string summary;
  for (const Run& r : runs) {
    std::vector<std::string> args = r.args;
    args.insert(args.end(), common.begin(), common.end());
    Peak p = run_measured(args);
    INFO(r.what << ": peak RSS " << p.rss / 1024 << " KiB, bound " << kBound / 1024 << " KiB");
    CHECK(p.code == 0);
    CHECK(p.rss > 0);
    CHECK(p.rss < kBound);
    summary += "  " + r.what + ": " + std::to_string(p.rss / 1024) + " KiB\n";
  }
  // The runs did the work: the split wrote the whole input, the index counts every record.
  std::uint64_t pieces_bytes = 0;
  for (auto& e : fs::directory_iterator(dir / "pieces")) {
    if (e.path().extension() == ".ndjson") pieces_bytes += fs::file_size(e.path());
  }
  CHECK(pieces_bytes == fs::file_size(nd));
  CHECK(fs::file_size(dir / "big.idx") > 0);
  std::fprintf(stderr, "memory test: input %llu MiB each, bound %llu MiB, peak RSS:\n%s",
               static_cast<unsigned long long>(fs::file_size(nd) / kMiB),
               static_cast<unsigned long long>(kBound / kMiB), summary.c_str());
}

TEST_CASE("memory: -j 1000 is capped at the core count, so the bound with that many threads holds", "[cli][memory]") {
#ifdef INGOT_TEST_ASAN
  WARN("AddressSanitizer build (shadow memory, quarantine): peak RSS says nothing about ingot's bound; skipped");
  return;
#endif
  // The cores this process may run on, as TBB counts them (it honours the affinity mask).
  cpu_set_t set;
  CPU_ZERO(&set);
  REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
  const std::uint64_t cores = static_cast<std::uint64_t>(CPU_COUNT(&set));
  constexpr std::uint64_t kSmallChunk = 64 * 1024;
  const std::uint64_t bound = 16 * kMiB + 2 * cores * 8 * kSmallChunk;
  TempDir dir;
  const fs::path nd = dir / "in.ndjson", csv = dir / "in.csv";
  write_repeated(nd, ndjson_block(), 4 * kMiB);
  write_repeated(csv, "vendorid,pickup,distance,zone,note,amount,paid\n" + csv_block(), 4 * kMiB);
  const std::vector<std::vector<std::string>> runs = {
      {"convert", nd.string(), "--to", "csv", "-o", (dir / "out.csv").string()},
      {"convert", csv.string(), "--to", "ndjson", "-o", (dir / "out.ndjson").string()},
  };
  for (std::vector<std::string> args : runs) {
    args.insert(args.end(), {"-j", "1000", "--chunk-size", "64K", "-q"});
    Peak p = run_measured(args);
    INFO(args[1] << " -j 1000: peak RSS " << p.rss / 1024 << " KiB, bound " << bound / 1024 << " KiB (" << cores
                 << " cores)");
    CHECK(p.code == 0);
    CHECK(p.rss > 0);
    CHECK(p.rss < bound);
  }
  // The capped runs did the whole work: the same output as -j1.
  REQUIRE(
      run_measured({"convert", nd.string(), "--to", "csv", "-o", (dir / "j1.csv").string(), "-j", "1", "-q"}).code ==
      0);
  CHECK(read_file(dir / "j1.csv") == read_file(dir / "out.csv"));
}

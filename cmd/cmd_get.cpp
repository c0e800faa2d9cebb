// ingot get: print records N, N-M, N+COUNT or -K of a file, by its index when fresh.
#include <cstdio>

#include "common.h"
#include "ingot/io/input.h"
#include "ingot/index/get.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct GetArgs {
  CommonOptions common;
  std::string input, records, index, from, delimiter;
  bool reindex = false, scan = false, no_header = false, header = false;
};

// A scan of a big file is slow (O(N)); say once how to make it fast.
constexpr std::uint64_t kScanHintBytes = std::uint64_t{256} << 20;

int run(GetArgs& a) {
  GetOptions o;
  Result<Unit> parsed = capture([&]() -> Unit {
    o.input = a.input;
    o.index = a.index;
    o.spec = range_spec_or_throw(a.records);
    o.kind = format_option(a.from);
    o.header = !a.no_header;
    o.print_header = a.header;
    o.reindex = a.reindex;
    o.scan = a.scan;
    if (a.scan && (a.reindex || !a.index.empty())) throw usage_error("--scan ignores indexes: drop --reindex/--index");
    o.pipeline = pipeline_options(a.common);
    o.chunker = chunker_options(a.common);
    if (!a.delimiter.empty()) o.chunker.delimiter = delimiter_option(a.delimiter);
    return {};
  });
  if (!parsed) return fail("get", parsed.error());
  Result<GetReport> r = get_records(o, 1);
  if (!r) return fail("get", r.error());
  if (!a.common.quiet && r.value().path == GetReport::Path::scan && !a.scan && a.input != "-") {
    if (known_input_size(a.input) >= kScanHintBytes) {
      std::fprintf(stderr,
                   "ingot get: note: no index, so %s was scanned from the start; 'ingot index %s' makes this O(1)\n",
                   a.input.c_str(), a.input.c_str());
    }
  }
  return kOk;
}

}  // namespace

Runner setup_get(CLI::App& sub) {
  auto a = std::make_shared<GetArgs>();
  sub.add_option("input", a->input, "File to read ('-' = stdin, always scanned)")->type_name("FILE")->required();
  sub.add_option("records", a->records,
                 "Records to print, numbered from 1: N, N-M, N+COUNT (COUNT records from N) or -K (K-th from the end)")
      ->type_name("RECORDS")
      ->required();
  sub.add_option("--index", a->index, "Index file (default: FILE.idx when it exists, beside an s3:// object too)")
      ->type_name("FILE");
  sub.add_flag("--reindex", a->reindex, "Build or rebuild the index when it is missing or stale, then use it");
  sub.add_flag("--scan", a->scan, "Ignore any index and scan from the start (slow; for checking)");
  add_from_option(&sub, a->from, "Input format when scanning or reindexing: lines, ndjson, csv or tsv", true);
  sub.add_flag("--header", a->header, "CSV/TSV: print the header before the records");
  sub.add_flag("--no-header", a->no_header, "CSV/TSV: the first record is data, not a header (scan/reindex)");
  add_delimiter_option(&sub, a->delimiter);
  add_common_options(&sub, a->common, kWithThreads);
  sub.add_flag("-q,--quiet", a->common.quiet, "No notes on stderr");
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

// ingot split: record-aligned pieces (or a --plan of byte ranges) plus a manifest.
#include <csignal>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ingot/io/input.h"
#include "ingot/split/split.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct SplitArgs {
  CommonOptions common;
  std::string input, bytes, from, prefix, manifest, filter, compress, delimiter;
  std::optional<std::uint64_t> records, pieces;
  bool no_header = false, force = false, plan = false;
};

int run(SplitArgs& a) {
  // A file size limit (ulimit -f) must surface as EFBIG from write, reported and
  // cleaned up like a full disk, not kill the process with SIGXFSZ and leave files.
  std::signal(SIGXFSZ, SIG_IGN);
  SplitOptions o;
  auto parsed = capture([&]() -> Unit {
    const int modes = !a.bytes.empty() + a.records.has_value() + a.pieces.has_value();
    if (modes != 1) throw usage_error("give exactly one of --bytes SIZE, --records N, --pieces N");
    if (!a.bytes.empty()) {
      o.by = SplitBy::bytes;
      o.amount = size_option(a.bytes, "--bytes", "180M");
    } else if (a.records) {
      o.by = SplitBy::records;
      o.amount = *a.records;
    } else {
      o.by = SplitBy::pieces;
      o.amount = *a.pieces;
    }
    if (o.amount == 0) throw usage_error("the piece size or count must be at least 1");
    o.kind = format_option(a.from);
    o.input = a.input;
    o.prefix = a.prefix;
    o.header = !a.no_header;
    o.force = a.force;
    o.plan = a.plan;
    o.manifest = a.manifest;
    o.filter = a.filter;
    if (!a.compress.empty()) o.compress = parse_codec(a.compress).value_or(Codec::none);
    o.pipeline = pipeline_options(a.common);
    o.chunker = chunker_options(a.common);
    if (!a.delimiter.empty()) o.chunker.delimiter = delimiter_option(a.delimiter);
    return {};
  });
  if (!parsed) return fail("split", parsed.error());

  Progress progress(progress_wanted(a.common), "split", known_input_size(o.input));
  o.progress = [&](std::uint64_t bytes, std::uint64_t records) { progress.update(bytes, records); };
  Result<SplitReport> result = split(o);
  progress.finish();
  if (!result) return fail_with_report("split", result.error(), a.common.json, stdout);
  const SplitReport& r = result.value();
  const std::size_t n = r.manifest.pieces.size();
  if (a.common.json) {
    print_ok_report(stdout, {{"manifest", r.manifest_path},
                             {"plan", r.manifest.plan},
                             {"pieces", n},
                             {"bytes", r.bytes},
                             {"records", r.records ? nlohmann::json(*r.records) : nlohmann::json(nullptr)},
                             {"oversized", r.oversized},
                             {"seconds", r.seconds}});
  }
  if (!a.common.quiet) {
    std::string recs = r.records ? with_commas(*r.records) + " records, " : std::string();
    std::fprintf(stderr, "ingot split: %s %zu piece%s (%s%s) in %.2f s -> %s\n", r.manifest.plan ? "planned" : "wrote",
                 n, n == 1 ? "" : "s", recs.c_str(), format_size(r.bytes).c_str(), r.seconds, r.manifest_path.c_str());
    if (!r.oversized.empty()) {
      std::string list;
      for (std::size_t i = 0; i < r.oversized.size() && i < 10; ++i)
        list += (i ? ", " : "") + std::to_string(r.oversized[i]);
      if (r.oversized.size() > 10) list += ", ...";
      std::fprintf(stderr,
                   "ingot split: %zu piece%s larger than --bytes: a single record bigger than the limit (piece %s)\n",
                   r.oversized.size(), r.oversized.size() == 1 ? " is" : "s are", list.c_str());
    }
  }
  return kOk;
}

}  // namespace

Runner setup_split(CLI::App& sub) {
  auto a = std::make_shared<SplitArgs>();
  sub.add_option("input", a->input, "Input file ('-' = stdin; not with --pieces or --plan)")
      ->type_name("FILE")
      ->required();
  sub.add_option("--bytes", a->bytes, "At most SIZE bytes per piece, header included (K/M/G suffixes)")
      ->type_name("SIZE");
  sub.add_option("--records", a->records, "N records per piece (CSV records may span lines)")->type_name("N");
  sub.add_option("--pieces", a->pieces, "N pieces of nearly equal size")->type_name("N");
  sub.add_option("--prefix", a->prefix,
                 "Piece names: PREFIX + 5+ digit index + input extension (default: <input stem>-)")
      ->type_name("PREFIX");
  add_from_option(&sub, a->from, "Input format: lines, ndjson, csv or tsv (default: from the extension, else lines)",
                  true);
  sub.add_flag("--no-header", a->no_header, "CSV/TSV input has no header row (do not repeat one in every piece)");
  add_delimiter_option(&sub, a->delimiter);
  sub.add_flag("--force", a->force, "Overwrite existing pieces and manifest");
  sub.add_flag("--plan", a->plan, "Write only the manifest of record-aligned byte ranges; copy nothing");
  sub.add_option("--manifest", a->manifest, "Manifest path (default: PREFIXmanifest.json)")->type_name("FILE");
  sub.add_option("--filter", a->filter, "Pipe each piece to 'sh -c CMD' with $FILE set to the piece name")
      ->type_name("CMD");
  sub.add_option("--compress", a->compress,
                 "Compress every piece: gz or zst (names get .gz/.zst; merge concatenates them)")
      ->check(CLI::IsMember({"gz", "gzip", "zst", "zstd", "none"}));
  add_common_options(&sub, a->common, kWithThreads | kWithReport);
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

// ingot merge: pieces (or a split manifest) back into one file.
#include <csignal>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ingot/merge/merge.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct MergeArgs {
  CommonOptions common;
  std::vector<std::string> inputs;
  std::string manifest, from, delimiter;
  bool verify = false, no_header = false;
};

int run(MergeArgs& a) {
  std::signal(SIGXFSZ, SIG_IGN);  // as in split: a file size limit becomes a clean EFBIG error
  MergeOptions o;
  auto parsed = capture([&]() -> Unit {
    if (!a.manifest.empty() && !a.inputs.empty()) throw usage_error("give pieces or --manifest, not both");
    if (a.manifest.empty() && a.inputs.empty()) throw usage_error("give the pieces to merge, or a manifest");
    // One argument that is a split manifest means "its pieces, in its order"; one named
    // like a manifest is read as one, so a damaged manifest is an error, not a copy.
    if (a.inputs.size() == 1 && (is_manifest_file(a.inputs.front()) || a.inputs.front().ends_with("manifest.json"))) {
      o.manifest = a.inputs.front();
    } else {
      o.manifest = a.manifest;
      o.pieces = a.inputs;
    }
    if (!a.from.empty() && !o.manifest.empty()) throw usage_error("--from is taken from the manifest; drop it");
    o.kind = format_option(a.from);
    if (a.no_header && !o.manifest.empty()) throw usage_error("--no-header is taken from the manifest; drop it");
    o.header = !a.no_header;
    if (!a.delimiter.empty()) {
      if (!o.manifest.empty())
        throw usage_error("--delimiter is not needed with a manifest (it records the header); drop it");
      o.delimiter = delimiter_option(a.delimiter);
    }
    o.verify = a.verify;
    o.output = a.common.output;
    o.pipeline = pipeline_options(a.common);
    return {};
  });
  if (!parsed) return fail("merge", parsed.error());

  Progress progress(progress_wanted(a.common), "merge", 0);
  o.progress = [&](std::uint64_t bytes, std::uint64_t records) { progress.update(bytes, records); };
  Result<MergeReport> result = merge(o);
  progress.finish();
  if (!result) return fail_with_report("merge", result.error(), a.common.json, report_stream(a.common));
  const MergeReport& r = result.value();
  const std::size_t n = r.layout.pieces.size();
  if (a.common.json) {
    print_ok_report(report_stream(a.common), {{"output", r.output},
                                              {"pieces", n},
                                              {"bytes", r.bytes},
                                              {"verified", r.verified},
                                              {"server_side_bytes", r.server_side_bytes},
                                              {"header_bytes", r.layout.header_bytes},
                                              {"seconds", r.seconds}});
  }
  if (!a.common.quiet) {
    const std::string server =
        r.server_side_bytes ? " (" + format_size(r.server_side_bytes) + " copied on the server)" : "";
    std::fprintf(stderr, "ingot merge: %zu piece%s%s, %s%s in %.2f s -> %s\n", n, n == 1 ? "" : "s",
                 r.verified ? " (verified)" : "", format_size(r.bytes).c_str(), server.c_str(), r.seconds,
                 r.output.c_str());
  }
  return kOk;
}

}  // namespace

Runner setup_merge(CLI::App& sub) {
  auto a = std::make_shared<MergeArgs>();
  sub.add_option("pieces", a->inputs, "Piece files in order, or one split manifest (.json)")->type_name("FILE");
  add_common_options(&sub, a->common, kWithOutput | kWithThreads | kWithReport);
  sub.add_option("--manifest", a->manifest, "Merge the pieces listed in this split manifest")->type_name("FILE");
  sub.add_flag("--verify", a->verify, "Check every piece's size and xxh3 against the manifest before writing");
  add_from_option(&sub, a->from, "Input format of the pieces: lines, ndjson, csv or tsv (default: from the extension)",
                  true);
  sub.add_flag("--no-header", a->no_header, "CSV/TSV pieces have no header row (keep every first line)");
  add_delimiter_option(&sub, a->delimiter);
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

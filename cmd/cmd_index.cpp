// ingot index: build (or --verify) the record offset index of a file.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ingot/io/input.h"
#include "ingot/index/index.h"
#include "ingot/split/manifest.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct IndexArgs {
  CommonOptions common;
  std::string input, output, from, part, delimiter;
  std::optional<std::uint64_t> piece;
  bool no_header = false, verify = false;
};

void print_json(const IndexReport& r, const char* action) {
  const IndexMeta& m = r.meta;
  print_ok_report(stdout, {{"action", action},
                           {"input", r.input},
                           {"index", r.output},
                           {"kind", record_kind_name(m.kind)},
                           {"records", m.records},
                           {"header_bytes", m.header_len},
                           {"range", {m.range_begin, m.range_end}},
                           {"index_bytes", m.index_size},
                           {"bytes_per_record", r.bytes_per_record()},
                           {"seconds", r.seconds}});
}

int run(IndexArgs& a) {
  if (a.verify) {
    Result<IndexReport> v = verify_index(a.input, a.output);
    if (!v) return fail("index", v.error());
    if (a.common.json) print_json(v.value(), "verify");
    if (!a.common.quiet) {
      std::fprintf(stderr, "ingot index: %s is intact and matches %s (%s records)\n", v.value().output.c_str(),
                   a.input.c_str(), with_commas(v.value().meta.records).c_str());
    }
    return kOk;
  }

  IndexOptions o;
  Result<Unit> parsed = capture([&]() -> Unit {
    o.input = a.input;
    o.output = a.output;
    o.kind = format_option(a.from);
    o.header = !a.no_header;
    if (!a.part.empty() && a.piece) throw usage_error("--part and --piece exclude each other");
    if (!a.part.empty()) {
      const PartOption p = part_option(a.part);
      o.part = PartSpec{p.k, p.n};
    }
    if (a.piece) {
      // The input is a split manifest; index piece K's byte range of its source.
      const Manifest m = read_manifest(a.input);
      if (m.source == "-") throw usage_error("the manifest's source was stdin; index its piece files instead");
      o.input = m.source;
      o.range = manifest_piece_range(m, *a.piece);
      if (!o.kind) o.kind = parse_record_kind(m.kind);
      if (o.output.empty()) o.output = m.source + ".piece-" + std::to_string(*a.piece) + ".idx";
      const Fingerprint now = InputFile::open(m.source).fingerprint();
      if (!(now == m.fingerprint)) {
        throw data_error("the source changed since the manifest was written").at_path(m.source);
      }
    }
    o.pipeline = pipeline_options(a.common);
    o.chunker = chunker_options(a.common);
    if (!a.delimiter.empty()) o.chunker.delimiter = delimiter_option(a.delimiter);
    return {};
  });
  if (!parsed) return fail("index", parsed.error());

  Progress progress(progress_wanted(a.common), "index", known_input_size(o.input));
  o.progress = [&](std::uint64_t bytes, std::uint64_t records) { progress.update(bytes, records); };
  Result<IndexReport> result = build_index(o);
  progress.finish();
  if (!result) return fail("index", result.error());
  const IndexReport& r = result.value();
  if (a.common.json) print_json(r, "build");
  if (!a.common.quiet) {
    const std::uint64_t bytes = r.meta.range_end - r.meta.range_begin;
    const double mbps = r.seconds > 0 ? static_cast<double>(bytes) / 1e6 / r.seconds : 0;
    std::fprintf(stderr, "ingot index: %s records (%s), %s in %.2f s (%.0f MB/s) -> %s (%s, %.2f bytes/record)\n",
                 with_commas(r.meta.records).c_str(), record_kind_name(r.meta.kind), format_size(bytes).c_str(),
                 r.seconds, mbps, r.output.c_str(), format_size(r.meta.index_size).c_str(), r.bytes_per_record());
  }
  return kOk;
}

}  // namespace

Runner setup_index(CLI::App& sub) {
  auto a = std::make_shared<IndexArgs>();
  sub.add_option("input", a->input, "File to index (with --piece: a split manifest)")->type_name("FILE")->required();
  sub.add_option("-o,--output", a->output,
                 "Index file (default: FILE.idx, beside an s3:// object too; FILE.part-K-of-N.idx with --part)")
      ->type_name("FILE");
  a->common.chunk_size = "256K";  // index's own default: see kIndexChunkSize
  add_common_options(&sub, a->common, kWithThreads | kWithReport);
  add_from_option(&sub, a->from, "Input format: lines, ndjson, csv or tsv (default: from the extension, else lines)",
                  true);
  sub.add_flag("--no-header", a->no_header, "CSV/TSV: the first record is data, not a header");
  add_delimiter_option(&sub, a->delimiter);
  sub.add_option("--part", a->part, "Index only the K-th of N record-aligned parts of the file (K/N)")
      ->type_name("K/N");
  sub.add_option("--piece", a->piece, "INPUT is a split manifest: index piece K's byte range of its source")
      ->type_name("K");
  sub.add_flag("--verify", a->verify,
               "Check an existing index instead: every checksum, and that it matches the file as it is now");
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

// ingot convert: NDJSON <-> CSV/TSV, and any of them -> Parquet.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/convert/convert.h"
#include "ingot/util/net_traffic.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct ConvertArgs {
  CommonOptions common;
  std::string input;
  std::string from, to, types = "auto", on_error = "skip", delimiter, part;
  std::optional<std::uint64_t> max_errors;
  std::vector<std::string> fields;
  std::string schema, schema_out, rejects, compress;
  std::string compression = "zstd", row_group_size = "128M", max_file_size;
  bool no_flatten = false, no_header = false, schema_only = false;
};

// `-o s3://bucket/dir/`: the object is named after the source, with the extension of
// --to and the suffix of --compress when given (taxi.ndjson --to csv -> dir/taxi.csv).
std::string output_name(const ConvertArgs& a) {
  std::string out = destination_for(a.common.output, a.input);
  if (out == a.common.output || a.to.empty()) return out;
  std::string base = strip_codec_suffix(out);
  const auto dot = base.find_last_of('.'), slash = base.find_last_of('/');
  if (dot != std::string::npos && dot > slash + 1) base.erase(dot);
  base += "." + a.to;
  if (!a.compress.empty() && a.compress != "none") base += codec_suffix(parse_codec(a.compress).value_or(Codec::none));
  return base;
}

int run(ConvertArgs& a) {
  ConvertOptions o;
  Result<ConvertReport> result = capture([&]() -> ConvertReport {
    o.input = a.input;
    o.output = output_name(a);
    o.from = format_option(a.from);
    if (a.to == "parquet")
      o.to_parquet = true;
    else
      o.to = format_option(a.to);
    o.parquet_compression = *parquet::parse_compression(a.compression);
    o.row_group_size = size_option(a.row_group_size, "--row-group-size", "64M");
    if (o.row_group_size == 0) throw usage_error("--row-group-size must be more than 0");
    if (!a.max_file_size.empty()) o.max_file_size = size_option(a.max_file_size, "--max-file-size", "200M");
    o.fields = a.fields;
    o.schema_in = a.schema;
    o.schema_out = a.schema_out;
    o.flatten = !a.no_flatten;
    o.schema_only = a.schema_only;
    o.header = !a.no_header;
    if (!a.delimiter.empty()) o.delimiter = delimiter_option(a.delimiter);
    o.types = a.types == "string" ? ValueTypes::string : ValueTypes::auto_detect;
    o.errors.on_error = a.on_error == "fail" ? OnError::fail : OnError::skip;
    o.errors.max_errors = a.max_errors;
    o.rejects = a.rejects;
    if (!a.part.empty()) {
      const PartOption p = part_option(a.part);
      o.part = PartSpec{p.k, p.n};
    }
    if (!a.compress.empty()) o.compress = parse_codec(a.compress);
    o.pipeline = pipeline_options(a.common);
    o.chunker = chunker_options(a.common);
    return {};
  });
  if (!result) return fail("convert", result.error());

  Progress progress(progress_wanted(a.common), "convert", known_input_size(o.input));
  o.progress = [&](std::uint64_t bytes, std::uint64_t records) { progress.update(bytes, records); };
  result = convert(o);
  progress.finish();
  if (!result) return fail_with_report("convert", result.error(), a.common.json, report_stream(a.common));
  const ConvertReport& r = result.value();
  const double mbps = r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0;
  if (a.common.json) {
    nlohmann::json report = {{"input", r.input},
                             {"output", r.output},
                             {"from", r.from},
                             {"to", r.to},
                             {"stats",
                              {{"bytes", r.bytes},
                               {"records",
                                {{"valid", r.records.valid},
                                 {"invalid", r.records.invalid},
                                 {"blank", r.records.blank},
                                 {"total", r.records.total()}}},
                               {"columns", r.columns},
                               {"empty_columns", r.empty_columns},
                               {"renamed_columns", r.renamed_columns},
                               {"seconds", r.seconds},
                               {"mb_per_s", mbps}}}};
    // How the NDJSON columns were found (docs/convert.md): "first-chunk" is one pass.
    if (r.column_union != ColumnUnion::none) {
      report["stats"]["column_union"] = column_union_name(r.column_union);
      if (r.column_union == ColumnUnion::extended || r.column_union == ColumnUnion::restarted)
        report["stats"]["restart_offset"] = r.restart_offset;
    }
    print_ok_report(report_stream(a.common), std::move(report));
  }
  if (!r.renamed_columns.empty())
    std::fprintf(stderr, "ingot convert: warning: %s\n", renamed_warning(r.renamed_columns).c_str());
  if (!a.fields.empty() || !a.schema.empty()) {
    // A named field that never appears is most likely a typo: say so, keep the column.
    for (const auto& name : r.empty_columns) {
      std::fprintf(stderr, "ingot convert: warning: field '%s' has no value in any valid record\n", name.c_str());
    }
  }
  // An NDJSON object without --fields/--schema may be read twice (the column pass, then
  // the conversion, or a restart; docs/remote.md says why): when that doubled the
  // download, say how to read it once.
  const std::uint64_t downloaded = net_traffic::totals().bytes_in;
  if (!a.common.quiet && is_remote_path(a.input) && a.fields.empty() && a.schema.empty() && !a.schema_only &&
      r.from == "ndjson" && r.bytes > 0 && downloaded > r.bytes + r.bytes / 2) {
    std::fprintf(stderr,
                 "ingot convert: note: %s downloaded for %s of input: the NDJSON columns were found by a first "
                 "read of the object; write them once with --schema-out FILE, then pass --schema FILE to read it "
                 "once\n",
                 format_size(downloaded).c_str(), format_size(r.bytes).c_str());
  }
  if (!a.common.quiet) {
    std::fprintf(
        stderr,
        "ingot convert: %s records (%s valid, %s invalid), %s blank, %zu columns, %s in %.2f s (%.0f MB/s) -> %s\n",
        with_commas(r.records.total()).c_str(), with_commas(r.records.valid).c_str(),
        with_commas(r.records.invalid).c_str(), with_commas(r.records.blank).c_str(), r.columns,
        format_size(r.bytes).c_str(), r.seconds, mbps, r.output.c_str());
  }
  return kOk;
}

}  // namespace

Runner setup_convert(CLI::App& sub) {
  auto a = std::make_shared<ConvertArgs>();
  sub.add_option("input", a->input, "Input file ('-' = stdin)")->type_name("FILE")->required();
  add_common_options(&sub, a->common);
  add_csv_options(&sub, a->common);
  add_from_option(&sub, a->from, "Input format: ndjson, csv or tsv (default: from the extension)", false);
  // --to takes parquet besides the record formats (add_to_option knows only those).
  sub.add_option("--to", a->to, "Output format: csv, tsv, ndjson or parquet (default: from the output's extension)")
      ->type_name("FORMAT")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto k = parse_record_kind(v);
            if (v == "parquet" || (k && *k != RecordKind::lines)) return {};
            return "must be ndjson, csv, tsv or parquet, not '" + v + "'";
          },
          "{ndjson,csv,tsv,parquet}"));
  add_list_option(&sub, "--fields", a->fields,
                  "NDJSON columns in order, comma-separated; dot paths reach into objects");
  sub.add_option("--schema", a->schema, "Read the column list from FILE (as written by --schema-out)")
      ->type_name("FILE");
  sub.add_option("--schema-out", a->schema_out, "Write the column list used to FILE")->type_name("FILE");
  sub.add_flag("--schema-only", a->schema_only,
               "Only find the NDJSON columns (the key-union pass) and write them to --schema-out; no output");
  sub.add_flag("--no-flatten", a->no_flatten, "Keep nested objects as JSON text instead of dot-path columns");
  sub.add_flag("--no-header", a->no_header, "CSV/TSV input has no header row (keys col1, col2, ...)");
  add_delimiter_option(&sub, a->delimiter);
  sub.add_option("--types", a->types, "CSV values: auto (numbers, booleans, empty=null) or string")
      ->check(CLI::IsMember({"auto", "string"}))
      ->capture_default_str();
  sub.add_option("--on-error", a->on_error, "Invalid records: skip (count them) or fail (stop at the first)")
      ->check(CLI::IsMember({"skip", "fail"}))
      ->capture_default_str();
  sub.add_option("--max-errors", a->max_errors, "Fail when more than N records are invalid")->type_name("N");
  sub.add_option("--rejects", a->rejects,
                 "Write each invalid record (line, offset, reason, raw text) to FILE as NDJSON")
      ->type_name("FILE");
  sub.add_option("--part", a->part, "Convert only the K-th of N record-aligned parts of the input (K/N)")
      ->type_name("K/N");
  sub.add_option("--compress", a->compress,
                 "Compress the output: gz, zst or none (default: by the output's .gz/.zst suffix)")
      ->check(CLI::IsMember({"gz", "gzip", "zst", "zstd", "none"}));
  sub.add_option("--compression", a->compression, "Parquet page compression: zstd, snappy or none")
      ->check(CLI::IsMember({"zstd", "snappy", "none"}))
      ->capture_default_str();
  sub.add_option("--row-group-size", a->row_group_size,
                 "Parquet: data bytes per row group (K/M/G suffixes; a group ends at the row that reaches it)")
      ->type_name("SIZE")
      ->capture_default_str();
  sub.add_option("--max-file-size", a->max_file_size,
                 "Parquet: roll into numbered files OUT-00000.parquet, ...; a file ends after the row group that "
                 "brings it to SIZE")
      ->type_name("SIZE");
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

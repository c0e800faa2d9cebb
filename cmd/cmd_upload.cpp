// ingot upload: SOURCE (file, '-', split manifest) -> s3://, postgresql:// or a libpq
// conninfo, http(s)://. The destination is shown only redacted (the module does it).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "common.h"
#include "ingot/io/input.h"
#include "ingot/net/upload/upload.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {
namespace {

struct UploadArgs {
  CommonOptions common;
  UploadOptions o;
  std::string part_size, batch_bytes, http_batch_bytes, on_error = "skip", from, part, delimiter;
  bool no_header = false;
};

nlohmann::json report_json(const UploadReport& r) {
  nlohmann::json j = {{"status", "ok"},
                      {"target", r.target},
                      {"source", r.source},
                      {"dest", r.dest},
                      {"stats",
                       {{"bytes", r.bytes_total},
                        {"bytes_sent", r.bytes_sent},
                        {"bytes_skipped", r.bytes_skipped},
                        {"bytes_resent", r.bytes_resent},
                        {"units", r.units_total},
                        {"units_sent", r.units_sent},
                        {"units_skipped", r.units_skipped},
                        {"records", r.records},
                        {"records_skipped", r.records_skipped},
                        {"rejected", r.rejected},
                        {"seconds", r.seconds},
                        {"mb_per_s", r.seconds > 0 ? static_cast<double>(r.bytes_sent) / 1e6 / r.seconds : 0.0}}}};
  if (r.method != UploadMethod::none) j["method"] = upload_method_name(r.method);
  if (r.part_size) j["part_size"] = r.part_size;
  if (!r.upload_id.empty()) j["upload_id"] = r.upload_id;
  if (!r.etag.empty()) j["etag"] = r.etag;
  if (!r.load_id.empty()) j["load_id"] = r.load_id;
  if (!r.journal.empty()) j["journal"] = r.journal;
  if (!r.note.empty()) j["note"] = r.note;
  j["resumed"] = r.resumed;
  j["retries"] = r.retries;
  j["verified"] = r.verified;
  if (!r.plan.empty()) {
    nlohmann::json p = nlohmann::json::array();
    for (const PlanItem& i : r.plan) p.push_back({{"number", i.number}, {"offset", i.offset}, {"length", i.length}});
    j["plan"] = p;
  }
  return j;
}

int run(UploadArgs& a) {
  UploadOptions& o = a.o;
  // First, the secrets to hide from ps.
  hide_secret_args("upload", {o.dest, o.endpoint}, &secret_spans, a.common.quiet);
  auto parsed = capture([&]() -> Unit {
    if (!a.part_size.empty()) o.part_size = size_option(a.part_size, "--part-size", "8M");
    if (!a.batch_bytes.empty()) o.batch_bytes = size_option(a.batch_bytes, "--batch-bytes", "8M");
    o.http_batch_bytes = o.batch_bytes;
    if (a.batch_bytes.empty()) o.http_batch_bytes.reset();
    o.on_error = a.on_error == "fail" ? OnError::fail : OnError::skip;
    o.from = format_option(a.from);
    if (o.abort && o.resume) throw usage_error("--abort and --resume exclude each other");
    if (!a.part.empty()) {
      const PartOption p = part_option(a.part, 100000);
      o.worker_k = static_cast<unsigned>(p.k);
      o.worker_n = static_cast<unsigned>(p.n);
    }
    if ((o.begin || o.complete || o.worker_n || !o.upload_id.empty()) && !o.dest.starts_with("s3://")) {
      throw usage_error("--begin, --part, --complete and --upload-id are for s3:// destinations");
    }
    const bool csv_options = !a.delimiter.empty() || a.no_header || o.max_errors;
    if (csv_options && o.dest.starts_with("s3://")) {
      throw usage_error(
          "--delimiter, --no-header and --max-errors are for PostgreSQL and HTTP destinations "
          "(an S3 upload sends the bytes as they are)");
    }
    o.header = !a.no_header;
    o.chunker = chunker_options(a.common);
    if (!a.delimiter.empty()) o.chunker.delimiter = delimiter_option(a.delimiter);
    o.pipeline = pipeline_options(a.common);
    return {};
  });
  if (!parsed) return fail("upload", parsed.error());

  // A --part worker sends only its share: no total, so no misleading ETA.
  const std::uint64_t total = o.worker_n ? 0 : known_input_size(o.source);
  Progress progress(progress_wanted(a.common) && !o.dry_run, "upload", total);
  o.progress = [&](std::uint64_t bytes, std::uint64_t records) { progress.update(bytes, records); };
  Result<UploadReport> result = upload(o);
  progress.finish();
  if (!result) return fail_with_report("upload", result.error(), a.common.json, stdout);
  const UploadReport& r = result.value();
  if (!r.renamed_columns.empty())
    std::fprintf(stderr, "ingot upload: warning: %s\n", renamed_warning(r.renamed_columns).c_str());
  if (a.common.json) {
    print_ok_report(stdout, report_json(r));
  } else if (o.dry_run) {
    std::printf("%s %s -> %s: %s, %s units%s\n", r.target.c_str(), r.source.c_str(), r.dest.c_str(),
                r.method == UploadMethod::none ? "batches" : upload_method_name(r.method),
                with_commas(r.plan.size()).c_str(),
                r.part_size ? (", part size " + format_size(r.part_size)).c_str() : "");
    for (const PlanItem& i : r.plan) {
      std::printf("%6llu  offset %llu  length %llu\n", static_cast<unsigned long long>(i.number),
                  static_cast<unsigned long long>(i.offset), static_cast<unsigned long long>(i.length));
    }
    if (!r.note.empty()) std::printf("note: %s\n", r.note.c_str());
  }
  if (r.method == UploadMethod::begin && !a.common.json && !o.dry_run) std::printf("%s\n", r.upload_id.c_str());
  const bool s3_step =
      r.method == UploadMethod::abort || r.method == UploadMethod::begin || r.method == UploadMethod::complete;
  if (!a.common.quiet && !o.dry_run && s3_step) {
    if (r.method == UploadMethod::complete) {
      std::fprintf(stderr, "ingot upload: %s -> %s: completed from %s parts (%s), %.2f s%s\n", r.source.c_str(),
                   r.dest.c_str(), with_commas(r.units_total).c_str(), format_size(r.bytes_total).c_str(), r.seconds,
                   r.verified ? ", verified" : "");
      if (!r.note.empty()) std::fprintf(stderr, "ingot upload: note: %s\n", r.note.c_str());
    } else if (r.method == UploadMethod::begin) {
      std::fprintf(stderr, "ingot upload: %s: multipart upload %s begun for %s parts of %s\n", r.dest.c_str(),
                   r.upload_id.c_str(), with_commas(r.units_total).c_str(), format_size(r.part_size).c_str());
    } else {
      std::fprintf(stderr, "ingot upload: %s: %s\n", r.dest.c_str(), r.note.c_str());
    }
  } else if (!a.common.quiet && !o.dry_run) {
    const double mbps = r.seconds > 0 ? static_cast<double>(r.bytes_sent) / 1e6 / r.seconds : 0;
    std::fprintf(stderr,
                 "ingot upload: %s -> %s: %s sent (%s already there%s), %s/%s %s, %s records, %.2f s (%.0f MB/s)%s\n",
                 r.source.c_str(), r.dest.c_str(), format_size(r.bytes_sent).c_str(),
                 format_size(r.bytes_skipped).c_str(), r.resumed ? ", resumed" : "", with_commas(r.units_sent).c_str(),
                 with_commas(r.units_total).c_str(), r.target == "s3" ? "parts" : "batches",
                 with_commas(r.records).c_str(), r.seconds, mbps, r.verified ? ", verified" : "");
    if (!r.note.empty()) std::fprintf(stderr, "ingot upload: note: %s\n", r.note.c_str());
  }
  return kOk;
}

}  // namespace

Runner setup_upload(CLI::App& sub) {
  auto a = std::make_shared<UploadArgs>();
  UploadOptions& o = a->o;
  sub.add_option("source", o.source, "File, '-' (stdin) or a split manifest (.json)")->type_name("FILE")->required();
  sub.add_option("dest", o.dest, "s3://bucket/key, postgresql://... or 'host=... dbname=...', http(s)://...")
      ->type_name("DEST")
      ->required();
  add_common_options(&sub, a->common, kWithThreads | kWithReport);
  add_csv_options(&sub, a->common);
  sub.add_option("--concurrency", o.concurrency, "S3 parts / HTTP requests in flight")
      ->type_name("N")
      ->capture_default_str();
  sub.add_option("--retries", o.retries, "Retries of a failed request (back-off with jitter)")
      ->type_name("N")
      ->capture_default_str();
  sub.add_option("--retry-base-ms", o.retry_base_ms, "First back-off in ms (doubles per retry)")
      ->type_name("MS")
      ->capture_default_str()
      ->group("");
  sub.add_option("--list-page-size", o.list_page_size, "Parts per ListParts request when resuming")
      ->type_name("N")
      ->check(CLI::Range(1, 1000))
      ->group("");
  sub.add_option("--state", o.state_dir, "Directory for the resume journal (default: next to the source)")
      ->type_name("DIR");
  sub.add_flag("--resume", o.resume, "Continue an interrupted upload (the same command again does too)");
  sub.add_flag("--dry-run", o.dry_run, "Print the parts or batches without sending");
  // S3
  add_s3_options(&sub, o.endpoint, o.region, o.profile, o.path_style);
  sub.add_option("--part-size", a->part_size, "S3 part size (default: 32M, or larger to stay within --max-parts)")
      ->type_name("SIZE");
  sub.add_option("--max-parts", o.max_parts, "Most parts per S3 upload the server takes (AWS 10000, Swift 1000)")
      ->type_name("N")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  sub.add_flag("--abort", o.abort,
               "Abort the interrupted S3 upload: --upload-id, else the journal's, else all in progress for the key");
  sub.add_flag("--begin", o.begin, "Start a multipart upload for --part workers and print its id");
  sub.add_option("--part", a->part, "Send only the K-th of N shares of the parts of a shared multipart upload (K/N)")
      ->type_name("K/N");
  sub.add_flag("--complete", o.complete, "Check that every part is there, complete the shared upload, verify");
  sub.add_option("--upload-id", o.upload_id,
                 "Multipart upload for --part/--complete/--abort (default: the one in progress for the key)")
      ->type_name("ID");
  sub.add_flag("--keep-parts", o.keep_parts, "Do not abort the S3 upload on a fatal error");
  // PostgreSQL
  sub.add_option("--table", o.table, "PostgreSQL table (schema.table allowed)")->type_name("TABLE");
  sub.add_flag("--create-table", o.create_table, "Create the table from the header (text columns)");
  sub.add_flag("--infer-types", o.infer_types, "With --create-table: bigint/double precision/boolean/text by content");
  sub.add_option("--batch-rows", o.batch_rows, "Rows per COPY batch")->type_name("N")->capture_default_str();
  sub.add_option("--batch-bytes", a->batch_bytes, "Bytes per batch (PostgreSQL default 16M, HTTP default 10M)")
      ->type_name("SIZE");
  sub.add_option("--workers", o.workers, "PostgreSQL connections loading in parallel")
      ->type_name("N")
      ->capture_default_str();
  sub.add_option("--rejects", o.rejects,
                 "Write rejected rows (invalid records, rows the server refused) to FILE as NDJSON with line numbers")
      ->type_name("FILE");
  sub.add_option("--on-error", a->on_error,
                 "Bad rows (invalid records, refused by the server): skip (to --rejects) or fail")
      ->check(CLI::IsMember({"skip", "fail"}))
      ->capture_default_str();
  sub.add_option("--max-errors", o.max_errors,
                 "Fail when more than N rows are rejected (invalid, or refused by the server)")
      ->type_name("N");
  add_delimiter_option(&sub, a->delimiter);
  sub.add_flag("--no-header", a->no_header,
               "CSV/TSV source has no header row (columns: the table's, else col1, col2, ...)");
  add_from_option(&sub, a->from, "Source format: ndjson, csv or tsv (default: from the extension)", false);
  add_list_option(&sub, "--fields", o.fields,
                  "NDJSON columns, comma-separated (default: the table's, else the key union)");
  sub.add_option("--schema", o.schema, "Read the NDJSON columns from FILE (as written by convert --schema-out)")
      ->type_name("FILE");
  // HTTP
  sub.add_flag("--gzip", o.gzip, "Compress HTTP batches (Content-Encoding: gzip)");
  // One value per --header, so a header never swallows the positionals after it.
  sub.add_option("--header", o.headers, "Extra HTTP header 'K: V' (repeatable)")
      ->type_name("HEADER")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

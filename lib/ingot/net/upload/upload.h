// ingot upload: ship a file (or stdin, or a split manifest's pieces) to S3 (multipart,
// parallel parts, resumable from a journal), PostgreSQL (COPY in batches, exactly-once
// through a ledger table) or an HTTP NDJSON endpoint (POSTed batches, journaled).
// The target is picked by the destination's scheme. Journal and ledger formats are in
// docs/upload.md.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/pipeline/records.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot {

inline constexpr unsigned kS3MaxParts = 10000;
inline constexpr std::uint64_t kS3MinPart = std::uint64_t{5} << 20;
inline constexpr std::uint64_t kS3MaxPart = std::uint64_t{5} << 30;
// 32 MiB parts, 4 in flight (128 MiB of buffers): against the local Swift, 512 MB took
// 1.66-1.79 s this way and 2.04-2.17 s in 8 MiB parts x 8; fewer requests cost the
// server less per byte (tests/bench/bench_upload.sh).
inline constexpr std::uint64_t kS3DefaultPart = std::uint64_t{32} << 20;
inline constexpr std::uint64_t kS3StreamPart = std::uint64_t{32} << 20;  // stdin: size unknown

struct UploadOptions {
  std::string source = "-";  // file, "-" (stdin) or a split manifest (.json)
  std::string dest;          // s3://bucket/key, postgresql://..., http(s)://...

  // Shared
  unsigned concurrency = 4;  // S3 parts / HTTP requests in flight
  unsigned retries = 5;
  unsigned retry_base_ms = 200;
  std::string state_dir;  // journal directory; empty: next to the source
  bool resume = false;    // require a journal to continue from
  bool dry_run = false;

  // S3
  std::string endpoint, region, profile;  // empty: as the AWS CLI finds them (net/s3/aws_config.h)
  bool path_style = false;
  std::optional<std::uint64_t> part_size;
  unsigned max_parts = kS3MaxParts;  // the server's limit: S3 10,000, Swift 1,000
  bool abort = false;              // abort the interrupted upload(s): the journal's, --upload-id, else all for the key
  bool keep_parts = false;         // do not abort on a fatal error
  unsigned list_page_size = 1000;  // ListParts page (tests use small pages to page through)
  // Several workers, one multipart upload (docs/upload.md): --begin creates it, each
  // worker sends part K of N of the plan, --complete checks and completes it.
  bool begin = false;
  bool complete = false;
  unsigned worker_k = 0, worker_n = 0;  // --part K/N; 0: not a worker
  std::string upload_id;                // empty: the one upload in progress for the key (ListMultipartUploads)

  // PostgreSQL
  std::string table;
  bool create_table = false;
  bool infer_types = false;
  std::uint64_t batch_rows = 100000;
  std::uint64_t batch_bytes = std::uint64_t{16} << 20;
  unsigned workers = 1;
  std::string rejects;
  OnError on_error = OnError::skip;
  std::optional<std::uint64_t> max_errors;  // PostgreSQL, HTTP: fail once more rows than this are rejected
  std::optional<RecordKind> from;
  bool header = true;               // CSV/TSV sources: the first record names the columns (else col1, col2, ...)
                                    // (the delimiter: chunker.delimiter, 0 for the kind's)
  std::vector<std::string> fields;  // NDJSON columns (as convert --fields); default: the table's, else the key union
  std::string schema;               // or read them from this file (as convert --schema)

  // HTTP
  bool gzip = false;
  std::vector<std::string> headers;               // "K: V"
  std::optional<std::uint64_t> http_batch_bytes;  // default 10 MB

  ChunkerOptions chunker;
  PipelineOptions pipeline;
  ProgressFn progress;  // bytes done, records done
};

struct PlanItem {
  std::uint64_t number = 0;  // 1-based part / batch number
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

// How an upload went about it; the CLI words its summary by it. s3: a single PUT, a
// multipart upload, or one step of a shared multipart upload (begin, part, complete,
// abort). PostgreSQL and HTTP send batches (none).
enum class UploadMethod { none, put, multipart, begin, part, complete, abort };
// "put", "multipart", ... as the --json report names it; "" for none.
const char* upload_method_name(UploadMethod m);

struct UploadReport {
  std::string target;  // "s3", "postgresql", "http"
  std::string source;
  std::string dest;
  UploadMethod method = UploadMethod::none;
  std::uint64_t bytes_total = 0;
  std::uint64_t bytes_sent = 0;     // payload bytes sent by this run (retries excluded)
  std::uint64_t bytes_skipped = 0;  // already on the server / committed before this run
  std::uint64_t bytes_resent = 0;   // bytes of units a previous run had started but not finished
  std::uint64_t units_total = 0;    // parts or batches
  std::uint64_t units_sent = 0;
  std::uint64_t units_skipped = 0;
  std::uint64_t part_size = 0;
  std::uint64_t retries = 0;
  bool resumed = false;
  bool verified = false;
  std::string upload_id;
  std::string etag;
  std::string journal;
  std::string load_id;
  std::uint64_t records = 0;  // rows/records loaded by this run
  std::uint64_t records_skipped = 0;
  std::uint64_t rejected = 0;
  std::vector<PlanItem> plan;                // --dry-run
  std::string note;                          // e.g. how manifest pieces became parts
  std::vector<std::string> renamed_columns;  // CSV header names made unique ("id -> id_1 (column 3)")
  double seconds = 0;
};

Result<UploadReport> upload(const UploadOptions& opts);

struct ListEntry {
  std::string name;  // key relative to the listed prefix's directory
  std::string path;  // s3://bucket/key
  std::uint64_t size = 0;
  std::string modified;
};

struct ListOptions {
  std::string url;                        // s3://bucket/[prefix]
  std::string endpoint, region, profile;  // empty: as the AWS CLI finds them (net/s3/aws_config.h)
  bool path_style = false;
  unsigned page_size = 1000;
  unsigned retries = 5;
};

Result<std::vector<ListEntry>> list_datasets(const ListOptions& opts);

}  // namespace ingot

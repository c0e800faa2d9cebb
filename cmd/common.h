// What every subcommand shares: the common options (worded the same everywhere),
// error printing with the documented exit codes, the --json report channel.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/chunk/record_kind.h"
#include "ingot/net/redact.h"
#include "ingot/pipeline/pipeline.h"
#include "ingot/util/error.h"

namespace ingot::cli {

enum ExitCode { kOk = 0, kFailure = 1, kUsage = 2, kRemote = 3, kInterrupted = 130 };

struct CommonOptions {
  std::string output = "-";
  unsigned threads = 0;
  std::string chunk_size = "4M";
  std::string max_record_size = "256M";
  bool quiet = false;
  bool json = false;
  bool progress = false;
  bool no_progress = false;
  bool strict_quotes = false;
};

enum CommonFlags : unsigned {
  kWithOutput = 1,
  kWithThreads = 2,  // -j, --chunk-size, --max-record-size
  kWithReport = 4,   // -q, --json, --progress/--no-progress
  kAllCommon = 7,
};
void add_common_options(CLI::App* app, CommonOptions& opts, unsigned flags = kAllCommon);

// Every option that takes a value declares its placeholder where it is added, with
// CLI11's ->type_name("FILE") (or through the helpers below): --help, the man pages and
// the completions show it (cmd_generate.cpp reads it and refuses an option without one).

// --from FORMAT, the input format, in every command that reads records (--kind, its old
// name in split, index, get and merge, stays as a hidden alias). The values are the same
// everywhere: lines (where the command reads plain lines), ndjson, csv, tsv, and the
// spellings parse_record_kind() also takes (jsonl, json, txt, text). `with_lines`: the
// command reads plain lines. The completions offer the values.
void add_from_option(CLI::App* app, std::string& value, const std::string& description, bool with_lines);
// The same for an output format (convert --to): ndjson, csv or tsv.
void add_to_option(CLI::App* app, std::string& value, const std::string& description);
// The format a --from/--to value names (checked when parsed); none for "".
std::optional<RecordKind> format_option(const std::string& value);

// A comma-separated list (--fields a,b): one value per occurrence, so `--fields a,b FILE`
// leaves FILE to the positional argument; repeating the option appends.
CLI::Option* add_list_option(CLI::App* app, const std::string& name, std::vector<std::string>& values,
                             const std::string& description);

// K/N of --part (the K-th of N record-aligned parts): 1 <= K <= N <= max_n, digits only.
// A usage error otherwise, worded the same in every command.
struct PartOption {
  std::uint64_t k = 1, n = 1;
};
PartOption part_option(const std::string& value, std::uint64_t max_n = UINT64_MAX);

// A byte size with K/M/G suffixes (--chunk-size 4M), at least 1; a usage error
// "invalid --NAME: 'TEXT' (e.g. EXAMPLE, 64K, 1G)" otherwise.
std::uint64_t size_option(const std::string& text, const char* name, const char* example = "4M");

// How CSV/TSV records are read, for the commands that check records (convert, upload):
// --strict-quotes. split, index and get copy records without reading their fields, and
// the strict reading cuts records exactly where the default does, so they do not take it.
void add_csv_options(CLI::App* app, CommonOptions& opts);
// --delimiter: the CSV/TSV field delimiter (one character, or 'tab'), for every command
// that finds CSV record ends (convert, split, index, get): a '"' opens a quoted field
// only right after a delimiter, so the ends depend on it.
void add_delimiter_option(CLI::App* app, std::string& value);
// Where S3 is and who signs (upload, ls): --endpoint, --region, --profile, --path-style.
// Each left empty is found as the AWS CLI finds it (lib/ingot/net/s3/aws_config.h).
void add_s3_options(CLI::App* app, std::string& endpoint, std::string& region, std::string& profile, bool& path_style);
// The delimiter an option value names; a usage error for a quote, a line end or more
// than one character.
char delimiter_option(const std::string& value);
// The one warning line for duplicate CSV header names renamed (rename_duplicate_columns).
std::string renamed_warning(const std::vector<std::string>& renamed);

ChunkerOptions chunker_options(const CommonOptions& opts);
PipelineOptions pipeline_options(const CommonOptions& opts);
bool progress_wanted(const CommonOptions& opts);
// The size of an input for progress (percent, ETA) without consuming anything: only a
// regular file is opened (opening a FIFO would take the writer meant for the real run);
// 0 for stdin, pipes, devices and compressed files (their decoded size is unknown).
std::uint64_t known_input_size(const std::string& path);

// Prints "ingot <cmd>: error: <message>" and returns the exit code for the error.
int fail(const std::string& cmd, const Error& e);

// Where --json goes: stdout, unless data already goes there.
FILE* report_stream(const CommonOptions& opts);

// The --json report of a run that succeeded: {"result":{"status":"ok",...fields}}, one
// line on `out` (the keys sorted, as nlohmann::json writes every object). A run that
// made network requests also gets "network":{"requests","bytes_in","bytes_out"}
// (util/net_traffic.h; absent for a run that made none), here and in fail_with_report.
void print_ok_report(FILE* out, nlohmann::json fields);
// A run that failed: prints the error line (fail()) and, when `json`, the report
// {"result":{"status":"error","error":...,"exit_code":N}} on `out`. Returns the exit code.
int fail_with_report(const std::string& cmd, const Error& e, bool json, FILE* out);

// The process's argv, kept by main() so that a command can overwrite the secrets in it.
void keep_process_args(int argc, char** argv);

// Overwrites with '*', in the argv memory that ps and /proc/PID/cmdline read, the
// secrets (`spans`, the network module's redactor) of each of `values` where an argument
// is that value or --option=value. CLI11 has copied every argument before, so the run
// is unaffected. Unless `quiet`, one warning line then says how to keep the secret off
// the command line. Returns whether anything was hidden.
bool hide_secret_args(const std::string& cmd, const std::vector<std::string>& values,
                      std::vector<SecretSpan> (*spans)(std::string_view), bool quiet);

// "1234567" -> "1,234,567" for human summaries.
std::string with_commas(std::uint64_t n);

// A subcommand: registers its options on `app` and returns the function that runs it.
using Runner = std::function<int()>;
struct Subcommand {
  const char* name;
  const char* summary;
  Runner (*setup)(CLI::App& sub);
};

}  // namespace ingot::cli

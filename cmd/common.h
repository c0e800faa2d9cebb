// What every subcommand shares: the common options (worded the same everywhere),
// error printing with the documented exit codes, the --json report channel.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
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

// How CSV/TSV records are read, for the commands that check records (convert, upload):
// --strict-quotes. split, index and get copy records without reading their fields, and
// the strict reading cuts records exactly where the default does, so they do not take it.
void add_csv_options(CLI::App* app, CommonOptions& opts);
// --delimiter: the CSV/TSV field delimiter (one character, or 'tab'), for every command
// that finds CSV record ends (convert, split, index, get): a '"' opens a quoted field
// only right after a delimiter, so the ends depend on it.
void add_delimiter_option(CLI::App* app, std::string& value);
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

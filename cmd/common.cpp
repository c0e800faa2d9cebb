#include "common.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>

#include "ingot/io/input.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {

void add_common_options(CLI::App* app, CommonOptions& o, unsigned flags) {
  if (flags & kWithOutput) app->add_option("-o,--output", o.output, "Output file ('-' = stdout)");
  if (flags & kWithThreads) {
    app->add_option("-j,--threads", o.threads, "Worker threads (0 = all cores)")->capture_default_str();
    app->add_option("--chunk-size", o.chunk_size, "Bytes per chunk handed to a worker (K/M/G suffixes)")
        ->capture_default_str();
    app->add_option("--max-record-size", o.max_record_size, "Refuse records longer than this")->capture_default_str();
  }
  if (flags & kWithReport) {
    app->add_flag("-q,--quiet", o.quiet, "No summary on stderr");
    app->add_flag("--json", o.json, "Print a JSON report (stdout, or stderr when data goes to stdout)");
    app->add_flag("--progress", o.progress, "Show progress even when stderr is not a terminal");
    app->add_flag("--no-progress", o.no_progress, "Never show progress");
  }
}

void add_csv_options(CLI::App* app, CommonOptions& o) {
  app->add_flag("--strict-quotes", o.strict_quotes,
                "CSV/TSV: a quote inside an unquoted field or text after a closing quote makes the record invalid");
}

void add_delimiter_option(CLI::App* app, std::string& value) {
  app->add_option("--delimiter", value, "CSV/TSV input delimiter (one character, or 'tab')");
}

char delimiter_option(const std::string& v) {
  if (v == "\\t" || v == "tab" || v == "\t") return '\t';
  if (v.size() != 1 || v[0] == '"' || v[0] == '\n' || v[0] == '\r') {
    throw usage_error("--delimiter must be one character other than a quote or line end (or 'tab')");
  }
  return v[0];
}

std::string renamed_warning(const std::vector<std::string>& renamed) {
  std::string s = "duplicate header names renamed: ";
  for (std::size_t i = 0; i < renamed.size(); ++i) s += (i ? ", " : "") + renamed[i];
  return s;
}

static std::size_t size_option(const std::string& text, const char* name) {
  auto v = parse_size(text);
  if (!v || *v == 0) throw usage_error(std::string("invalid ") + name + ": '" + text + "' (e.g. 4M, 64K, 1G)");
  return static_cast<std::size_t>(*v);
}

ChunkerOptions chunker_options(const CommonOptions& o) {
  ChunkerOptions c;
  c.chunk_size = size_option(o.chunk_size, "--chunk-size");
  c.max_record = size_option(o.max_record_size, "--max-record-size");
  c.strict_quotes = o.strict_quotes;
  return c;
}

PipelineOptions pipeline_options(const CommonOptions& o) {
  PipelineOptions p;
  p.threads = o.threads;
  return p;
}

std::uint64_t known_input_size(const std::string& path) {
  struct stat st;
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
  auto size = capture([&] { return InputFile::open(path).size(); });
  return size ? size.value() : 0;
}

bool progress_wanted(const CommonOptions& o) {
  if (o.no_progress || o.quiet) return false;
  return o.progress || stderr_is_terminal();
}

int fail(const std::string& cmd, const Error& e) {
  std::fprintf(stderr, "ingot %s: error: %s\n", cmd.c_str(), e.message().c_str());
  return exit_code(e.kind());
}

FILE* report_stream(const CommonOptions& o) { return o.output == "-" ? stderr : stdout; }

namespace {
int g_argc = 0;
char** g_argv = nullptr;
}  // namespace

void keep_process_args(int argc, char** argv) {
  g_argc = argc;
  g_argv = argv;
}

bool hide_secret_args(const std::string& cmd, const std::vector<std::string>& values,
                      std::vector<SecretSpan> (*spans)(std::string_view), bool quiet) {
  bool hidden = false;
  for (const std::string& v : values) {
    if (v.empty()) continue;
    const std::vector<SecretSpan> secret = spans(v);
    if (secret.empty()) continue;
    for (int i = 1; i < g_argc; ++i) {
      const std::string_view arg = g_argv[i];
      if (!arg.ends_with(v) || (arg.size() > v.size() && arg[arg.size() - v.size() - 1] != '=')) continue;
      char* base = g_argv[i] + (arg.size() - v.size());
      for (const SecretSpan& s : secret) std::memset(base + s.pos, '*', s.len);
      hidden = true;
    }
  }
  if (hidden && !quiet) {
    std::fprintf(stderr,
                 "ingot %s: warning: a password on the command line is visible to other users (ps) while ingot "
                 "starts; use PGPASSWORD, ~/.pgpass or a service file (PostgreSQL), ~/.netrc (HTTP) or the AWS "
                 "environment (S3) instead: docs/security.md\n",
                 cmd.c_str());
  }
  return hidden;
}

std::string with_commas(std::uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

}  // namespace ingot::cli

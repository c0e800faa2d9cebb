#include "common.h"

#include <sys/stat.h>

#include <charconv>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "ingot/io/input.h"
#include "ingot/util/cleanup.h"
#include "ingot/util/net_traffic.h"
#include "ingot/util/progress.h"
#include "ingot/util/units.h"

namespace ingot::cli {

void add_common_options(CLI::App* app, CommonOptions& o, unsigned flags) {
  if (flags & kWithOutput) app->add_option("-o,--output", o.output, "Output file ('-' = stdout)")->type_name("FILE");
  if (flags & kWithThreads) {
    app->add_option("-j,--threads", o.threads, "Worker threads (0 = all cores)")->type_name("N")->capture_default_str();
    app->add_option("--chunk-size", o.chunk_size, "Bytes per chunk handed to a worker (K/M/G suffixes)")
        ->type_name("SIZE")
        ->capture_default_str();
    app->add_option("--max-record-size", o.max_record_size, "Refuse records longer than this")
        ->type_name("SIZE")
        ->capture_default_str();
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

namespace {

// The --from/--to check: the values parse_record_kind() reads, less plain lines where
// the command does not read them. Its description, "{ndjson,csv,tsv}", is what the man
// pages and completions list (CLI11::IsMember's shape; the other spellings are accepted
// but not advertised).
// `named`: the message names the option itself, for the hidden --kind, whose name CLI11
// leaves out of its errors (main.cpp drops the ": " it leaves instead).
CLI::Validator format_check(bool with_lines, const std::string& named = "") {
  const std::string names = with_lines ? "lines, ndjson, csv or tsv" : "ndjson, csv or tsv";
  const std::string choices = with_lines ? "{lines,ndjson,csv,tsv}" : "{ndjson,csv,tsv}";
  return CLI::Validator(
      [with_lines, names, named](std::string& v) -> std::string {
        auto k = parse_record_kind(v);
        if (k && (with_lines || *k != RecordKind::lines)) return {};
        return (named.empty() ? "" : named + ": ") + "must be " + names + ", not '" + v + "'";
      },
      choices);
}

}  // namespace

void add_from_option(CLI::App* app, std::string& value, const std::string& description, bool with_lines) {
  app->add_option("--from", value, description)->type_name("FORMAT")->check(format_check(with_lines));
  app->add_option("--kind", value, description)
      ->type_name("FORMAT")
      ->check(format_check(with_lines, "--kind"))
      ->group("");
}

void add_to_option(CLI::App* app, std::string& value, const std::string& description) {
  app->add_option("--to", value, description)->type_name("FORMAT")->check(format_check(false));
}

std::optional<RecordKind> format_option(const std::string& v) {
  if (v.empty()) return std::nullopt;
  return parse_record_kind(v);
}

CLI::Option* add_list_option(CLI::App* app, const std::string& name, std::vector<std::string>& values,
                             const std::string& description) {
  return app->add_option(name, values, description)
      ->type_name("LIST")
      ->delimiter(',')
      ->expected(1)
      ->allow_extra_args(false)  // CLI11 lets a vector option take the words after it
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

PartOption part_option(const std::string& v, std::uint64_t max_n) {
  // from_chars, not sscanf: "%llu" takes a sign and spaces, so "3/-8" was N = 2^64-8.
  PartOption p;
  const char* end = v.data() + v.size();
  auto [k_end, k_ec] = std::from_chars(v.data(), end, p.k);
  bool ok = k_ec == std::errc() && k_end != v.data() && k_end < end && *k_end == '/';
  if (ok) {
    auto [n_end, n_ec] = std::from_chars(k_end + 1, end, p.n);
    ok = n_ec == std::errc() && n_end == end && n_end != k_end + 1 && p.k >= 1 && p.k <= p.n && p.n <= max_n;
  }
  if (!ok) {
    const std::string limit = max_n == UINT64_MAX ? "" : " <= " + std::to_string(max_n);
    throw usage_error("--part takes K/N with 1 <= K <= N" + limit + ", e.g. 3/8");
  }
  return p;
}

std::uint64_t size_option(const std::string& text, const char* name, const char* example) {
  auto v = parse_size(text);
  if (!v || *v == 0)
    throw usage_error(std::string("invalid ") + name + ": '" + text + "' (e.g. " + example + ", 64K, 1G)");
  return *v;
}

void add_delimiter_option(CLI::App* app, std::string& value) {
  app->add_option("--delimiter", value, "CSV/TSV input delimiter (one character, or 'tab')")->type_name("DELIM");
}

void add_s3_options(CLI::App* app, std::string& endpoint, std::string& region, std::string& profile, bool& path_style) {
  app->add_option("--endpoint", endpoint,
                  "S3 endpoint URL (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile's endpoint_url, "
                  "else AWS for the region)")
      ->type_name("URL");
  app->add_option("--region", region,
                  "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1)")
      ->type_name("REGION");
  app->add_option("--profile", profile,
                  "AWS profile of ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE, else default)")
      ->type_name("NAME");
  app->add_flag("--path-style", path_style, "Bucket in the URL path (automatic for IP/localhost endpoints)");
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

ChunkerOptions chunker_options(const CommonOptions& o) {
  ChunkerOptions c;
  c.chunk_size = static_cast<std::size_t>(size_option(o.chunk_size, "--chunk-size"));
  c.max_record = static_cast<std::size_t>(size_option(o.max_record_size, "--max-record-size"));
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
  // A signal's thread is ending the run (cleanup.h): the failure it caused is no news.
  if (cleanup::interrupted()) return 130;
  std::fprintf(stderr, "ingot %s: error: %s\n", cmd.c_str(), e.message().c_str());
  return exit_code(e.kind());
}

FILE* report_stream(const CommonOptions& o) { return o.output == "-" ? stderr : stdout; }

namespace {
// The run's network traffic (util/net_traffic.h), in every report of a run that made a
// request: {"requests":N,"bytes_in":N,"bytes_out":N}.
void add_network(nlohmann::json& fields) {
  const net_traffic::Totals t = net_traffic::totals();
  if (t.requests == 0) return;
  fields["network"] = {{"requests", t.requests}, {"bytes_in", t.bytes_in}, {"bytes_out", t.bytes_out}};
}
}  // namespace

void print_ok_report(FILE* out, nlohmann::json fields) {
  fields["status"] = "ok";
  add_network(fields);
  std::fprintf(out, "%s\n", nlohmann::json({{"result", std::move(fields)}}).dump().c_str());
}

int fail_with_report(const std::string& cmd, const Error& e, bool json, FILE* out) {
  const int code = fail(cmd, e);
  if (json) {
    nlohmann::json fields = {{"status", "error"}, {"error", e.message()}, {"exit_code", code}};
    add_network(fields);
    nlohmann::json j = {{"result", std::move(fields)}};
    std::fprintf(out, "%s\n", j.dump().c_str());
  }
  return code;
}

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

// ingot: the command-line shell over the engine. One row per subcommand below. Built
// twice: as `ingot`, whose network rows (and any command naming an s3:// or http(s)://
// input or output) exec the helper, and as `ingot-net` (INGOT_NET_HELPER), which runs
// them (net_helper.h) and registers the reader of remote inputs and the writer of
// remote outputs.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common.h"
#include "net_helper.h"
#include "ingot/io/input.h"
#include "ingot/util/cleanup.h"
#ifdef INGOT_NET_HELPER
#include "ingot/net/remote/remote_source.h"
#include "ingot/net/s3/s3_sink.h"
#endif

namespace ingot::cli {
Runner setup_convert(CLI::App& sub);
Runner setup_split(CLI::App& sub);
Runner setup_merge(CLI::App& sub);
Runner setup_index(CLI::App& sub);
Runner setup_get(CLI::App& sub);
#ifdef INGOT_NET_HELPER
Runner setup_serve(CLI::App& sub);
Runner setup_upload(CLI::App& sub);
Runner setup_ls(CLI::App& sub);
Runner setup_generate(CLI::App& sub);  // hidden: man pages and completions
#define INGOT_NET(setup) setup
#else
#define INGOT_NET(setup) nullptr  // run by ingot-net
#endif
}  // namespace ingot::cli

namespace {

using ingot::cli::Subcommand;

// The subcommand table: adding a command adds a row here and a cmd_<name>.cpp.
const Subcommand kSubcommands[] = {
    {"convert", "Convert NDJSON <-> CSV/TSV with exact valid/invalid counts", ingot::cli::setup_convert},
    {"split", "Cut a file into record-aligned pieces (or plan byte ranges) with a manifest", ingot::cli::setup_split},
    {"merge", "Stitch pieces (or a split manifest) back into one file", ingot::cli::setup_merge},
    {"index", "Build the offset index of every record start of a file (O(1) get/serve)", ingot::cli::setup_index},
    {"get", "Print records N, N-M, N+COUNT or -K of a file (by its index when fresh)", ingot::cli::setup_get},
    {"serve", "Serve records over HTTP from a file and its index (GET /lines/N)", INGOT_NET(ingot::cli::setup_serve)},
    {"upload", "Upload to S3 (resumable multipart), PostgreSQL (exactly-once COPY) or an HTTP NDJSON endpoint",
     INGOT_NET(ingot::cli::setup_upload)},
    {"ls", "List the datasets under s3://bucket/[prefix]", INGOT_NET(ingot::cli::setup_ls)},
    {"generate", "Write the man pages and shell completions (maintainers)", INGOT_NET(ingot::cli::setup_generate)},
};

// Edits between two words (Levenshtein), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

const Subcommand* find_subcommand(std::string_view name) {
  for (const Subcommand& s : kSubcommands) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

// "ingot: error: unknown command 'conver' (did you mean 'convert'?)": the nearest
// command (or --help/--version, for `ingot version`) within two edits, or a prefix of
// one; exit 2.
int unknown_command(std::string_view word) {
  std::vector<std::string> candidates = {"help", "--help", "--version"};
  for (const Subcommand& s : kSubcommands) {
    if (std::string_view(s.name) != "generate") candidates.push_back(s.name);  // hidden
  }
  std::string best;
  std::size_t best_distance = 3;
  for (const std::string& c : candidates) {
    const std::string_view bare = std::string_view(c).substr(c.find_first_not_of('-'));
    const std::size_t d = word.size() >= 2 && bare.starts_with(word) ? 1 : edit_distance(word, bare);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  const std::string hint = best.empty() ? "see 'ingot --help'" : "did you mean '" + best + "'?";
  std::fprintf(stderr, "ingot: error: unknown command '%.*s' (%s)\n", static_cast<int>(word.size()), word.data(),
               hint.c_str());
  return ingot::cli::kUsage;
}

// CLI11's own parse errors in the house format: one line, "ingot CMD: error: ...".
int parse_error(const std::string& cmd, const CLI::ParseError& e) {
  std::string what = e.what();
  std::replace(what.begin(), what.end(), '\n', ' ');
  if (what == "A subcommand is required") what = "a command is required";
  if (what.starts_with(": ")) what.erase(0, 2);  // a hidden option's (--kind's) error: its name is in the rest
  const std::string help = cmd.empty() ? "ingot --help" : "ingot " + cmd + " --help";
  std::fprintf(stderr, "ingot%s%s: error: %s (see '%s')\n", cmd.empty() ? "" : " ", cmd.c_str(), what.c_str(),
               help.c_str());
  return ingot::cli::kUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args(argv, argv + argc);
  // `ingot help CMD` is `ingot CMD --help` (`ingot help`: `ingot --help`).
  char help_flag[] = "--help";
  if (args.size() >= 2 && std::string_view(args[1]) == "help") {
    if (args.size() >= 3 && args[2][0] != '-' && !find_subcommand(args[2])) return unknown_command(args[2]);
    if (args.size() >= 3 && find_subcommand(args[2])) {
      args = {args[0], args[2], help_flag};
    } else {
      args = {args[0], help_flag};
    }
  }
  const int nargs = static_cast<int>(args.size());
  args.push_back(nullptr);
  std::string_view first = nargs > 1 ? args[1] : "";
  const Subcommand* named = find_subcommand(first);
  if (!first.empty() && first[0] != '-' && !named) return unknown_command(first);
  if (first.size() > 1 && first[0] == '-' && first != "-h" && first != "--help" && first != "-V" &&
      first != "--version") {
    // Before CLI11, whose first complaint would be the missing command.
    std::fprintf(stderr, "ingot: error: unknown option '%s' (see 'ingot --help')\n", args[1]);
    return ingot::cli::kUsage;
  }
#ifndef INGOT_NET_HELPER
  // "-o s3://b/k" and "--output=s3://b/k" alike.
  const bool names_remote = std::any_of(args.begin() + 1, args.begin() + nargs, [](const char* a) {
    const char* eq = a[0] == '-' && a[1] == '-' ? std::strchr(a, '=') : nullptr;
    return ingot::is_remote_path(a) || (eq && ingot::is_remote_path(eq + 1));
  });
  if (named && (!named->setup || names_remote)) return ingot::cli::exec_net_helper(named->name, args.data());
#else
  ingot::set_remote_opener(&ingot::remote::open);
  ingot::set_remote_outputs(
      {&ingot::s3::open_sink, &ingot::s3::stat_object, &ingot::s3::remove_object, &ingot::s3::read_range});
  // Commands writing files (maybe s3:// ones; index and get --reindex: an index beside
  // its object): a signal aborts their multipart uploads, which takes requests, so it
  // is handled by a thread. upload keeps its parts on a signal (resumable) and serve
  // stops itself.
  if (named && (first == "convert" || first == "split" || first == "merge" || first == "index" || first == "get"))
    ingot::cleanup::handle_signals_in_thread(&ingot::s3::abort_open_uploads);
#endif
  ingot::cleanup::install_signal_handlers();
  ingot::cli::keep_process_args(nargs, args.data());
  CLI::App app{"ingot: convert, split, index and ship files too big for memory", "ingot"};
  app.set_version_flag("-V,--version", std::string("ingot ") + INGOT_VERSION);
  app.footer("'ingot help COMMAND' (or 'ingot COMMAND --help') shows a command's options.");
  app.require_subcommand(1);
  // When argv[1] names a subcommand, only its options are declared: declaring every
  // subcommand's took a third of the start-up of `ingot get`. `generate` reads them all.
  const bool only_first = named && first != "generate";
  std::map<CLI::App*, ingot::cli::Runner> runners;
  for (const Subcommand& s : kSubcommands) {
    CLI::App* sub = app.add_subcommand(s.name, s.summary);
    if (std::string_view(s.name) == "generate") sub->group("");  // hidden: a tool for maintainers
    if (s.setup && (!only_first || first == s.name)) runners[sub] = s.setup(*sub);
  }
  try {
    app.parse(nargs, args.data());
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return parse_error(named ? named->name : "", e);
  }
  try {
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
  } catch (const ingot::BrokenPipe&) {
    return ingot::cli::kOk;  // `ingot ... | head`: the reader has what it wanted
  }
  return ingot::cli::kUsage;
}

// ingot: the command-line shell over the engine. One row per subcommand below. Built
// twice: as `ingot`, whose network rows exec the helper, and as `ingot-net`
// (INGOT_NET_HELPER), which runs them (net_helper.h).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <string_view>
#include <map>

#include "common.h"
#include "net_helper.h"
#include "ingot/util/cleanup.h"

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
    {"upload", "Upload to S3 (resumable multipart), PostgreSQL (exactly-once COPY) or an HTTP NDJSON endpoint", INGOT_NET(ingot::cli::setup_upload)},
    {"ls", "List the datasets under s3://bucket/[prefix]", INGOT_NET(ingot::cli::setup_ls)},
    {"generate", "Write the man pages and shell completions (maintainers)", INGOT_NET(ingot::cli::setup_generate)},
};

}  // namespace

int main(int argc, char** argv) {
  std::string_view first = argc > 1 ? argv[1] : "";
  for (const Subcommand& s : kSubcommands) {
    if (first == s.name && !s.setup) return ingot::cli::exec_net_helper(s.name, argv);
  }
  ingot::cleanup::install_signal_handlers();
  ingot::cli::keep_process_args(argc, argv);
  CLI::App app{"ingot: convert, split, index and ship files too big for memory", "ingot"};
  app.set_version_flag("--version", std::string("ingot ") + INGOT_VERSION);
  app.require_subcommand(1);
  // When argv[1] names a subcommand, only its options are declared: declaring every
  // subcommand's took a third of the start-up of `ingot get`. `generate` reads them all.
  bool only_first = first != "generate" &&
                    std::any_of(std::begin(kSubcommands), std::end(kSubcommands),
                                [&](const Subcommand& s) { return first == s.name; });
  std::map<CLI::App*, ingot::cli::Runner> runners;
  for (const Subcommand& s : kSubcommands) {
    CLI::App* sub = app.add_subcommand(s.name, s.summary);
    if (std::string_view(s.name) == "generate") sub->group("");  // hidden: a tool for maintainers
    if (s.setup && (!only_first || first == s.name)) runners[sub] = s.setup(*sub);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return ingot::cli::kUsage;
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

// The man pages and completions stay generated from the options: every option of every
// subcommand (as `ingot CMD --help` lists it) is in its man page and in the bash, zsh
// and fish completions, and the committed man/ and completions/ are exactly what
// `ingot generate` writes now. Fix a failure with scripts/generate-docs.sh.
#include <cstdlib>
#include <map>
#include <set>

#include "cli.h"

using namespace ingot_test;

namespace {

const fs::path kSource = INGOT_SOURCE_DIR;
const char* const kRegenerate = "run scripts/generate-docs.sh and commit man/ and completions/";

bool has_program(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command line in dir; stdout and stderr are captured.
// The subcommands `ingot --help` lists (the hidden `generate` is not among them).
std::vector<std::string> subcommands(const TempDir& dir) {
  RunResult r = run_ingot(dir, "--help");
  REQUIRE(r.code == 0);
  std::vector<std::string> names;
  bool in_list = false;
  for (const std::string& line : lines_of(r.out)) {
    if (line.rfind("Subcommands:", 0) == 0) {
      in_list = true;
    } else if (in_list && line.rfind("  ", 0) == 0) {
      std::istringstream ss(line);
      std::string name;
      ss >> name;
      names.push_back(name);
    } else if (in_list && !line.empty()) {
      in_list = false;
    }
  }
  REQUIRE(names.size() >= 6);
  return names;
}

// Every option name ("-o", "--output") that `ingot CMD --help` shows.
std::vector<std::string> help_options(const TempDir& dir, const std::string& cmd) {
  RunResult r = run_ingot(dir, cmd + " --help");
  REQUIRE(r.code == 0);
  std::vector<std::string> names;
  for (const std::string& line : lines_of(r.out)) {
    if (line.rfind("  -", 0) != 0) continue;
    std::istringstream ss(line);
    std::string spec;
    ss >> spec;  // "-o,--output"
    std::stringstream parts(spec);
    for (std::string n; std::getline(parts, n, ',');) names.push_back(n);
  }
  return names;
}

std::string roff_name(const std::string& option) {
  std::string r;
  for (char c : option) r += c == '-' ? std::string("\\-") : std::string(1, c);
  return r;
}

// The text after the first `start` up to the next `end` ("" when absent).
std::string block(const std::string& text, const std::string& start, const std::string& end) {
  std::size_t b = text.find(start);
  if (b == std::string::npos) return {};
  b += start.size();
  std::size_t e = text.find(end, b);
  return text.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

std::set<std::string> words(const std::string& s) {
  std::set<std::string> w;
  std::istringstream ss(s);
  for (std::string x; ss >> x;) w.insert(x);
  return w;
}

std::map<std::string, std::string> files_in(const fs::path& dir, const std::string& suffix) {
  std::map<std::string, std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      files[name] = read_file(e.path());
    }
  }
  return files;
}

std::string first_difference(const std::string& a, const std::string& b) {
  auto la = lines_of(a), lb = lines_of(b);
  for (std::size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    std::string x = i < la.size() ? la[i] : "<end of file>", y = i < lb.size() ? lb[i] : "<end of file>";
    if (x != y) return "line " + std::to_string(i + 1) + ":\n  committed: " + x + "\n  generated: " + y;
  }
  return "same lines, different line ends";
}

}  // namespace

TEST_CASE("docs: the committed man pages and completions are what 'ingot generate' writes now", "[cli][docs]") {
  TempDir dir;
  RunResult r = run_ingot(dir, "generate all --out gen --prose " + shell_quote((kSource / "man" / "prose").string()));
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(r.err.empty());  // no warning, e.g. about a subcommand without prose

  const auto generated_man = files_in(dir / "gen" / "man", ".1");
  const auto committed_man = files_in(kSource / "man", ".1");
  REQUIRE(generated_man.size() >= 7);
  for (const auto& [name, text] : generated_man) {
    INFO("man/" << name << ": " << kRegenerate);
    auto it = committed_man.find(name);
    REQUIRE(it != committed_man.end());
    INFO(first_difference(it->second, text));
    CHECK(it->second == text);
  }
  for (const auto& [name, text] : committed_man) {
    INFO("man/" << name << " is not generated any more (a removed subcommand?): " << kRegenerate);
    CHECK(generated_man.count(name) == 1);
  }
  for (const std::string name : {"ingot.bash", "_ingot", "ingot.fish"}) {
    INFO("completions/" << name << ": " << kRegenerate);
    REQUIRE(fs::exists(kSource / "completions" / name));
    const std::string committed = read_file(kSource / "completions" / name);
    const std::string generated = read_file(dir / "gen" / "completions" / name);
    INFO(first_difference(committed, generated));
    CHECK(committed == generated);
  }
}

TEST_CASE("docs: every option of every subcommand is in --help, its man page and the bash, zsh and fish completions",
          "[cli][docs]") {
  TempDir dir;
  const std::string overview = read_file(kSource / "man" / "ingot.1");
  const std::string bash = read_file(kSource / "completions" / "ingot.bash");
  const std::string zsh = read_file(kSource / "completions" / "_ingot");
  const std::string fish = read_file(kSource / "completions" / "ingot.fish");
  const std::set<std::string> bash_commands = words(block(bash, "compgen -W '", "'"));

  for (const std::string& cmd : subcommands(dir)) {
    INFO("subcommand " << cmd << ": " << kRegenerate);
    REQUIRE(cmd != "generate");
    const std::string page = read_file(kSource / "man" / ("ingot-" + cmd + ".1"));
    REQUIRE(!page.empty());
    CHECK(overview.find(".BR ingot\\-" + roff_name(cmd) + " (1)") != std::string::npos);
    CHECK(bash_commands.count(cmd) == 1);
    CHECK(zsh.find("\n    '" + cmd + ":") != std::string::npos);
    CHECK(fish.find("__fish_use_subcommand -f -a " + cmd + " ") != std::string::npos);

    const std::string man_options = block(page, "\n.SH OPTIONS\n", "\n.SH ");
    const std::set<std::string> bash_options =
        words(block(block(bash, "\n    " + cmd + ")\n", "      ;;"), "opts='", "'"));
    const std::string zsh_block = block(zsh, "\n        " + cmd + ")\n", "          ;;");
    std::string fish_lines;
    for (const std::string& line : lines_of(fish)) {
      if (line.find("'__fish_seen_subcommand_from " + cmd + "'") != std::string::npos) fish_lines += line + "\n";
    }
    const auto options = help_options(dir, cmd);
    REQUIRE(options.size() >= 2);  // at least -h,--help
    for (const std::string& opt : options) {
      INFO("option " << opt);
      const bool is_long = opt.rfind("--", 0) == 0;
      CHECK(man_options.find("\\fB" + roff_name(opt) + "\\fR") != std::string::npos);
      CHECK(bash_options.count(opt) == 1);
      CHECK((zsh_block.find(opt + "[") != std::string::npos || zsh_block.find(opt + "=[") != std::string::npos));
      const std::string fish_flag = is_long ? " -l " + opt.substr(2) + " " : " -s " + opt.substr(1) + " ";
      CHECK(fish_lines.find(fish_flag) != std::string::npos);
    }
    // And the other way: every option the man page documents (generate walks the CLI11
    // definitions) is shown by --help.
    const std::set<std::string> in_help(options.begin(), options.end());
    for (const std::string& line : lines_of(man_options)) {
      if (line.rfind("\\fB", 0) != 0) continue;
      for (std::size_t b = line.find("\\fB"); b != std::string::npos; b = line.find("\\fB", b + 1)) {
        std::size_t e = line.find("\\fR", b);
        std::string name = line.substr(b + 3, e - b - 3);
        for (std::size_t p = name.find("\\-"); p != std::string::npos; p = name.find("\\-", p)) name.erase(p, 1);
        INFO("man page option " << name << " is not in 'ingot " << cmd << " --help'");
        CHECK(in_help.count(name) == 1);
      }
    }
  }
}

TEST_CASE("docs: 'ingot generate' is hidden from --help and refuses a missing prose directory", "[cli][docs]") {
  TempDir dir;
  RunResult help = run_ingot(dir, "--help");
  CHECK(help.out.find("generate") == std::string::npos);
  RunResult r = run_ingot(dir, "generate man --out gen --prose no-such-dir");
  CHECK(r.code == 2);
  CHECK(r.err.find("no-such-dir") != std::string::npos);
  CHECK(!fs::exists(dir / "gen" / "man" / "ingot.1"));
  RunResult bad = run_ingot(dir, "generate manpages --out gen");
  CHECK(bad.code == 2);
}

TEST_CASE("docs: every man page renders without groff warnings", "[cli][docs]") {
  if (!has_program("groff") || !has_program("man")) {
    WARN("groff or man not installed (apt-get install man-db groff-base): man pages not rendered");
    return;
  }
  TempDir dir;
  const auto pages = files_in(kSource / "man", ".1");
  REQUIRE(!pages.empty());
  for (const auto& [name, text] : pages) {
    INFO("man/" << name);
    const std::string path = shell_quote((kSource / "man" / name).string());
    RunResult warnings = run_sh(dir, "groff -man -Tutf8 -ww -z " + path);
    CHECK(warnings.code == 0);
    CHECK(warnings.err.empty());
    RunResult shown = run_sh(dir, "MANWIDTH=100 MANPAGER=cat PAGER=cat man -l " + path);
    CHECK(shown.code == 0);
    CHECK(shown.out.find("SYNOPSIS") != std::string::npos);
    CHECK(shown.out.find("EXIT STATUS") != std::string::npos);
    CHECK(shown.out.find("EXAMPLES") != std::string::npos);
  }
  // Options copy and paste as ASCII: '\-' must render as '-', not as a Unicode dash.
  RunResult convert =
      run_sh(dir, "MANWIDTH=100 MANPAGER=cat man -l " + shell_quote((kSource / "man" / "ingot-convert.1").string()));
  CHECK(convert.out.find("--rejects") != std::string::npos);
}

TEST_CASE("docs: the completion files are valid bash, zsh and fish", "[cli][docs]") {
  TempDir dir;
  const std::string completions = (kSource / "completions").string();
  RunResult b = run_sh(dir, "bash -n " + shell_quote(completions + "/ingot.bash"));
  INFO(b.err);
  CHECK(b.code == 0);
  if (has_program("zsh")) {
    RunResult z = run_sh(dir, "zsh -n " + shell_quote(completions + "/_ingot"));
    INFO(z.err);
    CHECK(z.code == 0);
  } else {
    WARN("zsh not installed: completions/_ingot not checked");
  }
  if (has_program("fish")) {
    RunResult f = run_sh(dir, "fish --no-execute " + shell_quote(completions + "/ingot.fish"));
    INFO(f.err);
    CHECK(f.code == 0);
  } else {
    WARN("fish not installed: completions/ingot.fish not checked");
  }
}

TEST_CASE("docs: bash and fish completions complete subcommands, options and option values", "[cli][docs]") {
  TempDir dir;
  const std::string bash_file = shell_quote((kSource / "completions" / "ingot.bash").string());
  // Runs _ingot on a command line whose last word is being completed.
  auto complete_bash = [&](const std::string& words) {
    RunResult r = run_sh(dir, "bash -c 'source " + bash_file + "; COMP_WORDS=(" + words +
                                  "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _ingot; ((${#COMPREPLY[@]})) && printf "
                                  "\"%s\\n\" \"${COMPREPLY[@]}\"; true'");
    INFO(r.err);
    return r.out;
  };
  CHECK(complete_bash("ingot conv") == "convert\n");
  CHECK(complete_bash("ingot convert --sch").find("--schema\n") != std::string::npos);
  CHECK(complete_bash("ingot convert --types \"\"") == "auto\nstring\n");
  CHECK(complete_bash("ingot get in.csv 1 --from n") == "ndjson\n");
  CHECK(complete_bash("ingot convert --on-error =") == "skip\nfail\n");  // --on-error=<TAB>
  CHECK(complete_bash("ingot convert --on-error = f") == "fail\n");      // --on-error=f<TAB>
  write_file(dir / "events.ndjson", "{}\n");
  CHECK(complete_bash("ingot convert ev") == "events.ndjson\n");
  CHECK(complete_bash("ingot convert -j \"\"").empty());  // a number: no file names

  if (has_program("fish")) {
    const std::string fish_file = shell_quote((kSource / "completions" / "ingot.fish").string());
    RunResult f =
        run_sh(dir, "fish -c 'source " + fish_file + "; complete -C\"ingot convert --ty\"; complete -C\"ingot sp\"'");
    INFO(f.err);
    CHECK(f.out.find("--types") != std::string::npos);
    CHECK(f.out.find("split") != std::string::npos);
  }
}

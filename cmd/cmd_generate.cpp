// ingot generate (hidden): writes the man pages and the bash/zsh/fish completions from
// the CLI11 definitions of every registered subcommand, so they cannot drift from the
// options. Hand-written prose (EXIT STATUS, EXAMPLES, ...) comes from man/prose/*.md.
// Run it through scripts/generate-docs.sh; tests/cli/test_docs.cpp checks the result.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common.h"
#include "ingot/io/output.h"

namespace ingot::cli {
namespace {

namespace fs = std::filesystem;

// ---- the model: what CLI11 knows about a command, in a shape the writers share ----

struct OptionDoc {
  std::vector<std::string> shorts;   // "-o"
  std::vector<std::string> longs;    // "--output"
  std::string positional;            // "input" for a positional argument, else empty
  std::string metavar;               // FILE, N, SIZE, ...; empty for a flag
  std::vector<std::string> choices;  // from CLI::IsMember
  std::string constraint;            // other validator text, e.g. "INT in [1 - 1000]"
  std::string default_value;
  std::string description;
  bool required = false;
  bool repeatable = false;  // takes any number of values (vector option or positional)
  bool is_flag() const { return positional.empty() && metavar.empty(); }
  bool wants_file() const;  // complete file names for its value
};

struct CommandDoc {
  std::string name, summary;
  std::vector<OptionDoc> positionals, options;
};

// The placeholder of an option's value, as the option declares it where it is added
// (->type_name("FILE"), cmd/common.h). CLI11's own type names (TEXT, UINT, ...) mean
// that it declares none: refused, so that no option reaches the docs as "VALUE".
std::string declared_placeholder(const CLI::Option* opt, const std::string& type, const std::string& where) {
  static const char* const kCli11Types[] = {"TEXT", "INT",  "UINT",   "FLOAT",      "BOOLEAN",
                                            "CHAR", "ENUM", "NUMBER", "NONNEGATIVE"};
  if (type.empty() || std::find(std::begin(kCli11Types), std::end(kCli11Types), type) != std::end(kCli11Types)) {
    throw usage_error(where + " " + opt->get_name() +
                      " declares no placeholder: add ->type_name(\"FILE\") (or SIZE, N, ...) where it is added");
  }
  return type;
}

bool OptionDoc::wants_file() const {
  if (!choices.empty()) return false;
  return metavar == "FILE" || metavar == "DIR" || metavar == "PREFIX" || metavar == "PATH";
}

// `where`: the command, for the error about an option without a placeholder.
OptionDoc describe(const CLI::Option* opt, const std::string& where) {
  OptionDoc o;
  for (const auto& s : opt->get_snames()) o.shorts.push_back("-" + s);
  for (const auto& l : opt->get_lnames()) o.longs.push_back("--" + l);
  if (!opt->nonpositional()) o.positional = opt->get_name(true);
  o.description = opt->get_description();
  o.default_value = opt->get_default_str();
  o.required = opt->get_required();
  o.repeatable = opt->get_expected_max() > 1 || opt->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
  if (opt->get_expected_max() != 0 && opt->get_type_size() != 0) {  // not a flag
    // get_type_name() is "TYPE" or "TYPE:validator:validator".
    std::string full = opt->get_type_name(), type = full.substr(0, full.find(':'));
    for (std::size_t at = full.find(':'); at != std::string::npos;) {
      std::size_t next = full.find(':', at + 1);
      std::string v = full.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
      if (v.size() >= 2 && v.front() == '{' && v.back() == '}') {
        std::stringstream ss(v.substr(1, v.size() - 2));
        for (std::string c; std::getline(ss, c, ',');) o.choices.push_back(c);
      } else if (!v.empty()) {
        o.constraint = v;
      }
      at = next;
    }
    o.metavar = o.choices.empty() ? declared_placeholder(opt, type, where) : "WORD";
  }
  return o;
}

std::vector<OptionDoc> describe_all(const CLI::App& app, bool positionals) {
  std::vector<OptionDoc> out;
  const std::string where = app.get_parent() ? "ingot " + app.get_name() : "ingot";
  for (const CLI::Option* opt : app.get_options({})) {
    if (opt->get_group().empty()) continue;  // hidden
    if (opt->nonpositional() == positionals) continue;
    out.push_back(describe(opt, where));
  }
  return out;
}

std::vector<CommandDoc> describe_commands(CLI::App& root) {
  std::vector<CommandDoc> cmds;
  for (CLI::App* sub : root.get_subcommands({})) {
    if (sub->get_group().empty()) continue;  // hidden, like generate itself
    CommandDoc c;
    c.name = sub->get_name();
    c.summary = sub->get_description();
    c.positionals = describe_all(*sub, true);
    c.options = describe_all(*sub, false);
    cmds.push_back(std::move(c));
  }
  return cmds;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

// ---- roff ----

// Escapes text for roff: backslashes, and '-' as \- so options copy and paste as ASCII.
std::string roff_escape(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '\\')
      r += "\\e";
    else if (c == '-')
      r += "\\-";
    else
      r += c;
  }
  return r;
}

// A text line must not start with a control character ('.' or '\'').
std::string roff_line(const std::string& s) { return (!s.empty() && (s[0] == '.' || s[0] == '\'')) ? "\\&" + s : s; }

// Inline markup of the prose: `code` -> bold, *word* -> italic; everything else escaped.
std::string roff_inline(const std::string& s) {
  std::string r;
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    std::size_t close = (c == '`' || c == '*') ? s.find(c, i + 1) : std::string::npos;
    if (close != std::string::npos && close > i + 1) {
      r += (c == '`' ? "\\fB" : "\\fI") + roff_escape(s.substr(i + 1, close - i - 1)) + "\\fR";
      i = close + 1;
    } else {
      r += roff_escape(std::string(1, c));
      ++i;
    }
  }
  return roff_line(r);
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// A section of hand-written prose: "# TITLE" and its body lines.
struct ProseSection {
  std::string title;
  std::vector<std::string> lines;
};

// The prose files use a small Markdown subset that reads well as plain text:
// "# SECTION", paragraphs, ``` blocks, "- " bullets, and "term\n:   definition".
std::vector<ProseSection> read_prose(const fs::path& file) {
  std::vector<ProseSection> out;
  std::ifstream in(file);
  if (!in) return out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# ", 0) == 0) {
      out.push_back({trim(line.substr(2)), {}});
    } else if (!out.empty()) {
      out.back().lines.push_back(line);
    }
  }
  return out;
}

std::string render_prose(const std::vector<std::string>& lines) {
  std::string r;
  enum { none, para, bullet, def } open = none;
  bool code = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.rfind("```", 0) == 0) {
      r += code ? ".fi\n.RE\n" : ".PP\n.RS 4\n.nf\n";
      code = !code;
      open = none;
      continue;
    }
    if (code) {
      r += roff_line(roff_escape(line)) + "\n";
      continue;
    }
    std::string t = trim(line);
    if (t.empty()) {
      if (open != def) open = none;
      continue;
    }
    if (t.rfind("- ", 0) == 0) {
      r += ".IP \\(bu 2\n" + roff_inline(trim(t.substr(2))) + "\n";
      open = bullet;
    } else if (t.rfind(": ", 0) == 0) {
      r += roff_inline(trim(t.substr(2))) + "\n";
      open = def;
    } else if (i + 1 < lines.size() && trim(lines[i + 1]).rfind(": ", 0) == 0) {
      r += ".TP\n" + roff_inline(t) + "\n";
      open = def;
    } else if (open == none || (open == def && trim(lines[i - 1]).empty())) {
      r += ".PP\n" + roff_inline(t) + "\n";
      open = para;
    } else {
      r += roff_inline(t) + "\n";  // continues the paragraph, bullet or definition
    }
  }
  if (code) r += ".fi\n.RE\n";
  return r;
}

std::string option_label(const OptionDoc& o) {
  std::string names;
  for (const auto& n : o.shorts) names += (names.empty() ? "" : ", ") + std::string("\\fB") + roff_escape(n) + "\\fR";
  for (const auto& n : o.longs) names += (names.empty() ? "" : ", ") + std::string("\\fB") + roff_escape(n) + "\\fR";
  if (!o.choices.empty()) {
    std::string alts;
    for (const auto& c : o.choices) alts += (alts.empty() ? "" : "|") + std::string("\\fI") + roff_escape(c) + "\\fR";
    names += " " + alts;
  } else if (!o.metavar.empty()) {
    names += " \\fI" + roff_escape(o.metavar) + "\\fR";
  }
  return names;
}

std::string option_text(const OptionDoc& o) {
  std::string d = o.description;
  if (!d.empty() && d.back() != '.') d += ".";
  if (!o.constraint.empty()) d += " Range: " + o.constraint + ".";
  if (!o.default_value.empty()) d += " Default: " + o.default_value + ".";
  if (o.repeatable && o.positional.empty() && d.find("repeatable") == std::string::npos)
    d += " May be given more than once.";
  return roff_line(roff_escape(d));
}

std::string synopsis_arg(const OptionDoc& p) {
  std::string s = "\\fI" + roff_escape(upper(p.positional)) + "\\fR" + (p.repeatable ? "..." : "");
  return p.required ? s : "[" + s + "]";
}

std::string th(const std::string& title, const std::string& version) {
  // .nh: no hyphenation, so words and options copy and paste as they are.
  return ".TH " + roff_escape(upper(title)) + " 1 \"\" \"ingot " + version + "\" \"ingot manual\"\n.nh\n";
}

const char* const kGeneratedNote =
    ".\\\" Generated by 'ingot generate man' from the CLI definitions and man/prose/.\n"
    ".\\\" Do not edit: change the options or the prose, then run scripts/generate-docs.sh.\n";

std::string man_command(const CommandDoc& c, const std::vector<ProseSection>& prose, const std::string& version) {
  std::string r = kGeneratedNote + th("ingot-" + c.name, version);
  r += ".SH NAME\ningot\\-" + roff_escape(c.name) + " \\- " + roff_escape(c.summary) + "\n";
  r += ".SH SYNOPSIS\n.B ingot " + roff_escape(c.name) + "\n[\\fIOPTIONS\\fR]";
  for (const auto& p : c.positionals) r += " " + synopsis_arg(p);
  r += "\n.SH DESCRIPTION\n" + roff_line(roff_escape(c.summary)) + ".\n";
  for (const auto& s : prose) {
    if (s.title == "DESCRIPTION") r += render_prose(s.lines);
  }
  if (!c.positionals.empty()) {
    r += ".SH ARGUMENTS\n";
    for (const auto& p : c.positionals) r += ".TP\n" + synopsis_arg(p) + "\n" + option_text(p) + "\n";
  }
  r += ".SH OPTIONS\n";
  for (const auto& o : c.options) r += ".TP\n" + option_label(o) + "\n" + option_text(o) + "\n";
  std::string see_also;
  for (const auto& s : prose) {
    if (s.title == "DESCRIPTION") continue;
    if (s.title == "SEE ALSO") {
      see_also = render_prose(s.lines);
      continue;
    }
    r += ".SH " + roff_escape(s.title) + "\n" + render_prose(s.lines);
  }
  r += ".SH SEE ALSO\n.BR ingot (1)\n" + see_also;
  return r;
}

std::string man_overview(const std::vector<CommandDoc>& cmds, const std::vector<OptionDoc>& common,
                         const std::vector<OptionDoc>& global, const std::vector<ProseSection>& prose,
                         const std::string& summary, const std::string& version) {
  std::string r = kGeneratedNote + th("ingot", version);
  std::string desc = summary.substr(summary.find(": ") == std::string::npos ? 0 : summary.find(": ") + 2);
  r += ".SH NAME\ningot \\- " + roff_escape(desc) + "\n";
  r += ".SH SYNOPSIS\n.B ingot\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGUMENTS\\fR]\n.br\n.B ingot \\-\\-help\n.br\n"
       ".B ingot \\-\\-version\n.br\n.B ingot help\n\\fICOMMAND\\fR\n";
  r += ".SH DESCRIPTION\n";
  for (const auto& s : prose) {
    if (s.title == "DESCRIPTION") r += render_prose(s.lines);
  }
  r += ".SH COMMANDS\n";
  for (const auto& c : cmds) {
    r += ".TP\n.BR ingot\\-" + roff_escape(c.name) + " (1)\n" + roff_line(roff_escape(c.summary)) + ".\n";
  }
  r += ".SH OPTIONS\n";
  for (const auto& o : global) r += ".TP\n" + option_label(o) + "\n" + option_text(o) + "\n";
  r += ".SH COMMON OPTIONS\n.PP\nWorded the same in every command that has them "
       "(see each command's page for which it takes):\n";
  for (const auto& o : common) r += ".TP\n" + option_label(o) + "\n" + option_text(o) + "\n";
  for (const auto& s : prose) {
    if (s.title == "DESCRIPTION" || s.title == "SEE ALSO") continue;
    r += ".SH " + roff_escape(s.title) + "\n" + render_prose(s.lines);
  }
  r += ".SH SEE ALSO\n";
  for (std::size_t i = 0; i < cmds.size(); ++i) {
    r += ".BR ingot\\-" + roff_escape(cmds[i].name) + " (1)" + (i + 1 < cmds.size() ? "," : "") + "\n";
  }
  for (const auto& s : prose) {
    if (s.title == "SEE ALSO") r += render_prose(s.lines);
  }
  return r;
}

// ---- completions ----

// Single-quoted for sh, bash, zsh and fish alike ('\'' closes, escapes, reopens).
std::string sq(const std::string& s) {
  std::string r = "'";
  for (char c : s) r += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return r + "'";
}

// fish: inside single quotes only \\ and \' are escapes.
std::string fish_sq(const std::string& s) {
  std::string r = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') r += '\\';
    r += c;
  }
  return r + "'";
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string r;
  for (const auto& s : v) r += (r.empty() ? "" : sep) + s;
  return r;
}

std::vector<std::string> names_of(const OptionDoc& o) {
  std::vector<std::string> n = o.shorts;
  n.insert(n.end(), o.longs.begin(), o.longs.end());
  return n;
}

// `ingot help COMMAND` (main.cpp) is no CLI11 subcommand: the completions add it.
const char* const kHelpSummary = "Show the options of a command (as COMMAND --help does)";

std::vector<std::string> command_names(const std::vector<CommandDoc>& cmds) {
  std::vector<std::string> names;
  for (const auto& c : cmds) names.push_back(c.name);
  return names;
}

std::string bash_completion(const std::vector<CommandDoc>& cmds, const std::vector<OptionDoc>& global) {
  std::vector<std::string> top = command_names(cmds);
  top.push_back("help");
  for (const auto& o : global) {
    auto n = names_of(o);
    top.insert(top.end(), n.begin(), n.end());
  }
  std::string r =
      "# bash completion for ingot\n"
      "# Generated by 'ingot generate completions' from the CLI definitions; do not edit.\n"
      "# Regenerate with scripts/generate-docs.sh.\n"
      "_ingot() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= i\n"
      "  # --opt=value: readline splits at '=' (COMP_WORDBREAKS)\n"
      "  if [[ $cur == = ]]; then\n"
      "    cur=\n"
      "  elif [[ $prev == = ]]; then\n"
      "    prev=${COMP_WORDS[COMP_CWORD-2]}\n"
      "  fi\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in\n"
      "      -*) ;;\n"
      "      *) cmd=${COMP_WORDS[i]}; break ;;\n"
      "    esac\n"
      "  done\n"
      "  if [[ -z $cmd ]]; then\n"
      "    mapfile -t COMPREPLY < <(compgen -W " +
      sq(join(top, " ")) +
      " -- \"$cur\")\n"
      "    return\n"
      "  fi\n"
      "  local opts=\n"
      "  case $cmd in\n"
      "    help)\n"
      "      mapfile -t COMPREPLY < <(compgen -W " +
      sq(join(command_names(cmds), " ")) +
      " -- \"$cur\")\n"
      "      return ;;\n";
  for (const auto& c : cmds) {
    std::vector<std::string> all;
    std::string value_cases;
    std::vector<std::string> file_opts, plain_opts;
    for (const auto& o : c.options) {
      auto n = names_of(o);
      all.insert(all.end(), n.begin(), n.end());
      if (o.is_flag()) continue;
      if (!o.choices.empty()) {
        value_cases += "        " + join(n, "|") + ")\n          mapfile -t COMPREPLY < <(compgen -W " +
                       sq(join(o.choices, " ")) + " -- \"$cur\")\n          return ;;\n";
      } else if (o.wants_file()) {
        file_opts.insert(file_opts.end(), n.begin(), n.end());
      } else {
        plain_opts.insert(plain_opts.end(), n.begin(), n.end());
      }
    }
    if (!file_opts.empty()) {
      value_cases += "        " + join(file_opts, "|") +
                     ")\n          mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n          return ;;\n";
    }
    if (!plain_opts.empty()) value_cases += "        " + join(plain_opts, "|") + ")\n          return ;;\n";
    r += "    " + c.name + ")\n      opts=" + sq(join(all, " ")) + "\n";
    if (!value_cases.empty()) r += "      case $prev in\n" + value_cases + "      esac\n";
    r += "      ;;\n";
  }
  r += "    *) return ;;\n"
       "  esac\n"
       "  if [[ $cur == -* ]]; then\n"
       "    mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
       "  else\n"
       "    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
       "  fi\n"
       "}\n"
       "complete -o filenames -F _ingot ingot\n";
  return r;
}

// zsh's _arguments explanations end at ']': escape brackets (and backslashes).
std::string zsh_explanation(const std::string& s) {
  std::string r;
  for (char c : s) {
    if (c == '[' || c == ']' || c == '\\') r += '\\';
    r += c;
  }
  return r;
}

std::string zsh_action(const OptionDoc& o) {
  if (!o.choices.empty()) return "(" + join(o.choices, " ") + ")";
  if (o.wants_file()) return o.metavar == "DIR" ? "_files -/" : "_files";
  return " ";
}

std::string zsh_option_specs(const OptionDoc& o, const std::string& indent) {
  const auto names = names_of(o);
  const std::string excl = names.size() > 1 ? "(" + join(names, " ") + ")" : "";
  const std::string repeat = o.repeatable ? "*" : "";
  const std::string value = o.is_flag() ? "" : ":" + o.metavar + ":" + zsh_action(o);
  std::string r;
  for (const auto& n : names) {
    const bool is_long = n.rfind("--", 0) == 0;
    const std::string name = n + (!o.is_flag() && is_long ? "=" : "");
    r += indent + sq((repeat.empty() ? excl : repeat) + name + "[" + zsh_explanation(o.description) + "]" + value) +
         " \\\n";
  }
  return r;
}

std::string zsh_completion(const std::vector<CommandDoc>& cmds, const std::vector<OptionDoc>& global) {
  std::string r =
      "#compdef ingot\n"
      "# zsh completion for ingot\n"
      "# Generated by 'ingot generate completions' from the CLI definitions; do not edit.\n"
      "# Regenerate with scripts/generate-docs.sh.\n"
      "\n"
      "_ingot() {\n"
      "  local curcontext=$curcontext state line ret=1\n"
      "  local -a commands\n"
      "  commands=(\n";
  for (const auto& c : cmds) r += "    " + sq(c.name + ":" + c.summary) + "\n";
  r += "    " + sq(std::string("help:") + kHelpSummary) + "\n";
  r += "  )\n  _arguments -C \\\n";
  for (const auto& o : global) {
    const auto names = names_of(o);
    for (const auto& n : names) r += "    " + sq("(- *)" + n + "[" + zsh_explanation(o.description) + "]") + " \\\n";
  }
  r += "    '1: :->command' \\\n"
       "    '*:: :->args' && ret=0\n"
       "  case $state in\n"
       "    command)\n"
       "      _describe -t commands 'ingot command' commands && ret=0\n"
       "      ;;\n"
       "    args)\n"
       "      curcontext=${curcontext%:*:*}:ingot-$words[1]:\n"
       "      case $words[1] in\n"
       "        help)\n"
       "          _describe -t commands 'ingot command' commands && ret=0\n"
       "          ;;\n";
  for (const auto& c : cmds) {
    r += "        " + c.name + ")\n          _arguments \\\n";
    for (const auto& o : c.options) r += zsh_option_specs(o, "            ");
    for (const auto& p : c.positionals) {
      std::string lead = p.repeatable ? "*:" : (p.required ? ":" : "::");
      r += "            " + sq(lead + p.positional + ":" + zsh_action(p)) + " \\\n";
    }
    r += "            && ret=0\n          ;;\n";
  }
  r += "      esac\n"
       "      ;;\n"
       "  esac\n"
       "  return ret\n"
       "}\n"
       "\n"
       "_ingot \"$@\"\n";
  return r;
}

std::string fish_completion(const std::vector<CommandDoc>& cmds, const std::vector<OptionDoc>& global) {
  std::string r =
      "# fish completion for ingot\n"
      "# Generated by 'ingot generate completions' from the CLI definitions; do not edit.\n"
      "# Regenerate with scripts/generate-docs.sh.\n";
  auto option_line = [](const std::string& cond, const OptionDoc& o) {
    std::string l = "complete -c ingot -n " + cond;
    for (const auto& s : o.shorts) l += " -s " + s.substr(1);
    for (const auto& n : o.longs) l += " -l " + n.substr(2);
    if (!o.is_flag()) {
      if (!o.choices.empty())
        l += " -x -a " + fish_sq(join(o.choices, " "));
      else if (o.wants_file())
        l += " -r -F";
      else
        l += " -x";
    }
    return l + " -d " + fish_sq(o.description) + "\n";
  };
  for (const auto& o : global) r += option_line("__fish_use_subcommand", o);
  for (const auto& c : cmds) {
    r += "complete -c ingot -n __fish_use_subcommand -f -a " + c.name + " -d " + fish_sq(c.summary) + "\n";
  }
  r += "complete -c ingot -n __fish_use_subcommand -f -a help -d " + fish_sq(kHelpSummary) + "\n";
  r += "complete -c ingot -n " + fish_sq("__fish_seen_subcommand_from help") + " -f -a " +
       fish_sq(join(command_names(cmds), " ")) + "\n";
  for (const auto& c : cmds) {
    const std::string cond = fish_sq("__fish_seen_subcommand_from " + c.name);
    r += "\n# ingot " + c.name + "\n";
    bool files =
        std::any_of(c.positionals.begin(), c.positionals.end(), [](const OptionDoc& p) { return p.wants_file(); });
    if (!files) r += "complete -c ingot -n " + cond + " -f\n";
    for (const auto& o : c.options) r += option_line(cond, o);
  }
  return r;
}

// ---- writing ----

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  OutputFile f = OutputFile::create(path.string());
  f.write(text);
  f.commit();
}

struct GenerateArgs {
  std::string what = "all";
  std::string out = ".";
  std::string prose = "man/prose";
};

int run(GenerateArgs& a, CLI::App& self) {
  CLI::App& root = *self.get_parent();
  auto result = capture([&]() -> Unit {
    const std::vector<CommandDoc> cmds = describe_commands(root);
    // The global options (--help, --version) and the common options, worded as
    // add_common_options() words them.
    std::vector<OptionDoc> global = describe_all(root, false);
    CLI::App scratch;
    CommonOptions unused;
    add_common_options(&scratch, unused, kAllCommon);
    std::vector<OptionDoc> common = describe_all(scratch, false);
    common.erase(std::remove_if(common.begin(), common.end(),
                                [](const OptionDoc& o) { return !o.longs.empty() && o.longs[0] == "--help"; }),
                 common.end());
    const fs::path out = a.out;
    if (a.what == "all" || a.what == "man") {
      if (!fs::is_directory(a.prose)) {
        throw usage_error("no prose directory '" + a.prose + "' (run from the source tree, or give --prose DIR)");
      }
      const fs::path prose = a.prose;
      write_text(out / "man" / "ingot.1", man_overview(cmds, common, global, read_prose(prose / "ingot.md"),
                                                       root.get_description(), INGOT_VERSION));
      for (const auto& c : cmds) {
        if (!fs::exists(prose / (c.name + ".md"))) {
          std::fprintf(stderr, "ingot generate: warning: no %s: the man page of '%s' has no EXIT STATUS or EXAMPLES\n",
                       (prose / (c.name + ".md")).c_str(), c.name.c_str());
        }
        write_text(out / "man" / ("ingot-" + c.name + ".1"),
                   man_command(c, read_prose(prose / (c.name + ".md")), INGOT_VERSION));
      }
    }
    if (a.what == "all" || a.what == "completions") {
      write_text(out / "completions" / "ingot.bash", bash_completion(cmds, global));
      write_text(out / "completions" / "_ingot", zsh_completion(cmds, global));
      write_text(out / "completions" / "ingot.fish", fish_completion(cmds, global));
    }
    return {};
  });
  if (!result) return fail("generate", result.error());
  return kOk;
}

}  // namespace

Runner setup_generate(CLI::App& sub) {
  sub.group("");  // hidden from `ingot --help`: a tool for maintainers
  auto a = std::make_shared<GenerateArgs>();
  sub.add_option("what", a->what, "What to write: man, completions or all")
      ->check(CLI::IsMember({"man", "completions", "all"}))
      ->capture_default_str();
  sub.add_option("--out", a->out, "Directory that receives man/ and completions/")->capture_default_str();
  sub.add_option("--prose", a->prose, "Directory of the hand-written man page sections (NAME.md)")
      ->capture_default_str();
  CLI::App* self = &sub;
  return [a, self] { return run(*a, *self); };
}

}  // namespace ingot::cli

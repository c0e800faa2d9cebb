// `ingot upload`, `ls` and `serve` (and `generate`, which documents them) run in a second
// executable, ingot-net: the same CLI with the network code linked in. `ingot` itself
// carries no libcurl, libpq or Boost.Beast, whose 30 shared libraries took 9 of the 10 ms
// that `ingot get` used to spend starting up; it execs the helper for those commands,
// the way git runs its git-<command> programs. ARCHITECTURE.md, "The network helper".
#pragma once

namespace ingot::cli {

// Replaces this process with the helper, passing `argv` unchanged. Returns only when the
// helper cannot be run, after printing one error line for `cmd`; the exit code to use.
// Where it looks, in order: $INGOT_NET_HELPER; ingot-net beside this binary (the build
// tree); the install location relative to it (bin/../libexec/ingot/ingot-net).
int exec_net_helper(const char* cmd, char** argv);

}  // namespace ingot::cli

// ingot serve: an HTTP line server over a file and its index.
#include <csignal>
#include <cstdio>
#include <cstring>

#include "common.h"
#include "ingot/ops/net_module.h"
#include "ingot/ops/serve.h"

namespace ingot::cli {
namespace {

struct ServeArgs {
  bool quiet = false;
  ServeOptions o;
};

int run(ServeArgs& a) {
  if (a.o.port < 0 || a.o.port > 65535) return fail("serve", usage_error("--port must be 0-65535 (0 = any free port)"));
  if (a.o.max_range == 0) return fail("serve", usage_error("--max-range must be at least 1"));
  a.o.on_listening = [&](int port, std::uint64_t records) {
    // The one line tests and scripts wait for (to learn the port when --port 0).
    std::fprintf(stderr, "ingot serve: listening on http://%s:%d/ (%s, %s records)\n", a.o.bind.c_str(), port,
                 a.o.input.c_str(), with_commas(records).c_str());
    std::fflush(stderr);
  };
  Result<const net::EntryPoints*> mod = net::load();
  if (!mod) return fail("serve", mod.error());
  Result<ServeReport> r = mod.value()->serve(a.o);
  if (!r) return fail("serve", r.error());
  if (!a.quiet) {
    const char* sig = sigabbrev_np(r.value().signal);
    std::fprintf(stderr, "ingot serve: stopped by SIG%s after %s requests\n", sig ? sig : "?",
                 with_commas(r.value().requests).c_str());
  }
  return kOk;
}

}  // namespace

Runner setup_serve(CLI::App& sub) {
  auto a = std::make_shared<ServeArgs>();
  sub.add_option("input", a->o.input, "File to serve (needs a fresh FILE.idx: run 'ingot index FILE' first)")
      ->required();
  sub.add_option("--index", a->o.index, "Index file (default: FILE.idx)");
  sub.add_option("--bind", a->o.bind, "Address to listen on (loopback unless you say otherwise)")->capture_default_str();
  sub.add_option("--port", a->o.port, "TCP port (0 = any free port, printed on stderr)")->capture_default_str();
  sub.add_option("-j,--threads", a->o.threads,
                 "Connection threads: each keep-alive connection holds one (0 = " +
                     std::to_string(kDefaultServeThreads) + ")")
      ->capture_default_str();
  sub.add_option("--max-range", a->o.max_range, "Most records one /lines/N-M request may return (else 413)")
      ->capture_default_str();
  sub.add_flag("-q,--quiet", a->quiet, "No summary on stderr when stopped");
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

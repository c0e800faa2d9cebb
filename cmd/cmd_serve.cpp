// ingot serve: an HTTP line server over a file and its index.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "common.h"
#include "ingot/net/serve/serve.h"

namespace ingot::cli {
namespace {

struct ServeArgs {
  bool quiet = false;
  ServeOptions o;
};

int run(ServeArgs& a) {
  if (a.o.port < 0 || a.o.port > 65535) return fail("serve", usage_error("--port must be 0-65535 (0 = any free port)"));
  if (a.o.max_range == 0) return fail("serve", usage_error("--max-range must be at least 1"));
  if (a.o.max_connections == 0) return fail("serve", usage_error("--max-connections must be at least 1"));
  for (auto [name, seconds] :
       {std::pair{"--header-timeout", a.o.header_timeout}, std::pair{"--body-timeout", a.o.body_timeout},
        std::pair{"--idle-timeout", a.o.idle_timeout}}) {
    if (!(seconds > 0 && seconds <= 86400)) {
      return fail("serve", usage_error(std::string(name) + " must be more than 0 and at most 86400 seconds"));
    }
  }
  a.o.on_listening = [&](int port, std::uint64_t records) {
    // The one line tests and scripts wait for (to learn the port when --port 0).
    std::fprintf(stderr, "ingot serve: listening on http://%s:%d/ (%s, %s records)\n", a.o.bind.c_str(), port,
                 a.o.input.c_str(), with_commas(records).c_str());
    std::fflush(stderr);
  };
  Result<ServeReport> r = serve(a.o);
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
      ->type_name("FILE")
      ->required();
  sub.add_option("--index", a->o.index, "Index file (default: FILE.idx, beside an s3:// object too)")
      ->type_name("FILE");
  sub.add_option("--bind", a->o.bind, "Address to listen on (loopback unless you say otherwise)")
      ->type_name("ADDRESS")
      ->capture_default_str();
  sub.add_option("--port", a->o.port, "TCP port (0 = any free port, printed on stderr)")
      ->type_name("PORT")
      ->capture_default_str();
  sub.add_option("-j,--threads", a->o.threads,
                 "Threads answering requests; each serves any number of connections (0 = " +
                     std::to_string(kDefaultServeThreads) + ")")
      ->type_name("N")
      ->capture_default_str();
  sub.add_option("--max-range", a->o.max_range, "Most records one /lines/N-M request may return (else 413)")
      ->type_name("N")
      ->capture_default_str();
  sub.add_option("--max-connections", a->o.max_connections,
                 "Most connections open at once; one more is answered 503 and closed")
      ->type_name("N")
      ->capture_default_str();
  sub.add_option("--header-timeout", a->o.header_timeout,
                 "Seconds a client has to send a request's head, in total (a slow drip does not extend it)")
      ->type_name("SECONDS")
      ->capture_default_str();
  sub.add_option("--body-timeout", a->o.body_timeout, "Seconds a client has to send a request's body, in total")
      ->type_name("SECONDS")
      ->capture_default_str();
  sub.add_option("--idle-timeout", a->o.idle_timeout,
                 "Seconds a kept-alive connection may wait for its next request before it is closed")
      ->type_name("SECONDS")
      ->capture_default_str();
  sub.add_flag("-q,--quiet", a->quiet, "No summary on stderr when stopped");
  return [a] { return run(*a); };
}

}  // namespace ingot::cli

#include "ingot/ops/serve.h"

#include <fcntl.h>
#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "ingot/format/range_spec.h"
#include "ingot/io/input.h"
#include "ingot/ops/index.h"
#include "ingot/ops/index_format.h"

namespace ingot {
namespace {

std::int64_t mtime_ns(const struct stat& st) {
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

const char* content_type(RecordKind k) {
  switch (k) {
    case RecordKind::ndjson: return "application/x-ndjson";
    case RecordKind::csv: return "text/csv; charset=utf-8";
    case RecordKind::tsv: return "text/tab-separated-values; charset=utf-8";
    case RecordKind::lines: break;
  }
  return "text/plain; charset=utf-8";
}

void plain(httplib::Response& res, int status, const std::string& text) {
  res.status = status;
  res.set_content(text + "\n", "text/plain; charset=utf-8");
}

class LineServer {
 public:
  LineServer(const ServeOptions& o, InputFile in, IndexReader idx)
      : o_(o), in_(std::move(in)), idx_(std::move(idx)) {
    struct stat st;
    if (::fstat(in_.fd(), &st) != 0) throw sys_error("cannot stat", errno).at_path(o_.input);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    // Requests jump around the file: read-ahead would only waste the page cache.
    ::posix_fadvise(in_.fd(), 0, 0, POSIX_FADV_RANDOM);
  }

  // Empty when the path still names the file the index describes, unchanged. Two
  // syscalls per request (~1 us), the price of never serving bytes of another file.
  std::string changed() const {
    struct stat st;
    if (::stat(o_.input.c_str(), &st) != 0) return "was removed";
    if (st.st_dev != dev_ || st.st_ino != ino_) return "was replaced";
    if (::fstat(in_.fd(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != idx_.meta().source.size ||
        mtime_ns(st) != idx_.meta().source.mtime_ns) {
      return "was modified";
    }
    return {};
  }

  void unavailable(httplib::Response& res, const std::string& why) const {
    plain(res, 503,
          o_.input + " " + why + " since ingot serve started; its index no longer describes it: run 'ingot index " +
              o_.input + "' and restart ingot serve");
  }

  void lines(const httplib::Request& req, httplib::Response& res) {
    ++requests;
    if (std::string why = changed(); !why.empty()) return unavailable(res, why);
    const std::string text = req.matches[1].str();
    const auto spec = parse_range_spec(text);
    if (!spec) {
      return plain(res, 400, "invalid record number '" + text +
                                 "': use N, N-M (M >= N), N+COUNT or -K (K-th from the end), numbers from 1");
    }
    const auto span = resolve_range(*spec, idx_.records());
    if (!span) return plain(res, 413, out_of_range_message(*spec, idx_.records()));
    if (span->count() > o_.max_range) {
      return plain(res, 413, describe_range(*spec) + " ask for " + std::to_string(span->count()) +
                                 " records, over the limit of " + std::to_string(o_.max_range) +
                                 " per request (--max-range)");
    }
    const std::uint64_t begin = idx_.boundary(span->first - 1);
    const std::uint64_t end = idx_.boundary(span->last);
    if (end - begin > o_.max_range_bytes) {
      return plain(res, 413, describe_range(*spec) + " span " + std::to_string(end - begin) +
                                 " bytes, over the limit of " + std::to_string(o_.max_range_bytes) +
                                 " per request");
    }
    std::string body(static_cast<std::size_t>(end - begin), '\0');
    if (in_.read_at(body.data(), body.size(), begin) != body.size()) return unavailable(res, "shrank");
    res.set_header("X-Ingot-Records", std::to_string(idx_.records()));
    res.set_header("X-Ingot-First", std::to_string(span->first));
    res.set_header("X-Ingot-Last", std::to_string(span->last));
    res.set_content(std::move(body), content_type(idx_.meta().kind));
  }

  void healthz(httplib::Response& res) {
    ++requests;
    if (std::string why = changed(); !why.empty()) return unavailable(res, why);
    plain(res, 200, "ok " + std::to_string(idx_.records()) + " records");
  }

  std::uint64_t records() const { return idx_.records(); }
  std::atomic<std::uint64_t> requests{0};

 private:
  const ServeOptions& o_;
  InputFile in_;
  IndexReader idx_;
  dev_t dev_;
  ino_t ino_;
};

// Blocks the stop signals in this thread and every thread it starts (httplib's pool),
// so that only the waiter below sees them, with sigtimedwait: it can then call
// Server::stop() from a normal thread, which a signal handler could not safely do.
class SignalBlock {
 public:
  SignalBlock() {
    sigemptyset(&set_);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set_, s);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalBlock() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& set() const { return set_; }

 private:
  sigset_t set_, old_;
};

ServeReport serve_or_throw(const ServeOptions& o) {
  InputFile in = InputFile::open(o.input);
  if (in.compressed()) {
    throw usage_error(std::string("serving reads records at their offsets, which ") + codec_name(in.codec()) +
                      "-compressed input does not allow; decompress it first")
        .at_path(in.display_name());
  }
  if (!in.seekable()) throw usage_error("can serve only a file, not a stream").at_path(in.display_name());
  const std::string idx_path = o.index.empty() ? default_index_path(o.input) : o.index;
  struct stat st;
  if (::stat(idx_path.c_str(), &st) != 0) {
    throw io_error("no index " + idx_path + "; build it first with 'ingot index " + o.input + "'")
        .at_path(o.input);
  }
  IndexReader idx = IndexReader::open(idx_path);
  // Once, at start: the whole-index checksum (too slow for every `get`, cheap here).
  idx.verify();
  if (std::string why = idx.source_mismatch(in, o.index.empty()); !why.empty()) {
    throw data_error("index " + idx_path + " is stale: " + why + "; run 'ingot index " + o.input + "'")
        .at_path(o.input);
  }
  LineServer lines(o, std::move(in), std::move(idx));

  SignalBlock block;
  httplib::Server svr;
  const unsigned threads = o.threads ? o.threads : kDefaultServeThreads;
  // httplib serves a connection per pool thread for its whole keep-alive life, so the
  // pool bounds concurrent connections, not CPU use.
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_keep_alive_max_count(100000);
  svr.set_keep_alive_timeout(2);  // an idle connection holds a thread and delays a stop this long
  svr.set_tcp_nodelay(true);  // small responses: don't wait for Nagle + delayed ACK
  svr.Get(R"(/lines/([^/]*))", [&](const httplib::Request& req, httplib::Response& res) { lines.lines(req, res); });
  svr.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) { lines.healthz(res); });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const Error& e) {
      what = e.message();
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    plain(res, 500, what);
  });

  int port = o.port;
  if (port == 0) {
    port = svr.bind_to_any_port(o.bind);
    if (port < 0) port = 0;
  } else if (!svr.bind_to_port(o.bind, port)) {
    port = 0;
  }
  if (port <= 0) {
    throw io_error("cannot listen on " + o.bind + ":" + std::to_string(o.port) +
                   " (address in use, not local, or not permitted)");
  }
  if (o.on_listening) o.on_listening(port, lines.records());

  std::atomic<bool> done{false};
  std::atomic<int> stop_signal{0};
  std::thread waiter([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!done.load()) {
      const int s = sigtimedwait(&block.set(), nullptr, &tick);
      if (s <= 0) continue;
      stop_signal = s;
      // stop() acts only on a running server; call it exactly once, when it runs.
      while (!done.load()) {
        if (svr.is_running()) {
          svr.stop();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    }
  });
  const bool ok = svr.listen_after_bind();
  done = true;
  waiter.join();
  if (!ok && stop_signal == 0) throw io_error("the server stopped: accept failed");
  ServeReport rep;
  rep.signal = stop_signal;
  rep.requests = lines.requests;
  return rep;
}

}  // namespace

Result<ServeReport> serve(const ServeOptions& o) {
  return capture([&]() -> ServeReport {
    try {
      return serve_or_throw(o);
    } catch (Error& e) {
      // Index errors name the index; say which file it was for.
      if (e.path().empty() && e.kind() != ErrorKind::usage) e.at_path(o.input);
      throw;
    }
  });
}

}  // namespace ingot

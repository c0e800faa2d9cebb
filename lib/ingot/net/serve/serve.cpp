#include "ingot/net/serve/serve.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <chrono>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "ingot/format/range_spec.h"
#include "ingot/io/input.h"
#include "ingot/index/index.h"
#include "ingot/index/index_format.h"

namespace ingot {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

const char* content_type(RecordKind k) {
  switch (k) {
    case RecordKind::ndjson: return "application/x-ndjson";
    case RecordKind::csv: return "text/csv; charset=utf-8";
    case RecordKind::tsv: return "text/tab-separated-values; charset=utf-8";
    case RecordKind::lines: break;
  }
  return "text/plain; charset=utf-8";
}

void plain(Response& res, http::status status, const std::string& text) {
  res.result(status);
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = text + "\n";
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path of a request target, query dropped and %XX decoded (a malformed escape
// stays as written, as it did under cpp-httplib).
std::string decoded_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string out;
  out.reserve(target.size());
  for (std::size_t i = 0; i < target.size(); ++i) {
    int hi, lo;
    if (target[i] == '%' && i + 2 < target.size() && (hi = hex_digit(target[i + 1])) >= 0 &&
        (lo = hex_digit(target[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += target[i];
    }
  }
  return out;
}

template <class Seconds>
auto to_duration(Seconds s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

// What a request asks of the file: the routes, the limits, and the check that the file
// is still the one the index describes (a remote object: read by ranges, each with
// If-Match, so a request blocks its event-loop thread for one ranged GET). Called from several event-loop threads at
// once: it holds no per-request state (pread needs no file offset).
class LineServer {
 public:
  LineServer(const ServeOptions& o, InputFile in, IndexReader idx) : o_(o), in_(std::move(in)), idx_(std::move(idx)) {
    if (in_.remote()) return;  // its reads carry If-Match on the version the index describes
    struct stat st;
    if (::fstat(in_.fd(), &st) != 0) throw sys_error("cannot stat", errno).at_path(o_.input);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    // Requests jump around the file: read-ahead would only waste the page cache.
    ::posix_fadvise(in_.fd(), 0, 0, POSIX_FADV_RANDOM);
  }

  void handle(const Request& req, Response& res) {
    const std::string path = decoded_path(req.target());
    const bool is_lines = path.starts_with("/lines/") && path.find('/', 7) == std::string::npos;
    if (!is_lines && path != "/healthz") {
      return plain(res, http::status::not_found, "no such resource: use /lines/SPEC or /healthz");
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.set(http::field::allow, "GET, HEAD");
      return plain(res, http::status::method_not_allowed, "only GET and HEAD are served");
    }
    ++requests;
    if (std::string why = changed(); !why.empty()) return unavailable(res, why);
    if (is_lines) return lines(path.substr(7), res);
    plain(res, http::status::ok, "ok " + std::to_string(idx_.records()) + " records");
  }

  std::uint64_t records() const { return idx_.records(); }
  std::atomic<std::uint64_t> requests{0};

 private:
  // Empty when the path still names the file the index describes, unchanged. Two
  // syscalls per request (~1 us), the price of never serving bytes of another file.
  std::string changed() const {
    if (in_.remote()) return {};  // a changed object fails its read (412), answered 503 below
    struct stat st;
    if (::stat(o_.input.c_str(), &st) != 0) return "was removed";
    if (st.st_dev != dev_ || st.st_ino != ino_) return "was replaced";
    // (The index was checked against the file when serving began.)
    if (in_.changed_since_open()) return "was modified";
    return {};
  }

  void unavailable(Response& res, const std::string& why) const {
    plain(res, http::status::service_unavailable,
          o_.input + " " + why + " since ingot serve started; its index no longer describes it: run 'ingot index " +
              o_.input + "' and restart ingot serve");
  }

  void lines(const std::string& text, Response& res) {
    const auto spec = parse_range_spec(text);
    if (!spec) {
      return plain(res, http::status::bad_request,
                   "invalid record number '" + text +
                       "': use N, N-M (M >= N), N+COUNT or -K (K-th from the end), numbers from 1");
    }
    const auto span = resolve_range(*spec, idx_.records());
    if (!span) return plain(res, http::status::payload_too_large, out_of_range_message(*spec, idx_.records()));
    if (span->count() > o_.max_range) {
      return plain(res, http::status::payload_too_large,
                   describe_range(*spec) + " ask for " + std::to_string(span->count()) +
                       " records, over the limit of " + std::to_string(o_.max_range) + " per request (--max-range)");
    }
    const std::uint64_t begin = idx_.boundary(span->first - 1);
    const std::uint64_t end = idx_.boundary(span->last);
    if (end - begin > o_.max_range_bytes) {
      return plain(res, http::status::payload_too_large,
                   describe_range(*spec) + " span " + std::to_string(end - begin) + " bytes, over the limit of " +
                       std::to_string(o_.max_range_bytes) + " per request");
    }
    std::string& body = res.body();
    body.assign(static_cast<std::size_t>(end - begin), '\0');
    try {
      if (in_.read_at(body.data(), body.size(), begin) != body.size()) return unavailable(res, "shrank");
    } catch (const Error& e) {  // a remote object: it changed, or the network failed after the retries
      body.clear();
      return plain(res, http::status::service_unavailable, e.what());
    }
    res.result(http::status::ok);
    res.set("X-Ingot-Records", std::to_string(idx_.records()));
    res.set("X-Ingot-First", std::to_string(span->first));
    res.set("X-Ingot-Last", std::to_string(span->last));
    res.set(http::field::content_type, content_type(idx_.meta().kind));
  }

  const ServeOptions& o_;
  InputFile in_;
  IndexReader idx_;
  dev_t dev_;
  ino_t ino_;
};

class Server;
class Session;

// The live connections: counted against --max-connections, closed by a stop. Shared
// with the sessions, whose destructors leave it, even when a failure ended the event
// loop with handlers pending and the Server is already gone.
struct Registry {
  std::mutex mu;
  std::list<std::weak_ptr<Session>> sessions;
};

// One connection: read a request head (header deadline), its body if any (body
// deadline), answer, and for a kept-alive connection wait for the next request (idle
// timeout). Everything runs on the connection's strand, one request at a time, so
// pipelined requests (already in buffer_) are answered in the order they came.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server& server, std::shared_ptr<Registry> registry)
      : stream_(std::move(socket)), server_(server), registry_(std::move(registry)) {}
  ~Session() {
    std::lock_guard lock(registry_->mu);
    registry_->sessions.erase(registration);
  }

  void start() {
    asio::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::read_head, shared_from_this()));
  }
  // On the strand, when the server stops: a connection that is not answering a request
  // closes now; one that is closes after its answer (answer() sees stopping()).
  void shutdown() {
    if (state_ == State::reading) close();
  }
  asio::any_io_executor executor() { return stream_.get_executor(); }

  std::list<std::weak_ptr<Session>>::iterator registration;

 private:
  enum class State { reading, answering };

  void read_head();
  void on_head(beast::error_code ec, std::size_t);
  void on_body(beast::error_code ec, std::size_t);
  void on_read_error(beast::error_code ec);
  void answer();
  void reply(http::status status, const std::string& text);  // an error: answered, then closed
  void send();
  void on_sent(beast::error_code ec, std::size_t);
  void linger();
  void discard();
  void wait_request();
  void on_first_bytes(beast::error_code ec, std::size_t n);
  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Server& server_;
  std::shared_ptr<Registry> registry_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response res_;
  State state_ = State::reading;
};

// The listening socket, the connection registry (for --max-connections and for the
// stop) and the options every session reads.
class Server {
 public:
  Server(asio::io_context& ioc, const ServeOptions& opts, LineServer& line_server)
      : o(opts),
        lines(line_server),
        header_timeout(to_duration(opts.header_timeout)),
        body_timeout(to_duration(opts.body_timeout)),
        idle_timeout(to_duration(opts.idle_timeout)),
        ioc_(ioc),
        one_thread_(opts.threads == 1),
        acceptor_(asio::make_strand(ioc)),
        retry_(acceptor_.get_executor()) {}

  // Binds and listens; the port it got. No SO_REUSEPORT: a second server on a port in
  // use must fail, not share the port's connections with this one.
  int listen() {
    const std::string where = o.bind + ":" + std::to_string(o.port);
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    const auto endpoints =
        resolver.resolve(o.bind, std::to_string(o.port), tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec) throw io_error("cannot listen: " + ec.message()).at_path(where);
    for (const auto& e : endpoints) {
      ec = {};
      acceptor_.open(e.endpoint().protocol(), ec);
      // SO_REUSEADDR only lets a restart bind past its predecessor's TIME_WAIT sockets;
      // on Linux it does not allow two listeners on one port.
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor_.bind(e.endpoint(), ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (!ec) return acceptor_.local_endpoint().port();
      beast::error_code ignored;
      acceptor_.close(ignored);
    }
    std::string why = ec ? ec.message() : "no address";
    if (ec == asio::error::address_in_use) why += " (another server listens there; choose another --port)";
    throw io_error("cannot listen: " + why).at_path(where);
  }

  void accept() {
    // A strand per connection keeps its handlers in order when several threads run the
    // loop; with one thread they are in order anyway, and a strand would only cost.
    asio::any_io_executor ex =
        one_thread_ ? asio::any_io_executor(ioc_.get_executor()) : asio::any_io_executor(asio::make_strand(ioc_));
    acceptor_.async_accept(ex, beast::bind_front_handler(&Server::on_accept, this));
  }

  // From any thread (the signal waiter): stop accepting, close the connections that
  // wait for a request, let those answering finish. The event loop then runs dry.
  void stop() {
    asio::post(acceptor_.get_executor(), [this] {
      stopping_ = true;
      beast::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      std::vector<std::shared_ptr<Session>> live;
      {
        std::lock_guard lock(registry_->mu);
        for (auto& w : registry_->sessions) {
          if (auto s = w.lock()) live.push_back(std::move(s));
        }
      }
      for (auto& s : live) asio::post(s->executor(), [s] { s->shutdown(); });
    });
  }
  bool stopping() const { return stopping_; }

  const ServeOptions& o;
  LineServer& lines;
  const std::chrono::steady_clock::duration header_timeout, body_timeout, idle_timeout;

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (stopping_) return;
    if (ec) {
      // Out of descriptors (EMFILE) and the like: a tight retry would spin, and the
      // pending connection stays in the backlog meanwhile.
      retry_.expires_after(std::chrono::milliseconds(50));
      retry_.async_wait([this](beast::error_code e) {
        if (!e && !stopping_) accept();
      });
      return;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // small responses: no Nagle + delayed-ACK wait
    std::shared_ptr<Session> s;
    {
      std::lock_guard lock(registry_->mu);
      if (registry_->sessions.size() < o.max_connections) {
        s = std::make_shared<Session>(std::move(socket), *this, registry_);
        s->registration = registry_->sessions.insert(registry_->sessions.end(), s);
      }
    }
    if (s)
      s->start();
    else
      refuse(socket);
    accept();
  }

  // Over --max-connections: a short answer without reading the request, then close,
  // so that the client learns at once and the connections already served lose nothing.
  void refuse(tcp::socket& socket) {
    const std::string body = "ingot serve: too many connections (--max-connections " +
                             std::to_string(o.max_connections) + "); try again later\n";
    const std::string msg =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body;
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.write_some(asio::buffer(msg), ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  asio::io_context& ioc_;
  const bool one_thread_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_;
  std::atomic<bool> stopping_{false};
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
};

// The header deadline runs from the acceptance (first request) or from the first byte
// (later ones, see wait_request) to the end of the head: a total, so dripping bytes
// does not extend it, unlike an inactivity timer.
void Session::read_head() {
  state_ = State::reading;
  parser_.emplace();
  parser_->header_limit(kMaxRequestHeadBytes);
  parser_->body_limit(kMaxRequestBodyBytes);
  stream_.expires_after(server_.header_timeout);
  http::async_read_header(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_head, shared_from_this()));
}

void Session::on_head(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  if (parser_->is_done()) return answer();
  stream_.expires_after(server_.body_timeout);
  http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
}

void Session::on_body(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  answer();
}

void Session::on_read_error(beast::error_code ec) {
  if (ec == asio::error::operation_aborted) return;  // closed by shutdown()
  if (ec == http::error::header_limit) {
    return reply(http::status::request_header_fields_too_large,
                 "request head over " + std::to_string(kMaxRequestHeadBytes) + " bytes");
  }
  if (ec == http::error::body_limit) {
    return reply(http::status::payload_too_large,
                 "request body over " + std::to_string(kMaxRequestBodyBytes) + " bytes");
  }
  // A malformed request gets a 400; a deadline passed, a client gone or a request cut
  // short by its client only a close: nobody is there to read an answer.
  if (ec.category() == http::make_error_code(http::error::bad_method).category() && ec != http::error::end_of_stream &&
      ec != http::error::partial_message) {
    return reply(http::status::bad_request, "malformed request: " + ec.message());
  }
  close();
}

void Session::answer() {
  state_ = State::answering;
  const Request& req = parser_->get();
  res_ = Response{};
  res_.version(req.version());
  try {
    server_.lines.handle(req, res_);
  } catch (const Error& e) {
    plain(res_, http::status::internal_server_error, e.message());
  } catch (const std::exception& e) {
    plain(res_, http::status::internal_server_error, e.what());
  }
  res_.keep_alive(req.keep_alive() && !server_.stopping());
  if (req.method() == http::verb::head) {
    const std::size_t n = res_.body().size();
    res_.body().clear();
    res_.content_length(n);
  } else {
    res_.prepare_payload();
  }
  send();
}

void Session::reply(http::status status, const std::string& text) {
  state_ = State::answering;
  res_ = Response{};
  res_.version(11);
  plain(res_, status, text);
  res_.keep_alive(false);
  res_.prepare_payload();
  send();
}

void Session::send() {
  stream_.expires_after(to_duration(kSendTimeout));
  http::async_write(stream_, res_, beast::bind_front_handler(&Session::on_sent, shared_from_this()));
}

void Session::on_sent(beast::error_code ec, std::size_t) {
  if (ec) return close();
  if (!res_.keep_alive() || server_.stopping()) return linger();
  if (buffer_.size() > 0) return read_head();  // a pipelined request is already here
  wait_request();
}

// Half-closes, then reads and discards what the client still sends until it closes or
// a second passes. Closing at once with unread bytes (the rest of a head over 8 KiB,
// requests pipelined after a Connection: close) would make the kernel send a reset,
// which can destroy the answer before the client has read it.
void Session::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::chrono::seconds(1));
  discard();
}

void Session::discard() {
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    // The session ends when this handler returns without a new read: socket closed.
    if (!ec) self->discard();
  });
}

// A kept-alive connection between requests: the idle timeout until the first byte of
// the next one, then read_head's header deadline.
void Session::wait_request() {
  state_ = State::reading;
  stream_.expires_after(server_.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096),
                          beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
}

void Session::on_first_bytes(beast::error_code ec, std::size_t n) {
  if (ec) return close();
  buffer_.commit(n);
  read_head();
}

// Blocks the stop signals in this thread and every thread it starts (the event-loop
// threads), so that only the waiter below sees them, with sigtimedwait: it can then
// stop the server from a normal thread, which a signal handler could not safely do.
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
  InputFile in = InputFile::open(o.input, Decode::auto_detect, InputFile::Remote::allow);
  if (!index_beside(o.input) && o.index.empty()) {
    throw usage_error("serving an http(s):// URL needs --index FILE, its index made by 'ingot index " + o.input +
                      " -o FILE'")
        .at_path(o.input);
  }
  if (in.compressed()) {
    throw usage_error(std::string("serving reads records at their offsets, which ") + codec_name(in.codec()) +
                      "-compressed input does not allow; decompress it first")
        .at_path(in.display_name());
  }
  if (!in.seekable()) throw usage_error("can serve only a file, not a stream").at_path(in.display_name());
  // FILE.idx beside the file, or beside an s3:// object.
  const std::string idx_path = o.index.empty() ? default_index_path(o.input) : o.index;
  std::optional<IndexReader> found = IndexReader::open_if_exists(idx_path);
  if (!found) {
    throw io_error("no index " + idx_path + "; build it first with 'ingot index " + o.input + "'").at_path(o.input);
  }
  IndexReader idx = std::move(*found);
  // Once, at start: the whole-index checksum (too slow for every `get`, cheap here).
  idx.verify();
  if (std::string why = idx.source_mismatch(in, o.index.empty()); !why.empty()) {
    throw data_error("index " + idx_path + " is stale: " + why + "; run 'ingot index " + o.input + "'")
        .at_path(o.input);
  }
  LineServer lines(o, std::move(in), std::move(idx));

  SignalBlock block;
  ServeOptions opts = o;
  if (opts.threads == 0) opts.threads = kDefaultServeThreads;
  const unsigned threads = opts.threads;
  asio::io_context ioc(static_cast<int>(threads));
  Server server(ioc, opts, lines);
  const int port = server.listen();
  if (o.on_listening) o.on_listening(port, lines.records());
  server.accept();

  std::atomic<bool> done{false};
  std::atomic<int> stop_signal{0};
  std::thread waiter([&] {
    const timespec tick{0, 100 * 1000 * 1000};
    while (!done.load()) {
      const int s = sigtimedwait(&block.set(), nullptr, &tick);
      if (s <= 0) continue;
      stop_signal = s;
      server.stop();
      return;
    }
  });
  // Handlers catch what a request can throw; anything else ends the server.
  std::mutex failure_mu;
  std::exception_ptr failure;
  auto run = [&] {
    try {
      ioc.run();
    } catch (...) {
      std::lock_guard lock(failure_mu);
      if (!failure) failure = std::current_exception();
      ioc.stop();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
  done = true;
  waiter.join();
  if (failure) std::rethrow_exception(failure);
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

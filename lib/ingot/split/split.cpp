#include "ingot/split/split.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "ingot/chunk/boundary.h"
#include "ingot/io/compress.h"
#include "ingot/io/copy.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/io/same_file.h"
#include "ingot/util/cleanup.h"
#include "ingot/util/hash.h"

extern char** environ;

namespace ingot {
namespace {

// ------------------------------------------------------------------ names

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// ".csv" of "dir/taxi.csv"; "" when the name has no dot (or only a leading one).
std::string extension_of(const std::string& path) {
  std::string b = base_name(path);
  auto dot = b.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? std::string() : b.substr(dot);
}

std::string extension_for(RecordKind kind) {
  switch (kind) {
    case RecordKind::csv: return ".csv";
    case RecordKind::tsv: return ".tsv";
    case RecordKind::ndjson: return ".ndjson";
    case RecordKind::lines: return "";
  }
  return "";
}

unsigned digits_for(std::uint64_t pieces) {
  unsigned d = 1;
  for (std::uint64_t v = pieces > 0 ? pieces - 1 : 0; v >= 10; v /= 10) ++d;
  return std::max(5u, d);
}

const char* mode_name(SplitBy by) {
  switch (by) {
    case SplitBy::bytes: return "bytes";
    case SplitBy::records: return "records";
    case SplitBy::pieces: return "pieces";
  }
  return "bytes";
}

// Creates the directory of the pieces or the manifest when missing (`--prefix parts/x-`
// makes parts/, as mkdir -p would) and fails before any work when it cannot be written.
void check_output_dir(const std::string& file) {
  if (is_remote_path(file)) return;  // an object store has no directories to make
  const std::string dir = parent_dir(file);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw io_error("cannot create the output directory " + dir + ": " + ec.message()).at_path(file);
    if (::stat(dir.c_str(), &st) != 0) throw sys_error("cannot stat the output directory " + dir, errno).at_path(file);
  }
  if (!S_ISDIR(st.st_mode)) throw io_error("not a directory: " + dir).at_path(file);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) throw io_error("output directory is not writable: " + dir).at_path(file);
}

// Refuses up front, before copying anything, to clobber existing files, the input, or
// one output with another (a --manifest named like a piece).
void check_targets(const std::string& input, const std::vector<std::string>& pieces, const std::string& manifest,
                   bool force) {
  std::vector<NamedPath> outputs;
  for (const std::string& p : pieces) outputs.push_back({"piece", p});
  if (!manifest.empty()) outputs.push_back({"manifest", manifest});
  refuse_same_files({{"", input}}, outputs);
  for (const NamedPath& p : outputs) {
    struct stat st;
    // Remote pieces: one HEAD each as they are created (OutputFile); the manifest now.
    if (is_remote_path(p.path)) {
      if (!force && p.option == "manifest" && remote_outputs(p.path).stat(p.path))
        throw io_error("output exists (use --force to overwrite)").at_path(p.path);
      continue;
    }
    if (!force && ::lstat(p.path.c_str(), &st) == 0)
      throw io_error("output exists (use --force to overwrite)").at_path(p.path);
  }
}

// ------------------------------------------------------------------ counting

// Records in a chunk that starts on a boundary; the input's last record may lack its
// terminator and still counts.
std::uint64_t count_records(const Chunk& ch, RecordKind kind, bool input_ends_here, char delim) {
  const std::size_t bom = leading_bom(ch.data, ch.size, ch.offset);
  std::uint64_t n = count_record_ends(ch.data, ch.size, kind, delim, bom);
  if (input_ends_here && ch.size > 0 && last_record_end(ch.data, ch.size, kind, delim, bom) != ch.size) ++n;
  return n;
}

// ------------------------------------------------------------------ planning

// The largest record end in (s, t], or 0 when none: reads only a window before t,
// widened while the window holds no boundary (a record longer than the window).
std::uint64_t last_end_at_or_before(InputFile& in, RecordKind kind, std::uint64_t s, std::uint64_t t,
                                    const ChunkerOptions& copts) {
  std::uint64_t window = 64 * 1024;
  for (;;) {
    const bool from_start = t - s <= window;
    // align_to_record returns only certain record starts, so b0 is a true boundary
    // and a forward scan from it knows the quote state.
    const std::uint64_t b0 = from_start ? s : align_to_record(in, t - window, kind, copts.delimiter);
    if (b0 <= t) {
      ChunkerOptions o = copts;
      o.chunk_size = std::size_t{1} << 20;
      Chunker c(in, kind, b0, t, o);
      Buffer buf;
      Chunk ch;
      std::uint64_t best = b0 > s ? b0 : 0;
      while (c.next(buf, ch)) {
        // Every chunk but the range's last ends on a record end; the last ends at t.
        std::size_t e =
            ch.last ? last_record_end(ch.data, ch.size, kind, copts.delimiter, leading_bom(ch.data, ch.size, ch.offset))
                    : ch.size;
        if (e > 0) best = ch.offset + e;
      }
      return best;
    }
    if (from_start) return 0;
    window *= 4;
  }
}

// One past the end of the record starting at boundary s (the end of input for a last
// record without terminator).
std::uint64_t first_record_end(InputFile& in, RecordKind kind, std::uint64_t s, const ChunkerOptions& copts) {
  ChunkerOptions o = copts;
  o.chunk_size = 64 * 1024;
  Chunker c(in, kind, s, kToEnd, o);
  Buffer buf;
  Chunk ch;
  if (!c.next(buf, ch)) return s;
  std::size_t e =
      scan_records(ch.data, ch.size, kind, copts.delimiter, leading_bom(ch.data, ch.size, ch.offset)).first_end;
  return ch.offset + (e ? e : ch.size);
}

std::vector<PlannedPiece> plan_bytes(InputFile& in, RecordKind kind, std::uint64_t hb, std::uint64_t amount,
                                     const ChunkerOptions& copts) {
  if (amount <= hb) {
    throw usage_error("--bytes " + std::to_string(amount) + " leaves no room for records after the " +
                      std::to_string(hb) + "-byte header every piece repeats");
  }
  const std::uint64_t budget = amount - hb;  // body bytes per piece
  const std::uint64_t size = in.size();
  std::vector<PlannedPiece> out;
  std::uint64_t s = hb;
  while (s < size) {
    PlannedPiece p;
    p.range.begin = s;
    if (size - s <= budget) {
      p.range.end = size;
    } else {
      std::uint64_t e = last_end_at_or_before(in, kind, s, s + budget, copts);
      if (e == 0) {  // one record longer than the budget: it gets a piece of its own
        e = first_record_end(in, kind, s, copts);
        p.oversized = e - s > budget;
      }
      p.range.end = e;
    }
    s = p.range.end;
    out.push_back(p);
  }
  return out;
}

std::vector<PlannedPiece> plan_pieces(InputFile& in, RecordKind kind, std::uint64_t hb, std::uint64_t n, char delim) {
  if (n == 0) throw usage_error("--pieces must be at least 1");
  const std::uint64_t size = in.size();
  const std::uint64_t body = size - hb;
  // hb + body * i / n without overflow for any size.
  auto nominal = [&](std::uint64_t i) { return hb + (body / n) * i + (body % n) * i / n; };
  std::vector<PlannedPiece> out(n);
  std::uint64_t prev = hb;
  for (std::uint64_t i = 0; i < n; ++i) {
    out[i].range.begin = prev;
    std::uint64_t end = i + 1 == n ? size : align_to_record(in, nominal(i + 1), kind, delim);
    end = std::clamp(end, prev, size);
    out[i].range.end = end;
    prev = end;
  }
  return out;
}

// --records must count every record: one parallel scan with the pipeline. The
// transform counts a chunk's records; the serial consumer keeps the running count and
// re-walks only the chunks where a cut falls.
std::vector<PlannedPiece> plan_records(InputFile& in, RecordKind kind, std::uint64_t hb, std::uint64_t n,
                                       const PipelineOptions& popts, const ChunkerOptions& copts,
                                       const ProgressFn& progress) {
  if (n == 0) throw usage_error("--records must be at least 1");
  struct Work {
    std::uint64_t records = 0;
  };
  std::vector<PlannedPiece> out;
  std::uint64_t begin = hb, in_piece = 0, total = 0;
  Chunker chunker(in, kind, hb, kToEnd, copts);
  run_pipeline<Work>(
      chunker, popts, [&](const Chunk& ch, Work& w) { w.records = count_records(ch, kind, ch.last, copts.delimiter); },
      [&](const Chunk& ch, Work& w) {
        total += w.records;
        if (in_piece + w.records < n) {
          in_piece += w.records;
        } else {
          for_each_record_end(
              ch.data, ch.size, kind,
              [&](std::size_t e) {
                if (++in_piece == n) {
                  out.push_back({{begin, ch.offset + e}, n, false});
                  begin = ch.offset + e;
                  in_piece = 0;
                }
              },
              copts.delimiter, leading_bom(ch.data, ch.size, ch.offset));
          // An unterminated last record counts, and can complete a piece too.
          if (ch.last &&
              last_record_end(ch.data, ch.size, kind, copts.delimiter, leading_bom(ch.data, ch.size, ch.offset)) !=
                  ch.size &&
              ++in_piece == n) {
            out.push_back({{begin, ch.offset + ch.size}, n, false});
            begin = ch.offset + ch.size;
            in_piece = 0;
          }
        }
        if (progress) progress(ch.offset + ch.size, total);
      });
  if (begin < in.size() || out.empty()) out.push_back({{begin, in.size()}, in_piece, false});
  return out;
}

std::vector<PlannedPiece> plan_any(InputFile& in, RecordKind kind, std::uint64_t hb, SplitBy by, std::uint64_t amount,
                                   const PipelineOptions& popts, const ChunkerOptions& copts,
                                   const ProgressFn& progress) {
  std::vector<PlannedPiece> out;
  switch (by) {
    case SplitBy::bytes: out = plan_bytes(in, kind, hb, amount, copts); break;
    case SplitBy::pieces: out = plan_pieces(in, kind, hb, amount, copts.delimiter); break;
    case SplitBy::records: out = plan_records(in, kind, hb, amount, popts, copts, progress); break;
  }
  // Every split has at least one piece, so an empty input (or a header-only CSV)
  // round-trips through `merge` like any other.
  if (out.empty()) out.push_back({{hb, hb}, std::uint64_t{0}, false});
  return out;
}

// ------------------------------------------------------------------ piece sinks

// Where one piece goes: a local file (OutputFile: temporary + rename, removed on a
// signal) or the stdin of `sh -c FILTER` with $FILE set, as GNU split --filter.
// Everything written is hashed, header first.
class PieceSink {
 public:
  static PieceSink to_file(const std::string& path, bool overwrite, Codec codec) {
    PieceSink s;
    s.name_ = path;
    s.file_ = std::make_unique<OutputFile>(OutputFile::create(path, {.overwrite = overwrite, .fsync = false}));
    if (codec != Codec::none) s.z_ = Compressor::create(codec);
    return s;
  }

  static PieceSink to_filter(const std::string& cmd, const std::string& name, Codec codec) {
    PieceSink s;
    s.name_ = name;
    if (codec != Codec::none) s.z_ = Compressor::create(codec);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw sys_error("cannot create a pipe for --filter", errno).at_path(name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);  // dup2 clears O_CLOEXEC on the child's stdin
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) {
      if (std::strncmp(*e, "FILE=", 5) != 0) env_store.emplace_back(*e);
    }
    env_store.push_back("FILE=" + name);
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string sh = "/bin/sh", dash_c = "-c", command = cmd;
    char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
    int err = posix_spawn(&s.child_, "/bin/sh", &fa, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[0]);
    if (err != 0) {
      ::close(fds[1]);
      throw sys_error("cannot start --filter command", err).at_path(name);
    }
    s.pipe_ = fds[1];
    return s;
  }

  PieceSink(PieceSink&& o) noexcept
      : name_(std::move(o.name_)),
        file_(std::move(o.file_)),
        pipe_(std::exchange(o.pipe_, -1)),
        child_(std::exchange(o.child_, -1)),
        hash_(std::move(o.hash_)),
        size_(o.size_),
        z_(std::move(o.z_)),
        zbuf_(std::move(o.zbuf_)),
        version_(std::move(o.version_)) {}
  PieceSink& operator=(PieceSink&&) = delete;

  ~PieceSink() {
    // Abandoned (an error elsewhere): stop the filter rather than let it finish a
    // truncated piece as if it were whole.
    if (pipe_ >= 0) ::close(pipe_);
    if (child_ > 0) {
      ::kill(child_, SIGTERM);
      int st;
      while (::waitpid(child_, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }

  // Plain piece bytes; with --compress they are compressed first, and the size and
  // hash are those of the compressed bytes as stored.
  void write(const char* p, std::size_t n) {
    if (!z_) return emit(p, n);
    z_->update(p, n, zbuf_);
    if (zbuf_.size() >= (std::size_t{1} << 20)) flush_compressed();
  }

  void emit(const char* p, std::size_t n) {
    hash_.update(p, n);
    size_ += n;
    if (file_) {
      file_->write(p, n);
      return;
    }
    while (n > 0) {
      ssize_t w = ::write(pipe_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EPIPE) {
          int status = wait_child();
          throw io_error("--filter command stopped reading its input (" + describe(status) + ")").at_path(name_);
        }
        throw sys_error("write to --filter command failed", errno).at_path(name_);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  // Body bytes that are already in memory (for the hash) and also at src_off in `in`:
  // files get them by copy_file_range (from a local input), filters through the pipe.
  void body(const InputFile& in, std::uint64_t src_off, const char* p, std::size_t n) {
    if (!file_ || z_ || file_->remote() || !in.direct()) return write(p, n);
    hash_.update(p, n);
    size_ += n;
    copy_range(in.fd(), src_off, file_->fd(), std::nullopt, n, in.display_name(), name_);
  }

  void finish() {
    if (z_) {
      z_->finish(zbuf_);
      z_.reset();
      flush_compressed();
    }
    if (file_) {
      file_->commit();
      if (file_->remote()) version_ = file_->remote_sink()->version();
      return;
    }
    ::close(pipe_);
    pipe_ = -1;
    int status = wait_child();
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
      throw io_error("--filter command failed (" + describe(status) + ")").at_path(name_);
    }
  }

  const std::string& name() const { return name_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t digest() const { return hash_.digest(); }
  bool is_file() const { return file_ != nullptr; }
  const std::string& version() const { return version_; }  // a remote piece's ETag, after finish()

 private:
  PieceSink() = default;

  int wait_child() {
    int status = 0;
    while (::waitpid(child_, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
    child_ = -1;
    return status;
  }
  static std::string describe(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
  }

  void flush_compressed() {
    emit(zbuf_.data(), zbuf_.size());
    zbuf_.clear();
  }

  std::string name_;
  std::unique_ptr<OutputFile> file_;
  int pipe_ = -1;
  pid_t child_ = -1;
  Xxh3 hash_;
  std::uint64_t size_ = 0;
  std::unique_ptr<Compressor> z_;
  std::string zbuf_;
  std::string version_;
};

// Pieces renamed (or about to be renamed) into place while the split is still running. Until the
// manifest is written they are part of an unfinished split: an error removes them,
// and so does SIGINT (they stay registered with the signal handler, within a budget
// that leaves the handler's slots free for the temporaries still being written).
class CommittedPieces {
 public:
  ~CommittedPieces() {
    if (!kept_) rollback();
  }
  void add(const std::string& path) {
    std::lock_guard lock(mu_);
    int slot = -1;
    // A remote piece cannot be deleted by a signal handler (docs/remote.md).
    if (registered_ < kSignalBudget && !is_remote_path(path)) {
      try {
        slot = cleanup::register_path(path);
        ++registered_;
      } catch (const Error&) {
      }
    }
    items_.emplace_back(path, slot);
  }
  // Just before the manifest is committed: from here a signal leaves complete pieces
  // without a manifest, never a manifest without its pieces.
  void release_signal_slots() {
    std::lock_guard lock(mu_);
    for (auto& [path, slot] : items_) {
      cleanup::unregister_path(slot);
      slot = -1;
    }
  }
  void keep() { kept_ = true; }

 private:
  static constexpr int kSignalBudget = 768;
  void rollback() {
    for (auto& [path, slot] : items_) {
      if (is_remote_path(path)) {
        try {
          remote_outputs(path).remove(path);
        } catch (const Error&) {
          // The first error is the one to report; this piece stays without a manifest.
        }
      } else {
        ::unlink(path.c_str());
      }
      cleanup::unregister_path(slot);
    }
    items_.clear();
  }
  std::mutex mu_;
  std::vector<std::pair<std::string, int>> items_;
  int registered_ = 0;
  bool kept_ = false;
};

// ------------------------------------------------------------------ the split

struct Setup {
  RecordKind kind = RecordKind::lines;
  std::string header;
  std::string prefix, ext, manifest_path;
};

Setup make_setup(const SplitOptions& o, const InputFile& in) {
  Setup s;
  if (o.kind)
    s.kind = *o.kind;
  else if (auto k = o.input != "-" ? record_kind_from_path(o.input) : std::nullopt)
    s.kind = *k;
  s.prefix = o.prefix;
  // `--prefix s3://bucket/dir/`: the pieces are named after the source inside it.
  const bool in_dir = is_remote_path(s.prefix) && s.prefix.back() == '/';
  if (s.prefix.empty() || in_dir) {
    if (o.input == "-") {
      s.prefix = "stdin-";
    } else {
      // Pieces hold the decoded records: "taxi.csv.gz" gives taxi-00000.csv.
      std::string b = strip_codec_suffix(base_name(o.input));
      std::string e = extension_of(b);
      s.prefix = b.substr(0, b.size() - e.size()) + "-";
    }
    if (in_dir) s.prefix = o.prefix + s.prefix;
  }
  s.ext = o.input == "-" ? extension_for(s.kind) : extension_of(strip_codec_suffix(o.input));
  if (s.ext.empty()) s.ext = extension_for(s.kind);
  s.ext += codec_suffix(o.compress);
  s.manifest_path = o.manifest.empty() ? s.prefix + "manifest.json" : o.manifest;
  (void)in;
  return s;
}

std::string absolute_source(const std::string& input) {
  if (input == "-" || is_remote_path(input)) return input;
  std::error_code ec;
  auto p = std::filesystem::absolute(input, ec);
  return ec ? input : p.lexically_normal().string();
}

Manifest base_manifest(const SplitOptions& o, const Setup& s, const InputFile& in) {
  Manifest m;
  m.version = INGOT_VERSION;
  m.source = in.remote() ? in.display_name() : absolute_source(o.input);
  m.kind = record_kind_name(s.kind);
  m.fingerprint = in.seekable() ? in.fingerprint() : Fingerprint{};
  m.plan = o.plan;
  m.header = s.header;
  m.mode = mode_name(o.by);
  m.amount = o.amount;
  m.filter = o.filter;
  if (o.compress != Codec::none) m.compression = codec_name(o.compress);
  m.prefix = s.prefix;
  m.extension = s.ext;
  return m;
}

// Fills first_record from the records of the pieces before; unknown after an unknown count.
void number_records(Manifest& m) {
  std::optional<std::uint64_t> next = 1;
  for (ManifestPiece& p : m.pieces) {
    p.first_record = next;
    if (next && p.records)
      *next += *p.records;
    else
      next.reset();
  }
}

void finish_report(SplitReport& r, Manifest m, const std::string& path) {
  std::optional<std::uint64_t> records = 0;
  for (std::size_t i = 0; i < m.pieces.size(); ++i) {
    const ManifestPiece& p = m.pieces[i];
    r.bytes += p.length;
    if (records && p.records)
      *records += *p.records;
    else
      records.reset();
    if (p.oversized) r.oversized.push_back(i + 1);
  }
  r.records = records;
  r.manifest = std::move(m);
  r.manifest_path = path;
}

struct PieceResult {
  std::uint64_t size = 0, hash = 0, records = 0;
  std::string version;  // a remote piece's ETag
};

// Seekable input: plan, then write the pieces in parallel (one task per piece, each
// reading its range through its own Chunker so blocks end on records and can be
// counted), then the manifest.
SplitReport split_seekable(const SplitOptions& o, InputFile& in, Setup& s) {
  SplitReport report;
  if (is_delimited(s.kind) && o.header) {
    ChunkerOptions co = o.chunker;
    Chunker c(in, s.kind, 0, kToEnd, co);
    s.header = c.take_first_record();
  }
  const std::uint64_t hb = s.header.size();
  std::vector<PlannedPiece> plan =
      plan_any(in, s.kind, hb, o.by, o.amount, o.pipeline, o.chunker, o.plan ? o.progress : ProgressFn{});
  Manifest m = base_manifest(o, s, in);
  m.digits = digits_for(plan.size());
  std::vector<std::string> targets;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    ManifestPiece p;
    p.path = piece_name(s.prefix, i, m.digits, s.ext);
    p.offset = plan[i].range.begin;
    p.length = plan[i].range.size();
    p.records = plan[i].records;
    p.header_bytes = hb;
    p.oversized = plan[i].oversized;
    if (!o.plan && o.filter.empty()) targets.push_back(p.path);
    m.pieces.push_back(std::move(p));
  }
  check_targets(o.input, targets, s.manifest_path, o.force);

  if (o.plan) {
    number_records(m);
    write_manifest(s.manifest_path, m, o.force);
    finish_report(report, std::move(m), s.manifest_path);
    return report;
  }

  std::vector<PieceResult> results(plan.size());
  CommittedPieces committed;
  std::mutex progress_mu;
  std::atomic<std::uint64_t> done_bytes{0}, done_records{0};
  auto write_piece = [&](std::size_t k) {
    const ManifestPiece& mp = m.pieces[k];
    PieceSink sink = o.filter.empty() ? PieceSink::to_file(mp.path, o.force, o.compress)
                                      : PieceSink::to_filter(o.filter, mp.path, o.compress);
    sink.write(s.header.data(), s.header.size());
    Chunker c(in, s.kind, mp.offset, mp.offset + mp.length, o.chunker);
    Buffer buf;
    Chunk ch;
    std::uint64_t records = 0;
    while (c.next(buf, ch)) {
      const std::uint64_t n =
          count_records(ch, s.kind, ch.last && ch.offset + ch.size == in.size(), o.chunker.delimiter);
      records += n;
      sink.body(in, ch.offset, ch.data, ch.size);
      done_bytes += ch.size;
      done_records += n;
      if (o.progress) {
        std::lock_guard lock(progress_mu);
        o.progress(done_bytes.load(), done_records.load());
      }
    }
    // Registered before the rename in finish(), so that a signal between the two
    // cannot leave this piece behind.
    if (sink.is_file()) committed.add(mp.path);
    sink.finish();  // first: it writes the end of a compressed piece
    results[k] = {sink.size(), sink.digest(), records, sink.version()};
  };
  // Failures are reported for the lowest failing piece, whatever the thread timing, so
  // the message is the same for -j1 and -jN; pieces after a failed one are skipped.
  std::vector<std::exception_ptr> errors(plan.size());
  std::atomic<std::size_t> first_failed{plan.size()};
  tbb::task_arena arena(static_cast<int>(resolve_threads(o.pipeline.threads)));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, plan.size(), 1),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        for (std::size_t k = r.begin(); k != r.end(); ++k) {
                          if (k > first_failed.load()) continue;
                          try {
                            write_piece(k);
                          } catch (...) {
                            errors[k] = std::current_exception();
                            std::size_t cur = first_failed.load();
                            while (k < cur && !first_failed.compare_exchange_weak(cur, k)) {
                            }
                          }
                        }
                      });
  });
  if (first_failed.load() < plan.size()) std::rethrow_exception(errors[first_failed.load()]);

  for (std::size_t k = 0; k < plan.size(); ++k) {
    ManifestPiece& p = m.pieces[k];
    if (p.records && *p.records != results[k].records) {
      throw io_error("record count of piece " + std::to_string(k + 1) +
                     " changed between planning and copying (was the input modified?)")
          .at_path(in.display_name());
    }
    p.records = results[k].records;
    if (o.filter.empty()) {
      p.size = results[k].size;
      p.xxh3 = xxh3_hex(results[k].hash);
      if (!results[k].version.empty()) p.etag = results[k].version;
    }
  }
  number_records(m);
  // The source must not have changed under us, or the pieces may not add up to it.
  if (!(in.fingerprint() == m.fingerprint))
    throw io_error("input changed while it was being split").at_path(in.display_name());
  committed.release_signal_slots();
  write_manifest(s.manifest_path, m, o.force);
  committed.keep();
  finish_report(report, std::move(m), s.manifest_path);
  return report;
}

// Stdin: one pass through the pipeline; the serial consumer cuts pieces as data
// arrives, so memory stays at tokens x chunk size whatever the input size.
SplitReport split_stream(const SplitOptions& o, InputFile& in, Setup& s) {
  if (o.by == SplitBy::pieces)
    throw usage_error("--pieces needs the input's size; it cannot read stdin (use --bytes or --records)");
  if (o.plan) throw usage_error("--plan needs a file to point back into; it cannot read stdin");
  Chunker chunker(in, s.kind, 0, kToEnd, o.chunker);
  const char delim = o.chunker.delimiter;
  if (is_delimited(s.kind) && o.header) s.header = chunker.take_first_record();
  const std::uint64_t hb = s.header.size();
  if (o.by == SplitBy::bytes && o.amount <= hb) {
    throw usage_error("--bytes " + std::to_string(o.amount) + " leaves no room for records after the " +
                      std::to_string(hb) + "-byte header every piece repeats");
  }
  if (o.by == SplitBy::records && o.amount == 0) throw usage_error("--records must be at least 1");
  Manifest m = base_manifest(o, s, in);
  m.digits = 5;  // the piece count is not known while streaming
  check_targets(o.input, {}, s.manifest_path, o.force);

  CommittedPieces committed;
  std::optional<PieceSink> cur;
  ManifestPiece cur_piece;
  std::uint64_t total_records = 0;

  auto open_piece = [&](std::uint64_t offset) {
    const std::uint64_t index = m.pieces.size();
    if (std::to_string(index).size() > m.digits) {
      throw usage_error("more than 99999 pieces from a stream; use a larger --bytes or --records");
    }
    cur_piece = ManifestPiece{};
    cur_piece.path = piece_name(s.prefix, index, m.digits, s.ext);
    cur_piece.offset = offset;
    cur_piece.header_bytes = hb;
    cur_piece.records = 0;
    if (o.filter.empty()) {
      refuse_same_files({}, {{"piece", cur_piece.path}, {"manifest", s.manifest_path}});
      check_targets(o.input, {cur_piece.path}, "", o.force);
    }
    cur.emplace(o.filter.empty() ? PieceSink::to_file(cur_piece.path, o.force, o.compress)
                                 : PieceSink::to_filter(o.filter, cur_piece.path, o.compress));
    cur->write(s.header.data(), s.header.size());
  };
  auto close_piece = [&] {
    if (cur->is_file()) committed.add(cur_piece.path);  // before the rename (see above)
    cur->finish();                                      // first: it writes the end of a compressed piece
    if (o.filter.empty()) {
      cur_piece.size = cur->size();
      cur_piece.xxh3 = xxh3_hex(cur->digest());
      if (!cur->version().empty()) cur_piece.etag = cur->version();
    }
    cur.reset();
    m.pieces.push_back(cur_piece);
  };
  // Appends [p, p+n) (whole records, from the chunk at `off`) to the current piece.
  auto append = [&](const char* p, std::size_t n, std::uint64_t off, std::uint64_t records) {
    if (!cur) open_piece(off);
    cur->write(p, n);
    cur_piece.length += n;
    *cur_piece.records += records;
    total_records += records;
  };

  struct Work {
    std::uint64_t records = 0;
    bool tail = false;  // the chunk ends in an unterminated last record
  };
  run_pipeline<Work>(
      chunker, o.pipeline,
      [&](const Chunk& ch, Work& w) {
        w.tail = ch.last &&
                 last_record_end(ch.data, ch.size, s.kind, delim, leading_bom(ch.data, ch.size, ch.offset)) != ch.size;
        w.records = count_records(ch, s.kind, false, delim) + (w.tail ? 1 : 0);
      },
      [&](const Chunk& ch, Work& w) {
        const char* p = ch.data;
        std::size_t rem = ch.size;
        std::uint64_t off = ch.offset;
        // Records in a segment of this chunk; only the chunk's end can hold the tail.
        auto seg_records = [&](std::size_t n) {
          std::uint64_t r = count_record_ends(p, n, s.kind, delim, leading_bom(p, n, off));
          return r + (w.tail && n == rem ? 1 : 0);
        };
        auto advance = [&](std::size_t n) {
          p += n;
          rem -= n;
          off += n;
        };
        if (o.by == SplitBy::records) {
          const std::uint64_t have = cur ? *cur_piece.records : 0;
          if (have + w.records < o.amount) {  // no cut in this chunk: the common case
            append(p, rem, off, w.records);
            advance(rem);
          } else {
            // Every cut of the chunk in one walk (a small --records cuts many times).
            std::vector<std::size_t> cuts;
            std::uint64_t count = have;
            for_each_record_end(
                p, rem, s.kind,
                [&](std::size_t e) {
                  if (++count == o.amount) {
                    cuts.push_back(e);
                    count = 0;
                  }
                },
                delim, leading_bom(p, rem, off));
            if (w.tail && ++count == o.amount) {
              cuts.push_back(rem);
              count = 0;
            }
            const std::size_t size = rem;
            std::size_t prev = 0;
            for (std::size_t i = 0; i < cuts.size(); ++i) {
              append(p, cuts[i] - prev, off, i == 0 ? o.amount - have : o.amount);
              advance(cuts[i] - prev);
              close_piece();
              prev = cuts[i];
            }
            if (prev < size) {
              append(p, size - prev, off, count);
              advance(size - prev);
            }
          }
        } else {
          while (rem > 0) {
            const std::uint64_t used = cur ? hb + cur_piece.length : hb;
            const std::uint64_t avail = o.amount - used;
            if (rem <= avail) {
              append(p, rem, off, seg_records(rem));
              advance(rem);
              break;
            }
            // The chunk starts on a boundary and every cut is one, so p is a record
            // start and last_record_end reads the grammar from its first state.
            std::size_t cut = last_record_end(p, static_cast<std::size_t>(avail), s.kind, delim,
                                              leading_bom(p, static_cast<std::size_t>(avail), off));
            if (cut == 0) {
              if (cur && cur_piece.length > 0) {
                close_piece();
                continue;
              }
              // A single record longer than --bytes: it alone makes the piece.
              std::size_t e = scan_records(p, rem, s.kind, delim, leading_bom(p, rem, off)).first_end;
              cut = e ? e : rem;
              append(p, cut, off, seg_records(cut));
              cur_piece.oversized = cur_piece.length > o.amount - hb;
              advance(cut);
              close_piece();
              continue;
            }
            append(p, cut, off, seg_records(cut));
            advance(cut);
            close_piece();
          }
        }
        if (o.progress) o.progress(ch.offset + ch.size, total_records);
      });
  if (cur) close_piece();
  if (m.pieces.empty()) {  // empty input: one piece holding just the header, as for files
    open_piece(hb);
    close_piece();
  }
  number_records(m);
  // A compressed file: the ranges are offsets into the decoded bytes, whose size only
  // the read told; record it so the manifest's ranges check against it.
  if (in.compressed() && !m.pieces.empty()) m.fingerprint.size = m.pieces.back().offset + m.pieces.back().length;
  committed.release_signal_slots();
  write_manifest(s.manifest_path, m, o.force);
  committed.keep();
  SplitReport report;
  finish_report(report, std::move(m), s.manifest_path);
  return report;
}

}  // namespace

Result<std::vector<PlannedPiece>> plan_split(InputFile& in, RecordKind kind, std::uint64_t header_bytes, SplitBy by,
                                             std::uint64_t amount, const PipelineOptions& pipeline,
                                             const ChunkerOptions& chunker) {
  return capture([&] { return plan_any(in, kind, header_bytes, by, amount, pipeline, chunker, {}); });
}

Result<SplitReport> split(const SplitOptions& o) {
  return capture([&]() -> SplitReport {
    const auto t0 = std::chrono::steady_clock::now();
    if (o.amount == 0) throw usage_error(std::string("--") + mode_name(o.by) + " must be at least 1");
    if (o.plan && !o.filter.empty()) throw usage_error("--plan writes no pieces; it cannot be combined with --filter");
    if (o.plan && o.compress != Codec::none)
      throw usage_error("--plan writes no pieces; it cannot be combined with --compress");
    InputFile in = InputFile::open(o.input, Decode::auto_detect, InputFile::Remote::allow);
    if (in.compressed() && (o.by == SplitBy::pieces || o.plan)) {
      throw usage_error(
          std::string(o.plan ? "--plan records byte offsets into the input" : "--pieces needs the input's size") +
          ", which " + codec_name(in.codec()) +
          "-compressed input does not allow; use --bytes or --records, or decompress it first")
          .at_path(in.display_name());
    }
    Setup s = make_setup(o, in);
    check_output_dir(s.manifest_path);
    if (!o.plan && o.filter.empty()) check_output_dir(s.prefix + "0");
    SplitReport r = in.seekable() ? split_seekable(o, in, s) : split_stream(o, in, s);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  });
}

}  // namespace ingot

// ingot upload to S3: a single PUT for small inputs, otherwise a multipart upload whose
// parts go through one TBB parallel_pipeline (serial reader -> parallel sender), so at
// most --concurrency parts (each --part-size bytes) are in memory. Every part start and
// completion is journaled; a rerun lists the parts the server holds (ListParts) and
// sends only the missing or mismatched ones. Several workers can share one multipart
// upload (--begin, --part K/N, --complete): the part plan is a pure function of the
// source size and options, so they need no coordination but the upload id.
#include <tbb/concurrent_queue.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <tuple>

#include "ingot/io/input.h"
#include "ingot/net/redact.h"
#include "ingot/net/s3/s3.h"
#include "ingot/net/upload/upload_journal.h"
#include "ingot/net/upload/upload_target.h"
#include "ingot/util/units.h"

namespace ingot::detail {

namespace {

struct PartJob {
  unsigned number = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string server_etag;  // the server holds a part with this number and size (unverified)
  std::string known_md5;    // MD5 of an earlier run's read of this part (journal), to compare
};

bool is_md5_hex(const std::string& h) {
  return h.size() == 32 && h.find_first_not_of("0123456789abcdef") == std::string::npos;
}

struct Done {
  std::uint64_t size = 0;
  std::string md5;
  std::string etag;
};

// A part's bytes. Unlike std::string it is never zero-filled: pread or read overwrite
// it (zeroing 8 MiB per part cost as much CPU as curl's copy of it).
class PartBuffer {
 public:
  void resize(std::size_t n) {
    if (n > cap_) {
      p_ = std::make_unique_for_overwrite<char[]>(n);
      cap_ = n;
    }
    size_ = n;
  }
  char* data() { return p_.get(); }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return {p_.get(), size_}; }
  void swap(PartBuffer& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(size_, o.size_);
    std::swap(cap_, o.cap_);
  }

 private:
  std::unique_ptr<char[]> p_;
  std::size_t size_ = 0, cap_ = 0;
};

// Up to a whole KiB or MiB, so that the size printed is one that works.
std::uint64_t round_up_size(std::uint64_t n) {
  const std::uint64_t unit = n >= (std::uint64_t{1} << 20) ? std::uint64_t{1} << 20 : n >= 1024 ? 1024 : 1;
  return (n + unit - 1) / unit * unit;
}

// 32 MiB, or the whole MiBs that keep the parts within max_parts when that is larger.
std::uint64_t default_part_size(std::uint64_t size, unsigned max_parts) {
  return std::max(kS3DefaultPart, round_up_size((size + max_parts - 1) / max_parts));
}

std::uint64_t choose_part_size(const UploadOptions& o, std::uint64_t size, bool stream) {
  if (o.max_parts == 0 || o.max_parts > kS3MaxParts) throw usage_error("--max-parts must be between 1 and 10000");
  if (!stream && (size + o.max_parts - 1) / o.max_parts > kS3MaxPart) {
    throw usage_error(format_size(size) + " in at most " + std::to_string(o.max_parts) +
                      " parts (--max-parts) needs parts over 5 GiB, the most S3 takes: use --max-parts " +
                      std::to_string((size + kS3MaxPart - 1) / kS3MaxPart) + " or more");
  }
  if (!o.part_size) return stream ? kS3StreamPart : default_part_size(size, o.max_parts);
  std::uint64_t ps = *o.part_size;
  if (ps == 0 || ps > kS3MaxPart) throw usage_error("--part-size must be between 1 byte and 5 GiB");
  if (!stream && (size + ps - 1) / ps > o.max_parts) {
    throw usage_error("--part-size " + format_size(ps) + " makes " + std::to_string((size + ps - 1) / ps) +
                      " parts; the limit is " + std::to_string(o.max_parts) + " (--max-parts): use at least " +
                      format_size(round_up_size((size + o.max_parts - 1) / o.max_parts)));
  }
  return ps;
}

// Parts from a manifest's pieces when S3 accepts them as parts (all but the last at
// least 5 MiB, each at most 5 GiB, at most --max-parts, covering the source); otherwise empty
// and the caller re-cuts at the part size. The first part starts at 0 so a CSV header
// (before piece 1) goes with it.
std::vector<PartJob> parts_from_pieces(const std::vector<ByteRange>& pieces, std::uint64_t size, unsigned max_parts) {
  if (pieces.empty() || pieces.size() > max_parts) return {};
  std::vector<PartJob> v;
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ByteRange r = pieces[i];
    if (i == 0) r.begin = 0;
    if (i + 1 == pieces.size()) r.end = size;
    if (r.begin != pos || r.end < r.begin) return {};
    if (r.size() > kS3MaxPart || (i + 1 < pieces.size() && r.size() < kS3MinPart)) return {};
    v.push_back({static_cast<unsigned>(i + 1), r.begin, r.size(), "", ""});
    pos = r.end;
  }
  return v;
}

s3::Config s3_config(const UploadOptions& o) {
  s3::Config c;
  c.endpoint = o.endpoint;
  c.region = o.region;
  c.path_style = o.path_style;
  c.retries = o.retries;
  c.retry_base_ms = o.retry_base_ms;
  c.profile = o.profile;
  return c;
}

// Sends parts through the one pipeline shape the engine uses: a serial in-order reader
// (pread of a file, or sequential reads of a stream), then a parallel stage that hashes
// and sends. `read` fills data for the next job and returns false at the end.
template <class Read, class Send>
void run_parts(unsigned concurrency, Read&& read, Send&& send) {
  struct Slot {
    PartJob job;
    PartBuffer data;
  };
  const std::size_t ntokens = std::max(1u, concurrency);
  std::vector<Slot> slots(ntokens);
  // The last stage is parallel, so tokens finish out of order: slots come from a free
  // list (never more than ntokens are live, so one is always free for the reader).
  tbb::concurrent_queue<Slot*> free_slots;
  for (Slot& s : slots) free_slots.push(&s);
  // Threads here mostly wait on the network, so more of them than cores is right.
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                            std::max<std::size_t>(ntokens, static_cast<std::size_t>(tbb::info::default_concurrency())));
  tbb::task_arena arena(static_cast<int>(ntokens));
  arena.execute([&] {
    tbb::parallel_pipeline(
        ntokens, tbb::make_filter<void, Slot*>(tbb::filter_mode::serial_in_order, [&](tbb::flow_control& fc) -> Slot* {
                   Slot* s = nullptr;
                   if (!free_slots.try_pop(s)) throw std::logic_error("no free part slot");
                   if (!read(s->job, s->data)) {
                     free_slots.push(s);
                     fc.stop();
                     return nullptr;
                   }
                   return s;
                 }) & tbb::make_filter<Slot*, void>(tbb::filter_mode::parallel, [&](Slot* s) {
                   send(s->job, s->data);
                   free_slots.push(s);
                 }));
  });
}

void read_exact(const InputFile& in, PartBuffer& data, std::uint64_t offset, std::uint64_t length) {
  data.resize(length);
  std::size_t got = in.read_at(data.data(), length, offset);
  if (got != length) {
    throw data_error("the source is shorter than when the upload started")
        .at_path(in.display_name())
        .at_offset(offset + got);
  }
}

std::size_t read_stream(InputFile& in, PartBuffer& data, std::uint64_t length) {
  data.resize(length);
  std::size_t got = 0;
  while (got < length) {
    std::size_t n = in.read(data.data() + got, length - got);
    if (n == 0) break;
    got += n;
  }
  data.resize(got);
  return got;
}

// Before completing (or PUTting) an object: the source must be what stat said before
// its first byte was read, or the object would join bytes of two versions.
void check_source_unchanged(const InputFile& in, const nlohmann::json& before) {
  if (source_stat_json(in) != before) {
    throw data_error(
        "the source changed while it was being uploaded (its size, times or inode differ from the "
        "start): the object was not created; upload it again once it is no longer being written")
        .at_path(in.display_name());
  }
}

// The part plan is a pure function of the source's size, --part-size, --max-parts and a manifest's
// pieces, so --begin, the --part K/N workers and --complete, run anywhere, compute the
// same parts without talking to each other.
std::vector<PartJob> plan_parts(const UploadOptions& o, const UploadSource& src, std::uint64_t size,
                                std::uint64_t& part_size, std::string& note) {
  std::vector<PartJob> layout = parts_from_pieces(src.pieces, size, o.max_parts);
  if (!layout.empty()) {
    note = "the manifest's " + std::to_string(layout.size()) + " pieces are the parts";
  } else if (!src.pieces.empty()) {
    note =
        "the manifest's pieces cannot be S3 parts (each but the last must be 5 MiB to 5 GiB, at most --max-parts of "
        "them); re-cut at the part size";
  }
  part_size = choose_part_size(o, size, false);
  if (layout.empty()) {
    for (std::uint64_t off = 0, n = 1; off < size || n == 1; off += part_size, ++n) {
      layout.push_back({static_cast<unsigned>(n), off, std::min(part_size, size - off), "", ""});
      if (size == 0) break;
    }
  }
  return layout;
}

// Worker K of N takes a contiguous run of the plan's parts: indexes [first, last).
std::pair<std::size_t, std::size_t> worker_share(std::size_t parts, unsigned k, unsigned n) {
  return {parts * (k - 1) / n, parts * k / n};
}

// "3, 5-7, 9" for messages (at most 10 runs).
std::string number_ranges(const std::vector<unsigned>& v) {
  std::string s;
  std::size_t runs = 0;
  for (std::size_t i = 0; i < v.size(); ++runs) {
    std::size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    if (runs == 10) return s + ", ...";
    s += (s.empty() ? "" : ", ") + std::to_string(v[i]) + (j > i ? "-" + std::to_string(v[j]) : "");
    i = j + 1;
  }
  return s;
}

// The one multipart upload in progress for the key, for workers and --complete run
// without --upload-id (ListMultipartUploads: the prefix may match longer keys).
std::string find_upload(s3::Client& client, const s3::Location& at, const std::string& dest, unsigned page_size) {
  std::vector<std::string> ids;
  for (const s3::UploadInfo& u : client.list_uploads(at, page_size)) {
    if (u.key == at.key) ids.push_back(u.upload_id);
  }
  if (ids.size() == 1) return ids[0];
  if (ids.empty()) {
    std::string what = "no multipart upload in progress for this key";
    if (auto head = client.head(at)) {
      what +=
          " (the object exists: " + std::to_string(head->size) + " bytes, ETag " + head->etag + "; completed already?)";
    }
    throw usage_error(what + ": start one with --begin, or pass --upload-id").at_path(dest);
  }
  throw usage_error(std::to_string(ids.size()) + " multipart uploads in progress for this key (" + ids[0] + ", " +
                    ids[1] + (ids.size() > 2 ? ", ..." : "") +
                    "): pass --upload-id ID, or --abort them all and start again")
      .at_path(dest);
}

// Sends one part, or confirms by MD5 that the server already holds it (job.server_etag),
// and journals it. Shared by the single-process upload and the --part workers (which
// keep no journal: ListParts is their state). Called from parallel pipeline threads.
struct PartSender {
  s3::Client& client;
  const s3::Location& at;
  const std::string& upload_id;
  Journal* journal = nullptr;
  std::set<unsigned> started_before;  // parts a previous run had started (journal)
  std::atomic<std::uint64_t> sent{0}, resent{0}, skipped{0}, nsent{0}, nskipped{0};
  std::mutex mu;
  std::map<unsigned, Done> done;
  std::function<void(std::uint64_t)> progress;
  std::string source;  // for messages

  PartSender(s3::Client& c, const s3::Location& l, const std::string& id) : client(c), at(l), upload_id(id) {}

  void operator()(const PartJob& job, const PartBuffer& part) {
    const std::string_view data = part.view();
    s3::Md5 md5 = s3::md5(data);
    // A part read a second time (by a resumed run, or a rerun worker) must be the bytes
    // read the first time: the server's copy of this upload's part, or the journal's
    // digest. Anything else means the source changed in between, and completing would
    // join parts of two versions. (A retry within a run resends the same buffer.)
    const std::string& before = is_md5_hex(job.server_etag) ? job.server_etag : job.known_md5;
    if (!before.empty() && before != md5.hex) {
      throw data_error("part " + std::to_string(job.number) + " (byte " + std::to_string(job.offset) +
                       ") reads differently than when an earlier run sent it: the source changed; "
                       "upload it again from the start")
          .at_path(source);
    }
    std::string etag;
    if (!job.server_etag.empty() && job.server_etag == md5.hex) {
      etag = job.server_etag;
      skipped += job.length;
      ++nskipped;
    } else {
      if (journal) journal->append({{"start", job.number}});
      try {
        etag = client.upload_part(at, upload_id, job.number, data, md5.base64);
      } catch (const s3::S3Error& e) {
        if (e.code() != "InvalidArgument" || job.number <= 1) throw;
        throw s3::S3Error(
            std::string(e.what()) + " (part " + std::to_string(job.number) +
                "; rerun with --max-parts set to the server's limit, after --abort if the parts were kept)",
            e.status(), e.code(), false);
      }
      if (etag.size() == 32 && etag != md5.hex) {
        throw s3::S3Error("part " + std::to_string(job.number) + ": the server's ETag " + etag +
                              " is not the MD5 of what was sent (" + md5.hex + ")",
                          0, "", true);
      }
      sent += job.length;
      ++nsent;
      if (started_before.count(job.number)) resent += job.length;
    }
    if (journal) journal->append({{"done", job.number}, {"size", job.length}, {"md5", md5.hex}, {"etag", etag}});
    std::lock_guard lock(mu);
    done[job.number] = {job.length, md5.hex, etag};
    if (progress) progress(sent + skipped);
  }
};

// Sends jobs of a file source, at most concurrency parts in memory. The last job goes
// first: a server that takes fewer parts than the plan has (Swift: 1,000) refuses its
// number at once (with --concurrency parts at most in flight), not after 1,000 parts.
void send_file_parts(unsigned concurrency, const InputFile& in, const std::vector<PartJob>& jobs, PartSender& sender) {
  std::size_t next = 0;
  run_parts(
      concurrency,
      [&](PartJob& job, PartBuffer& data) {
        if (next == jobs.size()) return false;
        job = jobs[next == 0 ? jobs.size() - 1 : next - 1];
        ++next;
        read_exact(in, data, job.offset, job.length);
        return true;
      },
      sender);
}

// Completes the upload, then checks what the server holds: HEAD size, and an ETag of
// the multipart form equal to md5(the parts' MD5s)-N. A completion whose response was
// lost shows as NoSuchUpload on the retry; the HEAD then decides whether it happened.
std::string complete_verified(s3::Client& client, const s3::Location& at, const std::string& upload_id,
                              const std::vector<s3::PartInfo>& parts, const std::vector<std::string>& md5s,
                              std::uint64_t total, std::string& note) {
  // Part ETags that are not MD5s (e.g. SSE-KMS) leave only the size to check.
  const bool all_md5 = std::all_of(md5s.begin(), md5s.end(), is_md5_hex);
  const std::string expect = all_md5 ? s3::multipart_etag(md5s) : std::string();
  std::string etag;
  try {
    etag = client.complete_multipart(at, upload_id, parts);
  } catch (const s3::S3Error& e) {
    auto head = e.code() == "NoSuchUpload" ? client.head(at) : std::nullopt;
    if (!head || expect.empty() || head->etag != expect || head->size != total) throw;
    note = "the upload had been completed by an earlier attempt whose response was lost";
  }
  auto head = client.head(at);
  if (!head || head->size != total) {
    throw s3::S3Error("verification failed: HEAD says " + (head ? std::to_string(head->size) : std::string("missing")) +
                          " bytes, expected " + std::to_string(total),
                      0, "", false);
  }
  if (!expect.empty() && head->etag.find('-') != std::string::npos && head->etag != expect) {
    throw s3::S3Error("verification failed: ETag " + head->etag + ", expected " + expect, 0, "", false);
  }
  return head->etag.empty() ? etag : head->etag;
}

// --abort: the upload named by --upload-id, else the journal's, else every upload in
// progress for the key (ListMultipartUploads), so no journal is needed.
UploadReport abort_uploads(const UploadOptions& o, Journal& journal, const s3::Location& at, UploadReport rep) {
  rep.method = UploadMethod::abort;
  std::string journal_id;  // the upload the journal records, if there is one
  if (!journal.path().empty() && journal.exists()) {
    nlohmann::json header;
    std::vector<nlohmann::json> events;
    journal.load(header, events);
    journal_id = header.value("upload_id", "");
    rep.journal = journal.path();
  }
  std::vector<std::string> ids;
  if (!o.upload_id.empty()) {
    ids.push_back(o.upload_id);
  } else if (!journal_id.empty()) {
    ids.push_back(journal_id);
  }
  s3::Client client(s3_config(o));
  if (ids.empty()) {
    for (const s3::UploadInfo& u : client.list_uploads(at, o.list_page_size)) {
      if (u.key == at.key) ids.push_back(u.upload_id);
    }
  }
  rep.units_total = ids.size();
  if (ids.size() == 1) rep.upload_id = ids[0];
  rep.note = ids.empty() ? "no multipart upload in progress for this key"
                         : (o.dry_run ? "would abort " : "aborted ") + std::to_string(ids.size()) +
                               " multipart upload" + (ids.size() > 1 ? "s" : "") + ": " + [&] {
                                 std::string s;
                                 for (const std::string& id : ids) s += (s.empty() ? "" : ", ") + id;
                                 return s;
                               }();
  if (o.dry_run) return rep;
  for (const std::string& id : ids) {
    try {
      client.abort_multipart(at, id);
    } catch (const s3::S3Error& e) {
      if (e.code() != "NoSuchUpload") throw;
    }
  }
  if (!journal_id.empty() && std::find(ids.begin(), ids.end(), journal_id) != ids.end()) journal.remove();
  rep.units_sent = ids.size();
  rep.retries = client.retries();
  return rep;
}

// --begin, --part K/N and --complete: one multipart upload shared by several
// processes, possibly on several machines, coordinated only by the plan.
UploadReport shared_upload(const UploadOptions& o, const UploadSource& src, const s3::Location& at, const InputFile& in,
                           UploadReport rep) {
  const nlohmann::json start_stat = source_stat_json(in);
  const std::uint64_t size = in.size();
  std::vector<PartJob> layout = plan_parts(o, src, size, rep.part_size, rep.note);
  std::size_t first = 0, last = layout.size();
  if (o.worker_n) std::tie(first, last) = worker_share(layout.size(), o.worker_k, o.worker_n);
  rep.method = o.begin ? UploadMethod::begin : o.complete ? UploadMethod::complete : UploadMethod::part;
  rep.units_total = last - first;
  rep.bytes_total = 0;
  for (std::size_t i = first; i < last; ++i) rep.bytes_total += layout[i].length;
  if (o.dry_run) {
    for (std::size_t i = first; i < last; ++i)
      rep.plan.push_back({layout[i].number, layout[i].offset, layout[i].length});
    return rep;
  }
  s3::Client client(s3_config(o));
  if (o.begin) {
    rep.upload_id = client.create_multipart(at);
    return rep;
  }
  const std::string upload_id = o.upload_id.empty() ? find_upload(client, at, o.dest, o.list_page_size) : o.upload_id;
  rep.upload_id = upload_id;
  std::map<unsigned, s3::PartInfo> server;
  for (const s3::PartInfo& p : client.list_parts(at, upload_id, o.list_page_size)) server[p.number] = p;

  if (o.complete) {
    std::vector<unsigned> missing;
    std::string wrong;
    std::vector<s3::PartInfo> parts;
    std::vector<std::string> md5s;
    for (const PartJob& j : layout) {
      auto s = server.find(j.number);
      if (s == server.end()) {
        missing.push_back(j.number);
      } else if (s->second.size != j.length && wrong.empty()) {
        wrong = "part " + std::to_string(j.number) + " holds " + std::to_string(s->second.size) + " bytes, the plan " +
                std::to_string(j.length) + " (every worker must use the same source, --part-size and --max-parts)";
      } else {
        parts.push_back(s->second);
        md5s.push_back(s->second.etag);
      }
    }
    if (!missing.empty()) {
      throw remote_error("cannot complete: part" + std::string(missing.size() > 1 ? "s " : " ") +
                         number_ranges(missing) + " of " + std::to_string(layout.size()) +
                         " missing (rerun the workers that send them)")
          .at_path(o.dest);
    }
    if (!wrong.empty()) throw remote_error("cannot complete: " + wrong).at_path(o.dest);
    rep.etag = complete_verified(client, at, upload_id, parts, md5s, size, rep.note);
    rep.verified = true;
    rep.units_skipped = parts.size();
    rep.bytes_skipped = size;
    rep.retries = client.retries();
    return rep;
  }

  // A worker: its share of the parts, except those the server already holds with the
  // same size and MD5 (a rerun of a worker sends only what is missing).
  std::vector<PartJob> jobs(layout.begin() + static_cast<std::ptrdiff_t>(first),
                            layout.begin() + static_cast<std::ptrdiff_t>(last));
  for (PartJob& j : jobs) {
    auto s = server.find(j.number);
    if (s != server.end() && s->second.size == j.length) j.server_etag = s->second.etag;
  }
  PartSender sender(client, at, upload_id);
  sender.source = in.display_name();
  if (o.progress) sender.progress = [&](std::uint64_t bytes) { o.progress(bytes, 0); };
  try {
    send_file_parts(o.concurrency, in, jobs, sender);
    check_source_unchanged(in, start_stat);
  } catch (const Error& e) {
    // The upload is shared: never abort it from a worker.
    Error out(e.kind(), std::string(e.what()) + "; the upload stays: rerun this worker");
    throw out.at_path(e.path().empty() ? o.dest : e.path());
  }
  rep.bytes_sent = sender.sent;
  rep.bytes_skipped = sender.skipped;
  rep.units_sent = sender.nsent;
  rep.units_skipped = sender.nskipped;
  rep.retries = client.retries();
  return rep;
}

// One object: a single PUT or one multipart upload, resumable from the journal; the
// shared-upload steps (--begin, --part K/N, --complete) and --abort end in plan().
class S3Target final : public UploadTarget {
 public:
  using UploadTarget::UploadTarget;

 private:
  const char* name() const override { return "s3"; }

  void check() override {
    at = s3::parse_url(o.dest);
    if (at.key.empty() || at.key.back() == '/')
      throw usage_error("the destination needs an object key: s3://bucket/key");
    if (o.concurrency == 0) throw usage_error("--concurrency must be at least 1");
    shared = o.begin || o.complete || o.worker_n > 0;
    if (o.abort + o.begin + o.complete + (o.worker_n > 0) + o.resume > 1) {
      throw usage_error("--abort, --begin, --part, --complete and --resume exclude each other");
    }
    if (o.worker_n && (o.worker_k < 1 || o.worker_k > o.worker_n)) {
      throw usage_error("--part takes K/N with 1 <= K <= N, e.g. 3/8");
    }
    if (!o.upload_id.empty() && !o.abort && !o.complete && !o.worker_n) {
      throw usage_error("--upload-id goes with --part, --complete or --abort");
    }
  }

  // An object is the file's bytes as stored: a .gz or .bz2 file is sent compressed.
  Decode decode() const override { return Decode::raw; }
  bool reads_source() const override { return !o.abort; }

  // The part plan, or one of the steps that end the run here.
  bool plan() override {
    if (o.abort) {
      rep = abort_uploads(o, *journal, at, rep);
      return false;
    }
    if (stream && (o.resume || shared)) {
      throw usage_error("--resume, --begin, --part and --complete need a file source: stdin cannot be read again");
    }
    if (shared) {
      rep = shared_upload(o, src, at, *in, rep);
      return false;
    }
    // Taken before any byte is read, compared again before the object is made.
    start_stat = stream ? nlohmann::json() : source_stat_json(*in);
    size = in->size();
    rep.bytes_total = size;

    rep.journal = journal->path();
    have_journal = !stream && journal->exists();
    if (have_journal) journal->load(header, events);
    if (o.resume && !have_journal) {
      throw usage_error("nothing to resume: no journal " + journal->path() +
                        " (was the upload started with another --state?)")
          .at_path(o.dest);
    }

    // The part layout: the journal's when resuming (whatever --part-size says now), else
    // the plan (the manifest's pieces where S3 accepts them, else fixed-size parts).
    if (have_journal) {
      const bool same_dest = header.contains("dest_sha256") ? header["dest_sha256"] == dest_hash(o.dest)
                                                            : header.value("dest", "") == o.dest;
      if (!same_dest || header.value("target", "") != "s3") {
        throw data_error("journal " + journal->path() + " is for another destination; delete it").at_path(o.dest);
      }
      // Journals of older versions have no "stat"; the fingerprint alone decides for them.
      if (header["fingerprint"] != fingerprint_json(in->fingerprint()) ||
          (header.contains("stat") && header["stat"] != start_stat)) {
        throw data_error("the source changed since the interrupted upload started (journal " + journal->path() +
                         "): restore it, or discard the upload with --abort")
            .at_path(src.path);
      }
      part_size = header.value("part_size", std::uint64_t{0});
      for (const auto& p : header.value("layout", nlohmann::json::array())) {
        layout.push_back(
            {static_cast<unsigned>(layout.size() + 1), p[0].get<std::uint64_t>(), p[1].get<std::uint64_t>(), "", ""});
      }
      rep.resumed = true;
    } else if (!stream) {
      layout = plan_parts(o, src, size, part_size, rep.note);
    } else {
      part_size = choose_part_size(o, size, true);
    }
    rep.part_size = part_size;

    single = !have_journal && !stream && layout.size() == 1;
    rep.method = single ? UploadMethod::put : UploadMethod::multipart;
    if (o.dry_run) {
      for (const PartJob& j : layout) rep.plan.push_back({j.number, j.offset, j.length});
      rep.units_total = layout.size();
      return false;
    }

    return true;
  }

  // A single PUT needs no state; else the multipart upload to continue (the journal's,
  // its parts checked against ListParts) or a new one.
  bool resume() override {
    client.emplace(s3_config(o));
    if (single) {
      PartBuffer data;
      read_exact(*in, data, 0, size);
      check_source_unchanged(*in, start_stat);
      put_single(data);
      return false;
    }

    // Stdin: the first part decides between a single PUT and multipart.
    if (stream) {
      read_stream(*in, first, part_size);
      if (first.size() < part_size) {
        put_single(first);
        return false;
      }
    }

    // Previous runs: what they finished and what they only started.
    if (have_journal) {
      upload_id = header.value("upload_id", "");
      for (const auto& ev : events) {
        if (ev.contains("start")) started_before.insert(ev["start"].get<unsigned>());
        if (ev.contains("done")) {
          done[ev["done"].get<unsigned>()] = {ev.value("size", std::uint64_t{0}), ev.value("md5", ""),
                                              ev.value("etag", "")};
        }
      }
      std::map<unsigned, s3::PartInfo> server;
      try {
        for (const s3::PartInfo& p : client->list_parts(at, upload_id, o.list_page_size)) server[p.number] = p;
        journal->open_append();
      } catch (const s3::S3Error& e) {
        if (e.code() != "NoSuchUpload" && e.status() != 404) throw;
        // The upload is gone (aborted, or expired by a lifecycle rule): start again.
        upload_id.clear();
        done.clear();
        rep.note = "the interrupted upload no longer exists on the server; started a new one";
      }
      if (!upload_id.empty()) {
        for (PartJob& j : layout) {
          auto s = server.find(j.number);
          auto d = done.find(j.number);
          if (s != server.end() && s->second.size == j.length) {
            if (d != done.end() && d->second.etag == s->second.etag && d->second.size == j.length) continue;
            j.server_etag = s->second.etag;  // on the server but not journaled: verify by MD5 before skipping
          }
          if (d != done.end()) {  // journaled but missing or different on the server: sent again
            j.known_md5 = d->second.md5;
            done.erase(d);
          }
        }
      }
    }
    if (upload_id.empty()) {
      upload_id = client->create_multipart(at);
      nlohmann::json h = {{"ingot_upload_journal", 1},        {"target", "s3"},         {"dest", redacted(o.dest)},
                          {"dest_sha256", dest_hash(o.dest)}, {"upload_id", upload_id}, {"part_size", part_size}};
      if (!stream) {
        h["source"] = std::filesystem::absolute(src.path).string();
        h["fingerprint"] = fingerprint_json(in->fingerprint());
        h["stat"] = start_stat;
        h["size"] = size;
        nlohmann::json lay = nlohmann::json::array();
        for (const PartJob& j : layout) lay.push_back({j.offset, j.length});
        h["layout"] = lay;
        journal->create(h);
      }
    }
    rep.upload_id = upload_id;

    return true;
  }

  // A single PUT: a file no bigger than one part, or stdin that ends within the first part.
  void put_single(const PartBuffer& part) {
    const std::string_view data = part.view();
    s3::Md5 md5 = s3::md5(data);
    client->put_object(at, data, md5.base64);
    rep.method = UploadMethod::put;
    rep.bytes_total = rep.bytes_sent = data.size();
    rep.units_total = rep.units_sent = 1;
    auto head = client->head(at);
    if (!head || head->size != data.size() || head->etag != md5.hex) {
      throw s3::S3Error("verification failed: HEAD says " +
                            (head ? std::to_string(head->size) + " bytes, ETag " + head->etag : "missing") +
                            "; expected " + std::to_string(data.size()) + " bytes, ETag " + md5.hex,
                        0, "", false);
    }
    rep.verified = true;
    rep.etag = md5.hex;
    rep.retries = client->retries();
  }

  void send() override {
    sender.emplace(*client, at, upload_id);
    sender->source = in->display_name();
    sender->journal = journal->path().empty() ? nullptr : &*journal;
    sender->started_before = std::move(started_before);
    sender->done = std::move(done);
    for (const auto& [n, d] : sender->done) sender->skipped += d.size;
    sender->nskipped = sender->done.size();
    if (o.progress) sender->progress = [this](std::uint64_t bytes) { progress(bytes, 0); };

    std::vector<PartJob> todo;
    for (const PartJob& j : layout) {
      if (!sender->done.count(j.number)) todo.push_back(j);
    }
    auto read_stdin = [&](PartJob& job, PartBuffer& data) -> bool {
      if (stream_number == 0) {
        data.swap(first);
      } else {
        if (stream_eof) return false;
        read_stream(*in, data, part_size);
        if (data.size() < part_size) stream_eof = true;
        if (data.empty()) return false;
      }
      if (stream_number + 1 > o.max_parts) {
        throw usage_error("stdin is longer than " + std::to_string(o.max_parts) + " parts of " +
                          format_size(part_size) + " (--max-parts): use a bigger --part-size")
            .at_path(o.dest);
      }
      job = {++stream_number, stream_offset, data.size(), "", ""};
      stream_offset += data.size();
      return true;
    };

    try {
      if (stream) {
        run_parts(o.concurrency, read_stdin, *sender);
        rep.bytes_total = stream_offset;
      } else {
        send_file_parts(o.concurrency, *in, todo, *sender);
        check_source_unchanged(*in, start_stat);
      }
    } catch (const Error& e) {
      fail(e);
    }
  }

  void finish() override {
    try {
      std::vector<s3::PartInfo> parts;
      std::vector<std::string> md5s;
      std::uint64_t total = 0;
      for (const auto& [n, d] : sender->done) {
        parts.push_back({n, d.size, d.etag});
        md5s.push_back(d.md5);
        total += d.size;
      }
      const std::size_t want = stream ? stream_number : layout.size();
      if (parts.size() != want || total != rep.bytes_total) {
        throw s3::S3Error("internal: " + std::to_string(parts.size()) + " parts for " + std::to_string(want), 0, "",
                          false);
      }
      rep.etag = complete_verified(*client, at, upload_id, parts, md5s, rep.bytes_total, rep.note);
      rep.verified = true;
    } catch (const Error& e) {
      fail(e);
    }
    if (!journal->path().empty()) journal->remove();
    rep.bytes_sent = sender->sent;
    rep.bytes_resent = sender->resent;
    rep.bytes_skipped = sender->skipped;
    rep.units_sent = sender->nsent;
    rep.units_skipped = sender->nskipped;
    rep.units_total = sender->done.size();
    rep.retries = client->retries();
  }

  [[noreturn]] void fail(const Error& e) {
    // Transient failures (network, 5xx after the retries) keep the parts and the
    // journal for a rerun; anything else aborts the upload unless --keep-parts.
    const auto* se = dynamic_cast<const s3::S3Error*>(&e);
    const bool transient = se && se->transient();
    if (!o.keep_parts && !transient && e.kind() != ErrorKind::interrupted) {
      try {
        client->abort_multipart(at, upload_id);
      } catch (const Error&) {
      }
      if (!journal->path().empty()) journal->remove();
      Error out = e;
      throw out.at_path(e.path().empty() ? o.dest : e.path());
    }
    Error out(e.kind(),
              std::string(e.what()) +
                  (stream ? std::string("; the parts stay on the server: `ingot upload - ") + o.dest +
                                " --abort` removes them"
                          : "; parts kept: rerun the same command (or add --resume) to continue, or --abort"));
    throw out.at_path(e.path().empty() ? o.dest : e.path());
  }

  s3::Location at;
  bool shared = false;        // --begin, --part K/N or --complete
  nlohmann::json start_stat;  // taken before any byte is read, compared again before the object is made
  std::uint64_t size = 0;
  bool have_journal = false;
  nlohmann::json header;  // the journal's, and its events
  std::vector<nlohmann::json> events;
  std::uint64_t part_size = 0;
  std::vector<PartJob> layout;
  bool single = false;
  std::optional<s3::Client> client;
  PartBuffer first;  // stdin: the first part decides between a single PUT and multipart
  bool stream_eof = false;
  std::string upload_id;
  std::map<unsigned, Done> done;      // parts earlier runs finished (journal, checked by ListParts)
  std::set<unsigned> started_before;  // parts earlier runs started
  std::optional<PartSender> sender;
  unsigned stream_number = 0;
  std::uint64_t stream_offset = 0;
};

}  // namespace

std::unique_ptr<UploadTarget> make_s3_target(const UploadOptions& o, const UploadSource& src) {
  return std::make_unique<S3Target>(o, src);
}

}  // namespace ingot::detail

// ingot upload to S3: a single PUT for small inputs, otherwise a multipart upload whose
// parts go through one TBB parallel_pipeline (serial reader -> parallel sender), so at
// most --concurrency parts (each --part-size bytes) are in memory. Every part start and
// completion is journaled; a rerun lists the parts the server holds (ListParts) and
// sends only the missing or mismatched ones.
#include <tbb/concurrent_queue.h>
#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "ingot/io/input.h"
#include "ingot/ops/s3.h"
#include "ingot/ops/upload_internal.h"
#include "ingot/ops/upload_journal.h"
#include "ingot/util/units.h"

namespace ingot::detail {

namespace {

struct PartJob {
  unsigned number = 0;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string server_etag;  // the server holds a part with this number and size (unverified)
};

struct Done {
  std::uint64_t size = 0;
  std::string md5;
  std::string etag;
};

std::uint64_t default_part_size(std::uint64_t size) {
  const std::uint64_t mib = std::uint64_t{1} << 20;
  std::uint64_t need = (size + kS3MaxParts - 1) / kS3MaxParts;
  need = (need + mib - 1) / mib * mib;
  return std::max(kS3DefaultPart, need);
}

std::uint64_t choose_part_size(const UploadOptions& o, std::uint64_t size, bool stream) {
  if (!o.part_size) return stream ? kS3StreamPart : default_part_size(size);
  std::uint64_t ps = *o.part_size;
  if (ps == 0 || ps > kS3MaxPart) throw usage_error("--part-size must be between 1 byte and 5 GiB");
  if (!stream && (size + ps - 1) / ps > kS3MaxParts) {
    throw usage_error("--part-size " + format_size(ps) + " makes " + std::to_string((size + ps - 1) / ps) +
                      " parts; S3 allows 10,000: use at least " + format_size(default_part_size(size)));
  }
  return ps;
}

// Parts from a manifest's pieces when S3 accepts them as parts (all but the last at
// least 5 MiB, each at most 5 GiB, at most 10,000, covering the source); otherwise empty
// and the caller re-cuts at the part size. The first part starts at 0 so a CSV header
// (before piece 1) goes with it.
std::vector<PartJob> parts_from_pieces(const std::vector<ByteRange>& pieces, std::uint64_t size) {
  if (pieces.empty() || pieces.size() > kS3MaxParts) return {};
  std::vector<PartJob> v;
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    ByteRange r = pieces[i];
    if (i == 0) r.begin = 0;
    if (i + 1 == pieces.size()) r.end = size;
    if (r.begin != pos || r.end < r.begin) return {};
    if (r.size() > kS3MaxPart || (i + 1 < pieces.size() && r.size() < kS3MinPart)) return {};
    v.push_back({static_cast<unsigned>(i + 1), r.begin, r.size(), ""});
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
  c.creds = s3::find_credentials();
  return c;
}

// Sends parts through the one pipeline shape the engine uses: a serial in-order reader
// (pread of a file, or sequential reads of a stream), then a parallel stage that hashes
// and sends. `read` fills data for the next job and returns false at the end.
template <class Read, class Send>
void run_parts(unsigned concurrency, Read&& read, Send&& send) {
  struct Slot {
    PartJob job;
    std::string data;
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
        ntokens,
        tbb::make_filter<void, Slot*>(tbb::filter_mode::serial_in_order,
                                      [&](tbb::flow_control& fc) -> Slot* {
                                        Slot* s = nullptr;
                                        if (!free_slots.try_pop(s)) throw std::logic_error("no free part slot");
                                        if (!read(s->job, s->data)) {
                                          free_slots.push(s);
                                          fc.stop();
                                          return nullptr;
                                        }
                                        return s;
                                      }) &
            tbb::make_filter<Slot*, void>(tbb::filter_mode::parallel, [&](Slot* s) {
              send(s->job, s->data);
              free_slots.push(s);
            }));
  });
}

void read_exact(const InputFile& in, std::string& data, std::uint64_t offset, std::uint64_t length) {
  data.resize(length);
  std::size_t got = in.read_at(data.data(), length, offset);
  if (got != length) {
    throw data_error("the source is shorter than when the upload started").at_path(in.display_name()).at_offset(offset + got);
  }
}

std::size_t read_stream(InputFile& in, std::string& data, std::uint64_t length) {
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

}  // namespace

UploadReport upload_s3(const UploadOptions& o, const UploadSource& src) {
  UploadReport rep;
  rep.target = "s3";
  rep.source = o.source;
  rep.dest = o.dest;
  const s3::Location at = s3::parse_url(o.dest);
  if (at.key.empty() || at.key.back() == '/') throw usage_error("the destination needs an object key: s3://bucket/key");
  if (o.concurrency == 0) throw usage_error("--concurrency must be at least 1");

  InputFile in = InputFile::open(src.path);
  const bool stream = !in.seekable();
  if (stream && (o.resume || o.abort)) {
    throw usage_error("--resume and --abort need a file source: stdin cannot be read again");
  }
  const std::uint64_t size = in.size();
  rep.bytes_total = size;

  Journal journal(stream ? std::string() : Journal::path_for(src.path, o.dest, o.state_dir));
  rep.journal = journal.path();
  nlohmann::json header;
  std::vector<nlohmann::json> events;
  const bool have_journal = !stream && journal.exists();
  if (have_journal) journal.load(header, events);
  if (o.resume && !have_journal) {
    throw usage_error("nothing to resume: no journal " + journal.path() + " (was the upload started with another --state?)")
        .at_path(o.dest);
  }

  if (o.abort) {
    if (!have_journal) throw usage_error("no interrupted upload to abort (no journal " + journal.path() + ")").at_path(o.dest);
    rep.upload_id = header.value("upload_id", "");
    if (!o.dry_run) {
      s3::Client client(s3_config(o));
      try {
        client.abort_multipart(at, rep.upload_id);
      } catch (const s3::S3Error& e) {
        if (e.code() != "NoSuchUpload") throw;
      }
      journal.remove();
    }
    rep.method = "abort";
    return rep;
  }

  // The part layout: the journal's when resuming (whatever --part-size says now), else
  // the manifest's pieces where S3 accepts them, else fixed-size parts.
  std::uint64_t part_size = 0;
  std::vector<PartJob> layout;
  if (have_journal) {
    if (header.value("dest", "") != o.dest || header.value("target", "") != "s3") {
      throw data_error("journal " + journal.path() + " is for another destination; delete it").at_path(o.dest);
    }
    if (header["fingerprint"] != fingerprint_json(in.fingerprint())) {
      throw data_error("the source changed since the interrupted upload started (journal " + journal.path() +
                       "): restore it, or discard the upload with --abort")
          .at_path(src.path);
    }
    part_size = header.value("part_size", std::uint64_t{0});
    for (const auto& p : header.value("layout", nlohmann::json::array())) {
      layout.push_back({static_cast<unsigned>(layout.size() + 1), p[0].get<std::uint64_t>(), p[1].get<std::uint64_t>(), ""});
    }
    rep.resumed = true;
  } else if (!stream) {
    layout = parts_from_pieces(src.pieces, size);
    if (!layout.empty()) {
      rep.note = "the manifest's " + std::to_string(layout.size()) + " pieces are the parts";
    } else if (!src.pieces.empty()) {
      rep.note = "the manifest's pieces cannot be S3 parts (each but the last must be 5 MiB to 5 GiB, at most 10,000); re-cut at the part size";
    }
  }
  if (part_size == 0) part_size = choose_part_size(o, size, stream);
  if (layout.empty() && !stream) {
    for (std::uint64_t off = 0, n = 1; off < size || n == 1; off += part_size, ++n) {
      layout.push_back({static_cast<unsigned>(n), off, std::min(part_size, size - off), ""});
      if (size == 0) break;
    }
  }
  rep.part_size = part_size;

  const bool single = !have_journal && !stream && layout.size() == 1;
  rep.method = single ? "put" : "multipart";
  if (o.dry_run) {
    for (const PartJob& j : layout) rep.plan.push_back({j.number, j.offset, j.length});
    rep.units_total = layout.size();
    return rep;
  }

  s3::Client client(s3_config(o));

  if (single) {
    std::string data;
    read_exact(in, data, 0, size);
    std::string md5 = s3::md5_hex(data);
    client.put_object(at, data, s3::md5_base64(data));
    rep.bytes_sent = size;
    rep.units_total = rep.units_sent = 1;
    auto head = client.head(at);
    if (!head || head->size != size || head->etag != md5) {
      throw s3::S3Error("verification failed: HEAD says " + (head ? std::to_string(head->size) + " bytes, ETag " + head->etag : "missing") +
                            "; expected " + std::to_string(size) + " bytes, ETag " + md5,
                        0, "", false);
    }
    rep.verified = true;
    rep.etag = md5;
    return rep;
  }

  // Stdin: the first part decides between a single PUT and multipart.
  std::string first;
  bool stream_eof = false;
  if (stream) {
    read_stream(in, first, part_size);
    if (first.size() < part_size) {
      stream_eof = true;
      std::string md5 = s3::md5_hex(first);
      client.put_object(at, first, s3::md5_base64(first));
      rep.method = "put";
      rep.bytes_total = rep.bytes_sent = first.size();
      rep.units_total = rep.units_sent = 1;
      auto head = client.head(at);
      rep.verified = head && head->size == first.size() && head->etag == md5;
      if (!rep.verified) throw s3::S3Error("verification failed after PUT (HEAD size/ETag differ)", 0, "", false);
      rep.etag = md5;
      return rep;
    }
  }

  // Previous runs: what they finished and what they only started.
  std::map<unsigned, Done> done;
  std::set<unsigned> started_before;
  std::string upload_id;
  if (have_journal) {
    upload_id = header.value("upload_id", "");
    for (const auto& ev : events) {
      if (ev.contains("start")) started_before.insert(ev["start"].get<unsigned>());
      if (ev.contains("done")) {
        done[ev["done"].get<unsigned>()] = {ev.value("size", std::uint64_t{0}), ev.value("md5", ""), ev.value("etag", "")};
      }
    }
    std::map<unsigned, s3::PartInfo> server;
    try {
      for (const s3::PartInfo& p : client.list_parts(at, upload_id, o.list_page_size)) server[p.number] = p;
      journal.open_append();
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
        if (d != done.end()) done.erase(d);  // journaled but missing or different on the server
      }
    }
  }
  if (upload_id.empty()) {
    upload_id = client.create_multipart(at);
    nlohmann::json h = {{"ingot_upload_journal", 1},
                        {"target", "s3"},
                        {"dest", o.dest},
                        {"upload_id", upload_id},
                        {"part_size", part_size}};
    if (!stream) {
      h["source"] = std::filesystem::absolute(src.path).string();
      h["fingerprint"] = fingerprint_json(in.fingerprint());
      h["size"] = size;
      nlohmann::json lay = nlohmann::json::array();
      for (const PartJob& j : layout) lay.push_back({j.offset, j.length});
      h["layout"] = lay;
      journal.create(h);
    }
  }
  rep.upload_id = upload_id;
  for (const auto& [n, d] : done) rep.bytes_skipped += d.size;
  rep.units_skipped = done.size();

  std::vector<PartJob> todo;
  for (const PartJob& j : layout) {
    if (!done.count(j.number)) todo.push_back(j);
  }
  std::mutex mu;
  std::atomic<std::uint64_t> sent{0}, resent{0}, skipped{rep.bytes_skipped}, nsent{0}, nskipped{rep.units_skipped};
  std::size_t next = 0;
  unsigned stream_number = 0;
  std::uint64_t stream_offset = 0;
  auto progress = [&] {
    if (o.progress) {
      std::lock_guard lock(mu);
      o.progress(sent + skipped, 0);
    }
  };

  auto read = [&](PartJob& job, std::string& data) -> bool {
    if (stream) {
      if (stream_number == 0) {
        data.swap(first);
      } else {
        if (stream_eof) return false;
        read_stream(in, data, part_size);
        if (data.size() < part_size) stream_eof = true;
        if (data.empty() && stream_number > 0) return false;
      }
      if (stream_number + 1 > kS3MaxParts) {
        throw usage_error("stdin is longer than 10,000 parts of " + format_size(part_size) + ": use a bigger --part-size")
            .at_path(o.dest);
      }
      job = {++stream_number, stream_offset, data.size(), ""};
      stream_offset += data.size();
      return true;
    }
    if (next == todo.size()) return false;
    job = todo[next++];
    read_exact(in, data, job.offset, job.length);
    return true;
  };
  auto send = [&](const PartJob& job, const std::string& data) {
    std::string md5 = s3::md5_hex(data);
    std::string etag;
    bool was_there = !job.server_etag.empty() && job.server_etag == md5;
    if (was_there) {
      etag = job.server_etag;
      skipped += job.length;
      ++nskipped;
    } else {
      if (journal.path().size()) journal.append({{"start", job.number}});
      etag = client.upload_part(at, upload_id, job.number, data, s3::md5_base64(data));
      if (etag.size() == 32 && etag != md5) {
        throw s3::S3Error("part " + std::to_string(job.number) + ": the server's ETag " + etag +
                              " is not the MD5 of what was sent (" + md5 + ")",
                          0, "", true);
      }
      sent += job.length;
      ++nsent;
      if (started_before.count(job.number)) resent += job.length;
    }
    if (journal.path().size()) {
      journal.append({{"done", job.number}, {"size", job.length}, {"md5", md5}, {"etag", etag}});
    }
    {
      std::lock_guard lock(mu);
      done[job.number] = {job.length, md5, etag};
    }
    progress();
  };

  try {
    run_parts(o.concurrency, read, send);
    if (stream) rep.bytes_total = stream_offset;
    std::vector<s3::PartInfo> parts;
    std::vector<std::string> md5s;
    std::uint64_t total = 0;
    for (const auto& [n, d] : done) {
      parts.push_back({n, d.size, d.etag});
      md5s.push_back(d.md5);
      total += d.size;
    }
    const std::size_t want = stream ? stream_number : layout.size();
    if (parts.size() != want || total != rep.bytes_total) {
      throw s3::S3Error("internal: " + std::to_string(parts.size()) + " parts for " + std::to_string(want), 0, "", false);
    }
    std::string etag = client.complete_multipart(at, upload_id, parts);
    std::string expect = s3::multipart_etag(md5s);
    // Verify what the server now has: its size, and an ETag of the multipart form
    // that matches the MD5s of the parts we hold locally.
    auto head = client.head(at);
    if (!head || head->size != rep.bytes_total) {
      throw s3::S3Error("verification failed: HEAD says " + (head ? std::to_string(head->size) : std::string("missing")) +
                            " bytes, expected " + std::to_string(rep.bytes_total),
                        0, "", false);
    }
    if (head->etag.find('-') != std::string::npos && head->etag != expect) {
      throw s3::S3Error("verification failed: ETag " + head->etag + ", expected " + expect, 0, "", false);
    }
    rep.verified = true;
    rep.etag = head->etag.empty() ? etag : head->etag;
  } catch (const Error& e) {
    // Transient failures (network, 5xx after the retries) keep the parts and the
    // journal for a rerun; anything else aborts the upload unless --keep-parts.
    const auto* se = dynamic_cast<const s3::S3Error*>(&e);
    const bool transient = se && se->transient();
    if (!o.keep_parts && !transient && e.kind() != ErrorKind::interrupted) {
      try {
        client.abort_multipart(at, upload_id);
      } catch (const Error&) {
      }
      if (!journal.path().empty()) journal.remove();
      Error out = e;
      throw out.at_path(e.path().empty() ? o.dest : e.path());
    }
    Error out(e.kind(), std::string(e.what()) +
                            (stream ? std::string("; the parts stay on the server (ingot upload --abort cannot "
                                                  "find them for stdin)")
                                    : "; parts kept: rerun the same command (or add --resume) to continue, or --abort"));
    throw out.at_path(e.path().empty() ? o.dest : e.path());
  }
  if (!journal.path().empty()) journal.remove();
  rep.bytes_sent = sent;
  rep.bytes_resent = resent;
  rep.bytes_skipped = skipped;
  rep.units_sent = nsent;
  rep.units_skipped = nskipped;
  rep.units_total = done.size();
  rep.retries = 0;
  return rep;
}

}  // namespace ingot::detail

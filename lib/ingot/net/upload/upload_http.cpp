// ingot upload to an HTTP NDJSON endpoint: the engine's Chunker cuts whole records into
// batches of about --batch-bytes, numbered by the BatchCutter PostgreSQL uses too; the
// engine's pipeline (run_pipeline with an I/O stage) POSTs up to --concurrency batches
// at a time (optionally gzip'd by io/compress) through net/http, whose one retry policy
// retries 5xx, 429, 408 and dropped connections (Retry-After on 429/503, else back-off).
// Each acknowledged batch is journaled, so a rerun of a file source sends only the
// batches not yet acknowledged.
#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>

#include "ingot/io/compress.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/convert/chunk_converter.h"
#include "ingot/net/http/http.h"
#include "ingot/net/redact.h"
#include "ingot/net/upload/upload_batch.h"
#include "ingot/net/upload/upload_journal.h"
#include "ingot/net/upload/upload_target.h"
#include "ingot/util/hash.h"

namespace ingot::detail {

namespace {

constexpr std::uint64_t kHttpDefaultBatch = 10'000'000;

// Per token: the chunk's records and its one batch; for a CSV/TSV source also the
// chunk converted to NDJSON (the body sent) and the records it rejected.
struct Work {
  std::uint64_t records = 0;
  std::vector<Batch> batches;
  CsvTokenizer tokenizer;
  CsvRecord rec;
  ChunkTally tally;
  ByteBuffer ndjson;
  std::uint64_t first_line = 0;  // absolute line of the chunk's first byte
};

class HttpTarget final : public UploadTarget {
 public:
  using UploadTarget::UploadTarget;

 private:
  const char* name() const override { return "http"; }

  void check() override {
    if (o.concurrency == 0) throw usage_error("--concurrency must be at least 1");
    for (const std::string& h : o.headers) {
      // A CR or LF would end the header line and start another one (header injection),
      // a NUL would cut it short: refused, and the value (often a token) not echoed.
      if (h.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        throw usage_error("--header must not contain CR, LF or NUL characters (one header per --header)");
      }
      if (h.find(':') == std::string::npos) throw usage_error("--header takes 'Name: value', got '" + h + "'");
    }
  }

  // Batches of about --batch-bytes whole records, cut as the source streams past; what
  // decides them (and so the journal's and the idempotency keys' validity) is fixed here.
  bool plan() override {
    batch_bytes = o.http_batch_bytes.value_or(kHttpDefaultBatch);
    if (stream && o.resume) throw usage_error("--resume needs a file source: stdin cannot be read again");
    rep.bytes_total = in->size();
    // The endpoint takes NDJSON: a CSV/TSV source is converted chunk by chunk, as
    // `ingot convert --to ndjson` converts it (the same converter); invalid records are
    // not sent (counted, --rejects, --on-error fail). Anything else is sent as it is.
    kind = o.from ? *o.from : record_kind_from_path(src.path).value_or(RecordKind::ndjson);
    from_delimited = is_delimited(kind);
    delim = o.chunker.delimiter ? o.chunker.delimiter : default_delimiter(kind);
    body_kind = from_delimited ? std::string("ndjson from ") + record_kind_name(kind) : "as is";
    // Another reading of the CSV gives other batches (older journals keep their kind).
    if (from_delimited && delim != default_delimiter(kind)) body_kind += ", delimiter " + std::string(1, delim);
    if (from_delimited && !o.header) body_kind += ", no header";
    return true;
  }

  // The journal's acknowledged batches, if it is for this source, destination and plan.
  bool resume() override {
    rep.journal = journal->path();
    fp = stream ? nlohmann::json() : fingerprint_json(in->fingerprint());
    if (!stream && journal->exists()) {
      nlohmann::json header;
      std::vector<nlohmann::json> events;
      journal->load(header, events);
      if (header.contains("dest_sha256") && header["dest_sha256"] != dest_hash(o.dest)) {
        throw data_error("journal " + journal->path() + " is for another destination; delete it").at_path(shown);
      }
      if (header["fingerprint"] != fp) {
        throw data_error("the source changed since the interrupted upload started (journal " + journal->path() +
                         "): restore it, or delete the journal to send everything again")
            .at_path(src.path);
      }
      // Older journals of a CSV source recorded batches of raw CSV: not these batches.
      if (header.value("body", std::string("as is")) != body_kind) {
        throw data_error("journal " + journal->path() +
                         " is for batches of another kind; delete it to send everything again")
            .at_path(shown);
      }
      if (header.value("batch_bytes", std::uint64_t{0}) != batch_bytes) {
        throw usage_error("the interrupted upload used --batch-bytes " +
                          std::to_string(header.value("batch_bytes", std::uint64_t{0})) + "; rerun with the same value")
            .at_path(shown);
      }
      for (const auto& e : events) {
        if (e.contains("done")) acked.insert(e["done"].get<std::uint64_t>());
      }
      journal->open_append();
      rep.resumed = true;
    } else if (o.resume) {
      throw usage_error("nothing to resume: no journal " + journal->path()).at_path(shown);
    }
    return true;
  }

  void send() override;

  void finish() override {
    if (o.dry_run) {
      rep.units_total = rep.plan.size();
      return;
    }
    if (!stream) journal->remove();
    rep.units_total = rep.units_sent + rep.units_skipped;
    rep.retries = retries;
    if (stream) rep.bytes_total = rep.bytes_sent;
  }

  void post(std::string_view body, const Batch& b);

  // Messages name the destination redacted (net/redact.h).
  const std::string shown = redacted(o.dest);
  std::uint64_t batch_bytes = 0;
  RecordKind kind = RecordKind::ndjson;
  bool from_delimited = false;
  char delim = 0;
  std::string body_kind;
  nlohmann::json fp;
  std::set<std::uint64_t> acked;
  std::atomic<std::uint64_t> retries{0};
};

void HttpTarget::post(std::string_view body, const Batch& b) {
  http::Request req;
  req.method = "POST";
  req.url = o.dest;
  std::string packed;
  if (o.gzip) {
    // One gzip member per batch, as `convert --compress gz` writes a file.
    auto z = Compressor::create(Codec::gzip);
    z->update(body.data(), body.size(), packed);
    z->finish(packed);
    req.body = packed;
  } else {
    req.body = body;
  }
  req.headers.push_back("Content-Type: application/x-ndjson");
  if (o.gzip) req.headers.push_back("Content-Encoding: gzip");
  if (!rep.load_id.empty()) req.headers.push_back("Idempotency-Key: " + rep.load_id + "-" + std::to_string(b.number));
  req.headers.insert(req.headers.end(), o.headers.begin(), o.headers.end());
  // Credentials from ~/.netrc keep a password off the command line (docs/security.md).
  req.configure = [](CURL* h) { curl_easy_setopt(h, CURLOPT_NETRC, static_cast<long>(CURL_NETRC_OPTIONAL)); };
  const http::Outcome out = http::send(req, {o.retries, o.retry_base_ms});
  retries += out.attempts - 1;
  if (out.ok()) return;
  const http::Response& r = out.response;
  std::string what = !r.error.empty()
                         ? r.error
                         : "HTTP " + std::to_string(r.status) + (r.body.empty() ? "" : ": " + r.body.substr(0, 200));
  for (char& ch : what)
    if (ch == '\n' || ch == '\r') ch = ' ';
  const bool transient = out.verdict == http::Verdict::retry;
  throw remote_error("batch " + std::to_string(b.number) + " (byte " + std::to_string(b.offset) + "): " + what +
                     (transient ? " (after " + std::to_string(out.attempts) + " attempts)" : ""))
      .at_path(shown);
}

void HttpTarget::send() {
  Chunker chunker(*in, from_delimited ? kind : RecordKind::ndjson, 0, kToEnd,
                  batch_chunker_options(o.chunker, batch_bytes));
  std::unique_ptr<DelimitedChunkConverter> converter;
  std::uint64_t line = 1;  // of the next chunk's first byte
  if (from_delimited) {
    std::string first;
    if (o.header) {
      first = chunker.take_first_record();
    } else if (stream) {
      throw usage_error(
          "--no-header reads the first record twice (for the number of columns), which a stream does "
          "not allow")
          .at_path(src.path);
    } else {
      Chunker head(*in, kind, 0, kToEnd, o.chunker);
      first = head.take_first_record();
    }
    std::vector<std::string> keys = delimited_keys(first, delim, o.header, o.chunker.strict_quotes, in->display_name());
    rep.renamed_columns = rename_duplicate_columns(keys);  // NDJSON objects cannot hold a key twice
    converter = std::make_unique<DelimitedChunkConverter>(keys, delim, RecordKind::ndjson, ValueTypes::auto_detect,
                                                          o.chunker.strict_quotes);
    if (o.header) line += static_cast<std::uint64_t>(std::count(first.begin(), first.end(), '\n'));
  }
  // Rejects, --on-error and --max-errors go through the engine's RecordLedger, as in convert.
  RecordLedger& record_ledger = open_ledger(in->display_name(), line);
  if (!stream && !journal->exists() && !o.dry_run) {
    journal->create({{"ingot_upload_journal", 1},
                     {"target", "http"},
                     {"dest", redacted(o.dest)},
                     {"dest_sha256", dest_hash(o.dest)},
                     {"source", std::filesystem::absolute(src.path).string()},
                     {"fingerprint", fp},
                     {"batch_bytes", batch_bytes},
                     {"body", body_kind}});
  }
  // An idempotency key per batch lets an endpoint drop a batch it already has (a
  // retry after a response was lost); the id is stable across reruns.
  std::string id_text = fp.dump() + "\n" + o.dest + "\n" + std::to_string(batch_bytes);
  if (from_delimited) id_text += "\n" + body_kind;  // not the keys of an older version's raw CSV batches
  rep.load_id = stream ? "" : xxh3_hex(xxh3_64(id_text.data(), id_text.size()));

  // A batch is a whole chunk: the cutter numbers it (no row limit), so its span is the chunk.
  BatchCutter cutter(0, acked);
  PipelineOptions popts = o.pipeline;
  popts.tokens_per_thread = 1;  // tokens hold a batch-bytes chunk
  try {
    run_pipeline<Work>(
        chunker, popts, IoStage{o.concurrency},
        [&](const Chunk& c, Work& w) {
          if (converter) {
            converter->convert(c, w.tokenizer, w.rec, w.tally, w.ndjson);
            w.records = w.tally.counts.valid;
            return;
          }
          auto n = static_cast<std::uint64_t>(std::count(c.data, c.data + c.size, '\n'));
          if (c.size && c.data[c.size - 1] != '\n') ++n;
          w.records = n;
        },
        [&](const Chunk& c, Work& w) {
          w.first_line = line;
          line += w.tally.newlines;
          if (converter && o.on_error == OnError::fail && !w.tally.rejects.empty()) {
            const Reject& r = w.tally.rejects.front();
            throw data_error(r.reason + " (--on-error fail; the batches before it were sent)")
                .at_path(in->display_name())
                .at_line(w.first_line + r.line);
          }
          w.batches.clear();
          cutter.cut(
              c, w.records, [&](std::size_t) { return std::pair<std::size_t, std::size_t>(0, c.size); }, w.batches);
        },
        [&](const Chunk& c, Work& w) {
          if (o.dry_run) return;
          for (const Batch& b : w.batches) {
            if (b.skip) continue;
            post(converter ? w.ndjson.view() : std::string_view(c.data, c.size), b);
            if (!stream) journal->append({{"done", b.number}, {"bytes", b.length}, {"records", w.records}});
          }
        },
        [&](const Chunk& c, Work& w) {
          for (const Batch& b : w.batches) report_batch(rep, b, o.dry_run, b.skip, w.records);
          rep.rejected += w.tally.rejects.size();
          record_ledger.add(c, w.tally);
          progress(rep.bytes_sent + rep.bytes_skipped, rep.records);
        });
  } catch (const Error& e) {
    if (stream || e.kind() != ErrorKind::remote) throw;
    Error out(e.kind(),
              std::string(e.what()) + "; acknowledged batches are journaled: rerun the same command to continue");
    throw out.at_path(e.path());
  }
  if (rep.rejected) {
    rep.note = std::to_string(rep.rejected) + " invalid record" + (rep.rejected > 1 ? "s" : "") +
               " not sent (first at line " + std::to_string(record_ledger.first_reject_line()) + ": " +
               record_ledger.first_reject_reason() + ")" + (o.rejects.empty() ? "; --rejects FILE keeps them" : "");
  }
}

}  // namespace

std::unique_ptr<UploadTarget> make_http_target(const UploadOptions& o, const UploadSource& src) {
  return std::make_unique<HttpTarget>(o, src);
}

}  // namespace ingot::detail

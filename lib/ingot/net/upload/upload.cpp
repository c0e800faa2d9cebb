#include "ingot/net/upload/upload.h"

#include <chrono>
#include <fstream>

#include "ingot/io/same_file.h"
#include "ingot/split/manifest.h"
#include "ingot/net/s3/s3.h"
#include "ingot/net/upload/upload_journal.h"
#include "ingot/net/upload/upload_target.h"
#include "ingot/net/redact.h"

namespace ingot {

const char* upload_method_name(UploadMethod m) {
  switch (m) {
    case UploadMethod::none: return "";
    case UploadMethod::put: return "put";
    case UploadMethod::multipart: return "multipart";
    case UploadMethod::begin: return "begin";
    case UploadMethod::part: return "part";
    case UploadMethod::complete: return "complete";
    case UploadMethod::abort: return "abort";
  }
  return "";
}

namespace detail {

UploadSource resolve_source(const UploadOptions& opts) {
  UploadSource s;
  s.path = opts.source;
  // A split manifest is recognised by content, not only by its .json name.
  if (opts.source != "-" && opts.source.size() > 5 && opts.source.ends_with(".json")) {
    std::ifstream f(opts.source);
    std::string head(4096, '\0');
    f.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(f.gcount()));
    if (head.find("\"ingot_manifest\"") != std::string::npos) {
      Manifest m = read_manifest(opts.source);
      if (m.source == "-" || m.source.empty()) {
        throw usage_error("the manifest's source was stdin; upload the piece files instead").at_path(opts.source);
      }
      InputFile in = InputFile::open(m.source, Decode::auto_detect, InputFile::Remote::allow);
      if (!(in.fingerprint() == m.fingerprint)) {
        throw data_error("the manifest's source " + m.source + " changed since the split; split it again")
            .at_path(opts.source);
      }
      s.manifest = opts.source;
      s.path = m.source;
      for (std::uint64_t k = 1; k <= m.pieces.size(); ++k) s.pieces.push_back(manifest_piece_range(m, k));
    }
  }
  return s;
}

UploadReport UploadTarget::run() {
  rep.target = name();
  rep.source = o.source;
  rep.dest = o.dest;
  check();
  if (reads_source()) {
    in.emplace(InputFile::open(src.path, decode(), InputFile::Remote::allow));
    stream = !in->seekable();
  }
  // A stream cannot be read again, so a rerun could not resume it: no journal.
  const bool no_journal = in ? stream : src.path == "-";
  journal.emplace(no_journal ? std::string() : Journal::path_for(src.path, o.dest, o.state_dir));
  if (!plan() || !resume()) return std::move(rep);
  send();
  if (ledger) ledger->finish();
  finish();
  return std::move(rep);
}

}  // namespace detail

namespace {

// An error as it may be shown: the destination (its path by default) and anything in
// the message that came from the destination or the endpoint, redacted.
Error scrubbed(const Error& e, const std::vector<std::string_view>& originals) {
  std::string what = e.what(), path = e.path();
  for (std::string_view o : originals) {
    what = scrub(std::move(what), o);
    path = scrub(std::move(path), o);
  }
  Error out(e.kind(), std::move(what));
  out.at_path(std::move(path));
  if (e.line()) out.at_line(*e.line());
  if (e.offset()) out.at_offset(*e.offset());
  return out;
}

}  // namespace

namespace {

// A destination or endpoint whose secrets cannot be told exactly is not used: the
// parser that would use it (libpq, libcurl) could quote in its errors the bytes of a
// password the redactor did not recognise as one.
void refuse_ambiguous(const char* what, const std::string& s) {
  if (s.empty() || parses_unambiguously(s)) return;
  throw usage_error(std::string(what) + " " + redacted(s) +
                    " does not parse unambiguously (a raw '@', '/', ':' or '%' in a user name or password?): "
                    "percent-encode them (%40 %2F %3A %25), or pass the password in PGPASSWORD, ~/.pgpass or "
                    "~/.netrc");
}

}  // namespace

Result<UploadReport> upload(const UploadOptions& opts) {
  Result<UploadReport> result = capture([&]() -> UploadReport {
    auto t0 = std::chrono::steady_clock::now();
    // (A string neither a URL nor a conninfo libpq parses is refused below as no destination.)
    if (opts.dest.find("://") != std::string::npos || is_postgres_destination(opts.dest)) {
      refuse_ambiguous("the destination", opts.dest);
    }
    refuse_ambiguous("--endpoint", opts.endpoint);
    detail::UploadSource src = detail::resolve_source(opts);
    // Neither --rejects nor the resume journal may be the source or its manifest.
    std::vector<NamedPath> inputs{{"", src.path}};
    if (!src.manifest.empty()) inputs.push_back({"manifest", src.manifest});
    refuse_same_files(
        inputs, {{"--rejects", opts.rejects},
                 {"journal",
                  src.path == "-" ? std::string() : detail::Journal::path_for(src.path, opts.dest, opts.state_dir)}});
    std::unique_ptr<detail::UploadTarget> target;
    if (s3::is_s3_url(opts.dest)) {
      target = detail::make_s3_target(opts, src);
    } else if (opts.dest.rfind("http://", 0) == 0 || opts.dest.rfind("https://", 0) == 0) {
      target = detail::make_http_target(opts, src);
    } else if (is_postgres_destination(opts.dest)) {
      target = detail::make_pg_target(opts, src);
    } else {
      throw usage_error(
          "destination must be s3://bucket/key, postgresql://..., a libpq conninfo (host=... "
          "dbname=..., service=NAME) or http(s)://...: " +
          redacted(opts.dest));
    }
    UploadReport r = target->run();
    r.dest = redacted(opts.dest);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  });
  // Every message names where it happened: the source or, by default, the destination.
  if (result.ok()) return result;
  Error e = result.error();
  if (e.path().empty() && e.kind() != ErrorKind::usage) e.at_path(opts.dest);
  return scrubbed(e, {opts.dest, opts.endpoint});
}

Result<std::vector<ListEntry>> list_datasets(const ListOptions& opts) {
  Result<std::vector<ListEntry>> result = capture([&]() -> std::vector<ListEntry> {
    refuse_ambiguous("--endpoint", opts.endpoint);
    s3::Location at = s3::parse_url(opts.url);
    s3::Config cfg;
    cfg.endpoint = opts.endpoint;
    cfg.region = opts.region;
    cfg.path_style = opts.path_style;
    cfg.retries = opts.retries;
    cfg.profile = opts.profile;
    s3::Client client(cfg);
    std::vector<ListEntry> out;
    // The name is the key below the prefix's "directory", like ls shows names in a folder.
    std::string dir = at.key.substr(0, at.key.rfind('/') == std::string::npos ? 0 : at.key.rfind('/') + 1);
    for (const s3::ObjectInfo& o : client.list_objects(at, opts.page_size)) {
      ListEntry e;
      e.name = o.key.substr(dir.size());
      e.path = "s3://" + at.bucket + "/" + o.key;
      e.size = o.size;
      e.modified = o.modified;
      out.push_back(std::move(e));
    }
    return out;
  });
  if (result.ok()) return result;
  return scrubbed(result.error(), {opts.url, opts.endpoint});
}

}  // namespace ingot

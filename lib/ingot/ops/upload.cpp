#include "ingot/ops/upload.h"

#include <chrono>
#include <fstream>

#include "ingot/io/same_file.h"
#include "ingot/ops/manifest.h"
#include "ingot/ops/s3.h"
#include "ingot/ops/upload_journal.h"
#include "ingot/ops/upload_internal.h"

namespace ingot {

namespace detail {

unsigned backoff_ms(unsigned base_ms, unsigned attempt) { return s3::retry_delay_ms(base_ms, attempt); }

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
      InputFile in = InputFile::open(m.source);
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

}  // namespace detail

namespace {

// The destination as printed in messages: a password in a URL becomes "***".
std::string redacted(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

}  // namespace

Result<UploadReport> upload(const UploadOptions& opts) {
  Result<UploadReport> result = capture([&]() -> UploadReport {
    auto t0 = std::chrono::steady_clock::now();
    detail::UploadSource src = detail::resolve_source(opts);
    // Neither --rejects nor the resume journal may be the source or its manifest.
    std::vector<NamedPath> inputs{{"", src.path}};
    if (!src.manifest.empty()) inputs.push_back({"manifest", src.manifest});
    refuse_same_files(inputs, {{"--rejects", opts.rejects},
                               {"journal", src.path == "-" ? std::string()
                                                           : detail::Journal::path_for(src.path, opts.dest, opts.state_dir)}});
    UploadReport r;
    if (s3::is_s3_url(opts.dest)) {
      r = detail::upload_s3(opts, src);
    } else if (opts.dest.rfind("postgresql://", 0) == 0 || opts.dest.rfind("postgres://", 0) == 0) {
      r = detail::upload_pg(opts, src);
    } else if (opts.dest.rfind("http://", 0) == 0 || opts.dest.rfind("https://", 0) == 0) {
      r = detail::upload_http(opts, src);
    } else {
      throw usage_error("destination must be s3://bucket/key, postgresql://... or http(s)://...: " + opts.dest);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  });
  // Every message names where it happened: the source or, by default, the destination.
  if (!result.ok() && result.error().path().empty() && result.error().kind() != ErrorKind::usage) {
    Error e = result.error();
    e.at_path(redacted(opts.dest));
    return e;
  }
  return result;
}

Result<std::vector<ListEntry>> list_datasets(const ListOptions& opts) {
  return capture([&]() -> std::vector<ListEntry> {
    s3::Location at = s3::parse_url(opts.url);
    s3::Config cfg;
    cfg.endpoint = opts.endpoint;
    cfg.region = opts.region;
    cfg.path_style = opts.path_style;
    cfg.retries = opts.retries;
    cfg.creds = s3::find_credentials();
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
}

}  // namespace ingot

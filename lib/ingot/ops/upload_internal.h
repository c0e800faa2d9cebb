// Shared between upload.cpp (dispatch, manifests) and the three targets; not public API.
#pragma once

#include <string>
#include <vector>

#include "ingot/ops/upload.h"

namespace ingot::detail {

// A source resolved from the command line: a file or stdin, or the source file of a
// split manifest with the manifest's piece ranges.
struct UploadSource {
  std::string path;                 // file to read ("-" = stdin)
  std::vector<ByteRange> pieces;    // from a manifest; empty otherwise
  std::string manifest;             // manifest path, when the source was one
};

UploadSource resolve_source(const UploadOptions& opts);

UploadReport upload_s3(const UploadOptions& opts, const UploadSource& src);
UploadReport upload_pg(const UploadOptions& opts, const UploadSource& src);
UploadReport upload_http(const UploadOptions& opts, const UploadSource& src);

// Back-off with full jitter for attempt (0-based): uniform in [0, min(cap, base * 2^attempt)] ms.
unsigned backoff_ms(unsigned base_ms, unsigned attempt);

}  // namespace ingot::detail

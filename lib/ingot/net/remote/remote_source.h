// Remote objects as inputs (io/input.h RemoteSource): s3:// objects and http(s):// URLs
// that answer Range requests, read by ranged GETs of whole blocks, a few in flight
// ahead of a sequential reader, each conditional on the version the object had when it
// was opened (If-Match on its ETag; If-Unmodified-Since on its Last-Modified when an
// http(s) server gives no strong ETag), so an object replaced during a run is an
// error, never a mix of two versions. docs/remote.md.
#pragma once

#include <memory>
#include <string>

#include "ingot/io/input.h"

namespace ingot::remote {

// The opener ingot-net registers with set_remote_opener(). s3:// takes the S3 client's
// settings from aws_config.h (AWS_ENDPOINT_URL_S3, the profile, ...); http(s):// is
// read anonymously (a presigned URL carries its own authorisation). The source names
// itself in errors with the URL's secrets (a signature, a token) masked.
std::unique_ptr<RemoteSource> open(const std::string& path);

}  // namespace ingot::remote

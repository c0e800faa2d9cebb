// s3:// objects as inputs (io/input.h RemoteSource): ranged GETs of whole blocks, a few
// in flight ahead of a sequential reader, each with If-Match on the ETag the object had
// when it was opened, so an object replaced during a run is an error, never a mix of
// two versions. docs/remote.md.
#pragma once

#include <memory>
#include <string>

#include "ingot/io/input.h"

namespace ingot::s3 {

// The opener ingot-net registers with set_remote_opener(): s3:// paths; other remote
// names are refused with a usage Error. The client's settings come from aws_config.h
// (AWS_ENDPOINT_URL_S3, the profile, ...).
std::unique_ptr<RemoteSource> open_remote(const std::string& path);

}  // namespace ingot::s3

// s3:// objects as outputs (io/output.h RemoteSink): the bytes an output is given are
// sent as a multipart upload while they are written, a few parts in flight, never
// staged on disk; the object appears only at commit (CompleteMultipartUpload, or one
// PUT for an output smaller than a part), and a sink destroyed uncommitted aborts its
// upload. copy_from() stitches ranges of other objects in by UploadPartCopy (server-side
// merge). docs/remote.md.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "ingot/io/output.h"

namespace ingot::s3 {

// The functions ingot-net registers with set_remote_outputs(); s3:// paths only. The
// client's settings come from aws_config.h (AWS_ENDPOINT_URL_S3, the profile, ...).
std::unique_ptr<RemoteSink> open_sink(const std::string& path);
std::optional<RemoteObject> stat_object(const std::string& path);
void remove_object(const std::string& path);
std::string read_range(const std::string& path, const std::string& version, std::uint64_t offset, std::uint64_t n);

// Aborts the multipart upload of every sink not yet committed. Called from the signal
// thread (util/cleanup.h handle_signals_in_thread) just before the process exits.
void abort_open_uploads();

// Part sizes: 8 MiB for the first 1,000 parts, doubling every 1,000 parts up to 512 MiB,
// so an output of unknown size fits S3's 10,000 parts up to ~2.5 TB while a small one
// keeps memory low. Exposed for the unit test.
std::uint64_t sink_part_size(unsigned part_number);

}  // namespace ingot::s3

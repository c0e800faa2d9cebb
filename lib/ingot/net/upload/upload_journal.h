// The resume journal shared by the S3 and HTTP targets (internal to upload*.cpp): an
// append-only file of JSON lines. Line 1 is the header (target, source, fingerprint,
// upload id / part size); every later line records one event ("start" or "done" of a
// part or batch). Each line is one write(2) on an O_APPEND descriptor, so a kill -9
// leaves at worst a torn last line, which reading ignores. Format: docs/upload.md.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ingot/io/input.h"

namespace ingot::detail {

nlohmann::json fingerprint_json(const Fingerprint& f);

// What stat(2) says of an open source file and of its path: size, modification and
// change times in ns, inode and device. Any write into the file changes its ctime (even
// when the writer restores the mtime, which no user can set back), and a file replaced
// under the same path has another inode: the S3 upload takes this before reading a byte
// and compares it again before completing, so a source modified during the upload (or
// between a run and its resume) never completes a torn object.
nlohmann::json source_stat_json(const InputFile& in);

// SHA-256 (hex) of the full destination: what a resume matches a journal by, without
// storing the destination's secrets.
std::string dest_hash(const std::string& dest);

class Journal {
 public:
  // <state_dir>/<source basename>.<hash>.ingot-upload, or next to the source (in the
  // current directory for a remote one) as .<basename>.<hash>.ingot-upload; hash = xxh3 of (absolute source, redacted
  // destination): a password in the destination neither shows in the name nor changes it.
  static std::string path_for(const std::string& source, const std::string& dest, const std::string& state_dir);

  explicit Journal(std::string path) : path_(std::move(path)) {}
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  bool exists() const;
  // Header and events of an existing journal; throws a data Error when the header is unreadable.
  void load(nlohmann::json& header, std::vector<nlohmann::json>& events) const;
  // Starts a new journal with this header (replacing any old one); mode 0600.
  void create(const nlohmann::json& header);
  // Opens an existing journal for appending.
  void open_append();
  void append(const nlohmann::json& event);  // thread-safe (one write per line)
  void remove();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace ingot::detail

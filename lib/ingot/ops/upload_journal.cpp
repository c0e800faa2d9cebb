#include "ingot/ops/upload_journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "ingot/io/output.h"
#include "ingot/ops/upload_redact.h"
#include "ingot/util/error.h"
#include "ingot/util/hash.h"

namespace ingot::detail {

nlohmann::json fingerprint_json(const Fingerprint& f) {
  return {{"size", f.size}, {"mtime_ns", f.mtime_ns}, {"edge_xxh3", xxh3_hex(f.edge_hash)}};
}

std::string Journal::path_for(const std::string& source, const std::string& dest, const std::string& state_dir) {
  namespace fs = std::filesystem;
  std::string abs = fs::absolute(source).lexically_normal().string();
  std::string id = abs + "\n" + redacted(dest);
  std::string hash = xxh3_hex(xxh3_64(id.data(), id.size())).substr(0, 12);
  std::string base = fs::path(abs).filename().string();
  if (!state_dir.empty()) return (fs::path(state_dir) / (base + "." + hash + ".ingot-upload")).string();
  return (fs::path(abs).parent_path() / ("." + base + "." + hash + ".ingot-upload")).string();
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

bool Journal::exists() const { return std::filesystem::exists(path_); }

void Journal::load(nlohmann::json& header, std::vector<nlohmann::json>& events) const {
  std::ifstream f(path_);
  if (!f) throw io_error("cannot read the journal").at_path(path_);
  std::string line;
  if (!std::getline(f, line)) throw data_error("empty journal; delete it to start over").at_path(path_);
  header = nlohmann::json::parse(line, nullptr, false);
  if (header.is_discarded() || !header.contains("ingot_upload_journal")) {
    throw data_error("not an ingot upload journal; delete it to start over").at_path(path_);
  }
  events.clear();
  while (std::getline(f, line)) {
    auto ev = nlohmann::json::parse(line, nullptr, false);
    if (!ev.is_discarded()) events.push_back(std::move(ev));  // a torn last line (kill -9) is skipped
  }
}

void Journal::create(const nlohmann::json& header) {
  if (fd_ >= 0) ::close(fd_);
  std::string dir = parent_dir(path_);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  // The header goes in atomically (temp + rename): a journal either has one or does not exist.
  std::string tmp = path_ + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << header.dump() << "\n";
    if (!f.flush()) {
      throw io_error("cannot write the upload journal (use --state DIR for a writable place)").at_path(path_);
    }
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) throw sys_error("rename " + tmp, errno);
  open_append();
}

void Journal::open_append() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw sys_error("open " + path_, errno);
}

void Journal::append(const nlohmann::json& event) {
  std::string line = event.dump() + "\n";
  // O_APPEND: concurrent single writes land whole, one after the other.
  if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw sys_error("write " + path_, errno);
  }
}

void Journal::remove() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(path_.c_str());
}

}  // namespace ingot::detail

#include "ingot/net/upload/upload_journal.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "ingot/io/output.h"
#include "ingot/net/redact.h"
#include "ingot/util/error.h"
#include "ingot/util/hash.h"

namespace ingot::detail {

nlohmann::json fingerprint_json(const Fingerprint& f) {
  return {{"size", f.size}, {"mtime_ns", f.mtime_ns}, {"edge_xxh3", xxh3_hex(f.edge_hash)}};
}

nlohmann::json source_stat_json(const InputFile& in) {
  if (in.remote()) {  // its version is its ETag; every range is read with If-Match on it
    const Fingerprint f = in.fingerprint();
    return {{"size", f.size}, {"version_xxh3", xxh3_hex(f.edge_hash)}};
  }
  struct stat st {
  }, at{};
  if (::fstat(in.fd(), &st) != 0) throw sys_error("stat " + in.display_name(), errno);
  // The path may name another file by now (replaced by a rename): record what it names.
  const bool named = ::stat(in.path().c_str(), &at) == 0;
  auto ns = [](const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; };
  return {{"size", static_cast<std::uint64_t>(st.st_size)},
          {"mtime_ns", ns(st.st_mtim)},
          {"ctime_ns", ns(st.st_ctim)},
          {"inode", static_cast<std::uint64_t>(st.st_ino)},
          {"device", static_cast<std::uint64_t>(st.st_dev)},
          {"path_inode", named ? static_cast<std::uint64_t>(at.st_ino) : 0},
          {"path_device", named ? static_cast<std::uint64_t>(at.st_dev) : 0}};
}

std::string dest_hash(const std::string& dest) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(dest.data(), dest.size(), md, &n, EVP_sha256(), nullptr) != 1) throw io_error("SHA-256 failed");
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 15];
  }
  return hex;
}

std::string Journal::path_for(const std::string& source, const std::string& dest, const std::string& state_dir) {
  namespace fs = std::filesystem;
  // A remote source has no directory of ours: its journal goes to the current one.
  const bool remote = is_remote_path(source);
  std::string abs = remote ? source : fs::absolute(source).lexically_normal().string();
  std::string id = abs + "\n" + redacted(dest);
  std::string hash = xxh3_hex(xxh3_64(id.data(), id.size())).substr(0, 12);
  std::string base = fs::path(abs).filename().string();
  if (!state_dir.empty()) return (fs::path(state_dir) / (base + "." + hash + ".ingot-upload")).string();
  const fs::path dir = remote ? fs::path(".") : fs::path(abs).parent_path();
  return (dir / ("." + base + "." + hash + ".ingot-upload")).string();
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
  // Mode 0600: a journal names the source and the destination, which are nobody else's business.
  std::string tmp = path_ + ".tmp";
  {
    ::unlink(tmp.c_str());  // a leftover of a crash may have other permissions
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    const std::string line = header.dump() + "\n";
    const bool ok = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
    if (fd >= 0) ::close(fd);
    if (!ok) throw io_error("cannot write the upload journal (use --state DIR for a writable place)").at_path(path_);
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

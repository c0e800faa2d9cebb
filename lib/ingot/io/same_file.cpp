#include "ingot/io/same_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "ingot/io/output.h"
#include "ingot/util/error.h"

namespace ingot {
namespace {

// What a path names on disk: an existing file's (dev, ino), or for a file still to be
// created its directory's (dev, ino) and the name in it.
struct FileKey {
  dev_t dev = 0;
  ino_t ino = 0;
  std::string name;  // empty for an existing file
  bool operator==(const FileKey&) const = default;
};

std::optional<FileKey> input_key(const std::string& path) {
  struct stat st;
  if (path == "-") {
    if (::fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  } else if (::stat(path.c_str(), &st) != 0) {
    return std::nullopt;
  }
  return FileKey{st.st_dev, st.st_ino, {}};
}

std::optional<FileKey> output_key(const std::string& path) {
  if (path == "-" || path.empty()) return std::nullopt;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return std::nullopt;  // /dev/null, a FIFO, a directory (refused on open)
    return FileKey{st.st_dev, st.st_ino, {}};
  }
  // Not there yet (or a dangling symlink, which the rename replaces): its directory + name.
  const std::size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) return std::nullopt;
  if (::stat(parent_dir(path).c_str(), &st) != 0) return std::nullopt;
  return FileKey{st.st_dev, st.st_ino, name};
}

std::string shown(const NamedPath& p) {
  const std::string path = p.path == "-" ? "<stdin>" : p.path;
  return p.option.empty() ? path : p.option + " " + path;
}

}  // namespace

void refuse_same_files(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  std::vector<std::optional<FileKey>> in_keys, out_keys;
  for (const NamedPath& p : inputs) in_keys.push_back(input_key(p.path));
  for (const NamedPath& p : outputs) out_keys.push_back(output_key(p.path));
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    if (!out_keys[o]) continue;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (in_keys[i] && *in_keys[i] == *out_keys[o]) {
        const std::string what = inputs[i].option.empty() ? "the input " + shown(inputs[i])
                                                          : "the " + inputs[i].option + " file " + inputs[i].path;
        throw usage_error(shown(outputs[o]) + " is " + what + " (same file); refusing to overwrite it");
      }
    }
    for (std::size_t k = 0; k < o; ++k) {
      if (out_keys[k] && *out_keys[k] == *out_keys[o]) {
        throw usage_error(shown(outputs[k]) + " and " + shown(outputs[o]) +
                          " are the same file; give them different names");
      }
    }
  }
}

}  // namespace ingot

#include "ingot/ops/net_module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <mutex>
#include <string>

#ifndef INGOT_NET_MODULE_RELPATH
#define INGOT_NET_MODULE_RELPATH "../lib/ingot/ingot-net.so"
#endif

namespace ingot::net {
namespace {

std::string executable_dir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<std::size_t>(n));
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::vector<std::string> candidates() {
  if (const char* env = std::getenv("INGOT_NET_MODULE"); env && *env) return {env};
  std::string dir = executable_dir();
  return {dir + "/ingot-net.so", dir + "/" INGOT_NET_MODULE_RELPATH};
}

Result<const EntryPoints*> load_once() {
  std::string tried, why;
  for (const std::string& path : candidates()) {
    tried += (tried.empty() ? "" : ", ") + path;
    if (::access(path.c_str(), F_OK) != 0) continue;
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* e = ::dlerror();
      return Error(ErrorKind::io, std::string("cannot load the network module: ") + (e ? e : path));
    }
    auto entry = reinterpret_cast<EntryFn>(::dlsym(handle, kEntrySymbol));
    const EntryPoints* eps = entry ? entry() : nullptr;
    if (!eps || eps->abi != kAbi || std::string(eps->version) != INGOT_VERSION) {
      return Error(ErrorKind::io, "the network module " + path + " is from another build of ingot (reinstall ingot)");
    }
    return eps;  // the handle stays open for the life of the process
  }
  return Error(ErrorKind::io, "the network module ingot-net.so is missing (looked at " + tried +
                                  "; reinstall ingot or set INGOT_NET_MODULE)");
}

}  // namespace

Result<const EntryPoints*> load() {
  static std::once_flag once;
  static Result<const EntryPoints*> loaded = Error(ErrorKind::io, "not loaded");
  std::call_once(once, [] { loaded = load_once(); });
  return loaded;
}

}  // namespace ingot::net

#include "net_helper.h"

#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

#ifndef INGOT_NET_HELPER_RELPATH
#define INGOT_NET_HELPER_RELPATH "../libexec/ingot/ingot-net"
#endif

namespace ingot::cli {
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
  if (const char* env = std::getenv("INGOT_NET_HELPER"); env && *env) return {env};
  std::string dir = executable_dir();
  return {dir + "/ingot-net", dir + "/" INGOT_NET_HELPER_RELPATH};
}

}  // namespace

int exec_net_helper(const char* cmd, char** argv) {
  std::string tried;
  for (const std::string& path : candidates()) {
    tried += (tried.empty() ? "" : ", ") + path;
    if (::access(path.c_str(), F_OK) != 0) continue;
    ::execv(path.c_str(), argv);
    return fail(cmd, Error(ErrorKind::io, "cannot run the network helper " + path + ": " + std::strerror(errno)));
  }
  return fail(cmd, Error(ErrorKind::io, "the network helper ingot-net is missing (looked at " + tried +
                                            "; reinstall ingot or set INGOT_NET_HELPER)"));
}

}  // namespace ingot::cli

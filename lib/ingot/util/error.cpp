#include "ingot/util/error.h"

#include <cstring>

namespace ingot {

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::data: return 1;
    case ErrorKind::io: return 1;
    case ErrorKind::remote: return 3;
    case ErrorKind::interrupted: return 130;
  }
  return 1;
}

std::string Error::message() const {
  std::string m;
  if (!path_.empty()) {
    m += path_;
    if (line_) {
      m += ':' + std::to_string(*line_);
    } else if (offset_) {
      m += ": byte " + std::to_string(*offset_);
    }
    m += ": ";
  }
  m += what_;
  return m;
}

Error usage_error(std::string what) { return Error(ErrorKind::usage, std::move(what)); }
Error data_error(std::string what) { return Error(ErrorKind::data, std::move(what)); }
Error io_error(std::string what) { return Error(ErrorKind::io, std::move(what)); }
Error remote_error(std::string what) { return Error(ErrorKind::remote, std::move(what)); }

Error sys_error(const std::string& doing, int err) { return Error(ErrorKind::io, doing + ": " + std::strerror(err)); }

}  // namespace ingot

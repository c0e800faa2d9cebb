// Error values of the ingot library: a kind (which decides the exit code), the path,
// and where in it (line, byte offset). Inside the library they travel as exceptions;
// every public operation catches them and returns a Result, so none escapes the API.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ingot {

enum class ErrorKind {
  usage,        // bad arguments or combination of options        -> exit 2
  data,         // the input is not what was promised               -> exit 1
  io,           // reading or writing a file failed                 -> exit 1
  remote,       // a server refused or the network failed (upload)  -> exit 3
  interrupted,  // SIGINT / SIGTERM                                  -> exit 130
};

int exit_code(ErrorKind kind);

class Error : public std::exception {
 public:
  Error(ErrorKind kind, std::string what) : kind_(kind), what_(std::move(what)) {}

  Error& at_path(std::string path) {
    path_ = std::move(path);
    return *this;
  }
  Error& at_line(std::uint64_t line) {
    line_ = line;
    return *this;
  }
  Error& at_offset(std::uint64_t offset) {
    offset_ = offset;
    return *this;
  }

  ErrorKind kind() const { return kind_; }
  const std::string& path() const { return path_; }
  std::optional<std::uint64_t> line() const { return line_; }
  std::optional<std::uint64_t> offset() const { return offset_; }
  const char* what() const noexcept override { return what_.c_str(); }

  // "<path>:<line>: <what>" or "<path>: byte <offset>: <what>", as printed after "ingot <cmd>: error: ".
  std::string message() const;

 private:
  ErrorKind kind_;
  std::string what_;
  std::string path_;
  std::optional<std::uint64_t> line_;
  std::optional<std::uint64_t> offset_;
};

// Convenience constructors, so call sites read as a sentence.
Error usage_error(std::string what);
Error data_error(std::string what);
Error io_error(std::string what);                    // without errno
Error sys_error(const std::string& doing, int err);  // "<doing>: <strerror(err)>"
Error remote_error(std::string what);

// Thrown when stdout is a closed pipe (`ingot ... | head`): the CLI exits 0 quietly.
struct BrokenPipe : std::exception {
  const char* what() const noexcept override { return "broken pipe"; }
};

// The result of a public library operation: a value or an Error.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;

// Runs `body` and turns a thrown Error into a failed Result; the one place where
// library exceptions become values. BrokenPipe passes through to the CLI.
template <class F>
auto capture(F&& body) -> Result<decltype(body())> {
  try {
    return body();
  } catch (const Error& e) {
    return e;
  } catch (const BrokenPipe&) {
    throw;
  } catch (const std::bad_alloc&) {
    return Error(ErrorKind::io, "out of memory");
  } catch (const std::exception& e) {
    return Error(ErrorKind::io, std::string("internal error: ") + e.what());
  }
}

}  // namespace ingot

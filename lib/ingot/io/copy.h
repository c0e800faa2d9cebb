// Zero-copy byte moves between files: copy_file_range(2), which the kernel can turn
// into a reflink or an in-kernel splice, falling back to pread/write where it is not
// supported (another file system, a pipe, an old kernel). Used by split for piece
// bodies and by merge for stitching.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ingot {

// Copies exactly n bytes from in_fd at in_off to out_fd: at out_off when given (the
// file position is not used, so several threads may fill one file), else at out_fd's
// file position. Throws Error naming in_path/out_path: ENOSPC says "disk full", EFBIG
// "file too large", and a source that ends early says so.
void copy_range(int in_fd, std::uint64_t in_off, int out_fd, std::optional<std::uint64_t> out_off, std::uint64_t n,
                const std::string& in_path, const std::string& out_path);

}  // namespace ingot

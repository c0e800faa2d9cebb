// The one check that an output never destroys an input: every output path a command
// will write is compared with every input path it reads, and with every other output,
// by what the paths name on disk (device and inode, through symlinks, hard links,
// "./x" and absolute spellings), before anything is written.
#pragma once

#include <string>
#include <vector>

namespace ingot {

// A path as the user gave it, with the option that named it ("-o", "--rejects";
// "" for a positional input), so that the error can quote both.
struct NamedPath {
  std::string option;
  std::string path;
};

// Throws a usage Error, naming both paths, when an output is the same file as an input
// or two outputs are the same file. Rules:
// - an existing output is compared by the (device, inode) of what it names (symlinks
//   followed); one that does not exist yet by its parent directory's (device, inode)
//   plus its name, so "./out" and "out" are the same new file; a dangling symlink is
//   compared as the name it is (writing replaces the link, not its target);
// - "-" as an output (stdout) and an existing device or FIFO (/dev/null, a named
//   pipe: written in place) are never compared; "-" as an input is stdin, compared by
//   what descriptor 0 is when it is a regular file (`< x.csv -o x.csv`);
// - paths that cannot be looked up (a missing input, a missing directory) are left to
//   the open that reports them properly.
void refuse_same_files(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

}  // namespace ingot

// The split manifest: which source a split came from (path, fingerprint), how it was
// cut (record kind, CSV header) and, per piece, the byte range of the source it holds,
// its records and the size and xxh3 of the piece file. Written by split (atomically,
// last, so it exists only for a complete split), read by merge --verify, by `index manifest.json --piece K` and by
// upload given a manifest as its source.
// The JSON layout is documented in docs/split-merge.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/io/input.h"

namespace ingot {

inline constexpr int kManifestFormat = 1;  // "ingot_manifest" in the JSON; bumped on incompatible change

struct ManifestPiece {
  // Usable as is: read_manifest resolves names stored relative to the manifest's directory.
  // For a plan, the name a real split would give the piece (no such file exists).
  std::string path;
  std::uint64_t offset = 0;  // source byte offset of the piece's body (its records)
  std::uint64_t length = 0;  // body bytes taken from the source
  // 1-based number of the first data record (the CSV header is not counted) and the
  // number of records; unknown (nullopt) in a --bytes/--pieces plan, which does not scan.
  std::optional<std::uint64_t> first_record;
  std::optional<std::uint64_t> records;
  std::uint64_t header_bytes = 0;     // header copied to the top of the piece (0 or Manifest::header.size())
  std::optional<std::uint64_t> size;  // bytes of the piece file = header_bytes + length; nullopt for plans and --filter
  std::optional<std::string> xxh3;    // xxh3-64 of the piece file, 16 hex digits; nullopt for plans and --filter
  bool oversized = false;             // a single record larger than --bytes
  std::optional<std::string> etag;    // an s3:// piece: the ETag the store gave it (merge --verify checks it
                                      // by HEAD, reading no bytes); absent for files
};

struct Manifest {
  std::string version;       // ingot version that wrote it
  std::string source;        // absolute path of the source, "-" for stdin
  std::string kind;          // lines, ndjson, csv, tsv
  Fingerprint fingerprint;   // of the source: size, mtime, xxh3 of the first+last 64 KiB (not a full-content hash)
  bool plan = false;         // --plan: byte ranges only, no piece files
  std::string header;        // CSV/TSV header record with its line end; empty when none
  std::string mode;          // bytes, records or pieces
  std::uint64_t amount = 0;  // the --bytes / --records / --pieces argument
  std::string filter;        // --filter command; empty when pieces are local files
  std::string compression;   // split --compress: "gzip" or "zstd" (size/xxh3 are of the compressed piece); empty: none
  std::string prefix;        // as given, and the name parts of the pieces: prefix + index + extension
  std::string extension;
  unsigned digits = 5;
  std::vector<ManifestPiece> pieces;
  std::string dir;  // not stored: directory of the manifest file, set by read_manifest
};

// Reads and checks a manifest (a file, or an s3:// object). Throws Error naming the file: not JSON, truncated,
// missing or mistyped fields, an unknown format version, ranges that overlap.
Manifest read_manifest(const std::string& path);

// Writes atomically (temporary + rename). Piece paths in the same directory as the
// manifest are stored by their bare name, so a directory of pieces can be moved whole.
// overwrite = false refuses an existing file. Throws Error (the output's, e.g. disk full).
void write_manifest(const std::string& path, const Manifest& m, bool overwrite = true);

// The JSON text write_manifest writes (for --json reports and tests).
std::string manifest_json(const Manifest& m, const std::string& manifest_dir);

// Byte range of the source for piece k (1-based): [offset, offset + length).
// Throws a usage Error when k is out of range.
ByteRange manifest_piece_range(const Manifest& m, std::uint64_t k);

// The CLI spelling of a piece name: prefix + zero-padded index + extension.
std::string piece_name(const std::string& prefix, std::uint64_t index, unsigned digits, const std::string& ext);

}  // namespace ingot

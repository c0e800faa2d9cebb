#include "ingot/merge/merge.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>

#include "ingot/chunk/boundary.h"
#include "ingot/chunk/chunker.h"
#include "ingot/io/copy.h"
#include "ingot/io/decompress.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/io/same_file.h"
#include "ingot/index/index.h"
#include "ingot/split/manifest.h"
#include "ingot/util/hash.h"

namespace ingot {
namespace {

// At most this many pieces are stitched on the server: each takes one part or more of
// the 10,000 S3 allows (the small ones are downloaded into parts of 5 MiB and more).
constexpr std::size_t kServerMergePieces = 9000;

struct Source {
  std::string path;
  InputFile in;
  const ManifestPiece* listed = nullptr;  // its manifest entry, when merging a manifest
  std::string version;                    // a remote piece's ETag (as the input opened it)
  std::string head;                       // a remote piece's first kRemoteHead bytes
};

// Of a remote piece, merge reads only its first bytes (codec, header) by one small
// ranged GET: the input's block reader would fetch 8 MiB and more for them.
constexpr std::uint64_t kRemoteHead = 64 * 1024;

// The ETag of the object a remote input opened: a HEAD, checked against the version
// hashed into the input's fingerprint (an object replaced since is an error).
std::string remote_version(const InputFile& in) {
  auto obj = remote_outputs(in.path()).stat(in.path());
  if (!obj || xxh3_64(obj->version.data(), obj->version.size()) != in.fingerprint().edge_hash) {
    throw data_error("the piece changed during the merge (run it again)").at_path(in.path());
  }
  return obj->version;
}

std::string base_name(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A file next to the pieces that is named like one (prefix + digits + extension) but
// is not in the manifest: most likely left over from an earlier, bigger split.
void check_no_extra_pieces(const Manifest& m) {
  if (m.pieces.empty()) return;
  const std::string dir = parent_dir(m.pieces.front().path);
  const std::string prefix = base_name(m.prefix);
  std::set<std::string> listed;
  for (const ManifestPiece& p : m.pieces) listed.insert(base_name(p.path));
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // the pieces were opened already; an unlistable directory is not our business
  std::vector<std::string> extra;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() != prefix.size() + m.digits + m.extension.size()) continue;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    if (name.compare(name.size() - m.extension.size(), m.extension.size(), m.extension) != 0) continue;
    bool digits = true;
    for (std::size_t i = prefix.size(); i < prefix.size() + m.digits; ++i) digits &= name[i] >= '0' && name[i] <= '9';
    if (digits && !listed.count(name)) extra.push_back(name);
  }
  ::closedir(d);
  if (!extra.empty()) {
    std::sort(extra.begin(), extra.end());
    const std::string shown = dir == "." ? extra.front() : dir + "/" + extra.front();
    throw data_error("extra piece not listed in the manifest (left over from another split?)").at_path(shown);
  }
}

bool same_file(int fd, const std::string& path) {
  struct stat a, b;
  return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// xxh3 of a piece read by ranges (a remote piece has no descriptor).
std::uint64_t hash_by_reads(const InputFile& in) {
  Xxh3 h;
  std::string buf(std::size_t{8} << 20, '\0');
  for (std::uint64_t off = 0; off < in.size();) {
    const std::size_t n = in.read_at(buf.data(), buf.size(), off);
    if (n == 0) throw io_error("piece ends early").at_path(in.path()).at_offset(off);
    h.update(buf.data(), n);
    off += n;
  }
  return h.digest();
}

// Bytes [offset, offset + n) of a piece appended to the output by reads and writes:
// copy_file_range needs two descriptors, which remote pieces and outputs have not.
void copy_by_reads(const InputFile& in, std::uint64_t offset, std::uint64_t n, OutputFile& out) {
  std::string buf(std::size_t{8} << 20, '\0');
  while (n > 0) {
    const std::size_t got =
        in.read_at(buf.data(), static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size())), offset);
    if (got == 0) throw io_error("piece ends early").at_path(in.path()).at_offset(offset);
    out.write(buf.data(), got);
    offset += got;
    n -= got;
  }
}

std::string read_prefix(const InputFile& in, std::size_t n) {
  std::string s(n, '\0');
  s.resize(in.read_at(s.data(), n, 0));
  return s;
}

// The compression of a piece opened raw (split --compress writes .gz/.zst pieces).
Codec stored_codec(const Source& s) {
  if (s.in.remote()) return detect_codec(s.head.data(), s.head.size());
  char magic[4];
  return detect_codec(magic, s.in.read_at(magic, sizeof magic, 0));
}

// The first `n` decoded bytes of a compressed piece.
std::string read_decoded_prefix(const std::string& path, std::size_t n) {
  InputFile in = InputFile::open(path, Decode::auto_detect, InputFile::Remote::allow);
  std::string s(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    std::size_t r = in.read(s.data() + got, n - got);
    if (r == 0) break;
    got += r;
  }
  s.resize(got);
  return s;
}

// Copies a compressed piece's decoded bytes after its first `skip` to `out`, which
// compresses them again; returns the decoded bytes copied.
std::uint64_t copy_decoded(const std::string& path, std::uint64_t skip, OutputFile& out) {
  InputFile in = InputFile::open(path, Decode::auto_detect, InputFile::Remote::allow);
  std::string buf(std::size_t{1} << 20, '\0');
  std::uint64_t copied = 0;
  while (std::size_t r = in.read(buf.data(), buf.size())) {
    std::size_t drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip, r));
    skip -= drop;
    out.write(buf.data() + drop, r - drop);
    copied += r - drop;
  }
  return copied;
}

}  // namespace

bool is_manifest_file(const std::string& path) {
  if (path == "-") return false;
  auto in = capture([&] {
    InputFile f = InputFile::open(path, Decode::auto_detect, InputFile::Remote::allow);
    return f.seekable() ? read_prefix(f, 256) : std::string();
  });
  if (!in) return false;
  const std::string& head = in.value();
  std::size_t i = 0;
  while (i < head.size() && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
  if (i >= head.size() || head[i] != '{') return false;
  return head.find("\"ingot_manifest\"") != std::string::npos;
}

Result<MergeReport> merge(const MergeOptions& o) {
  return capture([&]() -> MergeReport {
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<Manifest> manifest;
    std::vector<std::string> paths;
    RecordKind kind = RecordKind::lines;
    bool with_header = false;
    if (!o.manifest.empty()) {
      manifest = read_manifest(o.manifest);
      const Manifest& m = *manifest;
      if (m.plan) {
        throw usage_error(
            "this is a --plan manifest: it lists byte ranges of the source, not piece files; "
            "there is nothing to merge")
            .at_path(o.manifest);
      }
      if (!m.filter.empty()) {
        throw usage_error("the pieces went through --filter '" + m.filter +
                          "'; merge the filter's outputs by listing them instead")
            .at_path(o.manifest);
      }
      kind = parse_record_kind(m.kind).value_or(RecordKind::lines);
      with_header = !m.header.empty();
      for (const ManifestPiece& p : m.pieces) paths.push_back(p.path);
    } else {
      if (o.verify) throw usage_error("--verify needs a manifest (ingot merge PREFIX-manifest.json --verify -o OUT)");
      paths = o.pieces;
      if (paths.empty()) throw usage_error("no pieces to merge");
      if (o.kind)
        kind = *o.kind;
      else if (auto k = record_kind_from_path(paths.front()))
        kind = *k;
      with_header = is_delimited(kind) && o.header;
    }

    // `-o s3://bucket/dir/`: named after the split's source (or the first piece).
    const std::string output = destination_for(o.output, manifest ? manifest->source : paths.front());
    // The output is none of the pieces and not the manifest (through any spelling or link).
    std::vector<NamedPath> inputs;
    if (!o.manifest.empty()) inputs.push_back({"manifest", o.manifest});
    for (const std::string& p : paths) inputs.push_back({"piece", p});
    refuse_same_files(inputs, {{"-o", output}});
    // Open (and so check) every piece before the output exists.
    std::vector<Source> src;
    src.reserve(paths.size());
    // Compressed pieces (split --compress) are concatenated as stored: gzip members
    // and zstd frames in a row are one valid stream. CSV/TSV pieces, whose repeated
    // headers sit inside the compressed data, are decoded and compressed again.
    Codec codec = Codec::none;
    bool codec_known = false;
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (paths[i] == "-") throw usage_error("merge reads piece files; '-' (stdin) is not one");
      Source s{paths[i], InputFile::open(paths[i], Decode::raw, InputFile::Remote::allow),
               manifest ? &manifest->pieces[i] : nullptr};
      if (!s.in.seekable()) throw io_error("not a regular file").at_path(paths[i]);
      if (s.in.remote()) {
        s.version = remote_version(s.in);
        s.head = remote_outputs(s.path).read(s.path, s.version, 0, std::min(kRemoteHead, s.in.size()));
      }
      if (s.in.size() > 0) {
        const Codec c = stored_codec(s);
        if (codec_known && c != codec) {
          throw data_error(std::string("piece is ") + (c == Codec::none ? "not compressed" : codec_name(c)) +
                           ", the pieces before it are " + (codec == Codec::none ? "not" : codec_name(codec)) +
                           " (compress them all alike)")
              .at_path(paths[i]);
        }
        codec = c;
        codec_known = true;
      }
      if (s.listed && s.listed->size && s.in.size() != *s.listed->size) {
        throw data_error("piece is " + std::to_string(s.in.size()) + " bytes, the manifest says " +
                         std::to_string(*s.listed->size) + " (changed, or from another split)")
            .at_path(paths[i]);
      }
      src.push_back(std::move(s));
    }
    const unsigned threads = resolve_threads(o.pipeline.threads);
    tbb::task_arena arena(static_cast<int>(threads));

    bool verified = false;
    if (o.verify) {
      check_no_extra_pieces(*manifest);
      std::vector<std::optional<std::uint64_t>> got(src.size());
      arena.execute([&] {
        tbb::parallel_for(tbb::blocked_range<std::size_t>(0, src.size(), 1),
                          [&](const tbb::blocked_range<std::size_t>& r) {
                            for (std::size_t k = r.begin(); k != r.end(); ++k) {
                              if (!src[k].listed->xxh3) continue;
                              // A remote piece whose ETag the manifest holds is checked below
                              // by that (no byte read): the store hashed what split wrote.
                              if (src[k].in.remote() && src[k].listed->etag) continue;
                              if (src[k].in.remote()) {
                                got[k] = hash_by_reads(src[k].in);
                                continue;
                              }
                              Xxh3 h;
                              hash_file_range(h, src[k].in.fd(), 0, src[k].in.size(), src[k].path);
                              got[k] = h.digest();
                            }
                          });
      });
      // Reported in piece order, whatever order the threads finished in.
      for (std::size_t k = 0; k < src.size(); ++k) {
        if (src[k].in.remote() && src[k].listed->etag) {
          const std::string now = src[k].version;
          if (now != *src[k].listed->etag) {
            throw data_error("piece is not the object split wrote (ETag " + now + ", manifest " + *src[k].listed->etag +
                             "): changed, or from another split")
                .at_path(src[k].path);
          }
          continue;
        }
        if (!got[k]) continue;
        if (xxh3_hex(*got[k]) != *src[k].listed->xxh3) {
          throw data_error("piece content does not match the manifest (xxh3 " + xxh3_hex(*got[k]) + ", manifest " +
                           *src[k].listed->xxh3 + "): changed, or from another split")
              .at_path(src[k].path);
        }
      }
      verified = true;
    }

    // Headers: the first non-empty piece keeps its header; every other piece must
    // start with the same bytes, which are skipped.
    MergeLayout layout;
    layout.kind = record_kind_name(kind);
    std::string header;
    bool have_header = false;
    std::vector<std::uint64_t> skip(src.size(), 0);
    if (with_header) {
      for (std::size_t k = 0; k < src.size(); ++k) {
        if (src[k].in.size() == 0) continue;
        std::string h;
        if (codec != Codec::none) {
          if (manifest) {
            h = read_decoded_prefix(src[k].path, static_cast<std::size_t>(src[k].listed->header_bytes));
            if (h != manifest->header)
              throw data_error("header differs from the manifest's header").at_path(src[k].path);
          } else {
            InputFile decoded = InputFile::open(src[k].path);
            ChunkerOptions co;
            co.chunk_size = 64 * 1024;
            co.delimiter = o.delimiter;
            Chunker c(decoded, kind, 0, kToEnd, co);
            h = c.take_first_record();
          }
        } else if (manifest && src[k].in.remote()) {
          const std::uint64_t hb = src[k].listed->header_bytes;
          h = hb <= src[k].head.size() ? src[k].head.substr(0, hb)
                                       : remote_outputs(src[k].path).read(src[k].path, src[k].version, 0, hb);
          if (h != manifest->header) throw data_error("header differs from the manifest's header").at_path(src[k].path);
        } else if (manifest) {
          h = read_prefix(src[k].in, static_cast<std::size_t>(src[k].listed->header_bytes));
          if (h != manifest->header) throw data_error("header differs from the manifest's header").at_path(src[k].path);
        } else {
          // A remote piece's header from its first bytes, when they hold a record end.
          const std::string& p = src[k].head;
          const std::size_t e =
              src[k].in.remote()
                  ? scan_records(p.data(), p.size(), kind, o.delimiter, leading_bom(p.data(), p.size(), 0)).first_end
                  : 0;
          if (e > 0) {
            h = p.substr(0, e);
          } else if (src[k].in.remote() && p.size() == src[k].in.size()) {
            h = p;  // the whole piece is one record without an end
          } else {
            ChunkerOptions co;
            co.chunk_size = 64 * 1024;
            co.delimiter = o.delimiter;
            Chunker c(src[k].in, kind, 0, kToEnd, co);
            h = c.take_first_record();
          }
        }
        if (!have_header) {
          header = h;
          have_header = true;
          layout.header_bytes = h.size();
        } else if (h != header) {
          throw data_error("header differs from the header of " + src.front().path +
                           " (pieces of different files or splits?)")
              .at_path(src[k].path);
        } else {
          skip[k] = h.size();
        }
      }
    }

    std::uint64_t out_off = 0;
    std::optional<std::uint64_t> next_record = 1;
    for (std::size_t k = 0; k < src.size(); ++k) {
      MergePieceLayout p;
      p.path = src[k].path;
      p.skipped = skip[k];
      p.bytes = src[k].in.size() - skip[k];
      p.output_offset = out_off;
      if (src[k].listed) p.records = src[k].listed->records;
      p.first_record = next_record;
      if (next_record && p.records)
        *next_record += *p.records;
      else
        next_record.reset();
      out_off += p.bytes;
      layout.pieces.push_back(std::move(p));
    }
    layout.output_size = out_off;

    const bool recompress = codec != Codec::none && with_header;
    OutputOptions oo;
    if (recompress) oo.compress = codec;
    OutputFile out = OutputFile::create(output, oo);
    if (!out.is_stdout() && !out.remote()) {
      for (const Source& s : src) {
        if (!s.in.remote() && same_file(s.in.fd(), output))
          throw usage_error("the output is one of the pieces").at_path(output);
      }
    }
    // Remote pieces into a remote output are stitched on the server (UploadPartCopy),
    // except with more pieces than S3's 10,000 parts could take one part each.
    const bool server_side = out.remote() && src.size() <= kServerMergePieces;
    std::atomic<std::uint64_t> done{0};
    std::mutex progress_mu;
    auto copy_piece = [&](std::size_t k, std::optional<std::uint64_t> at) {
      const MergePieceLayout& p = layout.pieces[k];
      if (server_side && src[k].in.remote() && p.bytes > 0 &&
          out.remote_sink()->copy_from(src[k].path, src[k].version, p.skipped, p.bytes)) {
      } else if (src[k].in.remote() || out.remote()) {
        copy_by_reads(src[k].in, p.skipped, p.bytes, out);
      } else {
        copy_range(src[k].in.fd(), p.skipped, out.fd(), at, p.bytes, src[k].path, out.path());
      }
      done += p.bytes;
      if (o.progress) {
        std::lock_guard lock(progress_mu);
        o.progress(done.load(), 0);
      }
    };
    // Pieces are copied one after the other, at the file position. Copying them in
    // parallel into one file doubled the kernel time (inode lock contention: 1.94 s vs
    // 1.34 s for 1 GB in 8 pieces; cat takes 1.30 s), so -j only speeds up --verify.
    if (recompress) {
      // Offsets in the layout are in decoded bytes here (there is no index to rebase).
      out_off = 0;
      for (std::size_t k = 0; k < src.size(); ++k) {
        MergePieceLayout& p = layout.pieces[k];
        p.output_offset = out_off;
        p.bytes = src[k].in.size() == 0 ? 0 : copy_decoded(src[k].path, p.skipped, out);
        out_off += p.bytes;
        done += p.bytes;
        if (o.progress) o.progress(done.load(), 0);
      }
      layout.output_size = out_off;
    } else {
      for (std::size_t k = 0; k < src.size(); ++k) copy_piece(k, std::nullopt);
    }

    out.commit();
    // Merge keeps indexes: when every piece has a fresh <piece>.idx, <output>.idx is
    // written from them by rebasing offsets (no data rescanned), after the output exists
    // so the index never predates its file (index/index.h, merge_indexes_if_fresh).
    if (output != "-" && !out.remote() && codec == Codec::none) {
      std::vector<MergePiece> indexed;
      for (const MergePieceLayout& p : layout.pieces) indexed.push_back({p.path, {}, p.output_offset, p.skipped});
      if (auto idx = merge_indexes_if_fresh(indexed, output); !idx) throw Error(idx.error());
    }
    MergeReport r;
    r.output = out.is_stdout() ? "-" : output;
    r.bytes = recompress ? out.bytes_written() : layout.output_size;
    r.verified = verified;
    r.server_side_bytes = out.remote() ? out.remote_sink()->server_copied() : 0;
    r.layout = std::move(layout);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
  });
}

}  // namespace ingot

#include "ingot/index/index.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "ingot/chunk/boundary.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/io/same_file.h"

namespace ingot {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Record ends of one chunk, relative to its start. Chunks are cut at most
// max_record bytes past chunk_size, so 32 bits hold every offset unless someone asks
// for multi-GiB records; that is refused rather than silently truncated.
struct ChunkEnds {
  std::vector<std::uint32_t> ends;
};

void scan_chunk(const Chunk& c, RecordKind kind, char delim, ChunkEnds& w) {
  w.ends.clear();
  if (c.size > std::numeric_limits<std::uint32_t>::max()) {
    throw data_error("a chunk of more than 4 GiB (a huge record?); lower --max-record-size").at_offset(c.offset);
  }
  auto push = [&](std::size_t e) { w.ends.push_back(static_cast<std::uint32_t>(e)); };
  for_each_record_end(c.data, c.size, kind, push, delim, leading_bom(c.data, c.size, c.offset));
}

// Where a remote index is built before its upload: $TMPDIR (else /tmp). OutputFile
// writes it under a temporary name there; the name itself is never created.
std::string local_temporary_index() {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/ingot-index.idx";
}

// Uploads the local file `from` as the object `to` (one PUT for an index under 8 MiB).
void copy_to(const std::string& from, const std::string& to) {
  InputFile in = InputFile::open(from, Decode::raw);
  OutputFile out = OutputFile::create(to);
  std::vector<char> buf(std::size_t{1} << 20);
  std::uint64_t at = 0;
  while (const std::size_t n = in.read_at(buf.data(), buf.size(), at)) {
    out.write(buf.data(), n);
    at += n;
  }
  out.commit();
}

}  // namespace

bool index_beside(const std::string& input) { return !is_remote_path(input) || input.starts_with("s3://"); }

std::string default_index_path(const std::string& input, const std::optional<PartSpec>& part) {
  if (part) return input + ".part-" + std::to_string(part->k) + "-of-" + std::to_string(part->n) + ".idx";
  return input + ".idx";
}

RecordKind index_kind_for(const std::string& path, std::optional<RecordKind> given) {
  if (given) return *given;
  return record_kind_from_path(path).value_or(RecordKind::lines);
}

Result<IndexReport> build_index(const IndexOptions& o) {
  return capture([&]() -> IndexReport {
    const auto t0 = std::chrono::steady_clock::now();
    InputFile in = InputFile::open(o.input, Decode::auto_detect, InputFile::Remote::allow);
    if (in.compressed()) {
      throw usage_error(std::string("an index holds byte offsets into the file as stored, which ") +
                        codec_name(in.codec()) + "-compressed input does not allow; decompress it first")
          .at_path(in.display_name());
    }
    if (!in.seekable() || o.input == "-") {
      throw usage_error("cannot index a stream: an index holds byte offsets into a file").at_path(in.display_name());
    }
    const RecordKind kind = index_kind_for(o.input, o.kind);
    ByteRange range{0, in.size()};
    if (o.part) {
      range = part_range(in, kind, o.part->k, o.part->n, o.chunker.delimiter);
    } else if (o.range) {
      range = *o.range;
      if (range.begin > range.end || range.end > in.size()) {
        throw data_error("byte range " + std::to_string(range.begin) + "-" + std::to_string(range.end) +
                         " is outside the file (" + std::to_string(in.size()) + " bytes)")
            .at_path(in.display_name());
      }
    }
    IndexReport rep;
    rep.input = o.input;
    if (!index_beside(o.input) && o.output.empty()) {
      throw usage_error("an http(s):// URL is read-only, so its index cannot be written beside it: pass -o FILE.idx")
          .at_path(in.display_name());
    }
    rep.output = o.output.empty() ? default_index_path(o.input, o.part) : o.output;
    refuse_same_files({{"", o.input}}, {{"-o", rep.output}});

    IndexMeta meta;
    meta.kind = kind;
    meta.range_begin = range.begin;
    meta.range_end = range.end;
    meta.source = in.fingerprint();
    Chunker chunker(in, kind, range.begin, range.end, o.chunker);
    // Only a range that starts the file has the header in it (a --part K > 1 or a
    // manifest piece starts after it).
    if (is_delimited(kind) && o.header && range.begin == 0) meta.header_len = chunker.take_first_record().size();

    // The writer writes the header last, at offset 0, which an upload cannot: a remote
    // index is built in a local temporary file (never committed: its destructor or a
    // signal removes it), then uploaded.
    const bool upload = is_remote_path(rep.output);
    OutputFile out = OutputFile::create(upload ? local_temporary_index() : rep.output);
    IndexWriter writer(out, meta);
    std::uint64_t last = range.begin + meta.header_len;
    std::uint64_t records = 0;
    writer.add(last);
    run_pipeline<ChunkEnds>(
        chunker, o.pipeline, [&](const Chunk& c, ChunkEnds& w) { scan_chunk(c, kind, o.chunker.delimiter, w); },
        [&](const Chunk& c, ChunkEnds& w) {
          // The prefix sum: chunk-relative ends become absolute offsets, in file order.
          for (std::uint32_t e : w.ends) writer.add(c.offset + e);
          if (!w.ends.empty()) last = c.offset + w.ends.back();
          records += w.ends.size();
          if (o.progress) o.progress(c.offset + c.size - range.begin, records);
        });
    // An index of bytes that moved under us would be trusted later by its fingerprint. (A
    // remote object cannot: every range was read with If-Match on the ETag it records.)
    if (in.changed_since_open()) {
      throw data_error("the file changed while it was being indexed; index it again").at_path(in.display_name());
    }
    if (last != range.end) {  // a last record without a terminator
      writer.add(range.end);
      writer.set_flags(kIndexUnterminated);
    }
    rep.meta = writer.finish();
    if (upload) {
      copy_to(out.temp_path(), rep.output);
    } else {
      out.commit();
    }
    rep.seconds = seconds_since(t0);
    return rep;
  });
}

Result<IndexReport> verify_index(const std::string& input, const std::string& index) {
  return capture([&]() -> IndexReport {
    const auto t0 = std::chrono::steady_clock::now();
    InputFile in = InputFile::open(input, Decode::auto_detect, InputFile::Remote::allow);
    IndexReport rep;
    rep.input = input;
    rep.output = index.empty() ? default_index_path(input) : index;
    IndexReader r = [&] {
      try {
        IndexReader opened = IndexReader::open(rep.output);
        opened.verify();
        return opened;
      } catch (Error& e) {
        if (e.path().empty()) e.at_path(in.display_name());
        throw;
      }
    }();
    if (std::string why = r.source_mismatch(in, false); !why.empty()) {
      throw data_error("index " + rep.output + " does not match: " + why + "; rebuild it with 'ingot index'")
          .at_path(in.display_name());
    }
    rep.meta = r.meta();
    rep.seconds = seconds_since(t0);
    return rep;
  });
}

namespace {

// A piece's index, opened and checked against the piece as it is now.
IndexReader open_fresh_index(const std::string& path, const std::string& index) {
  InputFile in = InputFile::open(path);
  IndexReader r = IndexReader::open(index.empty() ? default_index_path(path) : index);
  if (std::string why = r.source_mismatch(in, true); !why.empty()) {
    throw data_error("index " + r.path() + " is stale: " + why).at_path(path);
  }
  return r;
}

}  // namespace

std::vector<MergePiece> concat_layout(const std::vector<std::string>& pieces) {
  std::vector<MergePiece> out;
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const IndexReader r = open_fresh_index(pieces[i], {});
    MergePiece p;
    p.path = pieces[i];
    p.out_offset = at;
    // merge keeps the first piece's CSV header and drops the repeats.
    p.skip = i > 0 && is_delimited(r.meta().kind) ? r.meta().header_len : 0;
    at += r.meta().source.size - p.skip;
    out.push_back(p);
  }
  return out;
}

Result<IndexReport> merge_indexes(const std::vector<MergePiece>& pieces, const std::string& merged,
                                  const std::string& merged_index) {
  return capture([&]() -> IndexReport {
    const auto t0 = std::chrono::steady_clock::now();
    if (pieces.empty()) throw usage_error("no pieces to merge indexes of");
    InputFile out_file = InputFile::open(merged);
    IndexReport rep;
    rep.input = merged;
    rep.output = merged_index.empty() ? default_index_path(merged) : merged_index;

    std::vector<IndexReader> readers;
    for (const MergePiece& p : pieces) {
      readers.push_back(open_fresh_index(p.path, p.index));
      readers.back().verify();  // every piece index is read whole anyway
      const IndexMeta& m = readers.back().meta();
      if (m.kind != readers.front().meta().kind) {
        throw data_error("pieces of different kinds (" + std::string(record_kind_name(m.kind)) + " and " +
                         record_kind_name(readers.front().meta().kind) + ")")
            .at_path(p.path);
      }
      if (p.skip != 0 && p.skip != m.header_len) {
        throw usage_error("a piece may drop only its whole header (" + std::to_string(m.header_len) + " bytes)")
            .at_path(p.path);
      }
      if (&p != &pieces.back() && (m.flags & kIndexUnterminated)) {
        throw data_error(
            "the piece does not end with a line end, so its last record joins the next piece's "
            "first in the merged file; index the merged file with 'ingot index'")
            .at_path(p.path);
      }
    }
    IndexMeta meta;
    meta.kind = readers.front().meta().kind;
    meta.header_len = pieces.front().skip == 0 ? readers.front().meta().header_len : 0;
    meta.range_begin = 0;
    meta.range_end = out_file.size();
    meta.source = out_file.fingerprint();
    meta.flags = readers.back().meta().flags & kIndexUnterminated;

    OutputFile out = OutputFile::create(rep.output);
    IndexWriter writer(out, meta);
    std::vector<std::uint64_t> v;
    std::uint64_t expected_end = 0;
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const MergePiece& p = pieces[i];
      const IndexReader& r = readers[i];
      // Bytes the merged file holds of this piece: [skip, size) at out_offset.
      auto rebase = [&](std::uint64_t b) { return p.out_offset + (b - p.skip); };
      if (p.out_offset != expected_end) {
        throw usage_error("piece does not start where the previous one ended in the merged file").at_path(p.path);
      }
      // A kept header of a later piece is a data record of the merged file.
      if (p.skip == 0 && r.meta().header_len > 0 && i > 0) writer.add(rebase(0));
      const std::uint64_t blocks = r.blocks();
      const bool last_piece = i + 1 == pieces.size();
      std::uint64_t seen = 0;
      for (std::uint64_t b = 0; b < blocks; ++b) {
        r.decode_block(b, v);
        for (std::uint64_t x : v) {
          // Boundary `records` (the piece's end) is the next piece's first start.
          if (seen++ < r.records() || last_piece) writer.add(rebase(x));
        }
      }
      expected_end = rebase(r.meta().range_end);
    }
    if (expected_end != out_file.size()) {
      throw data_error("the merged file has " + std::to_string(out_file.size()) + " bytes, the pieces make " +
                       std::to_string(expected_end) + "; it is not their concatenation")
          .at_path(merged);
    }
    rep.meta = writer.finish();
    out.commit();
    rep.seconds = seconds_since(t0);
    return rep;
  });
}

Result<std::optional<IndexReport>> merge_indexes_if_fresh(const std::vector<MergePiece>& pieces,
                                                          const std::string& merged) {
  for (const MergePiece& p : pieces) {
    auto fresh = capture([&] { return open_fresh_index(p.path, p.index).meta().kind; });
    if (!fresh) return std::optional<IndexReport>{};
  }
  Result<IndexReport> r = merge_indexes(pieces, merged);
  if (!r) return r.error();
  return std::optional<IndexReport>(std::move(r.value()));
}

}  // namespace ingot

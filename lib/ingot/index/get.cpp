#include "ingot/index/get.h"

#include <limits>
#include <optional>
#include <vector>

#include "ingot/chunk/boundary.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/index/index.h"
#include "ingot/index/index_format.h"

namespace ingot {
namespace {

const char* kStdoutName = "<stdout>";

// Copies source bytes [begin, end) to fd with pread; small ranges need one read.
std::uint64_t copy_range(const InputFile& in, std::uint64_t begin, std::uint64_t end, int fd) {
  std::vector<char> buf(static_cast<std::size_t>(std::min<std::uint64_t>(end - begin, std::uint64_t{1} << 20)));
  const std::uint64_t total = end - begin;
  while (begin < end) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end - begin));
    const std::size_t got = in.read_at(buf.data(), n, begin);
    if (got < n) throw io_error("file shrank while reading").at_path(in.display_name()).at_offset(begin + got);
    write_all(fd, buf.data(), n, kStdoutName);
    begin += n;
  }
  return total;
}

GetReport from_index(const InputFile& in, const IndexReader& r, const GetOptions& o, int fd) {
  const auto span = resolve_range(o.spec, r.records());
  if (!span) throw data_error(out_of_range_message(o.spec, r.records())).at_path(in.display_name());
  // Record i (1-based) is [boundary(i - 1), boundary(i)): a range needs two lookups.
  const std::uint64_t begin = r.boundary(span->first - 1);
  const std::uint64_t end = r.boundary(span->last);
  GetReport g;
  g.path = GetReport::Path::index;
  g.first = span->first;
  g.last = span->last;
  const IndexMeta& m = r.meta();
  // The header and the first record are one read (of an object: one ranged GET; two
  // reads, the second going on from the first, would look sequential and read ahead).
  const bool header = o.print_header && m.header_len > 0;
  if (header && begin == m.range_begin + m.header_len) {
    g.bytes += copy_range(in, m.range_begin, end, fd);
    return g;
  }
  if (header) g.bytes += copy_range(in, m.range_begin, m.range_begin + m.header_len, fd);
  g.bytes += copy_range(in, begin, end, fd);
  return g;
}

// Complete records in a chunk and the end of the last one (0: none). Only the last
// chunk of an input can have bytes after that: a final record without a terminator.
struct ChunkRecords {
  std::uint64_t complete = 0;
  std::size_t last_end = 0;
};

ChunkRecords chunk_records(const Chunk& c, RecordKind kind, char delim) {
  ChunkRecords r;
  if (!is_delimited(kind)) {
    r.complete = count_byte(c.data, c.size, '\n');
    r.last_end = last_record_end(c.data, c.size, kind, delim, leading_bom(c.data, c.size, c.offset));
  } else {
    for_each_record_end(
        c.data, c.size, kind,
        [&](std::size_t e) {
          ++r.complete;
          r.last_end = e;
        },
        delim, leading_bom(c.data, c.size, c.offset));
  }
  return r;
}

std::uint64_t count_all(const std::string& path, RecordKind kind, const GetOptions& o) {
  InputFile in = InputFile::open(path, Decode::auto_detect, InputFile::Remote::allow);
  Chunker ch(in, kind, 0, kToEnd, o.chunker);
  if (is_delimited(kind) && o.header) ch.take_first_record();
  Buffer buf;
  Chunk c;
  std::uint64_t n = 0;
  while (ch.next(buf, c)) {
    const ChunkRecords cr = chunk_records(c, kind, o.chunker.delimiter);
    n += cr.complete + (cr.last_end < c.size ? 1 : 0);
  }
  return n;
}

// The slow path: from the start, count records chunk by chunk (memchr speed for lines),
// walk only the chunks that hold wanted records, stop after the last one.
GetReport by_scan(InputFile& in, const GetOptions& o, int fd) {
  const RecordKind kind = index_kind_for(o.input, o.kind);
  RecordSpan want;
  if (o.spec.form == RangeSpec::Form::from_end) {
    if (in.compressed()) {
      throw usage_error(std::string("-K counts from the end, which ") + codec_name(in.codec()) +
                        "-compressed input does not allow (it is read once, as a stream); decompress it first")
          .at_path(in.display_name());
    }
    if (!in.seekable()) {
      throw usage_error("-K counts from the end, which needs a file (a stream can be read only once)")
          .at_path(in.display_name());
    }
    const std::uint64_t total = count_all(o.input, kind, o);
    const auto span = resolve_range(o.spec, total);
    if (!span) throw data_error(out_of_range_message(o.spec, total)).at_path(in.display_name());
    want = *span;
  } else {
    // Unknown total: resolve against "infinitely many", the end is found by the scan.
    want = *resolve_range(o.spec, std::numeric_limits<std::uint64_t>::max());
  }

  Chunker ch(in, kind, 0, kToEnd, o.chunker);
  std::string header;
  if (is_delimited(kind) && o.header) header = ch.take_first_record();
  GetReport g;
  g.path = GetReport::Path::scan;
  bool started = false;
  auto emit = [&](const char* p, std::size_t n) {
    if (!started) {
      started = true;
      if (o.print_header && !header.empty()) {
        write_all(fd, header.data(), header.size(), kStdoutName);
        g.bytes += header.size();
      }
    }
    write_all(fd, p, n, kStdoutName);
    g.bytes += n;
  };
  Buffer buf;
  Chunk c;
  std::uint64_t seen = 0;  // records before the current chunk
  while (seen < want.last && ch.next(buf, c)) {
    const ChunkRecords cr = chunk_records(c, kind, o.chunker.delimiter);
    const std::uint64_t n = cr.complete + (cr.last_end < c.size ? 1 : 0);
    if (seen + n < want.first) {
      seen += n;
      continue;
    }
    std::size_t prev = 0;
    auto on_record = [&](std::size_t end) {
      ++seen;
      if (seen >= want.first && seen <= want.last) emit(c.data + prev, end - prev);
      prev = end;
    };
    for_each_record_end(c.data, c.size, kind, on_record, o.chunker.delimiter, leading_bom(c.data, c.size, c.offset));
    if (prev < c.size) on_record(c.size);
  }
  if (!started) throw data_error(out_of_range_message(o.spec, seen)).at_path(in.display_name());
  g.first = want.first;
  g.last = std::min(want.last, seen);
  return g;
}

GetReport get_or_throw(const GetOptions& o, int fd) {
  // A remote object is opened as stored, without the reads of its first and last bytes
  // that find its compression: with a fresh index of a plain object, `get` then makes two
  // ranged GETs (the index, the records). Anything else reopens it decoded: a scan, an
  // index that does not match the stored bytes (it may be seekable zstd's, which counts
  // decoded bytes), a rebuilt index.
  bool decoded = !(is_remote_path(o.input) && !o.scan);
  InputFile in = InputFile::open(o.input, decoded ? Decode::auto_detect : Decode::raw, InputFile::Remote::allow);
  auto reopen_decoded = [&] {
    if (decoded) return false;
    in = InputFile::open(o.input, Decode::auto_detect, InputFile::Remote::allow);
    decoded = true;
    return true;
  };
  auto scan = [&] {
    reopen_decoded();
    return by_scan(in, o, fd);
  };
  if (!in.seekable() || o.scan) return scan();

  // Without --index: FILE.idx beside the file (an s3:// object's beside the object; an
  // http(s):// URL has none, index_beside()).
  const bool beside = o.index.empty() && index_beside(o.input);
  const std::string idx = o.index.empty() ? default_index_path(o.input) : o.index;
  std::optional<RecordKind> old_kind;
  std::string why;
  std::optional<IndexReader> r;
  bool exists = false;
  if (beside || !o.index.empty()) {
    try {
      r = IndexReader::open_if_exists(idx);
      exists = r.has_value();
      if (r) {
        old_kind = r->meta().kind;
        // The default FILE.idx must cover the whole file; an explicit --index may be a part's.
        why = r->source_mismatch(in, o.index.empty());
        if (!why.empty() && reopen_decoded()) why = r->source_mismatch(in, o.index.empty());
        if (!why.empty()) why = "index " + idx + " is stale: " + why + "; run 'ingot index " + o.input + "'";
      }
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::data) throw Error(e).at_path(in.display_name());
      exists = true;
      why = e.what();
      // Not every reader error says what to do (a bad magic does not): say it once.
      if (why.find("'ingot index") == std::string::npos) why += "; rebuild it with 'ingot index'";
    }
  }
  if (exists) {
    if (why.empty()) return from_index(in, *r, o, fd);
    if (!o.reindex) throw data_error(why + " or pass --reindex").at_path(in.display_name());
  } else if (!o.index.empty() && !o.reindex) {
    throw io_error("index " + idx + " does not exist; build it with 'ingot index' or pass --reindex")
        .at_path(in.display_name());
  } else if (!o.reindex || (o.index.empty() && !beside)) {
    return scan();  // (an http(s):// URL's index cannot be built beside it)
  }

  reopen_decoded();
  IndexOptions io;
  io.input = o.input;
  io.output = idx;
  io.kind = o.kind ? o.kind : old_kind;
  io.header = o.header;
  io.pipeline = o.pipeline;
  io.chunker = o.chunker;
  Result<IndexReport> built = build_index(io);
  if (!built) throw built.error();
  GetReport g = from_index(in, IndexReader::open(idx), o, fd);
  g.path = GetReport::Path::reindexed;
  return g;
}

}  // namespace

Result<GetReport> get_records(const GetOptions& o, int fd) {
  return capture([&]() -> GetReport {
    try {
      return get_or_throw(o, fd);
    } catch (Error& e) {
      // Index errors name the index; say which file it was for.
      if (e.path().empty() && e.kind() != ErrorKind::usage) e.at_path(o.input);
      throw;
    }
  });
}

}  // namespace ingot

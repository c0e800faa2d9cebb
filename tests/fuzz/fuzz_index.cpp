// The index reader on arbitrary bytes (open, every lookup, verify: a clean Error or
// answers inside the file), and the writer/reader pair on boundaries derived from the
// input (every boundary reads back exactly). Mode byte: even = raw index bytes.
#include <algorithm>
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "ingot/io/output.h"
#include "ingot/index/index_format.h"
#include "ingot/util/error.h"

using namespace ingot;

namespace {

void read_raw(const std::uint8_t* p, std::size_t n) {
  const std::string path = ingot_fuzz::scratch("raw.idx");
  ingot_fuzz::write_whole(path, p, n);
  try {
    IndexReader r = IndexReader::open(path);
    std::vector<std::uint64_t> out;
    const std::uint64_t blocks = std::min<std::uint64_t>(r.blocks(), 64);
    for (std::uint64_t b = 0; b < blocks; ++b) r.decode_block(b, out);
    const std::uint64_t recs = r.records();
    for (std::uint64_t i : {std::uint64_t{0}, recs / 2, recs}) (void)r.boundary(i);
    r.verify();
  } catch (const Error&) {
  }
}

void round_trip(const std::uint8_t* p, std::size_t n) {
  // Boundaries: a running sum of record lengths taken from the input (1-3 bytes each);
  // every record holds at least its terminator, so lengths start at 1.
  std::vector<std::uint64_t> bounds{0};
  std::uint64_t at = 0;
  for (std::size_t i = 0; i < n;) {
    std::uint64_t len = p[i++];
    if (len & 0x80 && i < n) len = (len & 0x7f) << 8 | p[i++];
    if (len & 0x4000 && i < n) len = (len & 0x3fff) << 8 | p[i++];
    at += len + 1;
    bounds.push_back(at);
  }
  const std::string path = ingot_fuzz::scratch("rt.idx");
  IndexMeta meta;
  meta.kind = RecordKind::lines;
  meta.range_begin = 0;
  meta.range_end = at;
  meta.source.size = at;
  {
    OutputFile out = OutputFile::create(path);
    IndexWriter w(out, meta);
    for (std::uint64_t b : bounds) w.add(b);
    w.finish();
    out.commit();
  }
  IndexReader r = IndexReader::open(path);
  r.verify();
  if (r.records() != bounds.size() - 1) {
    std::fprintf(stderr, "index says %llu records, wrote %zu\n", static_cast<unsigned long long>(r.records()),
                 bounds.size() - 1);
    std::abort();
  }
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (r.boundary(i) != bounds[i]) {
      std::fprintf(stderr, "boundary %zu reads back as %llu, wrote %llu\n", i,
                   static_cast<unsigned long long>(r.boundary(i)), static_cast<unsigned long long>(bounds[i]));
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if (data[0] % 2 == 0)
    read_raw(data + 1, size - 1);
  else
    round_trip(data + 1, size - 1);
  return 0;
}

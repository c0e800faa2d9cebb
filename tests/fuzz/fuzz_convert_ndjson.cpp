// NDJSON -> CSV/TSV conversion of arbitrary bytes. Property: the output, the rejects
// and the counts are the same for -j1 with a chunk size derived from the input, -j2
// with another, and the default chunk size; no crash, leak or sanitizer report.
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "ingot/convert/convert.h"
#include "ingot/util/error.h"

using namespace ingot;

namespace {

struct Outcome {
  bool ok = false;
  std::string error, output, rejects;
  RecordCounts counts;
  std::size_t columns = 0;
};

Outcome run(const std::string& in, RecordKind to, bool flatten, unsigned threads, std::size_t chunk) {
  ConvertOptions o;
  o.input = in;
  o.output = ingot_fuzz::scratch(to == RecordKind::tsv ? "out.tsv" : "out.csv");
  o.rejects = ingot_fuzz::scratch("rejects.ndjson");
  o.to = to;
  o.flatten = flatten;
  o.pipeline.threads = threads;
  o.chunker.chunk_size = chunk;
  o.chunker.max_record = std::size_t{1} << 20;
  std::remove(o.output.c_str());
  std::remove(o.rejects.c_str());
  Outcome r;
  auto res = convert(o);
  r.ok = res.ok();
  if (!r.ok) {
    r.error = res.error().message();
    return r;
  }
  r.output = ingot_fuzz::read_whole(o.output);
  r.rejects = ingot_fuzz::read_whole(o.rejects);
  r.counts = res.value().records;
  r.columns = res.value().columns;
  return r;
}

bool same(const Outcome& a, const Outcome& b) {
  return a.ok == b.ok && a.error == b.error && a.output == b.output && a.rejects == b.rejects &&
         a.counts.valid == b.counts.valid && a.counts.invalid == b.counts.invalid && a.counts.blank == b.counts.blank &&
         a.columns == b.columns;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ingot_fuzz::Params prm{data, size};
  const std::uint8_t mode = prm.byte();
  const std::size_t chunk1 = 1 + prm.byte() % 97;
  const std::size_t chunk2 = 1 + prm.byte() * 3;
  const RecordKind to = (mode & 1) ? RecordKind::tsv : RecordKind::csv;
  const bool flatten = (mode & 2) == 0;
  const std::string in = ingot_fuzz::scratch("in.ndjson");
  ingot_fuzz::write_whole(in, prm.p, prm.n);

  const Outcome a = run(in, to, flatten, 1, chunk1);
  const Outcome b = run(in, to, flatten, 2, chunk2);
  const Outcome c = run(in, to, flatten, 2, kDefaultChunkSize);
  if (!same(a, b) || !same(a, c)) {
    std::fprintf(stderr, "convert differs between -j1/chunk %zu, -j2/chunk %zu and the default chunk\n", chunk1,
                 chunk2);
    std::fprintf(stderr, "a: ok=%d err=%s\nb: ok=%d err=%s\nc: ok=%d err=%s\n", a.ok, a.error.c_str(), b.ok,
                 b.error.c_str(), c.ok, c.error.c_str());
    std::abort();
  }
  return 0;
}

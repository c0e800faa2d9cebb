// NDJSON -> Parquet of arbitrary bytes, the one walk against the two passes
// (convert_parquet.cpp, OneWalk; INGOT_SPECULATE=0 forces the two passes). Property:
// the file, the rejects, --schema-out and the counts of the one walk at -j1 and -j2,
// with chunk and row-group sizes derived from the input, are byte for byte the two
// passes'; both runs fail or neither does (their messages may differ: errors come in
// input order in one walk, docs/parquet.md); no crash, leak or sanitizer report.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"
#include "ingot/convert/convert.h"
#include "ingot/util/error.h"

using namespace ingot;

namespace {

struct Outcome {
  bool ok = false;
  std::string error, output, rejects, schema;
  RecordCounts counts;
};

Outcome run(const std::string& in, bool one_walk, bool flatten, bool auto_types, unsigned threads, std::size_t chunk,
            std::uint64_t row_group) {
  ConvertOptions o;
  o.input = in;
  o.output = ingot_fuzz::scratch("out.parquet");
  o.rejects = ingot_fuzz::scratch("rejects.ndjson");
  o.schema_out = ingot_fuzz::scratch("schema.json");
  o.to_parquet = true;
  o.flatten = flatten;
  o.types = auto_types ? ValueTypes::auto_detect : ValueTypes::string;
  o.pipeline.threads = threads;
  o.chunker.chunk_size = chunk;
  o.chunker.max_record = std::size_t{1} << 20;
  o.row_group_size = row_group;
  for (const std::string& f : {o.output, o.rejects, o.schema_out}) std::remove(f.c_str());
  if (one_walk) {
    ::unsetenv("INGOT_SPECULATE");
  } else {
    ::setenv("INGOT_SPECULATE", "0", 1);
  }
  Outcome r;
  auto res = convert(o);
  ::unsetenv("INGOT_SPECULATE");
  r.ok = res.ok();
  if (!r.ok) {
    r.error = res.error().message();
    return r;
  }
  r.output = ingot_fuzz::read_whole(o.output);
  r.rejects = ingot_fuzz::read_whole(o.rejects);
  r.schema = ingot_fuzz::read_whole(o.schema_out);
  r.counts = res.value().records;
  return r;
}

bool same(const Outcome& a, const Outcome& b) {
  if (a.ok != b.ok) return false;
  if (!a.ok) return true;
  return a.output == b.output && a.rejects == b.rejects && a.schema == b.schema && a.counts.valid == b.counts.valid &&
         a.counts.invalid == b.counts.invalid && a.counts.blank == b.counts.blank;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ingot_fuzz::Params prm{data, size};
  const std::uint8_t mode = prm.byte();
  const std::size_t chunk1 = 1 + prm.byte() % 97;
  const std::size_t chunk2 = 1 + prm.byte() * 3;
  const std::uint64_t group = 1 + prm.byte() * 8;  // small: the hold ends early, so changes restart
  const bool flatten = (mode & 1) == 0;
  const bool auto_types = (mode & 2) == 0;
  const std::uint64_t group1 = (mode & 4) ? group : std::uint64_t{128} << 20;
  const std::string in = ingot_fuzz::scratch("in.ndjson");
  ingot_fuzz::write_whole(in, prm.p, prm.n);

  // The two passes give the same file for any -j and chunk size (the other fuzz and CLI
  // tests hold them to that), so one run of them is the reference for both.
  const Outcome two = run(in, false, flatten, auto_types, 1, chunk1, group1);
  const Outcome a = run(in, true, flatten, auto_types, 1, chunk1, group1);
  const Outcome b = run(in, true, flatten, auto_types, 2, chunk2, group1);
  if (!same(two, a) || !same(two, b)) {
    std::fprintf(stderr, "property failed: one walk differs from the two passes (chunks %zu, %zu; row group %llu)\n",
                 chunk1, chunk2, static_cast<unsigned long long>(group1));
    std::fprintf(stderr, "two: ok=%d err=%s\na: ok=%d err=%s\nb: ok=%d err=%s\n", two.ok, two.error.c_str(), a.ok,
                 a.error.c_str(), b.ok, b.error.c_str());
    std::abort();
  }
  return 0;
}

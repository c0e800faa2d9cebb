// read_manifest on arbitrary bytes: either a clean Error or a manifest that survives
// write_manifest + read_manifest unchanged.
#include <string>

#include "fuzz_util.h"
#include "ingot/split/manifest.h"
#include "ingot/util/error.h"

using namespace ingot;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = ingot_fuzz::scratch("manifest.json");
  ingot_fuzz::write_whole(path, data, size);
  Manifest m;
  try {
    m = read_manifest(path);
  } catch (const Error&) {
    return 0;
  }
  const std::string again = ingot_fuzz::scratch("again.json");
  write_manifest(again, m);
  Manifest r = read_manifest(again);
  bool same = r.kind == m.kind && r.header == m.header && r.mode == m.mode && r.amount == m.amount &&
              r.plan == m.plan && r.filter == m.filter && r.compression == m.compression &&
              r.fingerprint == m.fingerprint && r.pieces.size() == m.pieces.size() && r.extension == m.extension &&
              r.digits == m.digits;
  for (std::size_t i = 0; same && i < m.pieces.size(); ++i) {
    const ManifestPiece &a = m.pieces[i], &b = r.pieces[i];
    same = a.path == b.path && a.offset == b.offset && a.length == b.length && a.records == b.records &&
           a.first_record == b.first_record && a.header_bytes == b.header_bytes && a.size == b.size &&
           a.xxh3 == b.xxh3 && a.oversized == b.oversized;
  }
  if (!same) {
    std::fprintf(stderr, "manifest changed through write_manifest + read_manifest\n");
    std::abort();
  }
  return 0;
}

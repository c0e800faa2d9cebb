// Picks the convert_ndjson.cpp variant for this CPU (see convert_internal.h).
// INGOT_NDJSON_VARIANT=generic in the environment forces the generic one (tests compare
// the two variants' output byte for byte).
#include <cstdlib>
#include <string_view>

#include "ingot/convert/convert_internal.h"
#include "ingot/convert/ndjson_leaf_scan.h"

namespace ingot::detail {
namespace {

bool has_x86_64_v3() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
         __builtin_cpu_supports("pclmul");
#else
  return false;
#endif
}

const bool kHasV3 = has_x86_64_v3();

// Read at each run, so that a test may switch variants within one process.
bool use_v3() {
  if (!kHasV3) return false;
  const char* forced = std::getenv("INGOT_NDJSON_VARIANT");
  return forced == nullptr || std::string_view(forced) != "generic";
}

}  // namespace

const char* ndjson_variant() { return use_v3() ? "x86-64-v3" : "generic"; }

void convert_ndjson(ConvertRun& run) {
#if defined(__x86_64__)
  if (use_v3()) return x86_64_v3::convert_ndjson(run);
#endif
  generic::convert_ndjson(run);
}

std::vector<std::string> ndjson_key_union(InputFile& in, std::uint64_t begin, std::uint64_t end,
                                          const ConvertOptions& opts) {
#if defined(__x86_64__)
  if (use_v3()) return x86_64_v3::ndjson_key_union(in, begin, end, opts);
#endif
  return generic::ndjson_key_union(in, begin, end, opts);
}

std::unique_ptr<NdjsonChunkConverter> make_ndjson_converter(const std::vector<std::string>& columns, RowFormat format,
                                                            bool flatten) {
#if defined(__x86_64__)
  if (use_v3()) return x86_64_v3::make_ndjson_converter(columns, format, flatten);
#endif
  return generic::make_ndjson_converter(columns, format, flatten);
}

std::unique_ptr<NdjsonLeafScanner> make_ndjson_leaf_scanner(bool flatten, bool auto_types, bool line_shapes) {
#if defined(__x86_64__)
  if (use_v3()) return x86_64_v3::make_ndjson_leaf_scanner(flatten, auto_types, line_shapes);
#endif
  return generic::make_ndjson_leaf_scanner(flatten, auto_types, line_shapes);
}

std::unique_ptr<NdjsonBatchWriter> make_ndjson_batch_writer(const std::vector<std::string>& columns,
                                                            std::vector<parquet::ValueType> types, bool flatten,
                                                            bool line_shapes) {
#if defined(__x86_64__)
  if (use_v3()) return x86_64_v3::make_ndjson_batch_writer(columns, std::move(types), flatten, line_shapes);
#endif
  return generic::make_ndjson_batch_writer(columns, std::move(types), flatten, line_shapes);
}

}  // namespace ingot::detail

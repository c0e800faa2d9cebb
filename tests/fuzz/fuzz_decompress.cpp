// The gzip and zstd decoders on arbitrary bytes: a clean Error or decoded bytes; and
// compress -> decompress gives the input back.
#include <string>

#include "ingot/io/compress.h"
#include "ingot/io/decompress.h"
#include "ingot/util/error.h"

using namespace ingot;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string in(reinterpret_cast<const char*>(data), size);
  for (Codec c : {Codec::gzip, Codec::zstd}) {
    try {
      (void)decompress_all(c, in);
    } catch (const Error&) {
    }
    if (size < 4096 && decompress_all(c, compress_all(c, in, 1)) != in) {
      std::fprintf(stderr, "%s round trip failed\n", codec_name(c));
      std::abort();
    }
  }
  return 0;
}

// Compressed input and output through the library: gzip and zstd round trips,
// multi-member / multi-frame input, truncated and corrupt data (path and compressed
// offset in the error), InputFile as a stream of decoded bytes, the chunker over it
// with tiny chunks, OutputFile --compress, convert and split on compressed input
// (identical to the plain input for -j1 and -j2), and the refusals.
#include <catch2/catch.hpp>

#include <random>

#include "ingot/chunk/chunker.h"
#include "ingot/io/compress.h"
#include "ingot/io/decompress.h"
#include "ingot/io/input.h"
#include "ingot/io/output.h"
#include "ingot/io/zstd_seekable.h"
#include "ingot/convert/convert.h"
#include "ingot/split/manifest.h"
#include "ingot/split/split.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

// Text with some redundancy and some noise, so both codecs emit several blocks.
std::string sample_text(unsigned seed, std::size_t bytes) {
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < bytes) {
    s += std::to_string(rng() % 100000) + ",\"name " + std::to_string(rng() % 977) + "\",";
    for (int i = 0; i < static_cast<int>(rng() % 20); ++i) s += static_cast<char>('a' + rng() % 26);
    s += "\n";
  }
  return s;
}

std::string sample_csv(unsigned seed, int rows) {
  std::mt19937 rng(seed);
  std::string s = "id,city,note\n";
  const char* notes[] = {"plain", "\"two\nlines\"", "\"a \"\"quote\"\"\"", "x", "\"comma, inside\"", ""};
  for (int i = 1; i <= rows; ++i)
    s += std::to_string(i) + ",c" + std::to_string(rng() % 50) + "," + notes[rng() % 6] + "\n";
  return s;
}

std::string read_all(InputFile& in, std::size_t step) {
  std::string out;
  std::string buf(step, '\0');
  while (std::size_t n = in.read(buf.data(), step)) out.append(buf.data(), n);
  return out;
}

Error decode_error(Codec c, const std::string& data) {
  try {
    decompress_all(c, data, "in.z");
  } catch (const Error& e) {
    return e;
  }
  FAIL("no error for bad " << codec_name(c) << " data");
  return usage_error("");
}

const Codec kCodecs[] = {Codec::gzip, Codec::zstd};

}  // namespace

TEST_CASE("compress: codecs are recognised by magic bytes and by name", "[compress]") {
  REQUIRE(detect_codec("\x1f\x8b\x08\x00", 4) == Codec::gzip);
  REQUIRE(detect_codec("\x28\xb5\x2f\xfd", 4) == Codec::zstd);
  REQUIRE(detect_codec("\x50\x2a\x4d\x18", 4) == Codec::zstd);  // skippable frame
  REQUIRE(detect_codec("id,c", 4) == Codec::none);
  REQUIRE(detect_codec("\x1f", 1) == Codec::none);
  REQUIRE(detect_codec("", 0) == Codec::none);
  REQUIRE(parse_codec("gz") == Codec::gzip);
  REQUIRE(parse_codec("zstd") == Codec::zstd);
  REQUIRE_FALSE(parse_codec("bz2"));
  REQUIRE(strip_codec_suffix("a/taxi.csv.gz") == "a/taxi.csv");
  REQUIRE(strip_codec_suffix("taxi.ndjson.zst") == "taxi.ndjson");
  REQUIRE(strip_codec_suffix("taxi.csv") == "taxi.csv");
  REQUIRE(record_kind_from_path("taxi.csv.gz") == RecordKind::csv);
  REQUIRE(record_kind_from_path("taxi.ndjson.zst") == RecordKind::ndjson);
}

TEST_CASE("compress: gzip and zstd round-trip empty, small and multi-block data", "[compress]") {
  for (Codec c : kCodecs) {
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, std::size_t{3} << 20}) {
      const std::string text = sample_text(static_cast<unsigned>(size), size).substr(0, size);
      const std::string packed = compress_all(c, text);
      CAPTURE(codec_name(c), size);
      REQUIRE(detect_codec(packed.data(), packed.size()) == c);
      REQUIRE(decompress_all(c, packed) == text);
    }
  }
}

TEST_CASE("compress: multi-member gzip and multi-frame zstd decode to the concatenation", "[compress]") {
  const std::string a = sample_text(1, 70000), b = sample_text(2, 5), c = sample_text(3, 300000);
  for (Codec codec : kCodecs) {
    const std::string packed =
        compress_all(codec, a) + compress_all(codec, "") + compress_all(codec, b) + compress_all(codec, c);
    REQUIRE(decompress_all(codec, packed) == a + b + c);
  }
}

TEST_CASE("compress: truncated data is an error with the path and the compressed offset", "[compress]") {
  const std::string text = sample_text(4, 200000);
  for (Codec c : kCodecs) {
    const std::string packed = compress_all(c, text);
    for (std::size_t cut : {std::size_t{5}, packed.size() / 2, packed.size() - 1}) {
      CAPTURE(codec_name(c), cut);
      Error e = decode_error(c, packed.substr(0, cut));
      REQUIRE(e.kind() == ErrorKind::data);
      REQUIRE(e.path() == "in.z");
      REQUIRE(std::string(e.what()).find("compressed byte") != std::string::npos);
    }
    Error e = decode_error(c, packed.substr(0, packed.size() - 1));
    REQUIRE(std::string(e.what()).find("truncated") != std::string::npos);
  }
}

TEST_CASE("compress: corrupt data and trailing garbage are errors", "[compress]") {
  const std::string text = sample_text(5, 100000);
  for (Codec c : kCodecs) {
    std::string packed = compress_all(c, text);
    // zstd ends in its seek table, a skippable frame decoders do not read: flip bytes before it.
    const std::size_t data_end = packed.size() - (c == Codec::zstd ? seek_table_frame({{1, 1}}).size() : 0);
    for (std::size_t at : {packed.size() / 3, packed.size() / 2, data_end - 3}) {
      std::string bad = packed;
      bad[at] = static_cast<char>(bad[at] ^ 0x55);
      CAPTURE(codec_name(c), at);
      Error e = decode_error(c, bad);
      REQUIRE(e.kind() == ErrorKind::data);
      REQUIRE(std::string(e.what()).find("compressed byte") != std::string::npos);
    }
    Error e = decode_error(c, packed + "garbage after the end");
    REQUIRE(e.kind() == ErrorKind::data);
  }
}

TEST_CASE("compress: a compressed file opens as a non-seekable stream of decoded bytes", "[compress][io]") {
  TempDir d;
  const std::string text = sample_text(6, 500000);
  for (Codec c : kCodecs) {
    // A misleading name: the magic bytes decide, not the suffix.
    const std::string path = d.str(std::string("data-") + codec_name(c) + ".txt");
    write_file(path, compress_all(c, text.substr(0, 1000)) + compress_all(c, text.substr(1000)));
    InputFile in = InputFile::open(path);
    REQUIRE(in.compressed());
    REQUIRE(in.codec() == c);
    REQUIRE_FALSE(in.seekable());
    REQUIRE(in.size() == 0);
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
      if (step == 1 && c == Codec::zstd) continue;  // byte-at-a-time once is enough
      InputFile again = InputFile::open(path);
      REQUIRE(read_all(again, step) == text);
    }
    InputFile raw = InputFile::open(path, Decode::raw);
    REQUIRE(raw.seekable());
    REQUIRE_FALSE(raw.compressed());
  }
  write_file(d / "plain.txt", "ab");  // shorter than any magic
  InputFile in = InputFile::open(d.str("plain.txt"));
  REQUIRE(in.seekable());
  REQUIRE_FALSE(in.compressed());
}

TEST_CASE("compress: the chunker cuts decoded input on record ends for tiny and default chunks", "[compress][chunk]") {
  TempDir d;
  const std::string csv = sample_csv(7, 3000);
  write_file(d / "in.csv.zst", compress_all(Codec::zstd, csv));
  for (std::size_t chunk : {std::size_t{1}, std::size_t{64}, std::size_t{4096}, kDefaultChunkSize}) {
    InputFile in = InputFile::open(d.str("in.csv.zst"));
    ChunkerOptions o;
    o.chunk_size = chunk;
    Chunker ch(in, RecordKind::csv, 0, kToEnd, o);
    Buffer buf;
    Chunk c;
    std::string joined;
    std::uint64_t expect_offset = 0;
    while (ch.next(buf, c)) {
      REQUIRE(c.offset == expect_offset);
      joined.append(c.data, c.size);
      expect_offset += c.size;
    }
    CAPTURE(chunk);
    REQUIRE(joined == csv);
  }
}

TEST_CASE("compress: OutputFile with compress writes a file that decodes to what was written", "[compress][io]") {
  TempDir d;
  const std::string text = sample_text(8, 3 << 20);
  for (Codec c : kCodecs) {
    const std::string path = d.str(std::string("out.") + codec_name(c));
    OutputFile out = OutputFile::create(path, {.compress = c});
    for (std::size_t i = 0; i < text.size(); i += 100000) out.write(text.substr(i, 100000));
    out.commit();
    const std::string stored = read_file(path);
    REQUIRE(out.bytes_written() == stored.size());
    REQUIRE(stored.size() < text.size());
    REQUIRE(decompress_all(c, stored) == text);
  }
}

TEST_CASE("compress: convert of compressed CSV equals convert of the plain file, for -j1/-j2 and chunk sizes",
          "[compress][convert]") {
  TempDir d;
  const std::string csv = sample_csv(9, 5000);
  write_file(d / "plain.csv", csv);
  write_file(d / "in.csv.gz",
             compress_all(Codec::gzip, csv.substr(0, 777)) + compress_all(Codec::gzip, csv.substr(777)));
  write_file(d / "in.csv.zst", compress_all(Codec::zstd, csv));
  ConvertOptions base;
  base.input = d.str("plain.csv");
  base.output = d.str("expect.ndjson");
  REQUIRE(convert(base));
  const std::string expect = read_file(d / "expect.ndjson");
  REQUIRE(!expect.empty());
  for (const char* name : {"in.csv.gz", "in.csv.zst"}) {
    for (unsigned threads : {1u, 2u}) {
      for (std::size_t chunk : {std::size_t{64}, kDefaultChunkSize}) {
        ConvertOptions o = base;
        o.input = d.str(name);
        o.output = d.str("got.ndjson");
        o.pipeline.threads = threads;
        o.chunker.chunk_size = chunk;
        auto r = convert(o);
        CAPTURE(name, threads, chunk);
        REQUIRE(r);
        REQUIRE(read_file(d / "got.ndjson") == expect);
        REQUIRE(r.value().records.valid == 5000);
      }
    }
  }
  // And the other way, NDJSON (with --fields) to compressed CSV output.
  ConvertOptions back;
  back.input = d.str("expect.ndjson");
  back.output = d.str("back.csv.zst");  // compressed by the suffix
  back.fields = {"id", "city", "note"};
  REQUIRE(convert(back));
  const std::string packed = read_file(d / "back.csv.zst");
  REQUIRE(detect_codec(packed.data(), packed.size()) == Codec::zstd);
  ConvertOptions plain_back = back;
  plain_back.output = d.str("back.csv");
  REQUIRE(convert(plain_back));
  REQUIRE(decompress_all(Codec::zstd, packed) == read_file(d / "back.csv"));
}

TEST_CASE("compress: operations that need random access refuse compressed input with a usage error",
          "[compress][convert][split]") {
  TempDir d;
  write_file(d / "in.ndjson.gz", compress_all(Codec::gzip, "{\"a\":1}\n{\"a\":2}\n"));
  // Two pieces concatenated: valid zstd, but the last seek table covers only the last piece.
  write_file(d / "in.csv.zst", compress_all(Codec::zstd, "a,b\n") + compress_all(Codec::zstd, "1,2\n"));

  ConvertOptions part;
  part.input = d.str("in.csv.zst");
  part.output = d.str("o.ndjson");
  part.part = PartSpec{1, 2};
  auto r = convert(part);
  REQUIRE_FALSE(r);
  REQUIRE(r.error().kind() == ErrorKind::usage);
  REQUIRE(std::string(r.error().what()).find("decompress it first") != std::string::npos);

  // Not random access, but two decodings: the columns of a compressed file are found.
  ConvertOptions keys;
  keys.input = d.str("in.ndjson.gz");
  keys.output = d.str("o.csv");
  REQUIRE(convert(keys));
  REQUIRE(read_file(d / "o.csv") == "a\n1\n2\n");

  for (bool plan : {false, true}) {
    SplitOptions s;
    s.input = d.str("in.csv.zst");
    s.by = SplitBy::pieces;
    s.amount = 2;
    s.plan = plan;
    s.prefix = d.str("p-");
    auto sr = split(s);
    REQUIRE_FALSE(sr);
    REQUIRE(sr.error().kind() == ErrorKind::usage);
    REQUIRE(std::string(sr.error().what()).find("decompress it first") != std::string::npos);
  }
}

TEST_CASE("compress: split of compressed input equals split of the plain file, and --compress pieces",
          "[compress][split]") {
  TempDir d;
  const std::string csv = sample_csv(10, 2000);
  write_file(d / "plain.csv", csv);
  write_file(d / "in.csv.gz", compress_all(Codec::gzip, csv));
  for (SplitBy by : {SplitBy::records, SplitBy::bytes}) {
    const std::uint64_t amount = by == SplitBy::records ? 300 : 9000;
    SplitOptions ref;
    ref.input = d.str("plain.csv");
    ref.by = by;
    ref.amount = amount;
    ref.prefix = d.str("ref-");
    ref.force = true;
    auto rr = split(ref);
    REQUIRE(rr);
    for (unsigned threads : {1u, 2u}) {
      for (Codec out : {Codec::none, Codec::zstd, Codec::gzip}) {
        SplitOptions s = ref;
        s.input = d.str("in.csv.gz");
        s.prefix = d.str("z-");
        s.pipeline.threads = threads;
        s.chunker.chunk_size = threads == 1 ? 100 : kDefaultChunkSize;
        s.compress = out;
        auto sr = split(s);
        CAPTURE(static_cast<int>(by), threads, codec_name(out));
        REQUIRE(sr);
        const Manifest& m = sr.value().manifest;
        REQUIRE(m.pieces.size() == rr.value().manifest.pieces.size());
        REQUIRE(m.compression == (out == Codec::none ? "" : codec_name(out)));
        REQUIRE(read_manifest(sr.value().manifest_path).compression == m.compression);
        for (std::size_t k = 0; k < m.pieces.size(); ++k) {
          const std::string stored = read_file(m.pieces[k].path);
          REQUIRE(m.pieces[k].path.size() >= std::string(codec_suffix(out)).size());
          REQUIRE(m.pieces[k].path.substr(m.pieces[k].path.size() - std::string(codec_suffix(out)).size()) ==
                  codec_suffix(out));
          REQUIRE(*m.pieces[k].size == stored.size());
          REQUIRE(m.pieces[k].records == rr.value().manifest.pieces[k].records);
          const std::string plain = out == Codec::none ? stored : decompress_all(out, stored);
          REQUIRE(plain == read_file(rr.value().manifest.pieces[k].path));
        }
      }
    }
  }
}

TEST_CASE("compress: ingot's zstd is seekable: random reads decode only their frames and equal the source",
          "[compress][io]") {
  TempDir d;
  // Over two frames' worth, not a multiple of the frame size.
  const std::string text = sample_text(20, 2 * kSeekableFrameBytes + 123457);
  const std::string packed = compress_all(Codec::zstd, text);
  write_file(d / "data.zst", packed);
  REQUIRE(decompress_all(Codec::zstd, packed) == text);  // any zstd decoder reads it
  InputFile in = InputFile::open(d.str("data.zst"));
  REQUIRE(in.codec() == Codec::zstd);
  REQUIRE_FALSE(in.compressed());
  REQUIRE(in.seekable());
  REQUIRE_FALSE(in.direct());
  REQUIRE(in.size() == text.size());
  std::mt19937 rng(7);
  std::string buf;
  for (int i = 0; i < 200; ++i) {
    const std::uint64_t at = rng() % (text.size() + 10);
    const std::size_t n = rng() % 3 == 0 ? rng() % (kSeekableFrameBytes + 5000) : rng() % 300;
    buf.assign(n, '\0');
    const std::size_t got = in.read_at(buf.data(), n, at);
    CAPTURE(at, n);
    const std::string want = at < text.size() ? text.substr(at, n) : "";
    REQUIRE(got == want.size());
    REQUIRE(buf.substr(0, got) == want);
  }
  InputFile again = InputFile::open(d.str("data.zst"));
  REQUIRE(read_all(again, 65536) == text);  // read() runs through the frames in order

  // An empty input: one empty frame and its table, a seekable input of 0 bytes.
  write_file(d / "empty.zst", compress_all(Codec::zstd, ""));
  InputFile empty = InputFile::open(d.str("empty.zst"));
  REQUIRE(empty.seekable());
  REQUIRE(empty.size() == 0);
}

TEST_CASE("compress: zstd that the seek table does not describe exactly is read as a stream", "[compress][io]") {
  TempDir d;
  const std::string a = sample_text(21, 5000), b = sample_text(22, 7000);
  const std::string whole = compress_all(Codec::zstd, a);
  const std::string table = seek_table_frame({{1, 1}});  // the size of a one-frame table
  const std::string b_packed = compress_all(Codec::zstd, b);
  const std::string b_frame = b_packed.substr(0, b_packed.size() - table.size());
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"concatenated", whole + b_packed},  // the last table covers only b
      {"no table", whole.substr(0, whole.size() - table.size())},
      {"truncated table", whole.substr(0, whole.size() - 1)},
      {"prepended frame", b_frame + whole},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    write_file(d / "x.zst", c.bytes);
    InputFile in = InputFile::open(d.str("x.zst"));
    REQUIRE(in.codec() == Codec::zstd);
    REQUIRE(in.compressed());
    REQUIRE_FALSE(in.seekable());
  }
}

TEST_CASE("compress: a seekable zstd frame that does not decode to its recorded size is a data error",
          "[compress][io]") {
  TempDir d;
  const std::string text = sample_text(23, 100000);
  std::string packed = compress_all(Codec::zstd, text);
  packed[packed.size() / 2] = static_cast<char>(packed[packed.size() / 2] ^ 0x55);
  write_file(d / "bad.zst", packed);
  InputFile in = InputFile::open(d.str("bad.zst"));
  REQUIRE(in.seekable());
  std::string buf(1000, '\0');
  try {
    in.read_at(buf.data(), buf.size(), 5000);
    FAIL("no error for a corrupt frame");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::data);
    REQUIRE(e.path() == d.str("bad.zst"));
    REQUIRE(std::string(e.what()).find("frame 0") != std::string::npos);
  }
}

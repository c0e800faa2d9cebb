// The record index: offsets equal a naive scan for every chunk size and thread count
// (and the index file is byte-identical across them), the packed format round-trips
// any boundaries, every corrupted or truncated byte is caught, parts tile the file.
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

#include "ingot/index/index.h"
#include "ingot/index/index_format.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

// Record starts plus the end, by the simplest possible reading of the format rules
// (independent of the engine's boundary scanner).
std::vector<std::uint64_t> naive_boundaries(const std::string& text, RecordKind kind, bool header) {
  // CSV: Python's csv grammar (ARCHITECTURE.md); a '"' opens a quoted field only at a
  // field's start (right after a closing quote it is half of a doubled quote).
  std::vector<std::uint64_t> starts{0};
  bool quoted = false, field_start = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') quoted = false, field_start = true;
      continue;
    }
    if (is_delimited(kind) && c == '"' && field_start) {
      quoted = true;
      continue;
    }
    field_start = c == ',' || c == '\n';
    if (c == '\n') starts.push_back(i + 1);
  }
  if (starts.back() != text.size()) starts.push_back(text.size());
  if (header && is_delimited(kind) && starts.size() > 1) starts.erase(starts.begin());
  return starts;
}

std::vector<std::uint64_t> all_boundaries(const IndexReader& r) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 0; i <= r.records(); ++i) v.push_back(r.boundary(i));
  return v;
}

IndexReport build(const std::string& input, const std::string& output, RecordKind kind, std::size_t chunk = 0,
                  unsigned threads = 0, std::optional<PartSpec> part = std::nullopt, bool header = true) {
  IndexOptions o;
  o.input = input;
  o.output = output;
  o.kind = kind;
  o.header = header;
  o.part = part;
  if (chunk) o.chunker.chunk_size = chunk;
  o.pipeline.threads = threads;
  Result<IndexReport> r = build_index(o);
  if (!r) FAIL("build_index: " << r.error().message());
  return r.value();
}

std::string random_lines(std::mt19937_64& rng, std::size_t n, bool final_newline) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t len = rng() % 5 == 0 ? 0 : rng() % 40;
    for (std::size_t k = 0; k < len; ++k) s += static_cast<char>('a' + rng() % 26);
    s += '\n';
  }
  if (!final_newline) s += "tail without newline";
  return s;
}

std::string random_csv(std::mt19937_64& rng, std::size_t n) {
  std::string s = "id,text,\"quoted\nheader\"\n";
  for (std::size_t i = 0; i < n; ++i) {
    s += std::to_string(i) + ",";
    switch (rng() % 4) {
      case 0: s += "plain"; break;
      case 1: s += "\"a,b\nc\r\nd\""; break;
      case 2: s += "\"say \"\"hi\"\"\n\""; break;
      default: s += ""; break;
    }
    s += ",x\n";
  }
  return s;
}

// A writer-level round trip: boundaries in, the same boundaries out.
void round_trip(const std::vector<std::uint64_t>& b) {
  TempDir dir;
  IndexMeta meta;
  meta.range_begin = b.front();
  meta.range_end = b.back();
  meta.source.size = b.back();
  {
    OutputFile out = OutputFile::create(dir.str("x.idx"));
    IndexWriter w(out, meta);
    for (std::uint64_t x : b) w.add(x);
    const IndexMeta m = w.finish();
    out.commit();
    REQUIRE(m.records == b.size() - 1);
  }
  IndexReader r = IndexReader::open(dir.str("x.idx"));
  r.verify();
  REQUIRE(r.records() == b.size() - 1);
  REQUIRE(all_boundaries(r) == b);
}

}  // namespace

TEST_CASE("index: lines offsets equal a naive scan for every chunk size and thread count", "[index][lines]") {
  std::mt19937_64 rng(7);
  for (bool final_newline : {true, false}) {
    TempDir dir;
    const std::string text = random_lines(rng, 60, final_newline);
    write_file(dir / "in.txt", text);
    const auto want = naive_boundaries(text, RecordKind::lines, false);
    build(dir.str("in.txt"), dir.str("ref.idx"), RecordKind::lines);
    const std::string ref = read_file(dir / "ref.idx");
    IndexReader r = IndexReader::open(dir.str("ref.idx"));
    REQUIRE(all_boundaries(r) == want);
    CHECK(((r.meta().flags & kIndexUnterminated) != 0) == !final_newline);
    for (std::size_t cs = 1; cs <= text.size() + 1; cs += (cs < 64 ? 1 : 37)) {
      for (unsigned j : {1u, 2u, 4u}) {
        INFO("chunk size " << cs << ", threads " << j);
        build(dir.str("in.txt"), dir.str("x.idx"), RecordKind::lines, cs, j);
        REQUIRE(read_file(dir / "x.idx") == ref);
      }
    }
  }
}

TEST_CASE("index: CSV counts records, not lines, and skips the header", "[index][csv]") {
  std::mt19937_64 rng(11);
  TempDir dir;
  const std::string text = random_csv(rng, 80);
  write_file(dir / "in.csv", text);
  const auto want = naive_boundaries(text, RecordKind::csv, true);
  const IndexReport rep = build(dir.str("in.csv"), dir.str("ref.idx"), RecordKind::csv);
  CHECK(rep.meta.records == 80);
  CHECK(rep.meta.header_len == std::string("id,text,\"quoted\nheader\"\n").size());
  const std::string ref = read_file(dir / "ref.idx");
  REQUIRE(all_boundaries(IndexReader::open(dir.str("ref.idx"))) == want);
  for (std::size_t cs = 1; cs <= text.size() + 1; cs += (cs < 64 ? 1 : 53)) {
    for (unsigned j : {1u, 2u}) {
      INFO("chunk size " << cs << ", threads " << j);
      build(dir.str("in.csv"), dir.str("x.idx"), RecordKind::csv, cs, j);
      REQUIRE(read_file(dir / "x.idx") == ref);
    }
  }
  // --no-header: the header is record 1.
  const IndexReport nh = build(dir.str("in.csv"), dir.str("nh.idx"), RecordKind::csv, 0, 0, std::nullopt, false);
  CHECK(nh.meta.records == 81);
  CHECK(nh.meta.header_len == 0);
}

TEST_CASE("index: empty file, header-only CSV and a lone unterminated record", "[index][edge]") {
  TempDir dir;
  write_file(dir / "empty.txt", "");
  IndexReport e = build(dir.str("empty.txt"), dir.str("e.idx"), RecordKind::lines);
  CHECK(e.meta.records == 0);
  CHECK(all_boundaries(IndexReader::open(dir.str("e.idx"))) == std::vector<std::uint64_t>{0});

  write_file(dir / "h.csv", "a,b\n");
  IndexReport h = build(dir.str("h.csv"), dir.str("h.idx"), RecordKind::csv);
  CHECK(h.meta.records == 0);
  CHECK(h.meta.header_len == 4);

  write_file(dir / "one.txt", "no newline");
  IndexReport one = build(dir.str("one.txt"), dir.str("one.idx"), RecordKind::lines);
  CHECK(one.meta.records == 1);
  CHECK(all_boundaries(IndexReader::open(dir.str("one.idx"))) == std::vector<std::uint64_t>{0, 10});
}

TEST_CASE("index format: any boundaries round-trip, including huge gaps and block edges", "[index][format]") {
  std::mt19937_64 rng(3);
  for (std::size_t n : {1u, 2u, 127u, 128u, 129u, 255u, 256u, 257u, 1000u}) {
    for (int shape = 0; shape < 5; ++shape) {
      INFO("boundaries " << n << ", shape " << shape);
      std::vector<std::uint64_t> b{shape == 4 ? (std::uint64_t{1} << 40) : 0};
      for (std::size_t i = 1; i < n; ++i) {
        std::uint64_t gap = 0;
        switch (shape) {
          case 0: gap = 100 + rng() % 20; break;                               // similar records: few bits
          case 1: gap = 1; break;                                              // one-byte records: width 0
          case 2: gap = rng() % 3 == 0 ? (std::uint64_t{1} << 33) : 5; break;  // records > 4 GiB: no slope
          case 3: gap = rng() % 1000000; break;                                // wild lengths, some empty
          case 4: gap = (rng() % 2) << 30; break;                              // offsets past 2^40
        }
        b.push_back(b.back() + gap);
      }
      round_trip(b);
    }
  }
}

TEST_CASE("index format: under 2 bytes per record for records of about 100 bytes", "[index][format]") {
  std::mt19937_64 rng(5);
  TempDir dir;
  std::string text;
  for (int i = 0; i < 20000; ++i) text.append(80 + rng() % 60, 'x').push_back('\n');
  write_file(dir / "in.txt", text);
  const IndexReport r = build(dir.str("in.txt"), dir.str("in.idx"), RecordKind::lines);
  INFO("bytes/record " << r.bytes_per_record());
  CHECK(r.bytes_per_record() <= 2.0);
  CHECK(r.meta.index_size == fs::file_size(dir / "in.idx"));
}

TEST_CASE("index format: every flipped byte and every truncation is caught", "[index][format][corrupt]") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 300; ++i) text.append(static_cast<std::size_t>(i % 17), 'y').push_back('\n');
  write_file(dir / "in.txt", text);
  build(dir.str("in.txt"), dir.str("in.idx"), RecordKind::lines);
  const std::string good = read_file(dir / "in.idx");
  const auto want = naive_boundaries(text, RecordKind::lines, false);

  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
    write_file(dir / "bad.idx", bad);
    INFO("flipped byte " << pos);
    // The lookup path (get) must fail or be exact; the full check (serve, --verify) must fail.
    bool lookup_failed = false;
    try {
      IndexReader r = IndexReader::open(dir.str("bad.idx"));
      CHECK_THROWS_AS(r.verify(), Error);
      if (all_boundaries(r) != want) FAIL("a corrupted index returned wrong offsets");
    } catch (const Error& e) {
      lookup_failed = true;
      CHECK(e.kind() == ErrorKind::data);
    }
    // Every byte is under a checksum a lookup checks: the header's or its block's.
    CHECK(lookup_failed);
  }
  for (std::size_t len = 0; len < good.size(); ++len) {
    write_file(dir / "short.idx", good.substr(0, len));
    INFO("truncated to " << len);
    CHECK_THROWS_AS(IndexReader::open(dir.str("short.idx")), Error);
  }
  write_file(dir / "long.idx", good + "x");
  CHECK_THROWS_WITH(IndexReader::open(dir.str("long.idx")), Catch::Contains("stray bytes"));
}

TEST_CASE("index: --part K/N indexes tile the file's record offsets", "[index][part]") {
  std::mt19937_64 rng(9);
  for (RecordKind kind : {RecordKind::lines, RecordKind::csv}) {
    TempDir dir;
    const std::string text = kind == RecordKind::csv ? random_csv(rng, 200) : random_lines(rng, 400, true);
    write_file(dir / "in", text);
    const auto want = naive_boundaries(text, kind, true);
    for (std::uint64_t n = 1; n <= 6; ++n) {
      std::vector<std::uint64_t> joined;
      for (std::uint64_t k = 1; k <= n; ++k) {
        INFO(record_kind_name(kind) << " part " << k << "/" << n);
        const std::string out = dir.str("part.idx");
        build(dir.str("in"), out, kind, 64, 2, PartSpec{k, n});
        IndexReader r = IndexReader::open(out);
        r.verify();
        CHECK(r.meta().whole_file() == (n == 1));
        auto b = all_boundaries(r);
        if (!joined.empty()) {
          REQUIRE(joined.back() == b.front());  // parts meet at a record start
          joined.pop_back();
        }
        joined.insert(joined.end(), b.begin(), b.end());
      }
      REQUIRE(joined == want);
    }
  }
}

TEST_CASE("index: source_mismatch tells a changed file and another file from a fresh one", "[index][stale]") {
  TempDir dir;
  write_file(dir / "a.txt", "one\ntwo\n");
  write_file(dir / "b.txt", "uno\ndos\ntres\n");
  build(dir.str("a.txt"), dir.str("a.idx"), RecordKind::lines);
  IndexReader r = IndexReader::open(dir.str("a.idx"));
  CHECK(r.source_mismatch(InputFile::open(dir.str("a.txt")), true).empty());
  CHECK_THAT(r.source_mismatch(InputFile::open(dir.str("b.txt")), true),
             Catch::StartsWith("it was built for a file of 8 bytes, this one has 13"));
  write_file(dir / "a.txt", "ONE\ntwo\n");  // same size, new content
  CHECK_THAT(r.source_mismatch(InputFile::open(dir.str("a.txt")), true),
             Catch::StartsWith("the file's content differs"));
}

TEST_CASE("index: CSV record ends agree with a naive scan on random quote soup", "[index][csv][fuzz]") {
  // Quotes, doubled quotes, quoted line ends, CRs and stray quotes at random: the
  // index's memchr-driven CSV scanner must find exactly the naive scanner's ends.
  std::mt19937_64 rng(13);
  const char alphabet[] = {'"', '"', '\n', '\n', 'a', ',', '\r'};
  TempDir dir;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const std::size_t len = rng() % 200;
    for (std::size_t i = 0; i < len; ++i) text += alphabet[rng() % sizeof alphabet];
    // An input that ends inside quotes is an error (the chunker's, tested in test_chunk).
    bool inside = false, at_start = true;
    for (char c : text) {
      if (inside) {
        if (c == '"') inside = false, at_start = true;
      } else if (c == '"' && at_start) {
        inside = true;
      } else {
        at_start = c == ',' || c == '\n';
      }
    }
    if (inside) continue;
    write_file(dir / "in.csv", text);
    const auto want = naive_boundaries(text, RecordKind::csv, false);
    for (std::size_t cs : {std::size_t{1}, std::size_t{5}, std::size_t{64}, kIndexChunkSize}) {
      INFO("round " << round << ", chunk size " << cs << ", text '" << text << "'");
      build(dir.str("in.csv"), dir.str("x.idx"), RecordKind::csv, cs, 2, std::nullopt, false);
      REQUIRE(all_boundaries(IndexReader::open(dir.str("x.idx"))) == want);
    }
  }
}

namespace {

// A remote source serving local files as s3://fake/NAME, counting its reads: what the
// remote index reader asks of an object, without a server.
std::string fake_dir;
std::atomic<int> fake_reads{0};
std::atomic<std::uint64_t> fake_bytes{0};

class FakeRemote final : public RemoteSource {
 public:
  FakeRemote(const std::string& path, std::string url)
      : in_(InputFile::open(path, Decode::raw)), url_(std::move(url)) {}
  std::uint64_t size() const override { return in_.size(); }
  const std::string& version() const override { return version_; }
  const std::string& display() const override { return url_; }
  std::size_t read_at(char* dst, std::size_t n, std::uint64_t offset) override {
    ++fake_reads;
    const std::size_t k = in_.read_at(dst, n, offset);
    fake_bytes += k;
    return k;
  }

 private:
  InputFile in_;
  std::string url_;
  std::string version_ = "v1";
};

std::unique_ptr<RemoteSource> open_fake(const std::string& url) {
  const std::string path = fake_dir + "/" + url.substr(std::string("s3://fake/").size());
  if (!fs::exists(path)) throw io_error("no such object").at_path(url);
  return std::make_unique<FakeRemote>(path, url);
}

struct FakeRemoteScope {
  explicit FakeRemoteScope(const TempDir& d, const char* whole_max) {
    fake_dir = d.str("");
    set_remote_opener(&open_fake);
    if (whole_max) ::setenv("INGOT_REMOTE_INDEX_WHOLE_MAX", whole_max, 1);
  }
  ~FakeRemoteScope() {
    set_remote_opener(nullptr);
    ::unsetenv("INGOT_REMOTE_INDEX_WHOLE_MAX");
  }
  static void reset() { fake_reads = 0, fake_bytes = 0; }
};

}  // namespace

TEST_CASE("index format: a remote index over the whole-read size is read by ranges, exact, from several threads",
          "[index][format][remote]") {
  std::mt19937_64 rng(11);
  std::vector<std::uint64_t> b{0};
  for (int i = 0; i < 300000; ++i) b.push_back(b.back() + (i % 5000 == 0 ? rng() % 1000000 : 60 + rng() % 80));
  TempDir dir;
  IndexMeta meta;
  meta.range_end = meta.source.size = b.back();
  {
    OutputFile out = OutputFile::create(dir.str("x.idx"));
    IndexWriter w(out, meta);
    for (std::uint64_t x : b) w.add(x);
    w.finish();
    out.commit();
  }
  const std::uint64_t size = fs::file_size(dir / "x.idx");
  // A lookup's page: 64 directory entries and at most 64 blocks of 128 64-bit values.
  constexpr std::uint64_t kPageMost = 64 * 24 + 64 * 1024;
  {
    FakeRemoteScope scope(dir, "4096");
    FakeRemoteScope::reset();
    IndexReader r = IndexReader::open("s3://fake/x.idx");
    CHECK(fake_reads == 1);  // the header
    CHECK(fake_bytes == kIndexHeaderSize);
    REQUIRE(r.records() == b.size() - 1);
    // One lookup: a page of entries, then their bits; a lookup in the same page: none.
    CHECK(r.boundary(200000) == b[200000]);
    CHECK(fake_reads == 3);
    CHECK(fake_bytes <= kIndexHeaderSize + kPageMost);
    CHECK(r.boundary(200000 + 128 * 10) == b[200000 + 128 * 10]);
    CHECK(r.boundary(0) == b[0]);
    CHECK(r.boundary(b.size() - 1) == b.back());
    CHECK(fake_reads == 7);
    CHECK(fake_bytes < size / 4);
    // Every boundary, in order (pages of 4096 blocks once a run is seen), then at random
    // from several threads at once, all equal the boundaries written.
    FakeRemoteScope::reset();
    CHECK(all_boundaries(r) == b);
    CHECK(fake_reads < 40);
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 g(100 + t);
        for (int k = 0; k < 3000; ++k) {
          const std::uint64_t i = g() % b.size();
          if (r.boundary(i) != b[i]) ++wrong;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
    r.verify();
    std::vector<std::uint64_t> v;
    r.decode_block(r.blocks() - 1, v);
    CHECK(v.back() == b.back());
  }
  {
    // At or under the whole-read size (1 MiB by default): one read, of everything.
    REQUIRE(size < (1u << 20));
    FakeRemoteScope scope(dir, nullptr);
    FakeRemoteScope::reset();
    IndexReader r = IndexReader::open("s3://fake/x.idx");
    CHECK(fake_reads == 1);
    CHECK(fake_bytes == size);
    CHECK(r.boundary(200000) == b[200000]);
    CHECK(fake_reads == 1);
  }
  {
    // A flipped byte in block 1500's bits, or in its directory entry: its lookups and
    // verify fail with the reader's message, a lookup elsewhere is still exact.
    const std::string good = read_file(dir / "x.idx");
    IndexReader local = IndexReader::open(dir.str("x.idx"));
    const std::uint64_t entry = local.meta().directory_offset + 1500 * kIndexEntrySize;
    std::uint64_t pos = 0;
    for (int k = 0; k < 8; ++k) pos |= std::uint64_t{static_cast<unsigned char>(good[entry + 8 + k])} << (8 * k);
    pos >>= 8;
    for (std::uint64_t at : {pos + 3, entry + 2}) {
      INFO("flipped byte " << at);
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      write_file(dir / "bad.idx", bad);
      FakeRemoteScope scope(dir, "4096");
      IndexReader r = IndexReader::open("s3://fake/bad.idx");
      CHECK_THROWS_WITH(r.boundary(1500 * 128 + 5),
                        "index s3://fake/bad.idx is corrupt (checksum mismatch in block 1500); rebuild it with "
                        "'ingot index'");
      CHECK(r.boundary(100) == b[100]);
      CHECK_THROWS_AS(r.verify(), Error);
    }
  }
}

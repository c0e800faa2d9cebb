// run_pipeline with an I/O stage (pipeline.h): the sequence stage and the consumer see
// chunks in source order, the I/O stage never runs more than its limit at once but does
// run in parallel, and after an I/O failure no new I/O starts.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "ingot/chunk/chunker.h"
#include "ingot/pipeline/pipeline.h"
#include "support.h"

using namespace ingot;
using namespace ingot_test;

namespace {

struct Work {
  std::uint64_t seq = 0;
  std::uint64_t number = 0;  // given by the sequence stage
  bool io_done = false;
};

std::string numbered_lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "line " + std::to_string(i) + "\n";
  return s;
}

}  // namespace

TEST_CASE("pipeline: the I/O stage stays within its limit, runs in parallel, and order is kept", "[pipeline]") {
  TempDir dir;
  write_file(dir / "in", numbered_lines(400));
  for (unsigned limit : {1u, 3u}) {
    for (unsigned threads : {1u, 2u}) {
      INFO("limit " << limit << ", threads " << threads);
      InputFile in = InputFile::open(dir.str("in"));
      ChunkerOptions co;
      co.chunk_size = 64;
      Chunker chunker(in, RecordKind::lines, 0, kToEnd, co);
      PipelineOptions po;
      po.threads = threads;
      std::atomic<int> in_io{0}, max_io{0};
      std::atomic<bool> overlapped{false};
      std::uint64_t next_sequence = 0, next_consume = 0, numbered = 0, chunks = 0;
      bool in_order = true;
      run_pipeline<Work>(
          chunker, po, IoStage{limit},
          [](const Chunk& c, Work& w) {
            w.seq = c.seq;
            w.io_done = false;
          },
          [&](const Chunk& c, Work& w) {
            in_order = in_order && c.seq == next_sequence++;
            w.number = ++numbered;
          },
          [&](const Chunk&, Work& w) {
            int now = ++in_io;
            for (int seen = max_io; now > seen && !max_io.compare_exchange_weak(seen, now);) {
            }
            // Parallel I/O is the test's to show, not a timing accident: the first call
            // waits (at most 60 s; then max_io stays 1 and the check below fails) until a
            // second one runs beside it. (Not wait_until: Catch's FAIL is for the main thread.)
            if (limit > 1 && !overlapped) {
              const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
              while (in_io < 2 && std::chrono::steady_clock::now() < until) {
                std::this_thread::sleep_for(std::chrono::microseconds(100));
              }
              overlapped = true;
            }
            w.io_done = true;
            --in_io;
          },
          [&](const Chunk& c, Work& w) {
            in_order = in_order && c.seq == next_consume++ && w.seq == c.seq && w.number == c.seq + 1 && w.io_done;
            ++chunks;
          });
      CHECK(in_order);
      CHECK(chunks > 40);
      CHECK(max_io <= static_cast<int>(limit));
      if (limit > 1) CHECK(max_io >= 2);
    }
  }
}

TEST_CASE("pipeline: after an I/O failure no new I/O starts, and the error reaches the caller", "[pipeline]") {
  TempDir dir;
  write_file(dir / "in", numbered_lines(400));
  InputFile in = InputFile::open(dir.str("in"));
  ChunkerOptions co;
  co.chunk_size = 64;
  Chunker chunker(in, RecordKind::lines, 0, kToEnd, co);
  PipelineOptions po;
  po.threads = 2;
  std::atomic<int> started{0}, after{0};
  std::atomic<bool> thrown{false};
  auto run = [&] {
    run_pipeline<Work>(
        chunker, po, IoStage{1}, [](const Chunk&, Work&) {}, [](const Chunk&, Work&) {},
        [&](const Chunk& c, Work&) {
          ++started;
          if (thrown) ++after;
          // Slow enough that other chunks are waiting for the I/O slot when this fails.
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          if (c.seq == 3) {
            thrown = true;
            throw std::runtime_error("refused");
          }
        },
        [](const Chunk&, Work&) {});
  };
  CHECK_THROWS_WITH(run(), "refused");
  // One at a time (in any order): none started after the failure.
  CHECK(started >= 1);
  CHECK(after == 0);
}

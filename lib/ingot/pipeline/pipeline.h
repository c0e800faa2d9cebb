// The one pipeline every command runs: a serial in-order reader (the Chunker), a
// parallel transform, and a serial in-order consumer (upload adds two stages between
// them: a serial in-order sequencer and a parallel I/O stage, see below). Tokens live in a ring of slots;
// each slot owns its input buffer and its Work (parser, output buffer, counters), so
// memory is bounded by tokens x (chunk + output) whatever the input size, and the
// consumer sees chunks in source order, so output is identical for any thread count.
#pragma once

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <algorithm>
#include <atomic>
#include <semaphore>
#include <vector>

#include "ingot/chunk/chunker.h"

namespace ingot {

struct PipelineOptions {
  unsigned threads = 0;  // 0 = all cores
  unsigned tokens_per_thread = 2;
};

// The worker threads for -j: 0 means all cores, and more than the cores is lowered to
// the core count (the cores this process may run on), silently: the stages are CPU-bound,
// so threads beyond the cores add only memory (each holds 2 token slots), and the
// memory bound of ARCHITECTURE.md holds for any -j.
inline unsigned resolve_threads(unsigned threads) {
  const unsigned cores = static_cast<unsigned>(std::max(1, tbb::info::default_concurrency()));
  return threads ? std::min(threads, cores) : cores;
}

namespace pipeline_detail {

// One token: its input buffer, the chunk cut into it, and what the stages made of it.
template <class Work>
struct Slot {
  Buffer buf;
  Chunk chunk;
  Work work;
};

// The first stage of both pipelines: the Chunker fills the next slot of the ring. A slot
// is reused for token i + ntokens only after token i left the last (serial, in-order)
// stage: at most ntokens tokens are live, and they finish in order.
template <class Work>
auto read_filter(Chunker& chunker, std::vector<Slot<Work>>& slots, std::uint64_t& produced) {
  return tbb::make_filter<void, Slot<Work>*>(tbb::filter_mode::serial_in_order,
                                             [&](tbb::flow_control& fc) -> Slot<Work>* {
                                               Slot<Work>& s = slots[produced % slots.size()];
                                               if (!chunker.next(s.buf, s.chunk)) {
                                                 fc.stop();
                                                 return nullptr;
                                               }
                                               ++produced;
                                               return &s;
                                             });
}

template <class Work, class Transform>
auto transform_filter(Transform& transform) {
  return tbb::make_filter<Slot<Work>*, Slot<Work>*>(tbb::filter_mode::parallel, [&](Slot<Work>* s) {
    transform(static_cast<const Chunk&>(s->chunk), s->work);
    return s;
  });
}

template <class Work, class Consume>
auto consume_filter(Consume& consume) {
  return tbb::make_filter<Slot<Work>*, void>(
      tbb::filter_mode::serial_in_order, [&](Slot<Work>* s) { consume(static_cast<const Chunk&>(s->chunk), s->work); });
}

}  // namespace pipeline_detail

// transform(const Chunk&, Work&) runs in parallel; consume(const Chunk&, Work&) runs
// serially in chunk order. Work must be default-constructible; it is reused across
// chunks, so transform must reset what it fills. Exceptions thrown by either stage
// cancel the pipeline and are rethrown here.
template <class Work, class Transform, class Consume>
void run_pipeline(Chunker& chunker, const PipelineOptions& opts, Transform&& transform, Consume&& consume) {
  using namespace pipeline_detail;
  const unsigned threads = resolve_threads(opts.threads);
  std::vector<Slot<Work>> slots(std::max<std::size_t>(2, std::size_t{threads} * opts.tokens_per_thread));
  std::uint64_t produced = 0;
  // -j above the core count is allowed (and silent): lift TBB's cap for this run.
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                            std::max<std::size_t>(threads, static_cast<std::size_t>(tbb::info::default_concurrency())));
  tbb::task_arena arena(static_cast<int>(threads));
  arena.execute([&] {
    tbb::parallel_pipeline(slots.size(), read_filter<Work>(chunker, slots, produced) &
                                             transform_filter<Work>(transform) & consume_filter<Work>(consume));
  });
}

// The pipeline of commands that talk to a server (upload): five stages instead of three.
//   reader (serial, in order) -> transform (parallel: CPU work, up to `threads`)
//   -> sequence (serial, in order: what needs the running state of all earlier chunks,
//      e.g. batch numbers) -> io (parallel, at most io.concurrency at once: blocking
//      network calls) -> consume (serial, in order).
// I/O threads sleep on the network, so the arena holds threads + io.concurrency
// threads: a full I/O stage does not take the CPU from the transform. The I/O limit
// is a semaphore inside the stage (TBB limits tokens, not one filter's concurrency);
// a thread waiting there holds a token that is already transformed, which is the
// back-pressure wanted. Tokens: threads x tokens_per_thread + io.concurrency, so
// memory stays bounded by tokens x (chunk + Work).
struct IoStage {
  unsigned concurrency = 1;
};

template <class Work, class Transform, class Sequence, class Io, class Consume>
void run_pipeline(Chunker& chunker, const PipelineOptions& opts, IoStage io, Transform&& transform, Sequence&& sequence,
                  Io&& io_stage, Consume&& consume) {
  using namespace pipeline_detail;
  using S = Slot<Work>;
  const unsigned threads = resolve_threads(opts.threads);
  const unsigned io_limit = std::max(1u, io.concurrency);
  std::vector<S> slots(std::max<std::size_t>(2, std::size_t{threads} * opts.tokens_per_thread + io_limit));
  std::uint64_t produced = 0;
  const std::size_t arena_threads = std::size_t{threads} + io_limit;
  tbb::global_control allow(
      tbb::global_control::max_allowed_parallelism,
      std::max<std::size_t>(arena_threads, static_cast<std::size_t>(tbb::info::default_concurrency())));
  std::counting_semaphore<> io_slots(static_cast<std::ptrdiff_t>(io_limit));
  std::atomic<bool> failed{false};
  auto sequence_filter = tbb::make_filter<S*, S*>(tbb::filter_mode::serial_in_order, [&](S* s) {
    try {
      sequence(static_cast<const Chunk&>(s->chunk), s->work);
    } catch (...) {
      failed = true;
      throw;
    }
    return s;
  });
  auto io_filter = tbb::make_filter<S*, S*>(tbb::filter_mode::parallel, [&](S* s) {
    io_slots.acquire();
    // After a failure, start no new request. The flag is set before the slot is
    // released: TBB flags the cancellation only later, when the exception reaches it.
    try {
      if (!failed && !tbb::is_current_task_group_canceling()) io_stage(static_cast<const Chunk&>(s->chunk), s->work);
    } catch (...) {
      failed = true;
      io_slots.release();
      throw;
    }
    io_slots.release();
    return s;
  });
  tbb::task_arena arena(static_cast<int>(arena_threads));
  arena.execute([&] {
    tbb::parallel_pipeline(slots.size(), read_filter<Work>(chunker, slots, produced) &
                                             transform_filter<Work>(transform) & sequence_filter & io_filter &
                                             consume_filter<Work>(consume));
  });
}

}  // namespace ingot

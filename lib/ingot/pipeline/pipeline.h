// The one pipeline every command runs: a serial in-order reader (the Chunker), a
// parallel transform, and a serial in-order consumer. Tokens live in a ring of slots;
// each slot owns its input buffer and its Work (parser, output buffer, counters), so
// memory is bounded by tokens x (chunk + output) whatever the input size, and the
// consumer sees chunks in source order, so output is identical for any thread count.
#pragma once

#include <tbb/global_control.h>
#include <tbb/info.h>
#include <tbb/parallel_pipeline.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <vector>

#include "ingot/chunk/chunker.h"

namespace ingot {

struct PipelineOptions {
  unsigned threads = 0;  // 0 = all cores
  unsigned tokens_per_thread = 2;
};

inline unsigned resolve_threads(unsigned threads) {
  return threads ? threads : static_cast<unsigned>(std::max(1, tbb::info::default_concurrency()));
}

// transform(const Chunk&, Work&) runs in parallel; consume(const Chunk&, Work&) runs
// serially in chunk order. Work must be default-constructible; it is reused across
// chunks, so transform must reset what it fills. Exceptions thrown by either stage
// cancel the pipeline and are rethrown here.
template <class Work, class Transform, class Consume>
void run_pipeline(Chunker& chunker, const PipelineOptions& opts, Transform&& transform, Consume&& consume) {
  struct Slot {
    Buffer buf;
    Chunk chunk;
    Work work;
  };
  const unsigned threads = resolve_threads(opts.threads);
  const std::size_t ntokens = std::max<std::size_t>(2, std::size_t{threads} * opts.tokens_per_thread);
  // A slot is reused for token i + ntokens only after token i left the last (serial,
  // in-order) stage: at most ntokens tokens are live, and they finish in order.
  std::vector<Slot> slots(ntokens);
  std::uint64_t produced = 0;
  // -j above the core count is allowed (and silent): lift TBB's cap for this run.
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism,
                            std::max<std::size_t>(threads, static_cast<std::size_t>(tbb::info::default_concurrency())));
  tbb::task_arena arena(static_cast<int>(threads));
  arena.execute([&] {
    tbb::parallel_pipeline(
        ntokens,
        tbb::make_filter<void, Slot*>(tbb::filter_mode::serial_in_order,
                                      [&](tbb::flow_control& fc) -> Slot* {
                                        Slot& s = slots[produced % ntokens];
                                        if (!chunker.next(s.buf, s.chunk)) {
                                          fc.stop();
                                          return nullptr;
                                        }
                                        ++produced;
                                        return &s;
                                      }) &
            tbb::make_filter<Slot*, Slot*>(tbb::filter_mode::parallel,
                                           [&](Slot* s) {
                                             transform(static_cast<const Chunk&>(s->chunk), s->work);
                                             return s;
                                           }) &
            tbb::make_filter<Slot*, void>(tbb::filter_mode::serial_in_order,
                                          [&](Slot* s) { consume(static_cast<const Chunk&>(s->chunk), s->work); }));
  });
}

}  // namespace ingot

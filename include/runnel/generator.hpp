#pragma once
// io::generator: a source of synthetic events, deterministic for a seed, for
// demos, tests and benchmarks. Event number i (0, 1, 2, ...) belongs to shard
// i % shards; each shard is a source split with its own watermark, as a Kafka
// partition is. Its event time is start + i * step, moved back by up to
// max_delay (pseudo-randomly per event), so each shard is out of order by at
// most max_delay. `rate` paces it in processing time; bounded by `events`.
//
//   p.read(io::generator<Reading>({.events = 1'000'000, .rate = 50'000, .shards = 4},
//          [](const io::GeneratedEvent& e) { return Reading{..., e.time, ...}; }))
//    .with_timestamps(&Reading::time, watermarks::bounded_out_of_orderness(2s))
#include <chrono>
#include <cstdint>

#include "runnel/window.hpp"

namespace runnel::io {

struct GeneratorOptions {
  std::uint64_t events = 0;  // how many in all; 0 = unbounded (streaming mode)
  double rate = 0;           // events per second over all shards; 0 = as fast as possible
  int shards = 0;            // 0 = one per parallel instance
  std::uint64_t seed = 1;
  Timestamp start_ms = 1'700'000'000'000;  // event time of event 0
  Timestamp step_us = 1000;                // event time between consecutive events, in µs
  std::chrono::milliseconds max_delay{0};  // out-of-orderness within a shard
};

// What the user's function turns into an element.
struct GeneratedEvent {
  std::uint64_t index = 0;  // 0, 1, 2, ... over all shards
  int shard = 0;
  Timestamp time = 0;        // event time, ms since the epoch
  std::uint64_t random = 0;  // a pseudo-random number, fixed by seed and index
};

template <class T, class F>
struct GeneratorIO {
  GeneratorOptions options;
  F make;  // make(const GeneratedEvent&) -> T
};

template <class T, class F>
GeneratorIO<T, F> generator(GeneratorOptions options, F make) {
  return GeneratorIO<T, F>{options, std::move(make)};
}

// splitmix64: a good 64-bit mix, cheap enough to call per event.
constexpr std::uint64_t mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Event i of a generator with these options, without generating the others
// (tests compute expected results from it).
inline GeneratedEvent generated_event(const GeneratorOptions& o, int shards, std::uint64_t i) {
  GeneratedEvent e;
  e.index = i;
  e.shard = static_cast<int>(i % static_cast<std::uint64_t>(shards));
  e.random = mix64(o.seed * 0x100000001b3ULL ^ i);
  e.time = o.start_ms + static_cast<Timestamp>(i) * o.step_us / 1000;
  auto d = static_cast<std::uint64_t>(o.max_delay.count());
  if (d > 0) e.time -= static_cast<Timestamp>(mix64(e.random) % (d + 1));
  return e;
}

}  // namespace runnel::io

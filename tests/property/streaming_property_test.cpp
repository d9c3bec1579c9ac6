// The promise of the two modes: for any bounded input, batch mode's output
// equals the final panes of streaming mode over the same events delivered in
// any order that respects the watermark strategy, at any parallelism and
// batch size, for fixed, sliding and session windows, with or without early
// firings.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <runnel/runnel.hpp>

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Ev {
  int key = 0;
  Timestamp time = 0;
};

// (window start, window end, key) -> (count, sum of times)
using Result = std::map<std::tuple<Timestamp, Timestamp, int>, std::pair<std::uint64_t, Timestamp>>;

struct Case {
  std::vector<Ev> arrival;  // the order the source delivers
  Timestamp max_delay = 0;
  int window_kind = 0;  // 0 fixed, 1 sliding, 2 sessions
  Timestamp size = 0;
  Timestamp period = 0;
  std::uint64_t early_count = 0;  // 0: no early firings
  int parallelism = 1;
  std::size_t batch_size = 1;
};

template <class Fn>
Result run(const Case& c, ExecutionMode mode, Fn windowing, std::uint64_t* late) {
  PipelineOptions o;
  o.parallelism = c.parallelism;
  o.batch_size = c.batch_size;
  o.mode = mode;
  o.watermark_interval = 0ms;
  Pipeline p(o);
  Windowing w;
  if (c.early_count > 0) {
    w.trigger = triggers::after_watermark().with_early(triggers::after_count(c.early_count));
    w.accumulation = Accumulation::kAccumulating;
  }
  auto timed = p.create(c.arrival).with_timestamps(
      &Ev::time, watermarks::bounded_out_of_orderness(std::chrono::milliseconds(c.max_delay)));
  auto windowed = windowing(timed, w);
  auto keyed = windowed.map([](const Ev& e) { return std::make_pair(e.key, e.time); });
  auto counts = keyed.count_per_key().collect();
  auto sums = keyed.sum_per_key().collect();
  RunResult r = p.run();
  *late = r.late_records;
  // The final pane of each window and key (in batch mode, the only one).
  // Early panes of a session that later merged carry its window before the
  // merge; only the merged session's last pane is final. Each window and key
  // has exactly one final pane.
  auto finals = [](const auto& col) {
    std::map<std::tuple<Timestamp, Timestamp, int>, Timestamp> m;
    for (std::size_t i = 0; i < col.size(); ++i) {
      if (!col.panes().empty() && !col.panes()[i].is_last) continue;
      auto id =
          std::make_tuple(col.windows()[i].start, col.windows()[i].end, col.values()[i].first);
      RC_ASSERT(m.count(id) == 0u);
      m[id] = static_cast<Timestamp>(col.values()[i].second);
    }
    return m;
  };
  Result out;
  for (const auto& [id, n] : finals(counts)) out[id].first = static_cast<std::uint64_t>(n);
  for (const auto& [id, sum] : finals(sums)) out[id].second = sum;
  return out;
}

Result run_case(const Case& c, ExecutionMode mode, std::uint64_t* late) {
  switch (c.window_kind) {
    case 0:
      return run(
          c, mode,
          [&](auto col, Windowing w) {
            return col.window_into(windows::fixed(std::chrono::milliseconds(c.size)), w);
          },
          late);
    case 1:
      return run(
          c, mode,
          [&](auto col, Windowing w) {
            return col.window_into(windows::sliding(std::chrono::milliseconds(c.size),
                                                    std::chrono::milliseconds(c.period)),
                                   w);
          },
          late);
    default:
      return run(
          c, mode,
          [&](auto col, Windowing w) {
            return col.window_into(windows::sessions(std::chrono::milliseconds(c.size)), w);
          },
          late);
  }
}

RC_GTEST_PROP(StreamingEqualsBatch, FinalPanesMatchBatchResults, ()) {
  Case c;
  c.max_delay = *rc::gen::inRange<Timestamp>(0, 200);
  auto n = *rc::gen::inRange(0, 400);
  auto keys = *rc::gen::inRange(1, 6);
  auto span = *rc::gen::inRange<Timestamp>(1, 3000);
  // Each event arrives at its time plus a delay of at most max_delay: then no
  // event is later than the bound behind the latest one before it.
  std::vector<std::pair<Timestamp, Ev>> by_arrival;
  for (int i = 0; i < n; ++i) {
    Ev e{*rc::gen::inRange(0, keys), *rc::gen::inRange<Timestamp>(0, span)};
    by_arrival.emplace_back(e.time + *rc::gen::inRange<Timestamp>(0, c.max_delay + 1), e);
  }
  std::stable_sort(by_arrival.begin(), by_arrival.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [at, e] : by_arrival) c.arrival.push_back(e);
  c.window_kind = *rc::gen::element(0, 1, 2);
  c.size = *rc::gen::inRange<Timestamp>(1, 400);
  c.period = std::max<Timestamp>(1, c.size / *rc::gen::inRange<Timestamp>(1, 5));
  c.early_count = *rc::gen::element<std::uint64_t>(0, 0, 1, 3, 10);
  c.parallelism = *rc::gen::inRange(1, 4);
  c.batch_size = *rc::gen::element<std::size_t>(1, 2, 7, 64);
  RC_TAG(c.window_kind, c.early_count > 0);

  std::uint64_t late_batch = 0, late_streaming = 0;
  Result batch = run_case(c, ExecutionMode::kBatch, &late_batch);
  Result streaming = run_case(c, ExecutionMode::kStreaming, &late_streaming);
  RC_ASSERT(late_batch == 0u);
  RC_ASSERT(late_streaming == 0u);
  RC_ASSERT(batch == streaming);
}

}  // namespace

// distinct(): each element once per window, in batch and streaming mode at
// several parallelisms, the same whatever the arrival order; across a
// checkpoint restored at another parallelism, on both state backends; and the
// operator's own snapshot and restore by key group.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <runnel/runnel.hpp>
#include <set>
#include <tuple>

#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Visit {
  std::string user;
  Timestamp time = 0;
};

// (window start, element, output time): what distinct() emitted, sorted.
using Row = std::tuple<Timestamp, std::string, Timestamp>;
std::vector<Row> rows_of(const Collected<std::string>& c) {
  std::vector<Row> out;
  for (std::size_t i = 0; i < c.size(); ++i) {
    out.emplace_back(c.windows().empty() ? kMinTimestamp : c.windows()[i].start, c.values()[i],
                     c.timestamps().empty() ? kMinTimestamp : c.timestamps()[i]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Visit> visits(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Visit> v;
  for (std::size_t i = 0; i < n; ++i)
    v.push_back(Visit{"u" + std::to_string(rng() % 40), static_cast<Timestamp>(i * 3 + rng() % 7)});
  return v;
}

// The reference: per window of 100 ms, the users seen, at the window's end.
std::vector<Row> reference(const std::vector<Visit>& in) {
  std::set<Row> out;
  for (const auto& v : in) {
    const Timestamp start = v.time - v.time % 100;
    out.emplace(start, v.user, start + 99);
  }
  return {out.begin(), out.end()};
}

class Distinct : public ::testing::TestWithParam<int> {};  // parallelism

TEST_P(Distinct, BatchKeepsEachElementOnceInTheGlobalWindow) {
  std::vector<std::string> words;
  for (int i = 0; i < 1000; ++i) words.push_back("w" + std::to_string(i * 7 % 97));
  PipelineOptions o;
  o.parallelism = GetParam();
  o.batch_size = 16;
  Pipeline p(o);
  auto out = p.create(words).distinct().collect();
  p.run();
  std::set<std::string> want(words.begin(), words.end());
  EXPECT_EQ(out.sorted(), std::vector<std::string>(want.begin(), want.end()));
  EXPECT_TRUE(out.timestamps().empty());  // untimed in, untimed out
}

TEST_P(Distinct, BatchKeepsEachElementOncePerWindowAtTheWindowsEnd) {
  const auto in = visits(3000, 1);
  PipelineOptions o;
  o.parallelism = GetParam();
  o.batch_size = 64;
  Pipeline p(o);
  auto out = p.create(in)
                 .with_timestamps(&Visit::time)
                 .window_into(windows::fixed(100ms))
                 .map([](const Visit& v) { return v.user; })
                 .distinct()
                 .collect();
  p.run();
  EXPECT_EQ(rows_of(out), reference(in));
}

TEST_P(Distinct, StreamingOutOfOrderEqualsBatch) {
  auto in = visits(3000, 2);
  std::mt19937 rng(3);
  // Out of order within 20 ms: the watermark allows for it, so nothing is late.
  for (std::size_t i = 0; i + 1 < in.size(); ++i) {
    if (rng() % 3 == 0 && in[i + 1].time - in[i].time < 10) std::swap(in[i], in[i + 1]);
  }
  PipelineOptions o;
  o.parallelism = GetParam();
  o.batch_size = 7;
  o.mode = ExecutionMode::kStreaming;
  o.watermark_interval = 0ms;
  Pipeline p(o);
  auto timed =
      p.create(in).with_timestamps(&Visit::time, watermarks::bounded_out_of_orderness(20ms));
  auto windowed = timed.window_into(windows::fixed(100ms));
  auto out = windowed.map([](const Visit& v) { return v.user; }).distinct().collect();
  auto late = windowed.late().collect();
  p.run();
  EXPECT_EQ(late.size(), 0u);
  EXPECT_EQ(rows_of(out), reference(in));
}

INSTANTIATE_TEST_SUITE_P(Parallelism, Distinct, ::testing::Values(1, 3));

TEST(DistinctOp, RestoresItsSeenSetByKeyGroupAtAnotherParallelism) {
  // Two instances of four key groups see "a".."f" in one window and snapshot;
  // the state goes to three new instances by key group: each drops what was
  // seen before the snapshot and emits only what is new.
  constexpr int kGroups = 4;
  detail::DistinctOp<std::string> op(0);
  struct Sink final : Output {
    std::vector<std::string> got;
    void push(BatchBase& b) override {
      for (auto& v : batch_cast<std::string>(b).values) got.push_back(v);
      b.clear();
    }
  };
  auto instance_of = [](const std::string& v, int parallelism) {
    return instance_of_key_group(key_group_of(Hash<std::string>{}(v), kGroups), parallelism,
                                 kGroups);
  };
  auto feed = [&](OperatorInstance& inst, std::vector<std::string> values) {
    Batch<std::string> b;
    b.values = std::move(values);
    b.timestamps.assign(b.values.size(), 5);
    b.windows.assign(b.values.size(), Window{0, 10});
    inst.process(0, b);
  };
  const std::vector<std::string> before = {"a", "b", "c", "d", "e", "f", "a", "c"};
  auto context = [](int instance, int parallelism) {
    InstanceContext ctx;
    ctx.instance = instance;
    ctx.parallelism = parallelism;
    ctx.max_parallelism = kGroups;
    return ctx;
  };
  std::vector<OperatorSnapshot> snaps(2);
  for (int i = 0; i < 2; ++i) {
    Sink sink;
    auto inst = op.instantiate(context(i, 2), {&sink});
    std::vector<std::string> mine;
    for (const auto& v : before)
      if (instance_of(v, 2) == i) mine.push_back(v);
    feed(*inst, mine);
    std::set<std::string> unique(mine.begin(), mine.end());
    EXPECT_EQ(sink.got.size(), unique.size());  // each once
    inst->snapshot(1, snaps[i]);
  }
  std::vector<std::string> emitted_after;
  for (int i = 0; i < 3; ++i) {
    Sink sink;
    auto inst = op.instantiate(context(i, 3), {&sink});
    RestoredState in;
    for (const auto& s : snaps) {
      for (std::size_t kg = 0; kg < s.key_groups.size(); ++kg) {
        if (!s.key_groups[kg].empty() &&
            instance_of_key_group(static_cast<int>(kg), 3, kGroups) == i)
          in.key_groups.emplace_back(static_cast<int>(kg), s.key_groups[kg]);
      }
    }
    inst->restore(in);
    std::vector<std::string> mine;
    for (const std::string v : {"a", "b", "g", "h", "f", "g"})
      if (instance_of(v, 3) == i) mine.push_back(v);
    feed(*inst, mine);
    emitted_after.insert(emitted_after.end(), sink.got.begin(), sink.got.end());
  }
  std::sort(emitted_after.begin(), emitted_after.end());
  EXPECT_EQ(emitted_after, (std::vector<std::string>{"g", "h"}));
}

TEST(DistinctOp, DropsAWindowsSetOnceTheWatermarkPassesItsEndAndLateness) {
  detail::DistinctOp<std::string> op(5);
  struct Count final : Output {
    std::size_t n = 0;
    void push(BatchBase& b) override {
      n += b.size();
      b.clear();
    }
  } sink;
  InstanceContext ctx;
  auto inst = op.instantiate(ctx, {&sink});
  auto feed = [&](const char* v) {
    Batch<std::string> b;
    b.values = {v};
    b.timestamps = {1};
    b.windows = {Window{0, 10}};
    inst->process(0, b);
  };
  feed("x");
  feed("x");
  EXPECT_EQ(sink.n, 1u);
  EXPECT_EQ(inst->on_watermark(13), 13);  // 9 + 5 > 13: still kept
  feed("x");
  EXPECT_EQ(sink.n, 1u);
  inst->on_watermark(14);  // 9 + 5 <= 14: dropped (a copy now would be late data)
  OperatorSnapshot snap;
  inst->snapshot(1, snap);
  EXPECT_EQ(snap.bytes(), 0u);
}

// The global window's rows are never dropped, so it is not among the windows
// a snapshot lists as holding rows, before a restore or after it.
TEST(DistinctOp, TheGlobalWindowIsNeverListedForDropping) {
  detail::DistinctOp<std::string> op(0);
  struct Drop final : Output {
    void push(BatchBase& b) override { b.clear(); }
  } sink;
  InstanceContext ctx;
  auto first = op.instantiate(ctx, {&sink});
  Batch<std::string> b;
  b.values = {"a", "b"};
  first->process(0, b);
  OperatorSnapshot snap;
  first->snapshot(1, snap);
  EXPECT_TRUE(snap.operator_state.empty());
  RestoredState in;
  for (std::size_t kg = 0; kg < snap.key_groups.size(); ++kg) {
    if (!snap.key_groups[kg].empty())
      in.key_groups.emplace_back(static_cast<int>(kg), snap.key_groups[kg]);
  }
  ASSERT_FALSE(in.key_groups.empty());
  auto second = op.instantiate(ctx, {&sink});
  second->restore(in);
  OperatorSnapshot again;
  second->snapshot(2, again);
  EXPECT_TRUE(again.operator_state.empty());
}

// The same on both backends, seen from outside: once a window's rows are
// dropped, a copy in it is new again (window_into sends such copies to the
// late output before they get here); the global window's rows stay.
TEST(DistinctOp, DropsAWindowsRowsOnEitherBackend) {
  for (StateBackend backend : {StateBackend::kMemory, StateBackend::kRocksDB}) {
    runnel::testing::ScratchDir dir;
    detail::DistinctOp<std::string> op(5);
    struct Sink final : Output {
      std::vector<std::string> got;
      void push(BatchBase& b) override {
        for (auto& v : batch_cast<std::string>(b).values) got.push_back(v);
        b.clear();
      }
    } sink;
    InstanceContext ctx;
    ctx.state_backend = backend;
    ctx.state_dir = dir.path();
    ctx.uid = "distinct";
    auto inst = op.instantiate(ctx, {&sink});
    auto feed = [&](const char* v, Window w) {
      Batch<std::string> b;
      b.values = {v};
      b.timestamps = {w.is_global() ? kMinTimestamp : w.start};
      b.windows = {w};
      inst->process(0, b);
    };
    for (int i = 0; i < 2; ++i) {
      feed("x", Window{0, 10});
      feed("y", Window{10, 20});
      feed("z", kGlobalWindow);
    }
    EXPECT_EQ(sink.got, (std::vector<std::string>{"x", "y", "z"}));
    inst->on_watermark(14);  // [0, 10) is done: 9 + 5 <= 14
    feed("x", Window{0, 10});
    feed("y", Window{10, 20});
    feed("z", kGlobalWindow);
    EXPECT_EQ(sink.got, (std::vector<std::string>{"x", "y", "z", "x"}))
        << "backend " << static_cast<int>(backend);
    // The RocksDB backend keeps its rows in a database of its own.
    EXPECT_EQ(std::filesystem::exists(dir.path() / "distinct-0"),
              backend == StateBackend::kRocksDB);
  }
}

// "window start,user,time" of each element distinct() emitted.
struct VisitLine : DoFn<std::string, std::string> {
  void process(const std::string& u, const ElementContext& c, Emitter<std::string>& out) {
    out.emit(std::to_string(c.window.start) + "," + u + "," + std::to_string(c.timestamp));
  }
};

// Checkpoints: a run restored from its middle checkpoint at another
// parallelism writes what an uninterrupted run writes, on both backends.
void build(Pipeline& p, const std::string& out, double rate = 50'000) {
  io::GeneratorOptions g;
  g.events = 20'000;
  g.rate = rate;
  g.shards = 2;
  g.step_us = 2000;
  g.max_delay = 10ms;
  p.read(io::generator<Visit>(g,
                              [](const io::GeneratedEvent& e) {
                                return Visit{"u" + std::to_string(e.random % 300), e.time};
                              }))
      .with_timestamps(&Visit::time, watermarks::bounded_out_of_orderness(10ms))
      .window_into(windows::fixed(1s))
      .map([](const Visit& v) { return v.user; })
      .distinct()
      .par_do(VisitLine{})
      .write(io::text(out));
}

class DistinctCheckpoints : public ::testing::TestWithParam<StateBackend> {};

TEST_P(DistinctCheckpoints, RestoreAtAnotherParallelismEndsWithThePlainOutput) {
  runnel::testing::ScratchDir dir;
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  o.state_backend = GetParam();
  {
    Pipeline p(o);
    build(p, dir / "plain");
    p.run();
  }
  const auto plain = runnel::testing::read_part_lines(dir / "plain");
  ASSERT_GT(plain.size(), 300u);
  std::set<std::string> unique(plain.begin(), plain.end());
  EXPECT_EQ(unique.size(), plain.size());  // each (window, user) once

  o.checkpoint_dir = dir / "ck";
  o.checkpoint_interval = 40ms;
  o.checkpoints_kept = 100;
  {
    // Two checkpoints must fall inside the run; on a loaded machine (TSan on
    // two cores, RocksDB) 0.4 s may hold one, so the run is repeated at a
    // slower pace. The output does not depend on the pace (event times come
    // from the generator's step, not the clock).
    std::size_t taken = 0;
    for (double rate = 50'000; taken < 2 && rate >= 50'000.0 / 16; rate /= 4) {
      std::filesystem::remove_all(dir.path() / "ck");
      std::filesystem::remove_all(dir.path() / "out");
      Pipeline p(o);
      build(p, dir / "out", rate);
      taken = p.run().checkpoints;
    }
    ASSERT_GE(taken, 2u);
  }
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"), plain);
  auto all = state::list_checkpoints(dir.path() / "ck", true);
  ASSERT_GE(all.size(), 2u);
  const auto& middle = all[all.size() / 2];
  ASSERT_TRUE(middle.valid) << middle.problem;
  o.parallelism = 3;
  o.restore = middle.path.string();
  {
    Pipeline p(o);
    build(p, dir / "out");
    EXPECT_EQ(p.run().restored_checkpoint, middle.id);
  }
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"), plain);
}

INSTANTIATE_TEST_SUITE_P(Backends, DistinctCheckpoints,
                         ::testing::Values(StateBackend::kMemory, StateBackend::kRocksDB));

}  // namespace

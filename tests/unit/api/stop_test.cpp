// request_stop(): a graceful stop of a running pipeline, in each mode.
#include <gtest/gtest.h>

#include <runnel/runnel.hpp>
#include <set>
#include <thread>

#include "run_while.hpp"
#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Tick {
  std::int64_t n = 0;
  Timestamp time = 0;
};
RUNNEL_FIELDS(Tick, n, time);

io::GeneratorIO<Tick, Tick (*)(const io::GeneratedEvent&)> ticks(std::uint64_t events) {
  io::GeneratorOptions g;
  g.events = events;
  g.rate = 20'000;
  g.shards = 2;
  return io::generator<Tick>(
      g, +[](const io::GeneratedEvent& e) {
        return Tick{static_cast<std::int64_t>(e.index), e.time};
      });
}

// Stops the pipelines of the process `after` into this one's run.
RunResult run_and_stop(Pipeline& p, std::chrono::milliseconds after) {
  return runnel::testing::run_while(p, [after] {
    std::this_thread::sleep_for(after);
    request_stop();
  });
}

TEST(Stop, WithCheckpointsAFinalCheckpointThatARestoreContinues) {
  runnel::testing::ScratchDir dir;
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  o.checkpoint_dir = dir / "ck";
  o.checkpoint_interval = 10s;  // only the stop's checkpoint
  {
    Pipeline p(o);
    p.read(ticks(30'000))
        .map([](const Tick& t) { return std::to_string(t.n); })
        .write(io::text(dir / "out"));
    RunResult r = run_and_stop(p, 300ms);
    EXPECT_TRUE(r.stopped);
    EXPECT_EQ(r.checkpoints, 1u);  // the final one
    EXPECT_GT(r.records_in, 0u);
    EXPECT_LT(r.records_in, 30'000u);
    // Committed: what the final checkpoint covers (records read after its
    // barrier are read again by the restore).
    const auto committed = runnel::testing::read_part_lines(dir / "out").size();
    EXPECT_GT(committed, 0u);
    EXPECT_LE(committed, r.records_in);
  }
  o.restore = "latest";
  Pipeline p(o);
  p.read(ticks(30'000))
      .map([](const Tick& t) { return std::to_string(t.n); })
      .write(io::text(dir / "out"));
  RunResult again = p.run();
  EXPECT_FALSE(again.stopped);
  auto lines = runnel::testing::read_part_lines(dir / "out");
  EXPECT_EQ(lines.size(), 30'000u);  // each once
  std::set<std::string> distinct(lines.begin(), lines.end());
  EXPECT_EQ(distinct.size(), 30'000u);
}

TEST(Stop, WithoutCheckpointsTheSourcesEndAndWindowsFire) {
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  Pipeline p(o);
  auto counts = p.read(ticks(0))  // unbounded
                    .with_timestamps(&Tick::time, watermarks::bounded_out_of_orderness(0ms))
                    .window_into(windows::fixed(1s))
                    .count()
                    .collect();
  RunResult r = run_and_stop(p, 300ms);
  EXPECT_TRUE(r.stopped);
  std::uint64_t total = 0;
  for (auto c : counts.values()) total += c;
  EXPECT_EQ(total, r.records_in);  // every window fired, the last partial one too
  EXPECT_GT(total, 0u);
}

TEST(Stop, ABatchJobIsInterrupted) {
  PipelineOptions o;
  o.parallelism = 1;
  o.mode = ExecutionMode::kBatch;
  Pipeline p(o);
  p.read(ticks(10'000'000)).map([](const Tick& t) { return t.n; }).collect();
  EXPECT_THROW(run_and_stop(p, 100ms), UserError);
  // The request was acted on: the next run is not stopped.
  Pipeline q(o);
  auto few = q.read(ticks(100)).collect();
  EXPECT_FALSE(q.run().stopped);
  EXPECT_EQ(few.size(), 100u);
}

}  // namespace

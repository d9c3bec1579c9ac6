// Checkpoints in process: a checkpointed run gives the same output as a plain
// one; a restore of any kept checkpoint, at another parallelism, into the
// same output directory ends with that output again (the file sink's two
// phases undo and redo exactly what came after the checkpoint).
#include <gtest/gtest.h>

#include <filesystem>
#include <runnel/runnel.hpp>

#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Tick {
  std::string key;
  Timestamp time = 0;
};

// A running count per key in keyed state: "key,count" at every 100th.
struct RunningCount : DoFn<std::pair<std::string, int>, std::string> {
  ValueState<std::uint64_t> n{"n"};
  auto state() { return std::tie(n); }
  void process(const std::pair<std::string, int>& kv, KeyedContext<std::string>&,
               Emitter<std::string>& out) {
    std::uint64_t c = n.value_or(0) + 1;
    n.write(c);
    if (c % 100 == 0) out.emit(kv.first + "," + std::to_string(c));
  }
};

struct WindowLine : DoFn<std::pair<std::string, std::uint64_t>, std::string> {
  void process(const std::pair<std::string, std::uint64_t>& kv, const ElementContext& c,
               Emitter<std::string>& out) {
    out.emit(std::to_string(c.window.start) + "," + kv.first + "," + std::to_string(kv.second));
  }
};

PipelineOptions options(int parallelism, const std::string& ck, const std::string& restore = "") {
  PipelineOptions o;
  o.parallelism = parallelism;
  o.mode = ExecutionMode::kStreaming;
  o.checkpoint_dir = ck;
  o.checkpoint_interval = 40ms;
  o.checkpoints_kept = 100;
  o.restore = restore;
  return o;
}

// 30,000 events over 0.6 s: windowed counts and totals per key, to two file sinks.
void build(Pipeline& p, const std::string& out) {
  io::GeneratorOptions g;
  g.events = 30'000;
  g.rate = 50'000;
  g.shards = 3;
  g.step_us = 2000;
  g.max_delay = 10ms;
  auto ticks = p.read(io::generator<Tick>(g,
                                          [](const io::GeneratedEvent& e) {
                                            return Tick{"k" + std::to_string(e.random % 17), e.time};
                                          }))
                   .with_timestamps(&Tick::time, watermarks::bounded_out_of_orderness(10ms));
  auto key = [](const Tick& t) { return t.key; };
  ticks.window_into(windows::fixed(1s))
      .map(key)
      .count_per_element()
      .par_do(WindowLine{})
      .write(io::text(out + "/windows"));
  ticks.map(key).count_per_element().write(io::csv(out + "/totals"));
  ticks.map([](const Tick& t) { return std::make_pair(t.key, 1); })
      .par_do(RunningCount{})
      .write(io::text(out + "/running"));
}

TEST(Checkpoints, CheckpointedRunEqualsPlainRunAndEveryRestoreEndsTheSame) {
  runnel::testing::ScratchDir dir;
  {
    Pipeline p(options(2, ""));
    build(p, dir / "plain");
    p.run();
  }
  const auto windows = runnel::testing::read_part_lines(dir / "plain/windows");
  const auto totals = runnel::testing::read_part_lines(dir / "plain/totals");
  const auto running = runnel::testing::read_part_lines(dir / "plain/running");
  ASSERT_GT(running.size(), 250u);
  ASSERT_GT(windows.size(), 17u * 50);
  ASSERT_EQ(totals.size(), 17u);

  // A checkpointed run, then a restore of its first, middle or last
  // checkpoint at another parallelism into the same output directory: the
  // output goes back to what that checkpoint covered, and on to the end.
  const std::vector<std::pair<int, int>> restores = {{0, 3}, {1, 1}, {2, 4}};  // (which, parallelism)
  for (auto [which, parallelism] : restores) {
    runnel::testing::ScratchDir run;
    RunResult first;
    {
      Pipeline p(options(2, run / "ck"));
      build(p, run / "out");
      first = p.run();
    }
    EXPECT_GE(first.checkpoints, 3u);
    EXPECT_EQ(first.restored_checkpoint, -1);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/windows"), windows);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/totals"), totals);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/running"), running);

    auto all = state::list_checkpoints(run.path() / "ck", true);
    ASSERT_GE(all.size(), 3u);
    const auto& chosen = all[which == 0 ? 0 : which == 1 ? all.size() / 2 : all.size() - 1];
    SCOPED_TRACE("restore " + chosen.path.string() + " at parallelism " +
                 std::to_string(parallelism));
    ASSERT_TRUE(chosen.valid) << chosen.problem;
    Pipeline p(options(parallelism, run / "ck", chosen.path.string()));
    build(p, run / "out");
    RunResult r = p.run();
    EXPECT_EQ(r.restored_checkpoint, chosen.id);
    EXPECT_LT(r.records_in, first.records_in);  // resumed, not started over
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/windows"), windows);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/totals"), totals);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/running"), running);
  }
}

TEST(Checkpoints, RestoreLatestWithNothingToRestoreStartsFromTheBeginning) {
  runnel::testing::ScratchDir dir;
  Pipeline p(options(1, dir / "ck", "latest"));
  build(p, dir / "out");
  RunResult r = p.run();
  EXPECT_EQ(r.restored_checkpoint, 0);
  EXPECT_EQ(r.records_in, 30'000u);
}

TEST(Checkpoints, OperatorWithoutCheckpointSupportIsAClearError) {
  runnel::testing::ScratchDir dir;
  runnel::testing::write_file(dir / "in/a.txt", "x\ny\n");
  Pipeline p(options(1, dir / "ck"));
  p.read(io::text(dir / "in")).write(io::text(dir / "out"));
  try {
    p.run();
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot take part in checkpoints yet"), std::string::npos)
        << e.what();
  }
}

TEST(Checkpoints, RestoreOfADamagedPathNamesIt) {
  runnel::testing::ScratchDir dir;
  fs::create_directories(dir.path() / "ck" / "chk-000000004");
  Pipeline p(options(1, dir / "ck", dir / "ck/chk-000000004"));
  build(p, dir / "out");
  try {
    p.run();
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no _manifest"), std::string::npos) << e.what();
  }
}

TEST(Checkpoints, MaxParallelismMustNotChange) {
  runnel::testing::ScratchDir dir;
  {
    Pipeline p(options(2, dir / "ck"));
    build(p, dir / "out");
    ASSERT_GE(p.run().checkpoints, 1u);
  }
  auto o = options(2, dir / "ck", "latest");
  o.max_parallelism = 64;
  Pipeline p(o);
  build(p, dir / "out");
  EXPECT_THROW(p.run(), UserError);
}

}  // namespace

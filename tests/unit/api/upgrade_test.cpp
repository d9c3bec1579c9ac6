// Upgrades with state: a job stopped with a savepoint (or drained) and
// restored into a changed pipeline. State maps by uid (given, or derived from
// the stateful transforms upstream), new transforms start empty, state with
// nowhere to go is refused unless dropped on purpose, and the results are
// exact: the window counts of both runs add up to an uninterrupted run's.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <runnel/runnel.hpp>
#include <sstream>
#include <string>
#include <thread>

#include "run_while.hpp"
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

constexpr std::uint64_t kEvents = 30'000;

// 30,000 events over 30 s of event time (1 ms apart), 1.5 s of wall time.
auto ticks(Pipeline& p) {
  io::GeneratorOptions g;
  g.events = kEvents;
  g.rate = 20'000;
  g.shards = 2;
  g.max_delay = 5ms;
  return p
      .read(io::generator<Tick>(g,
                                [](const io::GeneratedEvent& e) {
                                  return Tick{"k" + std::to_string(e.random % 7), e.time};
                                }))
      .with_timestamps(&Tick::time, watermarks::bounded_out_of_orderness(10ms));
}

// "window start,key,count" for every pane.
struct PaneLine : DoFn<std::pair<std::string, std::uint64_t>, std::string> {
  void process(const std::pair<std::string, std::uint64_t>& kv, const ElementContext& c,
               Emitter<std::string>& out) {
    out.emit(std::to_string(c.window.start) + "," + kv.first + "," + std::to_string(kv.second));
  }
};

struct Version {
  bool uids = true;
  bool extra_filter = false;  // v2: a transform added before the counts
  bool early_panes = false;   // v2: the counts' trigger fires early too
  bool new_branch = false;    // v2: a new stateful transform (totals per key)
  std::string counts_uid = "counts";
};

void build(Pipeline& p, const fs::path& out, const Version& v) {
  auto t = ticks(p);
  auto in = v.extra_filter ? t.filter([](const Tick& x) { return !x.key.empty(); }) : t;
  Windowing w;
  if (v.early_panes) w.trigger = triggers::after_watermark().with_early(triggers::after_count(40));
  auto counts = in.window_into(windows::fixed(1s), w)
                    .map([](const Tick& x) { return x.key; })
                    .count_per_element();
  if (v.uids) counts = counts.uid(v.counts_uid);
  auto sink = counts.par_do(PaneLine{}).write(io::text(out / "counts"));
  if (v.uids) sink.uid("counts-out");
  if (v.new_branch) {
    auto totals = t.map([](const Tick& x) { return x.key; }).count_per_element();
    if (v.uids) totals = totals.uid("totals");
    totals.write(io::csv(out / "totals"));
  }
}

PipelineOptions options(const fs::path& dir, const std::string& restore = "") {
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  o.checkpoint_dir = (dir / "ck").string();
  o.checkpoint_interval = 100ms;
  o.savepoint_dir = (dir / "savepoints").string();
  o.restore = restore;
  return o;
}

// The sum of the counts of every pane, per "window,key".
std::map<std::string, std::uint64_t> window_sums(const std::vector<std::string>& lines) {
  std::map<std::string, std::uint64_t> sums;
  for (const auto& l : lines) {
    const auto comma = l.rfind(',');
    sums[l.substr(0, comma)] += std::stoull(l.substr(comma + 1));
  }
  return sums;
}

std::map<std::string, std::uint64_t> plain_counts(const runnel::testing::ScratchDir& dir) {
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  Pipeline p(o);
  build(p, dir / "plain", Version{});
  p.run();
  return window_sums(runnel::testing::read_part_lines(dir / "plain/counts"));
}

// Runs v1 and stops it `after` into its run (its own stop request).
RunResult run_and_stop(Pipeline& p, std::chrono::milliseconds after) {
  return runnel::testing::run_while(p, [&p, after] {
    std::this_thread::sleep_for(after);
    p.request_stop();
  });
}

// v1 runs and stops with a savepoint; v2 restores it into the same output.
// Returns v2's result; *v1_counted: the counts v1 published, summed.
RunResult upgrade(const runnel::testing::ScratchDir& dir, const Version& v1, const Version& v2,
                  bool drain = false, bool allow_non_restored = false,
                  std::uint64_t* v1_counted = nullptr,
                  StateBackend backend = StateBackend::kMemory) {
  RunResult first;
  {
    PipelineOptions o = options(dir.path());
    o.state_backend = backend;
    o.drain_on_stop = drain;
    Pipeline p(o);
    build(p, dir / "out", v1);
    first = run_and_stop(p, 400ms);
  }
  EXPECT_TRUE(first.stopped);
  EXPECT_LT(first.records_in, kEvents);
  EXPECT_FALSE(first.savepoint.empty());
  const auto saved = state::inspect_checkpoint(first.savepoint, true);
  EXPECT_TRUE(saved.valid) << saved.problem;
  if (v1_counted != nullptr) {
    *v1_counted = 0;
    for (const auto& [window, n] :
         window_sums(runnel::testing::read_part_lines(dir / "out/counts")))
      *v1_counted += n;
  }
  PipelineOptions o = options(dir.path() / "v2", first.savepoint);
  o.state_backend = backend;
  o.allow_non_restored_state = allow_non_restored;
  Pipeline p(o);
  build(p, dir / "out", v2);
  RunResult second = p.run();
  EXPECT_GT(second.restored_checkpoint, 0);
  EXPECT_LT(second.records_in, kEvents);  // resumed, not started over
  // New checkpoints are numbered after the savepoint (its sinks' epochs).
  for (const auto& c : state::list_checkpoints(dir / "v2/ck", false)) EXPECT_GT(c.id, saved.id);
  return second;
}

TEST(Upgrade, ChangedPipelineRestoresItsStateByUidAndEndsExact) {
  runnel::testing::ScratchDir dir;
  const auto expected = plain_counts(dir);
  ASSERT_GE(expected.size(), 7u * 30);  // 30 s of events, 7 keys
  Version v2;
  v2.extra_filter = true;
  v2.early_panes = true;  // lifted before, raw now: the same state
  v2.new_branch = true;
  const RunResult r = upgrade(dir, Version{}, v2);
  EXPECT_EQ(window_sums(runnel::testing::read_part_lines(dir / "out/counts")), expected);
  // The new transform started empty: it counted what v2 read.
  std::uint64_t totals = 0;
  for (const auto& l : runnel::testing::read_part_lines(dir / "out/totals"))
    totals += std::stoull(l.substr(l.find(',') + 1));
  EXPECT_EQ(totals, r.records_in);
}

// The RocksDB backend's native snapshots go to the operator with their uid too.
TEST(Upgrade, ChangedPipelineOnRocksDB) {
  runnel::testing::ScratchDir dir;
  const auto expected = plain_counts(dir);
  Version v2;
  v2.extra_filter = true;
  v2.early_panes = true;
  v2.new_branch = true;
  upgrade(dir, Version{}, v2, false, false, nullptr, StateBackend::kRocksDB);
  EXPECT_EQ(window_sums(runnel::testing::read_part_lines(dir / "out/counts")), expected);
}

TEST(Upgrade, DefaultIdsDoNotMoveWhenStatelessStepsOrBranchesAreAdded) {
  runnel::testing::ScratchDir dir;
  const auto expected = plain_counts(dir);
  Version v1;
  v1.uids = false;
  Version v2 = v1;
  v2.extra_filter = true;
  v2.new_branch = true;
  upgrade(dir, v1, v2);
  EXPECT_EQ(window_sums(runnel::testing::read_part_lines(dir / "out/counts")), expected);
}

TEST(Upgrade, DrainFiresEveryWindowAndTheRestoreContinuesWhereTheSourcesStopped) {
  runnel::testing::ScratchDir dir;
  const auto expected = plain_counts(dir);
  std::uint64_t drained = 0;
  const RunResult r = upgrade(dir, Version{}, Version{}, /*drain=*/true, false, &drained);
  // Every event before the sources' stop was counted and published by v1
  // (no window left open in the savepoint); v2 read exactly the rest.
  EXPECT_GT(drained, 0u);
  EXPECT_EQ(drained + r.records_in, kEvents);
  const auto lines = runnel::testing::read_part_lines(dir / "out/counts");
  // A window open at the drain fired in both runs: more lines than windows.
  EXPECT_GT(lines.size(), expected.size());
  EXPECT_EQ(window_sums(lines), expected);
}

TEST(Upgrade, StateWithNowhereToGoIsRefusedNamingItsUidOrDroppedWhenAllowed) {
  runnel::testing::ScratchDir dir;
  PipelineOptions o = options(dir.path());
  RunResult first;
  {
    Pipeline p(o);
    build(p, dir / "out", Version{});
    first = run_and_stop(p, 300ms);
  }
  ASSERT_FALSE(first.savepoint.empty());
  Version renamed;
  renamed.counts_uid = "counts-v2";
  {
    Pipeline p(options(dir.path() / "v2", first.savepoint));
    build(p, dir / "out2", renamed);
    try {
      p.run();
      ADD_FAILURE() << "restored state that nothing takes";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("uid 'counts' (count_per_element"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("--allow-non-restored-state"), std::string::npos);
    }
  }
  // The same uid on a transform of another kind is refused too.
  {
    Pipeline p(options(dir.path() / "v3", first.savepoint));
    auto t = ticks(p);
    t.map([](const Tick& x) { return std::make_pair(x.key, 1); }).sum_per_key().uid("counts");
    t.map([](const Tick& x) { return x.key; }).write(io::text(dir / "out3")).uid("counts-out");
    try {
      p.run();
      ADD_FAILURE() << "restored count state into a sum";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("was written by 'count_per_element"), std::string::npos)
          << e.what();
    }
  }
  PipelineOptions allowed = options(dir.path() / "v4", first.savepoint);
  allowed.allow_non_restored_state = true;
  Pipeline p(allowed);
  build(p, dir / "out", renamed);  // the sink's pending output is in "out"

  const RunResult r = p.run();
  EXPECT_GT(r.restored_checkpoint, 0);
  EXPECT_LT(r.records_in, kEvents);  // the source's position was restored
}

TEST(Upgrade, SavepointsOnRequestOutliveRetentionAndRestore) {
  runnel::testing::ScratchDir dir;
  const auto expected = plain_counts(dir);
  PipelineOptions o = options(dir.path());
  o.checkpoints_kept = 1;
  o.checkpoint_interval = 50ms;
  RunResult first;
  {
    Pipeline p(o);
    build(p, dir / "out", Version{});
    std::thread asker([] {
      std::this_thread::sleep_for(200ms);
      request_savepoint();
    });
    first = run_and_stop(p, 600ms);
    asker.join();
  }
  std::vector<fs::path> savepoints;
  for (const auto& e : fs::directory_iterator(dir / "savepoints")) savepoints.push_back(e.path());
  std::sort(savepoints.begin(), savepoints.end());
  // The one asked for and the stop's; retention kept one checkpoint.
  ASSERT_EQ(savepoints.size(), 2u);
  EXPECT_EQ(state::list_checkpoints(dir / "ck", false).size(), 1u);
  for (const auto& s : savepoints) EXPECT_TRUE(state::inspect_checkpoint(s, true).valid) << s;
  // The stop's savepoint continues to exact results.
  Pipeline p(options(dir.path() / "v2", first.savepoint));
  build(p, dir / "out", Version{});
  p.run();
  EXPECT_EQ(window_sums(runnel::testing::read_part_lines(dir / "out/counts")), expected);
}

// A checkpoint written before runnel saved state by uid restores by position
// into the same pipeline, and into a changed one not at all.
TEST(Upgrade, CheckpointsWithoutUidsRestoreByPositionIntoTheSamePipelineOnly) {
  runnel::testing::ScratchDir dir;
  RunResult first;
  {
    Pipeline p(options(dir.path()));
    build(p, dir / "out", Version{});
    first = run_and_stop(p, 300ms);
  }
  ASSERT_FALSE(first.savepoint.empty());
  // The savepoint as an older runnel wrote it: no uid lines.
  const state::LoadedCheckpoint loaded = state::load_checkpoint(first.savepoint);
  ASSERT_FALSE(loaded.positional());
  const fs::path old_dir = dir / "old" / fs::path(first.savepoint).filename();
  fs::create_directories(old_dir.parent_path());
  fs::copy(first.savepoint, old_dir, fs::copy_options::recursive);
  {
    std::ifstream in(old_dir / "_manifest");
    std::string line, manifest;
    while (std::getline(in, line))
      if (line.rfind("uid ", 0) != 0 && line.rfind("checksum ", 0) != 0) manifest += line + "\n";
    char sum[32];
    std::snprintf(sum, sizeof sum, "checksum %016llx\n",
                  static_cast<unsigned long long>(hash_bytes(manifest.data(), manifest.size())));
    std::ofstream(old_dir / "_manifest", std::ios::trunc) << manifest << sum;
  }
  const std::vector<state::CheckpointInfo> old = {state::inspect_checkpoint(old_dir, true)};
  ASSERT_TRUE(old[0].valid) << old[0].problem;
  ASSERT_TRUE(state::load_checkpoint(old[0].path).positional());
  {
    Pipeline p(options(dir.path() / "v2", old[0].path.string()));
    auto t = ticks(p);  // a new stateful transform first moves every position
    t.map([](const Tick& x) { return x.key; }).count_per_element().write(io::csv(dir / "x"));
    build(p, dir / "out2", Version{});
    try {
      p.run();
      ADD_FAILURE() << "a positional checkpoint restored into a changed pipeline";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("before runnel saved state by uid"), std::string::npos)
          << e.what();
    }
  }
  const auto expected = plain_counts(dir);
  Pipeline p(options(dir.path() / "v3", old[0].path.string()));
  build(p, dir / "out", Version{});
  EXPECT_EQ(p.run().restored_checkpoint, loaded.id);
  EXPECT_EQ(window_sums(runnel::testing::read_part_lines(dir / "out/counts")), expected);
}

TEST(Upgrade, GivenUidsMustBeUniqueAndNameTheStatefulTransform) {
  Pipeline p;
  auto a = p.create<int>({1, 2}).map([](int x) { return std::make_pair(x, 1); });
  a.sum_per_key().uid("same").discard();
  try {
    a.count_per_key().uid("same");
    ADD_FAILURE() << "two transforms with one uid";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("uid 'same' is given to two transforms"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(p.create<int>({1}).uid(""), std::invalid_argument);
  EXPECT_THROW(p.create<int>({1}).uid(" x"), std::invalid_argument);
  // count() ends in a stateless map: its uid names the grouping before it.
  p.create<int>({1, 2}).count().uid("total").discard();
  a.map([](const auto& kv) { return kv.first; }).count_per_element().uid("counts").discard();
  const std::string plan = p.explain();
  EXPECT_NE(plan.find("combine_globally (merge)  [uid 'total']"), std::string::npos) << plan;
  EXPECT_NE(plan.find("count_per_element (merge)  [uid 'counts']"), std::string::npos) << plan;
}

}  // namespace

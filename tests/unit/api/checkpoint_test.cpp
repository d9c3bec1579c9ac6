// Checkpoints in process: a checkpointed run gives the same output as a plain
// one; a restore of any kept checkpoint, at another parallelism, into the
// same output directory ends with that output again (the file sink's two
// phases undo and redo exactly what came after the checkpoint).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <runnel/runnel.hpp>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "checkpoint_saboteur.hpp"
#include "full_disk.hpp"
#include "state/checkpoint_claims.hpp"
#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Tick {
  std::string key;
  Timestamp time = 0;
  std::uint64_t random = 0;
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

// Keyed state per window: a count per key and one-second window, emitted by
// an event-time timer at the window's end ("start,key,count").
struct WindowCountAtTimer : DoFn<std::pair<std::string, int>, std::string> {
  ValueState<std::uint64_t> n{"n"};
  auto state() { return std::tie(n); }
  void process(const std::pair<std::string, int>&, KeyedContext<std::string>& ctx,
               Emitter<std::string>&) {
    n.write(n.value_or(0) + 1);
    ctx.set_timer(TimeDomain::kEventTime, ctx.window().max_timestamp());
  }
  void on_timer(const std::string& key, Timestamp, TimeDomain, KeyedContext<std::string>& ctx,
                Emitter<std::string>& out) {
    out.emit(std::to_string(ctx.window().start) + "," + key + "," + std::to_string(n.value_or(0)));
  }
};

struct WindowLine : DoFn<std::pair<std::string, std::uint64_t>, std::string> {
  void process(const std::pair<std::string, std::uint64_t>& kv, const ElementContext& c,
               Emitter<std::string>& out) {
    out.emit(std::to_string(c.window.start) + "," + kv.first + "," + std::to_string(kv.second));
  }
};

// Each element's key with the weight the side input gives it (the side
// input's values for that key, each plus one).
using KeyCount = std::pair<std::string, int>;
struct SideWeight : DoFn<KeyCount, std::pair<std::string, std::int64_t>> {
  void process(const KeyCount& kv, const std::vector<KeyCount>& side,
               Emitter<std::pair<std::string, std::int64_t>>& out) {
    std::int64_t w = 0;
    for (const auto& [k, v] : side)
      if (k == kv.first) w += v + 1;
    out.emit({kv.first, w});
  }
};

PipelineOptions options(int parallelism, const std::string& ck, const std::string& restore = "",
                        StateBackend backend = StateBackend::kMemory) {
  PipelineOptions o;
  o.state_backend = backend;
  o.parallelism = parallelism;
  o.mode = ExecutionMode::kStreaming;
  o.checkpoint_dir = ck;
  o.checkpoint_interval = 40ms;
  o.checkpoints_kept = 100;
  o.restore = restore;
  return o;
}

// Runs attempt(rate) at first_rate, then at a quarter of it, down to a
// sixteenth, until done() holds: on a loaded machine (TSan on two cores) a
// run at full pace may hold too few checkpoints. Outputs do not depend on
// the pace: event times come from the generator's step, not the clock.
template <class Attempt, class Done>
void at_slower_rates_until(Done done, Attempt attempt, double first_rate = 50'000) {
  for (double rate = first_rate; rate >= first_rate / 16; rate /= 4) {
    attempt(rate);
    if (done()) return;
  }
}

// 30,000 events over 0.6 s: windowed counts (fixed windows, and sessions of
// sparser keys) and totals per key (with and without event time), and keyed
// state, and a side input that arrives slowly (main batches wait for it
// across checkpoints), to file sinks.
void build(Pipeline& p, const std::string& out, double rate = 50'000) {
  io::GeneratorOptions g;
  g.events = 30'000;
  g.rate = rate;
  g.shards = 3;
  g.step_us = 2000;
  g.max_delay = 10ms;
  auto raw = p.read(io::generator<Tick>(g, [](const io::GeneratedEvent& e) {
    return Tick{"k" + std::to_string(e.random % 17), e.time, e.random};
  }));
  auto ticks = raw.with_timestamps(&Tick::time, watermarks::bounded_out_of_orderness(10ms));
  auto key = [](const Tick& t) { return t.key; };
  raw.map(key).count_per_element().write(io::csv(out + "/untimed"));
  ticks.window_into(windows::sessions(40ms))
      .map([](const Tick& t) { return "s" + std::to_string(t.random / 17 % 3000); })
      .count_per_element()
      .par_do(WindowLine{})
      .write(io::text(out + "/sessions"));
  ticks.window_into(windows::fixed(1s))
      .map(key)
      .count_per_element()
      .par_do(WindowLine{})
      .write(io::text(out + "/windows"));
  ticks.map(key).count_per_element().write(io::csv(out + "/totals"));
  ticks.map([](const Tick& t) { return std::make_pair(t.key, 1); })
      .par_do(RunningCount{})
      .write(io::text(out + "/running"));
  ticks.window_into(windows::fixed(1s))
      .map([](const Tick& t) { return std::make_pair(t.key, 1); })
      .par_do(WindowCountAtTimer{})
      .write(io::text(out + "/window_state"));
  io::GeneratorOptions gs;
  gs.events = 20;
  gs.rate = 100;  // 0.2 s: the first checkpoints hold main batches waiting for it
  gs.shards = 1;
  gs.seed = 7;
  auto side = p.read(io::generator<KeyCount>(gs, [](const io::GeneratedEvent& e) {
    return KeyCount("k" + std::to_string(e.random % 17), static_cast<int>(e.index));
  }));
  ticks.map([](const Tick& t) { return KeyCount(t.key, 1); })
      .par_do(SideWeight{}, side)
      .sum_per_key()
      .write(io::csv(out + "/side"));
}

// The outputs of one uninterrupted run without checkpoints, under `dir`/plain.
struct PlainOutputs {
  std::vector<std::string> windows, totals, running, window_state, untimed, sessions, side;
};
PlainOutputs plain_run(const runnel::testing::ScratchDir& dir) {
  {
    Pipeline p(options(2, ""));
    build(p, dir / "plain");
    p.run();
  }
  PlainOutputs o;
  o.windows = runnel::testing::read_part_lines(dir / "plain/windows");
  o.totals = runnel::testing::read_part_lines(dir / "plain/totals");
  o.running = runnel::testing::read_part_lines(dir / "plain/running");
  o.window_state = runnel::testing::read_part_lines(dir / "plain/window_state");
  o.untimed = runnel::testing::read_part_lines(dir / "plain/untimed");
  o.sessions = runnel::testing::read_part_lines(dir / "plain/sessions");
  o.side = runnel::testing::read_part_lines(dir / "plain/side");
  return o;
}

// Every sink's output under `out` is the plain run's.
void expect_plain_outputs(const std::string& out, const PlainOutputs& plain) {
  const std::pair<const char*, const std::vector<std::string>*> sinks[] = {
      {"windows", &plain.windows}, {"totals", &plain.totals},
      {"running", &plain.running}, {"window_state", &plain.window_state},
      {"untimed", &plain.untimed}, {"sessions", &plain.sessions},
      {"side", &plain.side}};
  for (const auto& [name, lines] : sinks)
    EXPECT_EQ(runnel::testing::read_part_lines(out + "/" + name), *lines) << name;
}

TEST(Checkpoints, CheckpointedRunEqualsPlainRunAndEveryRestoreEndsTheSame) {
  runnel::testing::ScratchDir dir;
  const auto [windows, totals, running, window_state, untimed, sessions, side] = plain_run(dir);
  EXPECT_EQ(window_state, windows);
  ASSERT_GT(running.size(), 250u);
  ASSERT_GT(windows.size(), 17u * 50);
  ASSERT_EQ(totals.size(), 17u);
  EXPECT_EQ(untimed, totals);
  ASSERT_GT(sessions.size(), 3000u);  // keys come back after gaps
  ASSERT_EQ(side.size(), 17u);

  // A checkpointed run, then a restore of its first, middle or last
  // checkpoint at another parallelism into the same output directory: the
  // output goes back to what that checkpoint covered, and on to the end.
  const std::vector<std::pair<int, int>> restores = {
      {0, 3}, {1, 1}, {2, 4}};  // (which, parallelism)
  for (auto [which, parallelism] : restores) {
    runnel::testing::ScratchDir run;
    RunResult first;
    // Three checkpoints must fall inside the run for first, middle and last
    // to differ.
    at_slower_rates_until([&] { return first.checkpoints >= 3; },
                          [&](double rate) {
                            std::filesystem::remove_all(run.path() / "ck");
                            std::filesystem::remove_all(run.path() / "out");
                            Pipeline p(options(2, run / "ck"));
                            build(p, run / "out", rate);
                            first = p.run();
                          });
    EXPECT_GE(first.checkpoints, 3u);
    EXPECT_EQ(first.restored_checkpoint, -1);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/windows"), windows);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/totals"), totals);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/running"), running);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/window_state"), window_state);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/sessions"), sessions);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/side"), side);

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
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/window_state"), window_state);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/untimed"), untimed);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/sessions"), sessions);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/side"), side);
  }
}

// The RocksDB backend's native snapshots (hard-linked SST files) restore at
// the same parallelism (the snapshot becomes the database) and at others (rows
// read by key group), and either backend restores the other's checkpoints.
TEST(Checkpoints, RocksDBSnapshotsRestoreRescaledAndAcrossBackends) {
  runnel::testing::ScratchDir dir;
  const auto [windows, totals, running, window_state, untimed, sessions, side] = plain_run(dir);
  EXPECT_EQ(window_state, windows);
  ASSERT_GT(running.size(), 250u);
  using B = StateBackend;
  struct Case {
    B first, then;
    int parallelism;
  };
  for (auto [first_backend, then_backend, parallelism] :
       {Case{B::kRocksDB, B::kRocksDB, 2}, Case{B::kRocksDB, B::kRocksDB, 3},
        Case{B::kRocksDB, B::kMemory, 1}, Case{B::kMemory, B::kRocksDB, 4}}) {
    runnel::testing::ScratchDir run;
    {
      // At a slower rate (1.5 s): a RocksDB checkpoint is slow under the
      // sanitizers on a loaded machine, and the restore wants one from the
      // middle of the run when there are several.
      Pipeline p(options(2, run / "ck", "", first_backend));
      build(p, run / "out", 20'000);
      RunResult r = p.run();
      EXPECT_GE(r.checkpoints, 1u);
    }
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/running"), running);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/window_state"), window_state);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/windows"), windows);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/sessions"), sessions);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/side"), side);
    auto all = state::list_checkpoints(run.path() / "ck", true);
    ASSERT_GE(all.size(), 1u);
    const auto& chosen = all[all.size() / 2];
    ASSERT_TRUE(chosen.valid) << chosen.problem;
    // Every keyed operator's rows are native snapshots (RocksDB's, or the
    // memory backend's row logs): the two stateful DoFns and the five keyed
    // combines (fixed windows, sessions, the totals with and without event
    // time, the side-weighted sums).
    int native_ops = 0;
    for (const auto& op : chosen.operators) {
      bool native = false;
      for (const auto& inst : op.instances) native |= !inst.native_dir.empty();
      native_ops += native ? 1 : 0;
    }
    EXPECT_EQ(native_ops, 7);
    SCOPED_TRACE("restore " + chosen.path.string() + " at parallelism " +
                 std::to_string(parallelism));
    Pipeline p(options(parallelism, run / "ck", chosen.path.string(), then_backend));
    build(p, run / "out");
    RunResult r = p.run();
    EXPECT_EQ(r.restored_checkpoint, chosen.id);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/running"), running);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/window_state"), window_state);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/windows"), windows);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/totals"), totals);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/untimed"), untimed);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/sessions"), sessions);
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/side"), side);
  }
}

// How many timers the RocksDB native snapshots of checkpoint `ck` hold.
std::size_t stored_timers(const state::CheckpointInfo& ck) {
  std::size_t n = 0;
  for (const auto& op : ck.operators) {
    for (const auto& inst : op.instances) {
      if (inst.native_dir.empty()) continue;
      detail::scan_kv_snapshot(
          ck.path / inst.native_dir, 0, 127,
          [&](std::string_view key, std::string_view) { n += detail::is_timer_key(key) ? 1 : 0; });
    }
  }
  return n;
}

// RocksDB state with its timers in the databases (the default) or in memory
// (as Flink's HEAP timer service): either restores the other's checkpoints
// and ends as the plain run; timers kept in memory leave none in the
// database (they are written into key-group records).
TEST(Checkpoints, RocksDBTimersInTheDatabaseOrInMemoryRestoreEitherWay) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  using T = RocksDbTimers;
  for (auto [first, then, parallelism] :
       {std::tuple{T::kRocksDB, T::kMemory, 2}, std::tuple{T::kMemory, T::kRocksDB, 3}}) {
    runnel::testing::ScratchDir run;
    {
      PipelineOptions o = options(2, run / "ck", "", StateBackend::kRocksDB);
      o.rocksdb_timers = first;
      Pipeline p(o);
      build(p, run / "out", 20'000);
      EXPECT_GE(p.run().checkpoints, 1u);
    }
    expect_plain_outputs(run / "out", plain);
    auto all = state::list_checkpoints(run.path() / "ck", true);
    ASSERT_GE(all.size(), 1u);
    const auto& chosen = all[all.size() / 2];
    ASSERT_TRUE(chosen.valid) << chosen.problem;
    if (first == T::kRocksDB) {
      EXPECT_GT(stored_timers(chosen), 0u);
    } else {
      EXPECT_EQ(stored_timers(chosen), 0u);
    }
    SCOPED_TRACE("restore " + chosen.path.string() + " at parallelism " +
                 std::to_string(parallelism));
    PipelineOptions o =
        options(parallelism, run / "ck2", chosen.path.string(), StateBackend::kRocksDB);
    o.rocksdb_timers = then;
    o.checkpoint_interval = 10ms;
    Pipeline p(o);
    build(p, run / "out");
    RunResult r = p.run();
    EXPECT_EQ(r.restored_checkpoint, chosen.id);
    expect_plain_outputs(run / "out", plain);
    // The restored database's timers were read into memory and deleted from it.
    if (then == T::kMemory) {
      for (const auto& ck : state::list_checkpoints(run.path() / "ck2", true))
        EXPECT_EQ(stored_timers(ck), 0u) << ck.path;
    }
  }
}

// The memory backend's checkpoints are incremental: a checkpoint between two
// full ones links the logs of the checkpoints before it (the same files) and
// adds what changed, and restoring one of those chains, at another
// parallelism and on either backend, ends with the plain run's output. With
// every checkpoint full, none shares anything.
TEST(Checkpoints, MemoryCheckpointsWriteWhatChangedSinceTheOneBefore) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  for (const int full_every : {4, 1}) {
    runnel::testing::ScratchDir run;
    RunResult first;
    at_slower_rates_until([&] { return first.checkpoints >= 5; },
                          [&](double rate) {
                            std::filesystem::remove_all(run.path() / "ck");
                            std::filesystem::remove_all(run.path() / "out");
                            PipelineOptions o = options(2, run / "ck");
                            o.checkpoint_full_every = full_every;
                            Pipeline p(o);
                            build(p, run / "out", rate);
                            first = p.run();
                          },
                          20'000);
    ASSERT_GE(first.checkpoints, 5u);
    expect_plain_outputs(run / "out", plain);
    const auto all = state::list_checkpoints(run.path() / "ck", true);
    ASSERT_GE(all.size(), 5u);
    // Checkpoints whose row logs are a chain (more than one log in some
    // instance), and those that share bytes with the one before.
    std::size_t chained = 0, sharing = 0;
    const state::CheckpointInfo* last_chained = nullptr;
    for (std::size_t i = 0; i < all.size(); ++i) {
      ASSERT_TRUE(all[i].valid) << all[i].problem;
      bool chain = false;
      for (const auto& op : all[i].operators) {
        for (const auto& inst : op.instances) chain |= inst.native_files.size() > 1;
      }
      if (chain) {
        ++chained;
        last_chained = &all[i];
      }
      if (i > 0 && state::bytes_shared_with(all[i], all[i - 1]) > 0) ++sharing;
    }
    if (full_every == 1) {
      EXPECT_EQ(chained, 0u);
      EXPECT_EQ(sharing, 0u);
      continue;
    }
    EXPECT_GE(chained, 2u);
    EXPECT_GE(sharing, 2u);
    ASSERT_NE(last_chained, nullptr);
    for (const auto& [parallelism, backend] :
         {std::pair{3, StateBackend::kMemory}, std::pair{1, StateBackend::kRocksDB}}) {
      SCOPED_TRACE("restore " + last_chained->path.string() + " at parallelism " +
                   std::to_string(parallelism));
      Pipeline p(options(parallelism, run / "ck", last_chained->path.string(), backend));
      build(p, run / "out");
      RunResult r = p.run();
      EXPECT_EQ(r.restored_checkpoint, last_chained->id);
      EXPECT_LT(r.records_in, first.records_in);
      expect_plain_outputs(run / "out", plain);
    }
  }
}

// A damaged SST file of a native snapshot is found by its checksum.
TEST(Checkpoints, DamagedRocksDBFileIsDetected) {
  runnel::testing::ScratchDir run;
  {
    Pipeline p(options(2, run / "ck", "", StateBackend::kRocksDB));
    build(p, run / "out");
    p.run();
  }
  auto all = state::list_checkpoints(run.path() / "ck", true);
  ASSERT_FALSE(all.empty());
  fs::path victim;
  for (const auto& e : fs::recursive_directory_iterator(all.back().path))
    if (e.path().extension() == ".sst") victim = e.path();
  ASSERT_FALSE(victim.empty());
  {
    // Hard links share their bytes: break the link before damaging the copy.
    fs::path tmp = victim.string() + ".tmp";
    fs::copy_file(victim, tmp);
    fs::rename(tmp, victim);
    std::FILE* f = std::fopen(victim.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fputs("damage", f);
    std::fclose(f);
  }
  auto info = state::inspect_checkpoint(all.back().path, true);
  EXPECT_FALSE(info.valid);
  EXPECT_NE(info.problem.find("checksum mismatch"), std::string::npos) << info.problem;
  EXPECT_THROW(state::load_checkpoint(all.back().path), std::runtime_error);
}

// File sources take part: a restore reads only what the checkpoint's
// readers had not read, so every line reaches the output once.
TEST(Checkpoints, TextFilesResumeWhereTheirReadersStopped) {
  runnel::testing::ScratchDir dir;
  std::vector<std::string> lines;
  for (int f = 0; f < 6; ++f) {
    std::string content;
    for (int i = 0; i < 4000; ++i) {
      lines.push_back("file" + std::to_string(f) + " line" + std::to_string(i) + " w" +
                      std::to_string(i % 13));
      content += lines.back() + "\n";
    }
    runnel::testing::write_file(dir / ("in/" + std::to_string(f) + ".txt"), content);
  }
  std::sort(lines.begin(), lines.end());
  auto job = [&](Pipeline& p, const std::string& out) {
    // Slow enough (about a second) for several checkpoints on the way, also
    // when a loaded machine makes each take long (once only 2 in 0.4 s).
    auto read = p.read(io::text(dir / "in")).map([](const std::string& l) {
      static std::atomic<int> n{0};
      if (++n % 100 == 0) std::this_thread::sleep_for(5ms);
      return l;
    });
    read.write(io::text(out + "/lines"));
    read.map([](const std::string& l) { return l.substr(l.rfind(' ') + 1); })
        .count_per_element()
        .write(io::csv(out + "/counts"));
  };
  runnel::testing::ScratchDir run;
  RunResult first;
  {
    Pipeline p(options(2, run / "ck"));
    job(p, run / "out");
    first = p.run();
  }
  EXPECT_EQ(runnel::testing::read_part_lines(run / "out/lines"), lines);
  const auto counts = runnel::testing::read_part_lines(run / "out/counts");
  ASSERT_EQ(counts.size(), 13u);
  auto all = state::list_checkpoints(run.path() / "ck", true);
  ASSERT_GE(all.size(), 3u);
  // The middle one first: a restore rewinds the output, so an older
  // checkpoint of the same line can follow, a newer one could not.
  for (std::size_t which : {all.size() / 2, std::size_t{0}}) {
    const auto& chosen = all[which];
    SCOPED_TRACE("restore " + chosen.path.string());
    Pipeline p(options(which == 0 ? 3 : 1, run / "ck", chosen.path.string()));
    job(p, run / "out");
    RunResult r = p.run();
    EXPECT_EQ(r.restored_checkpoint, chosen.id);
    EXPECT_LT(r.records_in, first.records_in);  // resumed, not started over
    auto got = runnel::testing::read_part_lines(run / "out/lines");
    std::vector<std::string> diff;
    std::set_symmetric_difference(got.begin(), got.end(), lines.begin(), lines.end(),
                                  std::back_inserter(diff));
    EXPECT_EQ(got.size(), lines.size());
    EXPECT_TRUE(diff.empty()) << diff.size() << " lines lost or twice, e.g. " << diff.front();
    EXPECT_EQ(runnel::testing::read_part_lines(run / "out/counts"), counts);
  }
}

TEST(Checkpoints, RestoreLatestWithNothingToRestoreStartsFromTheBeginning) {
  runnel::testing::ScratchDir dir;
  Pipeline p(options(1, dir / "ck", "latest"));
  build(p, dir / "out");
  RunResult r = p.run();
  EXPECT_EQ(r.restored_checkpoint, 0);
  EXPECT_EQ(r.records_in, 30'000u + 20u);  // the ticks and the side input
}

TEST(Checkpoints, OperatorWithoutCheckpointSupportIsAClearError) {
  runnel::testing::ScratchDir dir;
  runnel::testing::write_file(dir / "in/a.txt", "x\ny\n");
  Pipeline p(options(1, dir / "ck"));
  p.read(io::text(dir / "in").watch(10ms).stop_when_idle(50ms)).write(io::text(dir / "out"));
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

// A checkpoint records each operator's state format; one written in a
// format newer than this build reads is refused, naming the operator, and a
// checkpoint in the formats it reads restores.
TEST(Checkpoints, StateFormatNewerThanTheOperatorReadsIsRefused) {
  runnel::testing::ScratchDir dir;
  {
    Pipeline p(options(2, dir / "ck"));
    build(p, dir / "out");
    ASSERT_GE(p.run().checkpoints, 1u);
  }
  auto all = state::list_checkpoints(dir.path() / "ck", true);
  ASSERT_FALSE(all.empty());
  // Keyed operators with timers write format 2 (their timers may be in the
  // native snapshot), the rest format 1.
  std::map<std::uint32_t, int> formats;
  for (const auto& op : all.back().operators) ++formats[op.format];
  EXPECT_EQ(formats[2], 7);
  EXPECT_GE(formats[1], 1);
  // The same state again, as if a later version (format 3) had written it.
  const state::LoadedCheckpoint loaded = state::load_checkpoint(all.back().path);
  auto rewrite = [&](const fs::path& to, std::uint32_t newer) {
    state::CheckpointContent c;
    c.id = loaded.id;
    c.max_parallelism = loaded.max_parallelism;
    for (const auto& [key, lo] : loaded.operators) {
      state::OperatorCheckpoint op;
      op.key = key;
      op.uid = lo.uid;
      op.name = lo.name;
      op.format = newer != 0 ? newer : lo.format;
      op.instances.resize(static_cast<std::size_t>(lo.parallelism));
      for (int i = 0; i < lo.parallelism; ++i)
        op.instances[static_cast<std::size_t>(i)].operator_state =
            lo.operator_states[static_cast<std::size_t>(i)];
      for (std::size_t kg = 0; kg < lo.key_groups.size(); ++kg) {
        if (lo.key_groups[kg].empty()) continue;
        const int i =
            instance_of_key_group(static_cast<int>(kg), lo.parallelism, loaded.max_parallelism);
        op.instances[static_cast<std::size_t>(i)].key_group(
            static_cast<int>(kg), loaded.max_parallelism) = lo.key_groups[kg];
      }
      c.operators.push_back(std::move(op));
    }
    state::write_checkpoint(to, c);
    return state::list_checkpoints(to, true).at(0).path.string();
  };
  {
    Pipeline p(options(2, dir / "ck2", rewrite(dir.path() / "newer", 3)));
    build(p, dir / "out");
    try {
      p.run();
      FAIL() << "a checkpoint in format 3 was restored by operators that read formats up to 2";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("format 3"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("reads formats up to"), std::string::npos) << e.what();
    }
  }
  Pipeline p(options(2, dir / "ck3", rewrite(dir.path() / "same", 0)));
  build(p, dir / "out");
  EXPECT_EQ(p.run().restored_checkpoint, loaded.id);
}

TEST(Checkpoints, KeyGroupsAreBounded) {
  PipelineOptions o;
  o.max_parallelism = kMaxKeyGroups + 1;
  EXPECT_THROW(Pipeline{o}, UserError);
  o.max_parallelism = kMaxKeyGroups;
  EXPECT_NO_THROW(Pipeline{o});
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

// A run of build() at `rate`, checkpointing into `ck` with `tolerated`
// failed checkpoints in a row allowed: its result, or what it threw.
struct TolerantRun {
  RunResult result;
  std::string error;
};
TolerantRun run_tolerating(const fs::path& ck, const fs::path& out, int tolerated, double rate) {
  fs::remove_all(out);
  auto o = options(2, ck.string());
  o.tolerable_checkpoint_failures = tolerated;
  Pipeline p(o);
  build(p, out.string(), rate);
  TolerantRun r;
  try {
    r.result = p.run();
  } catch (const std::exception& e) {
    r.error = e.what();
  }
  return r;
}

// Checkpoints that cannot be written fail one by one while the job goes on
// (--tolerable-checkpoint-failures): its output is the plain run's, and the
// checkpoint before the failures restores, at another parallelism, to the
// same output again.
TEST(Checkpoints, FailedCheckpointsAreToleratedAndTheNextOneCoversThem) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  runnel::testing::ScratchDir run;
  const fs::path ck = run.path() / "ck";
  TolerantRun t;
  // At least two failures must fall inside the run.
  at_slower_rates_until([&] { return !t.error.empty() || t.result.checkpoints_failed >= 2; },
                        [&](double rate) {
                          fs::remove_all(ck);
                          fs::remove_all(run.path() / "saved");
                          runnel::testing::CheckpointSaboteur saboteur(ck, run.path() / "saved");
                          t = run_tolerating(ck, run.path() / "out", 1000, rate);
                        });
  EXPECT_EQ(t.error, "");
  const RunResult& r = t.result;
  EXPECT_GE(r.checkpoints_failed, 2u);
  EXPECT_GE(r.checkpoints, 1u);
  expect_plain_outputs(run / "out", plain);

  // What is in the directory is whole (a checkpoint cut short by the move
  // is not complete, and is not restored).
  auto all = state::list_checkpoints(ck, true);
  std::int64_t latest = -1;
  for (const auto& c : all) {
    if (c.valid) latest = c.id;
  }
  ASSERT_GT(latest, 0);
  Pipeline p(options(3, ck.string(), "latest"));
  build(p, run / "out");
  RunResult restored = p.run();
  EXPECT_EQ(restored.restored_checkpoint, latest);
  expect_plain_outputs(run / "out", plain);
}

// Runs the checkpointed job at `rate` while another run claims its
// checkpoint directory once two checkpoints are complete; the job's
// FencedError, or "" when it ended first.
std::string run_taken_over(const fs::path& ck, const std::string& out, double rate) {
  fs::remove_all(ck);
  fs::remove_all(out);
  std::atomic<bool> ended{false};
  std::thread taker([&] {
    while (!ended.load()) {
      std::int64_t newest = 0;
      for (const auto& c : state::list_checkpoints(ck, false))
        if (c.valid) newest = std::max(newest, c.id);
      if (newest >= 2) {
        state::claim_checkpoints(ck);
        return;
      }
      std::this_thread::sleep_for(2ms);
    }
  });
  struct Join {
    std::atomic<bool>& ended;
    std::thread& t;
    ~Join() {
      ended = true;
      t.join();
    }
  } join{ended, taker};
  try {
    Pipeline p(options(2, ck));
    build(p, out, rate);
    p.run();
  } catch (const state::FencedError& e) {
    return e.what();
  }
  return "";
}

// A run whose checkpoint directory another run claimed (a member of a
// scaled-out job that stalled past its Kafka session while another member
// took its shard) is fenced at its next checkpoint: it completes none and
// publishes nothing more. The new owner resumes from what the directory
// holds, and the output is exactly the plain run's.
TEST(Checkpoints, ARunTakenOverIsFencedAndTheNewOwnerEndsExactlyOnce) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  runnel::testing::ScratchDir run;
  const fs::path ck = run.path() / "ck";
  std::string error;
  at_slower_rates_until([&] { return !error.empty(); },
                        [&](double rate) { error = run_taken_over(ck, run / "out", rate); },
                        10'000);
  EXPECT_NE(error.find("fenced before"), std::string::npos) << error;
  EXPECT_NE(error.find("claimed by another run"), std::string::npos) << error;
  Pipeline p(options(2, ck, "latest"));
  build(p, run / "out");
  const RunResult r = p.run();
  EXPECT_GE(r.restored_checkpoint, 2);
  expect_plain_outputs(run / "out", plain);
}

// One failure more than tolerated fails the job, naming the checkpoint, why
// it failed and the tolerance.
TEST(Checkpoints, OneFailureMoreThanToleratedFailsTheJob) {
  runnel::testing::ScratchDir run;
  const fs::path ck = run.path() / "ck";
  std::string error;
  at_slower_rates_until([&] { return !error.empty(); },
                        [&](double rate) {
                          fs::remove_all(ck);
                          fs::remove_all(run.path() / "saved");
                          runnel::testing::CheckpointSaboteur saboteur(ck, run.path() / "saved");
                          error = run_tolerating(ck, run.path() / "out", 1, rate).error;
                        });
  EXPECT_NE(error.find("failed: checkpoint: cannot create"), std::string::npos) << error;
  EXPECT_NE(error.find("2 in a row failed; --tolerable-checkpoint-failures is 1"),
            std::string::npos)
      << error;
}

// A full disk under the checkpoint directory: a small tmpfs, filled up.
// Mounting needs root (CAP_SYS_ADMIN); elsewhere the test skips.
// A disk that is full fails each checkpoint with the system's reason; the
// job goes on to the plain run's output while failures are tolerated, and
// stops, saying why, once they are not.
TEST(Checkpoints, ADiskThatIsFullFailsCheckpointsAndTheJobGoesOn) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  runnel::testing::ScratchDir run;
  runnel::testing::FullDisk disk(run.path() / "ck");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  const fs::path ck = run.path() / "ck";
  TolerantRun t;
  at_slower_rates_until(
      [&] { return !t.error.empty() || t.result.checkpoints_failed >= 2; },
      [&](double rate) { t = run_tolerating(ck, run.path() / "out", 1000, rate); });
  EXPECT_EQ(t.error, "");
  const RunResult& r = t.result;
  EXPECT_GE(r.checkpoints_failed, 2u);
  EXPECT_EQ(r.checkpoints, 0u);
  expect_plain_outputs(run / "out", plain);

  std::string error;
  at_slower_rates_until(
      [&] { return !error.empty(); },
      [&](double rate) { error = run_tolerating(ck, run.path() / "out", 1, rate).error; });
  EXPECT_NE(error.find(std::strerror(ENOSPC)), std::string::npos) << error;
  EXPECT_NE(error.find("--tolerable-checkpoint-failures is 1"), std::string::npos) << error;
}

// The output disk fills mid-run: the job stops with the system's reason and
// the file's path; what it had published is whole (every line one of the
// plain run's, none cut short; pending parts are not published); and once
// there is room again, a restore of the latest checkpoint finishes to
// exactly the plain run's output.
TEST(Checkpoints, AFullOutputDiskStopsTheJobAndARestoreAfterIsExact) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  runnel::testing::ScratchDir run;
  runnel::testing::FullDisk disk(run.path() / "disk", 4096, 96);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  const fs::path out = run.path() / "disk" / "out";
  const fs::path ck = run.path() / "ck";
  std::string error;
  std::uint64_t checkpoints = 0;
  at_slower_rates_until(
      [&] { return !error.empty() && !state::list_checkpoints(ck, true).empty(); },
      [&](double rate) {
        fs::remove_all(out);
        fs::remove_all(ck);
        Pipeline p(options(2, ck.string()));
        build(p, out.string(), rate);
        try {
          checkpoints = p.run().checkpoints;
        } catch (const UserError& e) {
          error = e.what();
        }
      });
  ASSERT_NE(error, "") << "the output fitted: " << checkpoints << " checkpoints";
  EXPECT_NE(error.find(std::strerror(ENOSPC)), std::string::npos) << error;
  EXPECT_NE(error.find(out.string()), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(out / "windows" / "_SUCCESS"));
  const std::pair<const char*, const std::vector<std::string>*> sinks[] = {
      {"windows", &plain.windows}, {"totals", &plain.totals},
      {"running", &plain.running}, {"window_state", &plain.window_state},
      {"untimed", &plain.untimed}, {"sessions", &plain.sessions},
      {"side", &plain.side}};
  for (const auto& [name, lines] : sinks) {
    if (!fs::exists(out / name)) continue;
    std::multiset<std::string> left(lines->begin(), lines->end());
    for (const auto& line : runnel::testing::read_part_lines(out / name)) {
      auto it = left.find(line);
      EXPECT_NE(it, left.end()) << name << ": published '" << line << "', not the plain run's";
      if (it != left.end()) left.erase(it);
    }
  }
  fs::remove(run.path() / "disk" / "fill");
  std::int64_t latest = -1;
  for (const auto& c : state::list_checkpoints(ck, true))
    if (c.valid) latest = c.id;
  Pipeline p(options(2, ck.string(), "latest"));
  build(p, out.string());
  EXPECT_EQ(p.run().restored_checkpoint, latest);
  expect_plain_outputs(out, plain);
}

// The checkpoint directory turns read-only mid-run (a read-only bind mount
// put over it, as a remount after a disk error does) and writable again:
// the checkpoints meanwhile fail with the system's reason and are
// tolerated, the job goes on to the plain run's output, later checkpoints
// complete again, and the latest restores to the same output.
TEST(Checkpoints, ACheckpointDirectoryThatTurnsReadOnlyAndBackIsTolerated) {
  runnel::testing::ScratchDir dir;
  const PlainOutputs plain = plain_run(dir);
  runnel::testing::ScratchDir run;
  const fs::path ck = run.path() / "ck";
  fs::create_directories(ck);
  if (::mount(ck.c_str(), ck.c_str(), nullptr, MS_BIND, nullptr) != 0)
    GTEST_SKIP() << "cannot bind-mount: " << std::strerror(errno);
  ::umount2(ck.c_str(), MNT_DETACH);
  TolerantRun t;
  std::uint64_t completed_after = 0;
  at_slower_rates_until(
      [&] { return t.error.empty() && t.result.checkpoints_failed >= 1 && completed_after >= 1; },
      [&](double rate) {
        for (const auto& c : state::list_checkpoints(ck, false)) fs::remove_all(c.path);
        std::atomic<bool> ended{false};
        std::uint64_t before = 0;
        std::thread fault([&] {
          auto count = [&] { return state::list_checkpoints(ck, true).size(); };
          while (!ended && count() < 2) std::this_thread::sleep_for(5ms);
          if (ended) return;
          ::mount(ck.c_str(), ck.c_str(), nullptr, MS_BIND, nullptr);
          ::mount(nullptr, ck.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr);
          std::this_thread::sleep_for(200ms);
          before = count();
          ::umount2(ck.c_str(), MNT_DETACH);
        });
        t = run_tolerating(ck, run.path() / "out", 1000, rate);
        ended = true;
        fault.join();
        const std::uint64_t total = state::list_checkpoints(ck, true).size();
        completed_after = total > before ? total - before : 0;
      });
  EXPECT_EQ(t.error, "");
  EXPECT_GE(t.result.checkpoints_failed, 1u);
  EXPECT_GE(completed_after, 1u) << "no checkpoint completed after the directory was writable";
  expect_plain_outputs(run / "out", plain);
  std::int64_t latest = -1;
  for (const auto& c : state::list_checkpoints(ck, true))
    if (c.valid) latest = c.id;
  Pipeline p(options(2, ck.string(), "latest"));
  build(p, run / "out");
  EXPECT_EQ(p.run().restored_checkpoint, latest);
  expect_plain_outputs(run / "out", plain);
}

}  // namespace

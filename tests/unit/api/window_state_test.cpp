// The window state of a keyed combine (WindowState), on the memory backend
// and on RocksDB: every cell whose deadline is due fires, whatever order the
// deadlines were armed in; accumulating panes read the kept accumulator;
// checkpoints of either backend restore on either. The RocksDB state runs
// with its usual cache, with one that writes every row back and forgets it
// at once (each row is then read from the store whenever it is touched), and
// with one that writes changed rows back at every lookup and keeps them.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <runnel/combiners.hpp>
#include <runnel/detail/window_state.hpp>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace runnel::detail {
namespace {
using namespace std::chrono_literals;

using Sum = combiners::Sum<long>;

// Makes a window state from a CombineFn and a strategy, its database (if
// any) under dir/name.
template <StateBackend kBackend, std::size_t kCacheBytes = std::size_t{64} << 20,
          std::size_t kWriteBackBytes = std::size_t{32} << 20>
struct Backend {
  template <bool kMerging = false, class CF>
  static auto make(const CF& cf, const WindowingStrategy& ws, const testing::ScratchDir& dir,
                   const std::string& name = "a") {
    InstanceContext ctx;
    ctx.state_backend = kBackend;
    ctx.state_dir = dir.path() / name;
    std::filesystem::create_directories(ctx.state_dir);
    ctx.uid = "combine";
    ctx.memory_budget = kCacheBytes;
    return std::make_unique<WindowState<std::string, CF, kMerging>>(cf, ws, ctx, kWriteBackBytes);
  }
};
using InMemory = Backend<StateBackend::kMemory>;
using OnRocksDbCached = Backend<StateBackend::kRocksDB>;
using OnRocksDbUncached = Backend<StateBackend::kRocksDB, 1>;  // every lookup evicts the cache
// Every lookup writes the changed rows back first, and keeps them cached.
using OnRocksDbWritingBack = Backend<StateBackend::kRocksDB, std::size_t{64} << 20, 1>;

template <class B>
class WindowStates : public ::testing::Test {
 protected:
  testing::ScratchDir dir_;
};
using Backends =
    ::testing::Types<InMemory, OnRocksDbCached, OnRocksDbUncached, OnRocksDbWritingBack>;
TYPED_TEST_SUITE(WindowStates, Backends);

// A checkpoint of `from` (native or records by key group) restored into `to`.
template <class From, class To>
void checkpoint_into(From& from, To& to, std::int64_t id = 1) {
  OperatorSnapshot snap;
  from.snapshot(id, snap);
  snap.wait_written();
  RestoredState in;
  in.checkpoint_id = id;
  in.operator_states = {snap.operator_state};
  in.native_dirs = {snap.native_dir};
  for (std::size_t kg = 0; kg < snap.key_groups.size(); ++kg) {
    if (!snap.key_groups[kg].empty())
      in.key_groups.emplace_back(static_cast<int>(kg), snap.key_groups[kg]);
  }
  to.restore(in);
}

// Adds 1 for `key` in window w at processing time `now`.
template <class State>
void add(State& state, const Window& w, const std::string& key, Timestamp now) {
  state.add(
      w, key, Hash<std::string>{}(key), [&] { return key; }, [](auto& acc) { acc += 1; }, now,
      [](const Window&, const std::string&, auto&&, const PaneInfo&) {});
}

TYPED_TEST(WindowStates, DueCellsFireEvenWhenArmedBehindALaterDeadline) {
  // Early panes every 10 s, late panes 1 s after late data: a late cell armed
  // after an early one has the earlier deadline.
  WindowingStrategy ws;
  ws.windowing.trigger = triggers::after_watermark()
                             .with_early(triggers::after_processing_time(10s))
                             .with_late(triggers::after_processing_time(1s));
  ws.windowing.allowed_lateness = 1h;
  const Sum sum;  // outlives the state, which refers to it
  auto state = TypeParam::make(sum, ws, this->dir_);
  const Window closed{0, 1000};   // the watermark has passed it: late data
  const Window open{1000, 2000};  // still open: early firings
  state->on_watermark(1500, [](const Window&, const std::string&, long, const PaneInfo&) {});

  add(*state, closed, "x", 0);  // late: due at 1,000
  add(*state, open, "y", 1);    // early: due at 10,001
  add(*state, closed, "z", 2);  // late: due at 1,002

  std::set<std::pair<std::string, long>> fired;
  state->on_processing_time(1100,
                            [&](const Window& w, const std::string& key, long n, const PaneInfo&) {
                              EXPECT_EQ(w, closed);
                              fired.emplace(key, n);
                            });
  EXPECT_EQ(fired, (std::set<std::pair<std::string, long>>{{"x", 1}, {"z", 1}}));

  fired.clear();
  state->on_processing_time(10001,
                            [&](const Window& w, const std::string& key, long n, const PaneInfo&) {
                              EXPECT_EQ(w, open);
                              fired.emplace(key, n);
                            });
  EXPECT_EQ(fired, (std::set<std::pair<std::string, long>>{{"y", 1}}));
}

TYPED_TEST(WindowStates, SessionsFireTheEarlyPanesOfDueKeys) {
  // Early panes 1 s after a session's first element; merged sessions keep
  // one deadline; a key whose deadline is later does not fire with them.
  WindowingStrategy ws;
  ws.merging = true;
  ws.windowing.trigger =
      triggers::after_watermark().with_early(triggers::after_processing_time(1s));
  ws.windowing.accumulation = Accumulation::kAccumulating;
  const Sum sum;
  auto state = TypeParam::template make<true>(sum, ws, this->dir_);
  add(*state, Window{0, 100}, "a", 0);    // due at 1,000
  add(*state, Window{50, 150}, "a", 10);  // merges: [0, 150)
  add(*state, Window{0, 100}, "b", 600);  // due at 1,600
  std::vector<std::tuple<std::string, Window, long>> fired;
  auto emit = [&](const Window& w, const std::string& key, long n, const PaneInfo& p) {
    EXPECT_EQ(p.timing, PaneInfo::Timing::kEarly);
    fired.emplace_back(key, w, n);
  };
  state->on_processing_time(1000, emit);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0], std::make_tuple(std::string("a"), Window{0, 150}, 2L));
  state->on_processing_time(1600, emit);
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[1], std::make_tuple(std::string("b"), Window{0, 100}, 1L));
  state->on_processing_time(5000, emit);  // nothing new since: no pane
  EXPECT_EQ(fired.size(), 2u);
  // The watermark closes both: on-time panes, each the key's second (the
  // early firings were kept, also by a state that wrote the row back).
  std::set<std::tuple<std::string, long, std::uint32_t>> closed;
  state->on_watermark(1000, [&](const Window&, const std::string& key, long n, const PaneInfo& p) {
    EXPECT_EQ(p.timing, PaneInfo::Timing::kOnTime);
    closed.emplace(key, n, p.index);
  });
  EXPECT_EQ(closed,
            (std::set<std::tuple<std::string, long, std::uint32_t>>{{"a", 2, 1}, {"b", 1, 1}}));
}

// A count whose accumulator counts its copies, and whose extract_output
// reads a const accumulator.
struct Copies {
  long n = 0;
  static inline int copies = 0;
  Copies() = default;
  Copies(const Copies& o) : n(o.n) { ++copies; }
  Copies(Copies&&) = default;
  Copies& operator=(const Copies& o) {
    n = o.n;
    ++copies;
    return *this;
  }
  Copies& operator=(Copies&&) = default;
  Copies& operator+=(long d) {
    n += d;
    return *this;
  }
  auto fields() { return std::tie(n); }
  auto fields() const { return std::tie(n); }
};
struct CountReadInPlace {
  using Accumulator = Copies;
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, long) const { acc.n += 1; }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const { acc.n += o.n; }
  long extract_output(const Accumulator& acc) const { return acc.n; }
};

TYPED_TEST(WindowStates, AccumulatingUpsertsOfTheGlobalWindowCarryTheRunningTotal) {
  WindowingStrategy ws;
  ws.windowing.trigger = triggers::repeatedly(triggers::after_processing_time(1s));
  ws.windowing.accumulation = Accumulation::kAccumulating;
  const CountReadInPlace count;
  auto state = TypeParam::make(count, ws, this->dir_);
  std::vector<std::pair<std::string, long>> fired;
  auto emit = [&](const Window&, const std::string& key, auto&& acc, const PaneInfo&) {
    fired.emplace_back(key, CountReadInPlace{}.extract_output(acc));
  };
  add(*state, kGlobalWindow, "a", 0);
  add(*state, kGlobalWindow, "a", 10);
  add(*state, kGlobalWindow, "b", 20);
  Copies::copies = 0;
  state->on_processing_time(1020, emit);
  add(*state, kGlobalWindow, "a", 1500);
  state->on_processing_time(1900, emit);  // a's new deadline is 2,500: nothing yet
  state->on_processing_time(2500, emit);
  std::sort(fired.begin(), fired.begin() + 2);
  EXPECT_EQ(fired, (std::vector<std::pair<std::string, long>>{{"a", 2}, {"b", 1}, {"a", 3}}));
  if constexpr (std::is_same_v<TypeParam, InMemory>) {
    EXPECT_EQ(Copies::copies, 0);
  }
}

// A checkpoint restored on either backend: the armed processing-time
// firings (deadline, window, key) and the panes already fired come back
// from the rows.
TYPED_TEST(WindowStates, ArmedFiringsAndFiredPanesComeBackFromTheRows) {
  WindowingStrategy ws;
  ws.windowing.trigger = triggers::repeatedly(triggers::after_processing_time(1s));
  ws.windowing.accumulation = Accumulation::kAccumulating;
  const Sum sum;
  for (int from_rocksdb = 0; from_rocksdb < 2; ++from_rocksdb) {
    SCOPED_TRACE(from_rocksdb ? "from RocksDB" : "from memory");
    testing::ScratchDir dir;
    auto before_memory = InMemory::make(sum, ws, dir, "before");
    auto before_rocksdb = OnRocksDbUncached::make(sum, ws, dir, "before");
    auto run = [&](auto& before) {
      std::vector<std::pair<std::string, long>> fired;
      auto emit = [&](const Window&, const std::string& key, long n, const PaneInfo& p) {
        fired.emplace_back(key + "#" + std::to_string(p.index), n);
      };
      add(before, kGlobalWindow, "a", 0);  // due at 1,000
      add(before, kGlobalWindow, "b", 0);
      before.on_processing_time(1000, emit);  // both fire their first pane
      add(before, kGlobalWindow, "a", 1100);  // due at 2,100
      add(before, kGlobalWindow, "a", 1200);

      auto after = TypeParam::make(sum, ws, dir, "after");
      checkpoint_into(before, *after);
      after->on_processing_time(2100, emit);
      std::sort(fired.begin(), fired.begin() + 2);
      EXPECT_EQ(fired,
                (std::vector<std::pair<std::string, long>>{{"a#0", 1}, {"b#0", 1}, {"a#1", 3}}));
    };
    if (from_rocksdb) {
      run(*before_rocksdb);
    } else {
      run(*before_memory);
    }
  }
}

// Restored from two instances at other watermarks (the lowest is kept): a
// window whose cells all fired on time at one of them still fires the
// on-time pane of a cell that arrives after the restore, when the watermark
// passes the window's end.
TYPED_TEST(WindowStates, ANewCellOfAWindowFiredElsewhereFiresOnTime) {
  WindowingStrategy ws;
  ws.windowing.trigger = triggers::after_watermark();
  ws.windowing.allowed_lateness = 1h;
  const Sum sum;
  const Window w{0, 1000};
  auto none = [](const Window&, const std::string&, long, const PaneInfo&) {};
  auto ahead = InMemory::make(sum, ws, this->dir_, "ahead");
  add(*ahead, w, "old", 0);
  ahead->on_watermark(1500, none);  // fires "old" on time
  auto behind = InMemory::make(sum, ws, this->dir_, "behind");
  behind->on_watermark(500, none);
  OperatorSnapshot a, b;
  ahead->snapshot(1, a);
  behind->snapshot(1, b);
  RestoredState in;
  in.checkpoint_id = 1;
  in.operator_states = {a.operator_state, b.operator_state};
  in.native_dirs = {"", ""};
  for (std::size_t kg = 0; kg < a.key_groups.size(); ++kg) {
    if (!a.key_groups[kg].empty())
      in.key_groups.emplace_back(static_cast<int>(kg), a.key_groups[kg]);
  }
  auto restored = TypeParam::make(sum, ws, this->dir_, "restored");
  restored->restore(in);
  add(*restored, w, "new", 0);
  std::vector<std::pair<std::string, PaneInfo::Timing>> fired;
  restored->on_watermark(1500, [&](const Window&, const std::string& key, long, const PaneInfo& p) {
    fired.emplace_back(key, p.timing);
  });
  EXPECT_EQ(
      fired,
      (std::vector<std::pair<std::string, PaneInfo::Timing>>{{"new", PaneInfo::Timing::kOnTime}}));
}

// A finished instance's last snapshot stands for it in later checkpoints:
// the untimed accumulators it emitted at the end must not be in it.
TYPED_TEST(WindowStates, UntimedRowsGoAsTheyAreEmitted) {
  const Sum sum;
  auto state = TypeParam::make(sum, WindowingStrategy{}, this->dir_, "finish");
  auto add_untimed = [&](const std::string& key, long n) {
    state->add_untimed(
        key, Hash<std::string>{}(key), [&] { return key; }, [&](long& acc) { acc += n; });
  };
  for (std::string key : {"a", "b", "a", "c"}) add_untimed(key, 1);
  OperatorSnapshot taken;
  state->snapshot(1, taken);  // RocksDB: some rows in the store, one changed in the cache
  add_untimed("b", 10);
  std::vector<std::pair<std::string, long>> emitted;
  auto emit = [&](std::string&& key, long&& n) { emitted.emplace_back(key, n); };
  state->finish_untimed(emit);
  std::sort(emitted.begin(), emitted.end());
  EXPECT_EQ(emitted, (std::vector<std::pair<std::string, long>>{{"a", 2}, {"b", 11}, {"c", 1}}));
  emitted.clear();
  state->finish_untimed(emit);
  EXPECT_TRUE(emitted.empty());
  // What a checkpoint after the end holds: nothing to emit again.
  auto restored = InMemory::make(sum, WindowingStrategy{}, this->dir_, "restored");
  checkpoint_into(*state, *restored, 2);
  restored->finish_untimed(emit);
  EXPECT_TRUE(emitted.empty());
}

// Untimed and windowed rows changed in any order (written back as they
// change, or not, or evicted at every lookup): a checkpoint holds every
// change, whichever backend restores it.
TYPED_TEST(WindowStates, ACheckpointHoldsEveryChange) {
  const Sum sum;
  auto state = TypeParam::make(sum, WindowingStrategy{}, this->dir_, "writeback");
  std::map<std::string, long> untimed;
  std::map<std::pair<Timestamp, std::string>, long> cells;
  std::uint64_t x = 12345;
  for (int i = 0; i < 5000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::string key = "k" + std::to_string((x >> 33) % 97);
    const long n = static_cast<long>((x >> 20) % 5) + 1;
    auto add_n = [&](long& acc) { acc += n; };
    if (i % 2 == 0) {
      state->add_untimed(
          key, Hash<std::string>{}(key), [&] { return key; }, add_n);
      untimed[key] += n;
    } else {
      const Timestamp start = static_cast<Timestamp>((x >> 40) % 4) * 1000;
      state->add(
          Window{start, start + 1000}, key, Hash<std::string>{}(key), [&] { return key; }, add_n, 0,
          [](const Window&, const std::string&, auto&&, const PaneInfo&) {});
      cells[{start, key}] += n;
    }
  }
  auto check = [&](auto& copy) {
    std::map<std::pair<Timestamp, std::string>, long> fired;
    copy.on_watermark(1'000'000,
                      [&](const Window& w, const std::string& key, long n, const PaneInfo&) {
                        fired[{w.start, key}] = n;
                      });
    EXPECT_EQ(fired, cells);
    std::map<std::string, long> finished;
    copy.finish_untimed([&](std::string&& key, long&& n) { finished[key] = n; });
    EXPECT_EQ(finished, untimed);
  };
  auto in_memory = InMemory::make(sum, WindowingStrategy{}, this->dir_, "memory-copy");
  checkpoint_into(*state, *in_memory, 1);
  check(*in_memory);
  auto on_rocksdb = OnRocksDbCached::make(sum, WindowingStrategy{}, this->dir_, "rocksdb-copy");
  checkpoint_into(*state, *on_rocksdb, 2);
  check(*on_rocksdb);
  check(*state);
}

}  // namespace
}  // namespace runnel::detail

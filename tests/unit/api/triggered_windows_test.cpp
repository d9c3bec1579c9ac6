// Processing-time firings of both window states (TriggeredWindows in memory,
// KvWindowState on RocksDB): every cell whose deadline is due fires, whatever
// order the deadlines were armed in; accumulating panes read the kept
// accumulator.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include <chrono>
#include <filesystem>
#include <memory>
#include <runnel/combiners.hpp>
#include <runnel/detail/kv_window_state.hpp>
#include <runnel/detail/triggered_windows.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace runnel::detail {
namespace {
using namespace std::chrono_literals;

using Sum = combiners::Sum<long>;

// Makes each window state from a CombineFn and a strategy.
struct InMemory {
  template <class CF>
  static auto make(const CF& cf, const WindowingStrategy& ws) {
    return std::make_unique<TriggeredWindows<std::string, CF>>(cf, ws);
  }
};
struct OnRocksDb {
  static std::filesystem::path dir() {
    return std::filesystem::path(testing::TempDir()) /
           ("kv_window_state_test_" + std::to_string(::getpid()));
  }
  template <class CF>
  static auto make(const CF& cf, const WindowingStrategy& ws) {
    std::filesystem::remove_all(dir());
    return std::make_unique<KvWindowState<std::string, CF>>(cf, ws, dir(), 0, 1, 128);
  }
};

template <class Backend>
class WindowStates : public testing::Test {
 protected:
  // Each test's state is gone by now: its database may go too.
  void TearDown() override { std::filesystem::remove_all(OnRocksDb::dir()); }
};
using Backends = testing::Types<InMemory, OnRocksDb>;
TYPED_TEST_SUITE(WindowStates, Backends);

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
  auto state = TypeParam::make(Sum{}, ws);
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
  auto state = TypeParam::make(CountReadInPlace{}, ws);
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

}  // namespace
}  // namespace runnel::detail

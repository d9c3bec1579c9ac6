// TriggeredWindows' processing-time firings: every cell whose deadline is due
// fires, whatever order the deadlines were armed in.
#include <gtest/gtest.h>

#include <chrono>
#include <runnel/combiners.hpp>
#include <runnel/detail/triggered_windows.hpp>
#include <set>
#include <string>
#include <utility>

namespace runnel::detail {
namespace {
using namespace std::chrono_literals;

using Windows = TriggeredWindows<std::string, combiners::Sum<long>>;

// Adds 1 for `key` in window w at processing time `now`.
void add(Windows& state, const Window& w, const std::string& key, Timestamp now) {
  state.add(
      w, key, Hash<std::string>{}(key), [&] { return key; }, [](long& acc) { acc += 1; }, now,
      [](const Window&, const std::string&, long&&, const PaneInfo&) {});
}

TEST(TriggeredWindows, DueCellsFireEvenWhenArmedBehindALaterDeadline) {
  // Early panes every 10 s, late panes 1 s after late data: a late cell armed
  // after an early one has the earlier deadline.
  WindowingStrategy ws;
  ws.windowing.trigger = triggers::after_watermark()
                             .with_early(triggers::after_processing_time(10s))
                             .with_late(triggers::after_processing_time(1s));
  ws.windowing.allowed_lateness = 1h;
  Windows state(combiners::Sum<long>{}, ws);
  const Window closed{0, 1000};   // the watermark has passed it: late data
  const Window open{1000, 2000};  // still open: early firings
  state.on_watermark(1500, [](const Window&, const std::string&, long&&, const PaneInfo&) {});

  add(state, closed, "x", 0);  // late: due at 1,000
  add(state, open, "y", 1);    // early: due at 10,001
  add(state, closed, "z", 2);  // late: due at 1,002

  std::set<std::pair<std::string, long>> fired;
  state.on_processing_time(1100,
                           [&](const Window& w, const std::string& key, long&& n, const PaneInfo&) {
                             EXPECT_EQ(w, closed);
                             fired.emplace(key, n);
                           });
  EXPECT_EQ(fired, (std::set<std::pair<std::string, long>>{{"x", 1}, {"z", 1}}));

  fired.clear();
  state.on_processing_time(10001,
                           [&](const Window& w, const std::string& key, long&& n, const PaneInfo&) {
                             EXPECT_EQ(w, open);
                             fired.emplace(key, n);
                           });
  EXPECT_EQ(fired, (std::set<std::pair<std::string, long>>{{"y", 1}}));
}

}  // namespace
}  // namespace runnel::detail

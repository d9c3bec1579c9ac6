// Event time and windows in batch mode: timestamps travel with elements,
// window_into assigns windows, grouping and combining work per window.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <runnel/runnel.hpp>

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Reading {
  std::string device;
  std::int64_t time_ms = 0;
  double celsius = 0;
};
RUNNEL_FIELDS(Reading, device, time_ms, celsius);

std::vector<Reading> readings(int n) {
  std::mt19937 rng(3);
  std::vector<Reading> out;
  for (int i = 0; i < n; ++i) {
    // Out of order, and some before the epoch (window starts round down).
    std::int64_t t = static_cast<std::int64_t>(rng() % 600000) - 60000;
    out.push_back(
        Reading{"dev" + std::to_string(rng() % 7), t, static_cast<double>(rng() % 1000) / 10});
  }
  return out;
}

class WindowingTest : public ::testing::TestWithParam<std::tuple<int, bool>> {
 protected:
  PipelineOptions options() const {
    PipelineOptions o;
    o.parallelism = std::get<0>(GetParam());
    o.lift_combiners = std::get<1>(GetParam());
    o.batch_size = 64;
    return o;
  }
};

Timestamp floor_to(Timestamp t, Timestamp size) {
  Timestamp r = t % size;
  return r < 0 ? t - r - size : t - r;
}

TEST_P(WindowingTest, FixedWindowsSumPerKeyAndWindow) {
  auto in = readings(5000);
  Pipeline p(options());
  auto sums = p.create(in)
                  .with_timestamps([](const Reading& r) { return r.time_ms; })
                  .window_into(windows::fixed(1min))
                  .map([](const Reading& r) { return std::make_pair(r.device, r.celsius); })
                  .sum_per_key()
                  .collect();
  p.run();
  std::map<std::pair<Timestamp, std::string>, double> want;
  for (const auto& r : in) want[{floor_to(r.time_ms, 60000), r.device}] += r.celsius;
  ASSERT_EQ(sums.size(), want.size());
  ASSERT_EQ(sums.windows().size(), sums.size());
  for (std::size_t i = 0; i < sums.size(); ++i) {
    const Window& w = sums.windows()[i];
    EXPECT_EQ(w.end - w.start, 60000);
    EXPECT_EQ(sums.timestamps()[i], w.end - 1);  // a window's results are at its last instant
    auto it = want.find({w.start, sums.values()[i].first});
    ASSERT_NE(it, want.end());
    EXPECT_NEAR(sums.values()[i].second, it->second, 1e-6);
  }
}

TEST_P(WindowingTest, SlidingWindowsCountEveryWindowAnElementIsIn) {
  auto in = readings(3000);
  Pipeline p(options());
  auto counts = p.create(in)
                    .with_timestamps([](const Reading& r) { return r.time_ms; })
                    .window_into(windows::sliding(5min, 1min))
                    .key_by(&Reading::device)
                    .count_per_key()
                    .collect();
  p.run();
  std::map<std::pair<Timestamp, std::string>, std::uint64_t> want;
  for (const auto& r : in) {
    Timestamp last = floor_to(r.time_ms, 60000);
    for (Timestamp start = last; start > r.time_ms - 300000; start -= 60000)
      ++want[{start, r.device}];
  }
  ASSERT_EQ(counts.size(), want.size());
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const Window& w = counts.windows()[i];
    EXPECT_EQ(w.end - w.start, 300000);
    EXPECT_EQ((want[{w.start, counts.values()[i].first}]), counts.values()[i].second);
    total += counts.values()[i].second;
  }
  EXPECT_EQ(total, in.size() * 5);
}

TEST_P(WindowingTest, GroupByKeyPerWindowAndElementWiseKeepsTime) {
  Pipeline p(options());
  std::vector<std::pair<std::string, int>> in = {{"a", 1}, {"a", 2}, {"b", 3}, {"a", 4}, {"b", 5}};
  auto timed = p.create(in).with_timestamps(
      [](const std::pair<std::string, int>& kv) { return kv.second * 1000; });
  auto kept = timed.filter([](const auto& kv) { return kv.second != 3; })
                  .map([](std::pair<std::string, int> kv) { return kv.second; })
                  .collect();
  auto groups = timed.window_into(windows::fixed(2s)).group_by_key().collect();
  p.run();
  // map and filter keep each element's timestamp; untouched by windowing: the global window.
  ASSERT_EQ(kept.timestamps().size(), 4u);
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_EQ(kept.timestamps()[i], kept.values()[i] * 1000);
    EXPECT_TRUE(kept.windows()[i].is_global());
  }
  std::map<std::pair<Timestamp, std::string>, std::vector<int>> got;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    auto g = groups.values()[i];
    std::sort(g.second.begin(), g.second.end());
    got[std::make_pair(groups.windows()[i].start, g.first)] = g.second;
  }
  std::map<std::pair<Timestamp, std::string>, std::vector<int>> want = {{{0, "a"}, {1}},
                                                                        {{2000, "a"}, {2}},
                                                                        {{4000, "a"}, {4}},
                                                                        {{2000, "b"}, {3}},
                                                                        {{4000, "b"}, {5}}};
  EXPECT_EQ(got, want);
}

TEST_P(WindowingTest, SessionsMergePerKey) {
  Pipeline p(options());
  // (key, seconds): a's events at 0 and 5 form one session, 30 and 32 another; b is alone.
  std::vector<std::pair<std::string, int>> in = {
      {"a", 30}, {"a", 0}, {"b", 14}, {"a", 5}, {"a", 32}};
  auto sums =
      p.create(in)
          .with_timestamps([](const std::pair<std::string, int>& kv) { return kv.second * 1000; })
          .window_into(windows::sessions(10s))
          .sum_per_key()
          .collect();
  p.run();
  std::map<std::pair<std::string, Window>, int> got;
  for (std::size_t i = 0; i < sums.size(); ++i)
    got[{sums.values()[i].first, sums.windows()[i]}] = sums.values()[i].second;
  std::map<std::pair<std::string, Window>, int> want = {{{"a", Window{0, 15000}}, 5},
                                                        {{"a", Window{30000, 42000}}, 62},
                                                        {{"b", Window{14000, 24000}}, 14}};
  EXPECT_EQ(got, want);
}

TEST_P(WindowingTest, SessionsMatchAReference) {
  auto in = readings(2000);
  const Timestamp gap = 7000;
  Pipeline p(options());
  auto counts = p.create(in)
                    .with_timestamps(
                        [](const Reading& r) { return r.time_ms / 10; })  // dense enough to merge
                    .window_into(windows::sessions(std::chrono::milliseconds(gap)))
                    .key_by(&Reading::device)
                    .count_per_key()
                    .collect();
  p.run();
  // Reference: per device, sorted times; a new session starts when the gap is reached.
  std::map<std::string, std::vector<Timestamp>> times;
  for (const auto& r : in) times[r.device].push_back(r.time_ms / 10);
  std::map<std::pair<std::string, Window>, std::uint64_t> want;
  for (auto& [dev, ts] : times) {
    std::sort(ts.begin(), ts.end());
    Window w{ts[0], ts[0] + gap};
    std::uint64_t n = 0;
    for (Timestamp t : ts) {
      if (t >= w.end) {
        want[{dev, w}] = n;
        w = Window{t, t + gap};
        n = 0;
      }
      w.end = std::max(w.end, t + gap);
      ++n;
    }
    want[{dev, w}] = n;
  }
  std::map<std::pair<std::string, Window>, std::uint64_t> got;
  for (std::size_t i = 0; i < counts.size(); ++i)
    got[{counts.values()[i].first, counts.windows()[i]}] = counts.values()[i].second;
  EXPECT_EQ(got, want);
}

TEST_P(WindowingTest, WindowIntoWithoutEventTimeIsAUserError) {
  Pipeline p(options());
  p.create(std::vector<int>{1, 2, 3}).window_into(windows::fixed(1s)).collect();
  EXPECT_THROW(p.run(), UserError);
}

INSTANTIATE_TEST_SUITE_P(ParallelismAndLifting, WindowingTest,
                         ::testing::Combine(::testing::Values(1, 3), ::testing::Bool()));

TEST(Windows, AssignmentRoundsDownAndSlides) {
  std::vector<Window> out;
  windows::fixed(10s).assign(-1, out);
  EXPECT_EQ(out.back(), (Window{-10000, 0}));
  windows::fixed(10s, 3s).assign(2999, out);
  EXPECT_EQ(out.back(), (Window{-7000, 3000}));
  out.clear();
  windows::sliding(10s, 5s).assign(12000, out);
  EXPECT_EQ(out, (std::vector<Window>{{10000, 20000}, {5000, 15000}}));
  out.clear();
  windows::global().assign(5, out);
  EXPECT_TRUE(out.back().is_global());
}

}  // namespace

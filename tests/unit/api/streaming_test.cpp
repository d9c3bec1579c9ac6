// Streaming mode: watermarks, triggers and panes, allowed lateness and the
// late output, idleness, and that its final results equal batch mode's.
#include <gtest/gtest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <runnel/detail/split_watermarks.hpp>
#include <runnel/runnel.hpp>
#include <sstream>
#include <thread>

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Event {
  std::string key;
  Timestamp time = 0;
  bool operator==(const Event&) const = default;
  bool operator<(const Event& o) const { return std::tie(key, time) < std::tie(o.key, o.time); }
};
RUNNEL_FIELDS(Event, key, time);

// Streaming tests run on both state backends: window state lives in
// memory or in RocksDB, with the same panes.
StateBackend g_backend = StateBackend::kMemory;
class Streaming : public ::testing::TestWithParam<StateBackend> {
 protected:
  void SetUp() override { g_backend = GetParam(); }
  void TearDown() override { g_backend = StateBackend::kMemory; }
};
// Options on the backend under test.
PipelineOptions backend_options() {
  PipelineOptions o;
  o.state_backend = g_backend;
  return o;
}

// One source instance, one element per batch and a watermark after each:
// the arrival order is the order of `events`, so panes are deterministic.
PipelineOptions one_by_one(ExecutionMode mode = ExecutionMode::kStreaming) {
  PipelineOptions o = backend_options();
  o.parallelism = 1;
  o.batch_size = 1;
  o.mode = mode;
  o.watermark_interval = 0ms;
  return o;
}

struct Pane {
  std::string key;
  Window window;
  std::uint64_t count;
  PaneInfo pane;
  bool operator==(const Pane&) const = default;
};

std::vector<Pane> panes_of(const Collected<std::pair<std::string, std::uint64_t>>& c) {
  std::vector<Pane> out;
  for (std::size_t i = 0; i < c.size(); ++i) {
    out.push_back(Pane{c.values()[i].first, c.windows()[i], c.values()[i].second,
                       c.panes().empty() ? PaneInfo{} : c.panes()[i]});
  }
  std::stable_sort(out.begin(), out.end(), [](const Pane& a, const Pane& b) {
    return std::tie(a.key, a.window.start, a.pane.index) <
           std::tie(b.key, b.window.start, b.pane.index);
  });
  return out;
}

std::ostream& operator<<(std::ostream& os, const Pane& p) {
  return os << p.key << " [" << p.window.start << "," << p.window.end << ") n=" << p.count << " "
            << to_string(p.pane.timing) << " #" << p.pane.index << (p.pane.is_first ? " first" : "")
            << (p.pane.is_last ? " last" : "");
}

constexpr auto kEarly = PaneInfo::Timing::kEarly;
constexpr auto kOnTime = PaneInfo::Timing::kOnTime;
constexpr auto kLate = PaneInfo::Timing::kLate;

TEST_P(Streaming, EarlyFiringsThenOnTimeAndLateDataToTheSideOutput) {
  std::vector<Event> events{{"a", 1}, {"a", 2}, {"a", 3}, {"b", 12}, {"a", 4}};
  Pipeline p(one_by_one());
  auto windowed =
      p.create(events)
          .with_timestamps(&Event::time)
          .window_into(
              windows::fixed(10ms),
              Windowing{.trigger = triggers::after_watermark().with_early(triggers::after_count(2)),
                        .accumulation = Accumulation::kAccumulating});
  auto counts = windowed.map([](const Event& e) { return std::make_pair(e.key, 1); })
                    .count_per_key()
                    .collect();
  auto late = windowed.late().collect();
  RunResult r = p.run();
  EXPECT_TRUE(r.streaming);
  std::vector<Pane> want{
      {"a", {0, 10}, 2, {kEarly, true, false, 0}},
      {"a", {0, 10}, 3, {kOnTime, false, true, 1}},  // accumulating: all three
      {"b", {10, 20}, 1, {kOnTime, true, true, 0}},
  };
  EXPECT_EQ(panes_of(counts), want);
  // a@4 came after the watermark (11) passed its window's end (9), lateness 0.
  EXPECT_EQ(late.values(), (std::vector<Event>{{"a", 4}}));
  EXPECT_EQ(r.late_records, 1u);
}

TEST_P(Streaming, AllowedLatenessFiresLatePanesThenDiverts) {
  std::vector<Event> events{{"a", 1}, {"b", 12}, {"a", 4}, {"b", 16}, {"a", 5}};
  Pipeline p(one_by_one());
  auto windowed = p.create(events)
                      .with_timestamps(&Event::time)
                      .window_into(windows::fixed(10ms), Windowing{.allowed_lateness = 5ms});
  auto counts = windowed.map([](const Event& e) { return std::make_pair(e.key, 1); })
                    .count_per_key()
                    .collect();
  auto late = windowed.late().collect();
  p.run();
  std::vector<Pane> want{
      // On time at watermark 11; not last: data may come until the watermark reaches 14.
      {"a", {0, 10}, 1, {kOnTime, true, false, 0}},
      // a@4 at watermark 11 is within the lateness: a late pane (discarding: just it).
      {"a", {0, 10}, 1, {kLate, false, false, 1}},
      {"b", {10, 20}, 2, {kOnTime, true, true, 0}},
  };
  EXPECT_EQ(panes_of(counts), want);
  // a@5 at watermark 15: 9 + 5 <= 15, too late.
  EXPECT_EQ(late.values(), (std::vector<Event>{{"a", 5}}));
}

TEST_P(Streaming, RepeatedCountTriggerInTheGlobalWindow) {
  std::vector<Event> events;
  for (int i = 0; i < 7; ++i) events.push_back({"k", i});
  Pipeline p(one_by_one());
  auto counts =
      p.create(events)
          .with_timestamps(&Event::time)
          .window_into(windows::global(),
                       Windowing{.trigger = triggers::repeatedly(triggers::after_count(3))})
          .map([](const Event& e) { return std::make_pair(e.key, 1); })
          .count_per_key()
          .collect();
  p.run();
  std::vector<Pane> want{
      {"k", kGlobalWindow, 3, {kEarly, true, false, 0}},
      {"k", kGlobalWindow, 3, {kEarly, false, false, 1}},
      // The end of the input closes the global window with what is pending.
      {"k", kGlobalWindow, 1, {kOnTime, false, true, 2}},
  };
  EXPECT_EQ(panes_of(counts), want);
}

TEST_P(Streaming, SessionsMergeAcrossOutOfOrderArrivals) {
  std::vector<Event> events{{"a", 0}, {"a", 20}, {"b", 3}, {"a", 10}, {"a", 100}};
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    Pipeline p(one_by_one(mode));
    auto counts = p.create(events)
                      .with_timestamps(&Event::time, watermarks::bounded_out_of_orderness(30ms))
                      .window_into(windows::sessions(15ms))
                      .map([](const Event& e) { return std::make_pair(e.key, 1); })
                      .count_per_key()
                      .collect();
    p.run();
    auto got = panes_of(counts);
    std::vector<Pane> want{
        // [0,15) and [20,35) are joined by [10,25), which arrived last.
        {"a", {0, 35}, 3, {}},
        {"a", {100, 115}, 1, {}},
        {"b", {3, 18}, 1, {}},
    };
    EXPECT_EQ(got, want) << (mode == ExecutionMode::kBatch ? "batch" : "streaming");
  }
}

TEST_P(Streaming, ResultsAreEmittedBeforeTheInputEnds) {
  // Each result records how many elements the source had read when the
  // result was made: in streaming mode the first window's result comes while
  // the source is still reading; in batch mode only after it has read all.
  std::vector<Event> events;
  for (int i = 0; i < 5000; ++i) events.push_back({"k", i});
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    auto read = std::make_shared<std::atomic<int>>(0);
    Pipeline p(one_by_one(mode));
    auto seen = p.create(events)
                    .map([read](const Event& e) {
                      read->fetch_add(1);
                      return e;
                    })
                    .with_timestamps(&Event::time)
                    .window_into(windows::fixed(100ms))
                    .map([](const Event& e) { return std::make_pair(e.key, 1); })
                    .count_per_key()
                    .map([read](const auto& kv) { return std::make_pair(kv.second, read->load()); })
                    .collect();
    p.run();
    ASSERT_EQ(seen.size(), 50u);
    int first_seen = 5000;
    for (const auto& [count, when] : seen.values()) {
      EXPECT_EQ(count, 100u);
      first_seen = std::min(first_seen, when);
    }
    if (mode == ExecutionMode::kStreaming) {
      EXPECT_LT(first_seen, 1000);
      ASSERT_EQ(seen.panes().size(), 50u);
      for (const auto& pane : seen.panes()) EXPECT_EQ(pane.timing, kOnTime);
    } else {
      EXPECT_EQ(first_seen, 5000);
      EXPECT_TRUE(seen.panes().empty());
    }
  }
}

TEST_P(Streaming, WordCountWithoutEventTimeMatchesBatch) {
  std::vector<std::string> words;
  for (int i = 0; i < 5000; ++i) words.push_back("w" + std::to_string(i % 37));
  std::vector<std::pair<std::string, std::uint64_t>> results[2];
  for (int m = 0; m < 2; ++m) {
    PipelineOptions o = backend_options();
    o.parallelism = 2;
    o.batch_size = 64;
    o.mode = m == 0 ? ExecutionMode::kBatch : ExecutionMode::kStreaming;
    Pipeline p(o);
    auto c = p.create(words).count_per_element().collect();
    p.run();
    results[m] = c.sorted();
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0].size(), 37u);
}

TEST(SplitWatermarks, MinimumOverSplitsAndIdleSplitsStopHoldingItBack) {
  detail::SplitWatermarks wm(watermarks::bounded_out_of_orderness(10ms).with_idleness(100ms));
  Timestamp now = detail::wall_clock_ms();
  wm.observe(0, 1000, now);
  wm.observe(1, 500, now);
  EXPECT_EQ(wm.current(now), 489);  // split 1 holds it back: 500 - 10 - 1
  wm.observe(0, 2000, now + 60);
  EXPECT_EQ(wm.current(now + 60), 489);
  // Split 1 has been quiet for 100 ms: only split 0 counts.
  EXPECT_EQ(wm.current(now + 100), 1989);
  // When it speaks again it counts again, but the watermark never goes back.
  wm.observe(1, 600, now + 120);
  EXPECT_EQ(wm.current(now + 120), 1989);
  // An ended split no longer counts.
  wm.end(0);
  wm.observe(1, 3000, now + 130);
  EXPECT_EQ(wm.current(now + 130), 2989);
  // Everything quiet: the reader is idle.
  EXPECT_EQ(wm.current(now + 400), kIdleWatermark);
}

TEST(SplitWatermarks, ASplitThatEndedBeforeAnyWatermarkStillCounts) {
  // Read and ended between two watermark ticks: the reader's watermark is
  // what the split reached, not the minimum.
  detail::SplitWatermarks wm(watermarks::bounded_out_of_orderness(5ms));
  Timestamp now = detail::wall_clock_ms();
  wm.observe(3, 1000, now);
  wm.end(3);
  EXPECT_EQ(wm.current(now), 994);
}

Event make_event(const io::GeneratedEvent& g) {
  return Event{"k" + std::to_string(g.random % 13), g.time};
}

TEST_P(Streaming, BatchModeRefusesAnUnboundedSource) {
  PipelineOptions o = backend_options();
  o.mode = ExecutionMode::kBatch;
  Pipeline p(o);
  p.read(io::generator<Event>({}, make_event)).collect();
  try {
    p.run();
    FAIL() << "ran an unbounded source in batch mode";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'generator' never ends"), std::string::npos) << e.what();
  }
  // Auto mode picks streaming for it.
  Pipeline q;
  q.read(io::generator<Event>({}, make_event)).collect();
  EXPECT_TRUE(q.streaming());
}

TEST_P(Streaming, GeneratorShardsOutOfOrderGiveBatchResultsInStreamingMode) {
  io::GeneratorOptions g{.events = 20000,
                         .shards = 3,
                         .seed = 7,
                         .step_us = 100,
                         .max_delay = std::chrono::milliseconds(50)};
  std::map<std::pair<Timestamp, std::string>, std::uint64_t> want;
  for (std::uint64_t i = 0; i < g.events; ++i) {
    Event e = make_event(io::generated_event(g, 3, i));
    Timestamp start = e.time - ((e.time % 100) + 100) % 100;
    ++want[{start, e.key}];
  }
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    PipelineOptions o = backend_options();
    o.parallelism = 2;
    o.batch_size = 50;
    o.mode = mode;
    o.watermark_interval = 0ms;
    Pipeline p(o);
    auto windowed = p.read(io::generator<Event>(g, make_event))
                        .with_timestamps(&Event::time, watermarks::bounded_out_of_orderness(50ms))
                        .window_into(windows::fixed(100ms));
    auto counts = windowed.map([](const Event& e) { return std::make_pair(e.key, 1); })
                      .count_per_key()
                      .collect();
    auto late = windowed.late().collect();
    RunResult r = p.run();
    std::map<std::pair<Timestamp, std::string>, std::uint64_t> got;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      got[{counts.windows()[i].start, counts.values()[i].first}] += counts.values()[i].second;
    }
    EXPECT_EQ(got, want) << (mode == ExecutionMode::kBatch ? "batch" : "streaming");
    EXPECT_EQ(late.size(), 0u);
    EXPECT_EQ(r.records_in, g.events);
    if (mode == ExecutionMode::kStreaming) {
      // One pane per window and key: nothing was late, nothing fired twice.
      EXPECT_EQ(counts.size(), want.size());
    }
  }
}

// More keys than the RocksDB backend caches (its share of a 4 MiB budget in
// streaming mode): rows are written back and read again, and windows fire
// from the database; sessions too. Streaming results equal batch mode's on
// either backend.
TEST_P(Streaming, MoreKeysThanTheStateCacheHolds) {
  // A third of everything under TSan, whose ten-fold slowdown took this test
  // past six minutes of CI's ten: keys still outnumber what the budget caches.
#ifdef __SANITIZE_THREAD__
  constexpr std::uint64_t kScale = 3;
#else
  constexpr std::uint64_t kScale = 1;
#endif
  constexpr std::uint64_t kKeys = 150000 / kScale;
  io::GeneratorOptions g{.events = 400000 / kScale, .shards = 2, .seed = 3, .step_us = 5 * kScale};
  auto keyed = [](const io::GeneratedEvent& e) {
    return Event{"k" + std::to_string(e.random % kKeys), e.time};
  };
  using Counts = std::map<std::tuple<Timestamp, Timestamp, std::string>, std::uint64_t>;
  auto run = [&](ExecutionMode mode, bool sessions) {
    PipelineOptions o = backend_options();
    o.parallelism = 2;
    o.mode = mode;
    if (mode == ExecutionMode::kStreaming) o.memory_budget = (std::size_t{4} << 20) / kScale;
    Pipeline p(o);
    auto timed = p.read(io::generator<Event>(g, keyed))
                     .with_timestamps(&Event::time, watermarks::bounded_out_of_orderness(0ms));
    auto windowed = sessions ? timed.window_into(windows::sessions(300ms))
                             : timed.window_into(windows::fixed(1s));
    auto counts = windowed.map([](const Event& e) { return std::make_pair(e.key, 1); })
                      .count_per_key()
                      .collect();
    p.run();
    Counts got;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      const Window& w = counts.windows()[i];
      got[{w.start, w.end, counts.values()[i].first}] += counts.values()[i].second;
    }
    return got;
  };
  for (bool sessions : {false, true}) {
    Counts batch = run(ExecutionMode::kBatch, sessions);
    EXPECT_GT(batch.size(), kKeys);
    EXPECT_EQ(run(ExecutionMode::kStreaming, sessions), batch) << (sessions ? "sessions" : "fixed");
  }
}

}  // namespace

namespace {
// A DoFn that sees each result's window and pane.
struct Describe : runnel::DoFn<std::pair<std::string, std::uint64_t>, std::string> {
  void process(const std::pair<std::string, std::uint64_t>& kv, const runnel::ElementContext& c,
               runnel::Emitter<std::string>& out) {
    out.emit(kv.first + "@" + std::to_string(c.window.start) + "-" + std::to_string(c.window.end) +
             ":" + std::to_string(kv.second) + " " + runnel::to_string(c.pane.timing) +
             " ts=" + std::to_string(c.timestamp));
  }
};

TEST_P(Streaming, DoFnsSeeTheWindowAndPaneOfEachElement) {
  using namespace runnel;
  std::vector<Event> events{{"a", 1}, {"a", 2}, {"b", 12}};
  Pipeline p(one_by_one());
  auto lines = p.create(events)
                   .with_timestamps(&Event::time)
                   .window_into(windows::fixed(10ms))
                   .map([](const Event& e) { return std::make_pair(e.key, 1); })
                   .count_per_key()
                   .par_do(Describe{})
                   .collect();
  p.run();
  EXPECT_EQ(lines.sorted(),
            (std::vector<std::string>{"a@0-10:2 on-time ts=9", "b@10-20:1 on-time ts=19"}));
}
}  // namespace

namespace {
TEST(WatchedDirectory, FilesMovedInWhileRunningAreRead) {
  using namespace runnel;
  auto dir =
      std::filesystem::temp_directory_path() / ("runnel-watch-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "inbox");
  auto drop = [&](const std::string& name, const std::string& text) {
    // Written aside, then moved in: the source never sees a half-written file.
    std::ofstream(dir / ("." + name)) << text;
    std::filesystem::rename(dir / ("." + name), dir / "inbox" / name);
  };
  drop("a.txt", "x y\nx\n");
  std::ofstream(dir / "inbox" / "_ignored.txt") << "z z z\n";
  PipelineOptions o = backend_options();
  o.parallelism = 2;
  Pipeline p(o);
  auto counts = p.read(io::text((dir / "inbox").string()).watch(20ms).stop_when_idle(600ms))
                    .flat_map([](const std::string& line, Emitter<std::string>& out) {
                      std::istringstream in(line);
                      std::string w;
                      while (in >> w) out.emit(w);
                    })
                    .count_per_element()
                    .collect();
  EXPECT_TRUE(p.streaming());
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    drop("b.txt", "y\nq\n");
    std::this_thread::sleep_for(100ms);
    drop("c.txt", "x\n");
  });
  RunResult r = p.run();
  writer.join();
  EXPECT_TRUE(r.streaming);
  EXPECT_EQ(counts.sorted(),
            (std::vector<std::pair<std::string, std::uint64_t>>{{"q", 1}, {"x", 3}, {"y", 2}}));
  std::filesystem::remove_all(dir);
}

TEST(WatchedDirectory, AMissingDirectoryIsAUserError) {
  using namespace runnel;
  Pipeline p;
  p.read(io::text("/nonexistent/inbox").watch()).collect();
  EXPECT_THROW(p.run(), UserError);
}
}  // namespace

namespace {
TEST_P(Streaming, EarlyFiringsOnProcessingTime) {
  // A paced source (200 events over about 800 ms) in one hour-long window:
  // processing-time early panes come every 30 ms while data arrives; the
  // end of the input closes the window with the on-time, last pane. The
  // source runs long enough that a slow start (TSan on a loaded machine
  // once gave a 200 ms source only one early pane) still leaves several.
  using namespace runnel;
  io::GeneratorOptions g{.events = 200, .rate = 250, .shards = 1, .step_us = 1000};
  PipelineOptions o = backend_options();
  o.parallelism = 1;
  o.batch_size = 8;
  o.mode = ExecutionMode::kStreaming;
  Pipeline p(o);
  auto counts = p.read(io::generator<Event>(g,
                                            [](const io::GeneratedEvent& e) {
                                              return Event{"k", e.time};
                                            }))
                    .with_timestamps(&Event::time)
                    .window_into(windows::fixed(1h),
                                 Windowing{.trigger = triggers::after_watermark().with_early(
                                               triggers::after_processing_time(30ms)),
                                           .accumulation = Accumulation::kAccumulating})
                    .map([](const Event& e) { return std::make_pair(e.key, 1); })
                    .count_per_key()
                    .collect();
  p.run();
  auto panes = panes_of(counts);
  ASSERT_GE(panes.size(), 3u);
  std::uint64_t previous = 0;
  for (std::size_t i = 0; i + 1 < panes.size(); ++i) {
    EXPECT_EQ(panes[i].pane.timing, kEarly);
    EXPECT_EQ(panes[i].pane.index, i);
    EXPECT_GT(panes[i].count, previous);  // accumulating: each early pane holds more
    previous = panes[i].count;
  }
  EXPECT_EQ(panes.back().pane.timing, kOnTime);
  EXPECT_TRUE(panes.back().pane.is_last);
  EXPECT_EQ(panes.back().count, 200u);
}
}  // namespace

namespace {
TEST_P(Streaming, AnIdleReaderDoesNotHoldTheWatermarkBack) {
  // Two readers of a watched directory; every file goes to reader 1, so
  // reader 0 never has a split. With an idleness timeout, reader 1's
  // watermark alone completes the first window while the source still runs
  // (before the second file is dropped); without it, only the end would.
  using namespace runnel;
  auto dir = std::filesystem::temp_directory_path() / ("runnel-idle-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "inbox");
  auto name_for_reader_1 = [](const std::string& stem) {
    for (int i = 0;; ++i) {
      std::string name = stem + std::to_string(i) + ".txt";
      if (Hash<std::string>{}(name) % 2 == 1) return name;
    }
  };
  auto drop = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / ("." + name)) << text;
    std::filesystem::rename(dir / ("." + name), dir / "inbox" / name);
  };
  drop(name_for_reader_1("a"), "100\n500\n900\n1500\n");
  auto second_dropped = std::make_shared<std::atomic<bool>>(false);
  auto first_result = std::make_shared<std::atomic<bool>>(false);
  PipelineOptions o = backend_options();
  o.parallelism = 2;
  Pipeline p(o);
  auto results = p.read(io::text((dir / "inbox").string()).watch(10ms).stop_when_idle(1500ms))
                     .map([](const std::string& line) {
                       return Event{"k", std::stoll(line)};
                     })
                     .with_timestamps(&Event::time, watermarks::ascending().with_idleness(50ms))
                     .window_into(windows::fixed(1000ms))
                     .map([](const Event& e) { return std::make_pair(e.key, 1); })
                     .count_per_key()
                     .map([second_dropped, first_result](const auto& kv) {
                       first_result->store(true);
                       return std::make_pair(kv.second, second_dropped->load());
                     })
                     .collect();
  std::thread writer([&] {
    // Wait (up to 5 s) for the first window's result, then drop more.
    for (int i = 0; i < 500 && !first_result->load(); ++i) std::this_thread::sleep_for(10ms);
    second_dropped->store(true);
    drop(name_for_reader_1("b"), "2500\n");
  });
  p.run();
  writer.join();
  auto got = results.values();
  std::sort(got.begin(), got.end());
  ASSERT_EQ(got.size(), 3u);
  // [0,1000): 3 elements, made before the second file was dropped.
  EXPECT_EQ(results.windows().size(), 3u);
  bool first_window_early = false;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results.windows()[i].start == 0) {
      EXPECT_EQ(results.values()[i].first, 3u);
      first_window_early = !results.values()[i].second;
    }
  }
  EXPECT_TRUE(first_window_early) << "the idle reader held the watermark back";
  std::filesystem::remove_all(dir);
}
}  // namespace

namespace {
TEST_P(Streaming, ASplitsEndPassesThroughAFilterBeforeTheTimestamps) {
  // One reader, two files read one after the other: A (event times 0..999),
  // then B (1000..399999, several 1 MiB blocks; the watermark is made after
  // each). A's end must reach with_timestamps through the filter and map in
  // between, or A's watermark (998) would hold the first window back until
  // the end of the input.
  using namespace runnel;
  auto dir =
      std::filesystem::temp_directory_path() / ("runnel-splits-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string a, b;
  for (int t = 0; t < 1000; ++t) a += std::to_string(t) + "\n";
  for (int t = 1000; t < 400000; ++t) b += std::to_string(t) + "\n";
  std::ofstream(dir / "a.txt") << a;
  std::ofstream(dir / "b.txt") << b;
  auto lines_read = std::make_shared<std::atomic<int>>(0);
  PipelineOptions o = backend_options();
  o.parallelism = 1;
  o.batch_size = 64;
  o.mode = ExecutionMode::kStreaming;
  o.watermark_interval = 0ms;
  // No pre-aggregation: every record crosses the exchange, so backpressure
  // keeps the reader close behind the window operator.
  o.lift_combiners = false;
  Pipeline p(o);
  auto results = p.read(io::text(dir.string()))
                     .filter([lines_read](const std::string& line) {
                       lines_read->fetch_add(1);
                       return !line.empty();
                     })
                     .with_timestamps([](const std::string& line) { return std::stoll(line); })
                     .window_into(windows::fixed(1000ms))
                     .map([](const std::string&) { return std::make_pair(std::string("k"), 1); })
                     .count_per_key()
                     .map([lines_read](const auto& kv) {
                       return std::make_pair(kv.second, lines_read->load());
                     })
                     .collect();
  p.run();
  ASSERT_EQ(results.size(), 400u);
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results.values()[i].first, 1000u);
    if (results.windows()[i].start == 0) {
      EXPECT_LT(results.values()[i].second, 400000) << "the first window waited for the end";
    }
  }
  std::filesystem::remove_all(dir);
}
INSTANTIATE_TEST_SUITE_P(Backends, Streaming,
                         ::testing::Values(StateBackend::kMemory, StateBackend::kRocksDB),
                         [](const auto& info) {
                           return info.param == StateBackend::kMemory ? "Memory" : "RocksDB";
                         });
}  // namespace

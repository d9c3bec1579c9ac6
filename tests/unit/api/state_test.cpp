// Stateful DoFns: each state type, timers in order, TTL, windows, and the
// same results in batch and streaming mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <runnel/runnel.hpp>
#include <set>

namespace {
using namespace runnel;
using namespace std::chrono_literals;

using KV = std::pair<std::string, std::int64_t>;

// Every test of the State suite runs on both state backends.
StateBackend g_backend = StateBackend::kMemory;
class State : public ::testing::TestWithParam<StateBackend> {
 protected:
  void SetUp() override { g_backend = GetParam(); }
};

PipelineOptions opts(ExecutionMode mode, int parallelism = 2) {
  PipelineOptions o;
  o.parallelism = parallelism;
  o.mode = mode;
  o.watermark_interval = 1ms;
  o.state_backend = g_backend;
  return o;
}

// Keys a..e, values 0..n-1, event time = value * 10 ms.
std::vector<KV> input(int n) {
  std::vector<KV> v;
  for (int i = 0; i < n; ++i) v.emplace_back(std::string(1, static_cast<char>('a' + i % 5)), i);
  return v;
}

template <class Fn, class Out>
std::vector<Out> run_fn(ExecutionMode mode, Fn fn, int n = 1000, int parallelism = 2) {
  Pipeline p(opts(mode, parallelism));
  auto out = p.create(input(n))
                 .with_timestamps([](const KV& kv) { return kv.second * 10; })
                 .par_do(std::move(fn))
                 .collect();
  p.run();
  auto v = out.values();
  std::sort(v.begin(), v.end());
  return v;
}

// ValueState: a running sum per key, emitted at each element.
struct RunningSum : DoFn<KV, KV> {
  ValueState<std::int64_t> sum{"sum"};
  auto state() { return std::tie(sum); }
  void process(const KV& kv, KeyedContext<std::string>& ctx, Emitter<KV>& out) {
    std::int64_t s = sum.value_or(0) + kv.second;
    sum.write(s);
    EXPECT_EQ(ctx.key(), kv.first);
    out.emit(KV{kv.first, s});
  }
};

TEST_P(State, ValueStateRunningSumPerKey) {
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    auto got = run_fn<RunningSum, KV>(mode, RunningSum{}, 100);
    ASSERT_EQ(got.size(), 100u);
    // Key a holds 0, 5, ..., 95: its final sum is 950 whatever the order.
    EXPECT_TRUE(std::count(got.begin(), got.end(), KV{"a", 950}) == 1);
    EXPECT_TRUE(std::count(got.begin(), got.end(), KV{"e", 1030}) == 1);
  }
}

// ListState and an event-time timer: values buffered per key, emitted sorted
// when the watermark passes the key's last element + 1 s.
struct SortedAtTimer : DoFn<KV, std::string> {
  ListState<std::int64_t> seen{"seen"};
  ValueState<Timestamp> due{"due"};
  auto state() { return std::tie(seen, due); }
  void process(const KV& kv, KeyedContext<std::string>& ctx, Emitter<std::string>& out) {
    seen.add(kv.second);
    if (due.read()) ctx.delete_timer(TimeDomain::kEventTime, *due.read());
    Timestamp t = std::max(due.value_or(0), ctx.timestamp() + 1000);
    due.write(t);
    ctx.set_timer(TimeDomain::kEventTime, t);
    (void)out;
  }
  void on_timer(const std::string& key, Timestamp time, TimeDomain domain,
                KeyedContext<std::string>& ctx, Emitter<std::string>& out) {
    EXPECT_EQ(domain, TimeDomain::kEventTime);
    EXPECT_EQ(ctx.timestamp(), time);
    auto v = seen.read();
    std::sort(v.begin(), v.end());
    std::string line = key + "@" + std::to_string(time) + ":";
    for (auto x : v) line += " " + std::to_string(x);
    out.emit(line);
    seen.clear();
    due.clear();
  }
};

TEST_P(State, ListStateWithEventTimerFiresOncePerKeyWithEverything) {
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    auto got = run_fn<SortedAtTimer, std::string>(mode, SortedAtTimer{}, 50);
    ASSERT_EQ(got.size(), 5u) << (mode == ExecutionMode::kBatch ? "batch" : "streaming");
    EXPECT_EQ(got[0], "a@1450: 0 5 10 15 20 25 30 35 40 45");
    EXPECT_EQ(got[4], "e@1490: 4 9 14 19 24 29 34 39 44 49");
  }
}

// Timers fire in time order across keys (one instance sees them all).
struct TimerOrder : DoFn<KV, std::int64_t> {
  ValueState<bool> armed{"armed"};
  auto state() { return std::tie(armed); }
  void process(const KV& kv, KeyedContext<std::string>& ctx, Emitter<std::int64_t>&) {
    // Reverse order of arrival: later elements set earlier timers.
    ctx.set_timer(TimeDomain::kEventTime, 100'000 - kv.second);
    armed.write(true);
  }
  void on_timer(const std::string&, Timestamp time, TimeDomain, KeyedContext<std::string>&,
                Emitter<std::int64_t>& out) {
    out.emit(time);
  }
};

TEST_P(State, EventTimersFireInTimeOrder) {
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    Pipeline p(opts(mode, 1));
    auto out = p.create(input(200))
                   .with_timestamps([](const KV& kv) { return kv.second * 10; })
                   .par_do(TimerOrder{})
                   .collect();
    p.run();
    auto v = out.values();
    ASSERT_EQ(v.size(), 200u);
    EXPECT_TRUE(std::is_sorted(v.begin(), v.end()));
  }
}

// MapState: distinct values per key (mod 7); ReducingState: the maximum;
// CombiningState: the mean.
struct Stats : DoFn<KV, std::string> {
  MapState<std::int64_t, int> distinct{"distinct"};
  ReducingState<std::int64_t> max{
      "max", [](const std::int64_t& a, const std::int64_t& b) { return std::max(a, b); }};
  CombiningState<combiners::Mean<double>> mean{"mean"};
  auto state() { return std::tie(distinct, max, mean); }
  void process(const KV& kv, KeyedContext<std::string>& ctx, Emitter<std::string>&) {
    distinct.put(kv.second % 7, 1);
    max.add(kv.second);
    mean.add(static_cast<double>(kv.second));
    ctx.set_timer(TimeDomain::kEventTime, kMaxTimestamp - 1);
  }
  void on_timer(const std::string& key, Timestamp, TimeDomain, KeyedContext<std::string>&,
                Emitter<std::string>& out) {
    out.emit(key + " " + std::to_string(distinct.entries().size()) + " " +
             std::to_string(*max.read()) + " " + std::to_string(mean.read()) + " " +
             (distinct.contains(3) ? "has3" : "no3"));
  }
};

TEST_P(State, MapReducingAndCombiningStates) {
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    auto got = run_fn<Stats, std::string>(mode, Stats{}, 100);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[0], "a 7 95 47.500000 has3");
    EXPECT_EQ(got[1], "b 7 96 48.500000 has3");
  }
}

// Per window: a count per key in each 100 ms window, emitted by a timer at
// the window's end; state of closed windows is dropped.
struct WindowCount : DoFn<KV, std::string> {
  ValueState<int> n{"n"};
  auto state() { return std::tie(n); }
  void process(const KV&, KeyedContext<std::string>& ctx, Emitter<std::string>&) {
    n.write(n.value_or(0) + 1);
    ctx.set_timer(TimeDomain::kEventTime, ctx.window().max_timestamp());
  }
  void on_timer(const std::string& key, Timestamp, TimeDomain, KeyedContext<std::string>& ctx,
                Emitter<std::string>& out) {
    out.emit(key + "@" + std::to_string(ctx.window().start) + "=" + std::to_string(*n.read()));
    n.clear();
  }
};

TEST_P(State, StateIsPerKeyAndWindow) {
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    Pipeline p(opts(mode));
    auto out = p.create(input(100))
                   .with_timestamps([](const KV& kv) { return kv.second * 10; })
                   .window_into(windows::fixed(100ms))
                   .par_do(WindowCount{})
                   .collect();
    p.run();
    auto v = out.values();
    ASSERT_EQ(v.size(), 50u);  // 10 windows x 5 keys, 2 elements each
    for (const auto& line : v) EXPECT_EQ(line.back(), '2') << line;
  }
}

// Processing-time timers fire on the wall clock in streaming mode.
struct ProcessingTimer : DoFn<KV, std::string> {
  ValueState<bool> fired{"fired"};
  auto state() { return std::tie(fired); }
  void process(const KV& kv, KeyedContext<std::string>& ctx, Emitter<std::string>&) {
    if (kv.second < 5) ctx.set_timer(TimeDomain::kProcessingTime, ctx.processing_time());
  }
  void on_timer(const std::string& key, Timestamp, TimeDomain domain, KeyedContext<std::string>&,
                Emitter<std::string>& out) {
    EXPECT_EQ(domain, TimeDomain::kProcessingTime);
    out.emit(key);
  }
};

TEST_P(State, ProcessingTimeTimersFireInStreamingMode) {
  auto o = opts(ExecutionMode::kStreaming, 1);
  o.batch_size = 10;  // 40 paced batches over 0.1 s: ticks happen while it runs
  Pipeline p(o);
  io::GeneratorOptions g;
  g.events = 400;
  g.rate = 4000;
  auto out =
      p.read(io::generator<KV>(g,
                               [](const io::GeneratedEvent& e) {
                                 return KV{std::string(1, static_cast<char>('a' + e.index % 5)),
                                           static_cast<std::int64_t>(e.index)};
                               }))
          .par_do(ProcessingTimer{})
          .collect();
  p.run();
  auto v = out.values();
  std::sort(v.begin(), v.end());
  EXPECT_EQ(v, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
}

// The operator's TTL (the backend's expiry): at a checkpoint, a key whose
// only state expired and that has no timer is gone (memory backend; RocksDB
// drops such rows as it compacts, see keyed_rows_test); a key with a timer
// keeps its row and timer; before the TTL passes every key is kept.
struct RememberLast : DoFn<KV, KV> {
  ValueState<std::int64_t> last{"last", 50ms};
  auto state() { return std::tie(last); }
  void process(const KV& kv, KeyedContext<std::string>& ctx, Emitter<KV>&) {
    last.write(kv.second);
    if (kv.first == "timed") ctx.set_timer(TimeDomain::kEventTime, 1000);
  }
};

TEST(StateTtl, ExpiredRowsWithoutTimersLeaveTheCheckpoint) {
  detail::StatefulParDoOp<RememberLast, std::string, std::int64_t> op(RememberLast{}, 0);
  struct Drop final : Output {
    void push(BatchBase& b) override { b.clear(); }
  } sink;
  InstanceContext ctx;
  auto inst = op.instantiate(ctx, {&sink});
  Batch<KV> b;
  for (const char* k : {"a", "b", "c", "timed"}) b.values.emplace_back(k, 1);
  inst->process(0, b);
  auto keys_in = [&](std::int64_t id) {
    OperatorSnapshot snap;
    inst->snapshot(id, snap);
    std::set<std::string> keys;  // rows (tag 0) and timers (tag 1) by key
    for (const std::string& bytes : snap.key_groups) {
      ByteReader r(bytes);
      while (!r.empty()) {
        const auto tag = r.get_varint();
        if (tag != 0) {  // domain, time
          r.get_varint();
          r.get_varint();
        }
        Coder<Window>::decode(r);
        keys.insert(Coder<std::string>::decode(r) + (tag == 0 ? "" : " (timer)"));
        if (tag == 0) {  // the one state: its write time and value
          r.get_varint();
          Coder<std::optional<std::int64_t>>::decode(r);
        }
      }
    }
    return keys;
  };
  EXPECT_EQ(keys_in(1), (std::set<std::string>{"a", "b", "c", "timed", "timed (timer)"}));
  inst->on_processing_time(detail::wall_clock_ms() + 1000);
  EXPECT_EQ(keys_in(2), (std::set<std::string>{"timed", "timed (timer)"}));
}

TEST(StateTtl, ExpiresAValueAfterItsTimeSinceTheLastWrite) {
  ValueState<int> v{"v", 100ms};
  detail::StateCell<std::optional<int>> cell;
  Timestamp now = 1000;
  v.bind(&cell, &now);
  EXPECT_FALSE(v.read().has_value());
  v.write(7);
  now = 1099;
  EXPECT_EQ(v.read(), 7);
  v.write(8);  // a write starts the time again
  now = 1198;
  EXPECT_EQ(v.read(), 8);
  now = 1199;
  EXPECT_FALSE(v.read().has_value());
  ListState<int> l{"l", 10ms};
  detail::StateCell<std::vector<int>> lcell;
  l.bind(&lcell, &now);
  l.add(1);
  l.add(2);
  EXPECT_EQ(l.read().size(), 2u);
  now += 10;
  EXPECT_TRUE(l.read().empty());
  ValueState<int> forever{"forever"};
  detail::StateCell<std::optional<int>> fcell;
  forever.bind(&fcell, &now);
  forever.write(1);
  now += 1'000'000'000;
  EXPECT_EQ(forever.read(), 1);
}

// More keys than the RocksDB backend's row cache holds (65,536 per
// instance), so rows are written out, dropped and read back: every key's
// second element clears its state (a drop), its third starts afresh.
struct EmitAtSecond : DoFn<std::pair<std::int64_t, std::int64_t>, std::int64_t> {
  ValueState<std::int64_t> seen{"seen"};
  auto state() { return std::tie(seen); }
  void process(const std::pair<std::int64_t, std::int64_t>& kv, KeyedContext<std::int64_t>&,
               Emitter<std::int64_t>& out) {
    std::int64_t n = seen.value_or(0) + 1;
    if (n == 2) {
      out.emit(kv.first * 10 + kv.second);
      seen.clear();
    } else {
      seen.write(n);
    }
  }
};

TEST_P(State, MoreKeysThanTheRowCacheHolds) {
  constexpr std::int64_t kKeys = 150'000;
  std::vector<std::pair<std::int64_t, std::int64_t>> in;
  for (int round = 0; round < 3; ++round)
    for (std::int64_t k = 0; k < kKeys; ++k)
      in.emplace_back((k * 7919 + round * 104729) % kKeys, round);
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    Pipeline p(opts(mode, 1));
    auto out = p.create(in).par_do(EmitAtSecond{}).collect();
    p.run();
    auto v = out.values();
    std::sort(v.begin(), v.end());
    ASSERT_EQ(v.size(), static_cast<std::size_t>(kKeys));
    for (std::int64_t k = 0; k < kKeys; ++k) ASSERT_EQ(v[static_cast<std::size_t>(k)], k * 10 + 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, State,
                         ::testing::Values(StateBackend::kMemory, StateBackend::kRocksDB),
                         [](const auto& info) {
                           return info.param == StateBackend::kMemory ? std::string("Memory")
                                                                      : std::string("RocksDB");
                         });

}  // namespace

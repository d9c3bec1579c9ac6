// bench/windowed: a one-minute tumbling count and sum per key over generated
// events, in batch mode and in streaming mode in the same run, against a
// plain C++ loop over the same events; then streaming at half the measured
// rate for latency. See docs/benchmarks.md.
//
//   windowed_bench [--events N] [--keys K] [--parallelism P] [--skip-latency]
//
// Throughput per core is events divided by the CPU time the run used (all
// threads), so it does not depend on how many cores the machine lends it.
// Latency: for each window result, the wall time from when the event that
// moved the watermark past the window's end was due from the generator to
// when the result reached the sink.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <runnel/runnel.hpp>
#include <unordered_map>
#include <vector>

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Event {
  std::uint32_t key = 0;
  Timestamp time = 0;
  std::int64_t value = 0;
};

struct CountSum {
  using Accumulator = std::pair<std::uint64_t, std::int64_t>;
  Accumulator create_accumulator() const { return {0, 0}; }
  void add_input(Accumulator& a, std::int64_t v) const {
    ++a.first;
    a.second += v;
  }
  void merge_accumulators(Accumulator& a, Accumulator&& b) const {
    a.first += b.first;
    a.second += b.second;
  }
  Accumulator extract_output(Accumulator&& a) const { return a; }
};

constexpr Timestamp kStepUs = 10;  // 100k events per second of event time
constexpr Timestamp kWindowMs = 60'000;

io::GeneratorOptions generator_options(std::uint64_t events, double rate, int shards) {
  io::GeneratorOptions g;
  g.events = events;
  g.rate = rate;
  g.shards = shards;
  g.seed = 42;
  g.start_ms = 0;
  g.step_us = kStepUs;
  return g;
}

struct MakeEvent {
  std::uint32_t keys;
  Event operator()(const io::GeneratedEvent& g) const {
    return Event{static_cast<std::uint32_t>(g.random % keys), g.time,
                 static_cast<std::int64_t>(g.random >> 40)};
  }
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Measured {
  double seconds = 0;
  double cpu = 0;
  std::uint64_t results = 0;
  std::int64_t checksum = 0;
};

// The plain loop: the same events, one hash map per window, no engine.
Measured baseline(std::uint64_t events, std::uint32_t keys) {
  auto g = generator_options(events, 0, 1);
  MakeEvent make{keys};
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  std::unordered_map<std::uint64_t, CountSum::Accumulator> table;
  table.reserve(keys * 2);
  Timestamp window = 0;
  Measured m;
  auto close = [&] {
    for (auto& [k, acc] : table) {
      ++m.results;
      m.checksum += static_cast<std::int64_t>(acc.first) + acc.second;
    }
    table.clear();
  };
  for (std::uint64_t i = 0; i < events; ++i) {
    Event e = make(io::generated_event(g, 1, i));
    Timestamp w = e.time / kWindowMs;
    if (w != window) {  // event times ascend: a new window closes the last
      close();
      window = w;
    }
    auto& acc = table[e.key];
    ++acc.first;
    acc.second += e.value;
  }
  close();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.cpu = cpu_seconds() - cpu0;
  return m;
}

// The sink: a checksum of the results and, when asked, each result's latency.
struct Sink {
  std::mutex mu;
  std::uint64_t results = 0;
  std::int64_t checksum = 0;
  std::vector<double> latency_ms;
  std::chrono::steady_clock::time_point start;  // set just before the run
};

struct Consume : DoFn<std::pair<std::uint32_t, CountSum::Accumulator>, int> {
  Sink* sink = nullptr;
  bool latency = false;
  double rate = 0;
  int shards = 1;
  std::uint64_t events = 0;
  std::uint64_t results = 0;
  std::int64_t checksum = 0;
  std::vector<double> latency_ms;

  void process(const std::pair<std::uint32_t, CountSum::Accumulator>& kv, const ElementContext& c,
               Emitter<int>&) {
    ++results;
    checksum += static_cast<std::int64_t>(kv.second.first) + kv.second.second;
    if (!latency) return;
    // The watermark passes the window's end once every shard has produced
    // an event at or after it: event number end * 1000 / step + shards - 1,
    // due from the paced generator at start + number / rate.
    auto completing = static_cast<std::uint64_t>(c.window.end * 1000 / kStepUs + shards - 1);
    if (completing >= events) return;  // the end of the input completes it, not an event
    auto number = static_cast<double>(completing);
    auto due = sink->start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                 std::chrono::duration<double>(number / rate));
    latency_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - due).count());
  }
  void teardown() {
    std::lock_guard lock(sink->mu);  // once per instance
    sink->results += results;
    sink->checksum += checksum;
    sink->latency_ms.insert(sink->latency_ms.end(), latency_ms.begin(), latency_ms.end());
  }
};

Measured run_runnel(std::uint64_t events, std::uint32_t keys, int parallelism, bool streaming,
                    double rate, std::vector<double>* latency_ms, int watermark_ms = 10,
                    bool lift = true) {
  PipelineOptions o;
  o.lift_combiners = lift;
  o.watermark_interval = std::chrono::milliseconds(watermark_ms);
  o.parallelism = parallelism;
  o.mode = streaming ? ExecutionMode::kStreaming : ExecutionMode::kBatch;
  Pipeline p(o);
  auto g = generator_options(events, rate, parallelism);
  Sink sink;
  Consume consume;
  consume.sink = &sink;
  consume.latency = latency_ms != nullptr;
  consume.rate = rate;
  consume.shards = parallelism;
  consume.events = events;
  p.read(io::generator<Event>(g, MakeEvent{keys}))
      .with_timestamps(&Event::time)
      .window_into(windows::fixed(std::chrono::milliseconds(kWindowMs)))
      .map([](const Event& e) { return std::make_pair(e.key, e.value); })
      .combine_per_key(CountSum{})
      .par_do(consume);
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  // The generator paces from its own start, a moment after this: latencies
  // are measured from a slightly earlier due time, so they err high.
  sink.start = t0;
  Measured m;
  RunResult r = p.run();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.cpu = cpu_seconds() - cpu0;
  m.results = sink.results;
  m.checksum = sink.checksum;
  if (r.records_in != events) {
    std::fprintf(stderr, "windowed_bench: read %llu events, expected %llu\n",
                 static_cast<unsigned long long>(r.records_in),
                 static_cast<unsigned long long>(events));
    std::exit(1);
  }
  if (latency_ms != nullptr) *latency_ms = std::move(sink.latency_ms);
  return m;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"windowed_bench: one-minute tumbling count and sum per key, batch vs streaming"};
  std::uint64_t events = 100'000'000;
  std::uint32_t keys = 100'000;
  int parallelism = 1;
  bool skip_latency = false;
  int watermark_ms = 10;
  bool no_lift_latency = false;
  app.add_option("--events", events, "generated events (default 100M)")
      ->check(CLI::Range(1ull, 1ull << 40));
  app.add_option("--keys", keys, "distinct keys (default 100k)")->check(CLI::Range(1u, 1u << 30));
  app.add_option("--parallelism,-p", parallelism, "instances per task (default 1)")
      ->check(CLI::Range(1, 64));
  app.add_flag("--skip-latency", skip_latency, "leave out the paced latency run");
  app.add_option("--watermark-interval-ms", watermark_ms,
                 "streaming: watermark interval of the latency run (default 10, as runnel's)")
      ->check(CLI::Range(0, 1000));
  app.add_flag("--no-lift-latency", no_lift_latency,
               "latency run without pre-aggregation (each event goes to the window's table)");
  CLI11_PARSE(app, argc, argv);

  auto row = [&](const char* name, const Measured& m, double base_per_core) {
    double rate = static_cast<double>(events) / m.seconds;
    double per_core = static_cast<double>(events) / m.cpu;
    std::printf("| %-28s | %8.2f | %8.2f | %10.2f | %10.2f | %6.2fx |\n", name, m.seconds, m.cpu,
                rate / 1e6, per_core / 1e6, per_core / base_per_core);
  };
  std::printf(
      "events %llu, keys %u, parallelism %d, window 1 min, %lld µs of event time per event\n\n",
      static_cast<unsigned long long>(events), keys, parallelism, static_cast<long long>(kStepUs));
  std::printf("| %-28s | %8s | %8s | %10s | %10s | %7s |\n", "run", "wall s", "cpu s", "M ev/s",
              "M ev/s/core", "vs loop");
  std::printf("|%s|%s|%s|%s|%s|%s|\n", "------------------------------", "----------", "----------",
              "------------", "------------", "---------");
  Measured base = baseline(events, keys);
  double base_per_core = static_cast<double>(events) / base.cpu;
  row("plain C++ loop (baseline)", base, base_per_core);
  Measured batch = run_runnel(events, keys, parallelism, false, 0, nullptr);
  row("runnel batch", batch, base_per_core);
  Measured stream = run_runnel(events, keys, parallelism, true, 0, nullptr);
  row("runnel streaming", stream, base_per_core);
  bool same = batch.results == base.results && batch.checksum == base.checksum &&
              stream.results == base.results && stream.checksum == base.checksum;
  std::printf("\nresults: %llu (window, key) rows; batch, streaming and the loop %s\n",
              static_cast<unsigned long long>(base.results), same ? "agree" : "DISAGREE");
  double batch_core = static_cast<double>(events) / batch.cpu;
  double stream_core = static_cast<double>(events) / stream.cpu;
  std::printf(
      "streaming / batch per core: %.2fx (target >= 0.70x); batch per core %.2f M ev/s "
      "(target >= 5)\n",
      stream_core / batch_core, batch_core / 1e6);
  if (!skip_latency) {
    double rate = static_cast<double>(events) / stream.seconds / 2;
    std::vector<double> lat;
    Measured paced =
        run_runnel(events, keys, parallelism, true, rate, &lat, watermark_ms, !no_lift_latency);
    std::printf(
        "\nstreaming%s paced at half that rate (%.2f M ev/s, %.1f s, watermark interval %d ms): "
        "latency of the %zu results of windows an event completed, from when that event "
        "was due to when the result reached the sink: p50 %.2f ms, p99 %.2f ms, max %.2f "
        "ms (target p99 < 10 ms)\n",
        no_lift_latency ? " without pre-aggregation" : "", rate / 1e6, paced.seconds, watermark_ms,
        lat.size(), percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1.0));
    same = same && paced.checksum == base.checksum;
  }
  return same ? 0 : 1;
}

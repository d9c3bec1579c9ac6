#pragma once
// Predictive maintenance: vibration readings of machines (a CSV history,
// --input: lines "machine,time_ms,rms_mm_s", then a live generator in which
// one machine wears out). Per machine, over five-minute windows every minute:
//   OUTPUT/stats   count, mean, max and standard deviation of the vibration
//   OUTPUT/alerts  each firing in which the maximum crossed 7.1 mm/s (ISO
//                  10816 zone D), with early firings every 50 readings so an
//                  alert comes before the window closes
// Stat and alert lines end with the pane: early, on-time or late.
#include <cmath>
#include <runnel/runnel.hpp>

namespace runnel::examples {

struct Vibration {
  std::string machine;
  std::int64_t time_ms = 0;
  double rms_mm_s = 0;
};
RUNNEL_FIELDS(Vibration, machine, time_ms, rms_mm_s);

struct VibrationStats {
  std::uint64_t count = 0;
  double sum = 0;
  double sum_sq = 0;
  double max = 0;
};
RUNNEL_FIELDS(VibrationStats, count, sum, sum_sq, max);  // spilled to disk past the budget

// A CombineFn: mergeable statistics of a window's readings.
struct StatsFn {
  using Accumulator = VibrationStats;
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& a, double v) const {
    ++a.count;
    a.sum += v;
    a.sum_sq += v * v;
    a.max = a.count == 1 ? v : std::max(a.max, v);
  }
  void merge_accumulators(Accumulator& a, Accumulator&& b) const {
    if (b.count == 0) return;
    a.max = a.count == 0 ? b.max : std::max(a.max, b.max);
    a.count += b.count;
    a.sum += b.sum;
    a.sum_sq += b.sum_sq;
  }
  Accumulator extract_output(Accumulator&& a) const { return a; }
};

struct MachineWindow {
  std::string machine;
  std::int64_t window_start_ms = 0;
  std::int64_t window_end_ms = 0;
  std::uint64_t count = 0;
  double mean = 0;
  double max = 0;
  double stddev = 0;
  std::string pane;
};
RUNNEL_FIELDS(MachineWindow, machine, window_start_ms, window_end_ms, count, mean, max, stddev,
              pane);

inline constexpr double kAlertMmS = 7.1;

struct ToMachineWindow : DoFn<std::pair<std::string, VibrationStats>, MachineWindow> {
  void process(const std::pair<std::string, VibrationStats>& kv, const ElementContext& c,
               Emitter<MachineWindow>& out) {
    const auto& s = kv.second;
    double n = static_cast<double>(s.count);
    double mean = s.count ? s.sum / n : 0;
    double var = s.count ? std::max(0.0, s.sum_sq / n - mean * mean) : 0;
    out.emit(MachineWindow{kv.first, c.window.start, c.window.end, s.count, mean, s.max,
                           std::sqrt(var), to_string(c.pane.timing)});
  }
};

// The live part: 8 machines, a reading each 100 ms of event time in turn;
// machine m-5's vibration grows from normal to alarming over the run.
inline constexpr Timestamp kMaintenanceLiveStartMs = 1'700'000'000'000;
inline io::GeneratorOptions maintenance_live_options(bool streaming) {
  io::GeneratorOptions g;
  g.events = 24'000;  // 40 minutes of event time
  g.rate = streaming ? 12'000 : 0;
  g.shards = 2;
  g.seed = 99;
  g.start_ms = kMaintenanceLiveStartMs;
  g.step_us = 100'000;
  g.max_delay = std::chrono::seconds(2);
  return g;
}
inline Vibration maintenance_live_reading(const io::GeneratedEvent& e) {
  int machine = static_cast<int>(e.random % 8);
  double noise = static_cast<double>((e.random >> 16) % 1000) / 1000.0;  // 0 .. 1
  double rms = 1.5 + 2.0 * noise;
  if (machine == 5) rms += 6.0 * static_cast<double>(e.index) / 24'000.0 * noise;  // wear
  return Vibration{"m-" + std::to_string(machine), e.time, rms};
}

inline void maintenance(Pipeline& p, const Options& o) {
  using namespace std::chrono_literals;
  const auto strategy = watermarks::bounded_out_of_orderness(2s);
  auto history =
      p.read(o.source<Vibration>().skip_header()).with_timestamps(&Vibration::time_ms, strategy);
  auto live = p.read(io::generator<Vibration>(maintenance_live_options(p.streaming()),
                                              maintenance_live_reading))
                  .with_timestamps(&Vibration::time_ms, strategy);
  auto stats = flatten(history, live)
                   .window_into(windows::sliding(5min, 1min),
                                Windowing{.trigger = triggers::after_watermark().with_early(
                                              triggers::after_count(50)),
                                          .accumulation = Accumulation::kAccumulating,
                                          .allowed_lateness = 30s})
                   .map([](const Vibration& v) { return std::make_pair(v.machine, v.rms_mm_s); })
                   .combine_per_key(StatsFn{})
                   .par_do(ToMachineWindow{});
  stats.write(io::csv(o.output + "/stats"));
  stats.filter([](const MachineWindow& w) { return w.max > kAlertMmS; })
      .write(io::csv(o.output + "/alerts"));
}

}  // namespace runnel::examples

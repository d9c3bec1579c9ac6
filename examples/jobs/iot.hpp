#pragma once
// IoT analytics: temperature readings of devices, a CSV history (--input:
// lines "device,time_ms,celsius") followed by live readings from a generator.
// Per device:
//   OUTPUT/averages  one-minute tumbling averages
//   OUTPUT/maxima    five-minute maxima, every minute (sliding)
//   OUTPUT/sessions  activity sessions (readings less than 30 s apart)
//   OUTPUT/late      readings that came later than the one-minute allowed lateness
// Lines are "device,window_start_ms,window_end_ms,value,pane,pane_index":
// pane is on-time, or late for an update of the window by data within the
// allowed lateness (the update with the highest index is final). In streaming mode
// readings may arrive up to 5 s out of order; later ones still count while
// their window is within the allowed lateness, and after that go to late/.
#include <runnel/runnel.hpp>

namespace runnel::examples {

struct Reading {
  std::string device;
  std::int64_t time_ms = 0;
  double celsius = 0;
};
RUNNEL_FIELDS(Reading, device, time_ms, celsius);

// A per-window result as a CSV line.
struct WindowResult {
  std::string device;
  std::int64_t window_start_ms = 0;
  std::int64_t window_end_ms = 0;
  double value = 0;
  std::string pane;  // early, on-time or late
  std::uint32_t pane_index = 0;
};
RUNNEL_FIELDS(WindowResult, device, window_start_ms, window_end_ms, value, pane, pane_index);

template <class V>
struct ToWindowResult : DoFn<std::pair<std::string, V>, WindowResult> {
  void process(const std::pair<std::string, V>& kv, const ElementContext& c,
               Emitter<WindowResult>& out) {
    out.emit(WindowResult{kv.first, c.window.start, c.window.end, static_cast<double>(kv.second),
                          to_string(c.pane.timing), c.pane.index});
  }
};

// The live part: where the history ends, 20 devices report a reading each
// 50 ms of event time in turn; a device is offline one minute in three, and
// one reading in 500 comes three minutes late.
inline constexpr Timestamp kIotLiveStartMs = 1'700'000'000'000;
inline io::GeneratorOptions iot_live_options(bool streaming) {
  io::GeneratorOptions g;
  g.events = 20'000;
  g.rate = streaming ? 10'000 : 0;  // paced like a live feed in streaming mode
  g.shards = 2;
  g.seed = 2024;
  g.start_ms = kIotLiveStartMs;
  g.step_us = 50'000;
  g.max_delay = std::chrono::seconds(5);
  return g;
}
inline Reading iot_live_reading(const io::GeneratedEvent& e) {
  int device = static_cast<int>(e.random % 20);
  double celsius = 18.0 + static_cast<double>((e.random >> 20) % 120) / 10.0;
  // One reading in 500 was buffered by its device and arrives three minutes late.
  Timestamp time = (e.random >> 40) % 500 == 0 ? e.time - 180'000 : e.time;
  return Reading{"dev-" + std::to_string(device), time, celsius};
}
inline bool iot_device_online(const Reading& r) {
  int device = std::stoi(r.device.substr(4));
  return ((r.time_ms - kIotLiveStartMs) / 60'000 + device) % 3 != 0;
}

inline void iot(Pipeline& p, const Options& o) {
  using namespace std::chrono_literals;
  const auto strategy = watermarks::bounded_out_of_orderness(5s);
  auto history =
      p.read(o.source<Reading>().skip_header()).with_timestamps(&Reading::time_ms, strategy);
  auto live = p.read(io::generator<Reading>(iot_live_options(p.streaming()), iot_live_reading))
                  .filter(iot_device_online)
                  .with_timestamps(&Reading::time_ms, strategy);
  auto readings = flatten(history, live);
  auto out = [&](const char* name) { return io::csv(o.output + "/" + name); };
  auto celsius = [](const Reading& r) { return std::make_pair(r.device, r.celsius); };
  // A late update holds the whole window (accumulating), not just the late readings.
  const Windowing lateness{.accumulation = Accumulation::kAccumulating, .allowed_lateness = 1min};

  auto minutes = readings.window_into(windows::fixed(1min), lateness);
  minutes.map(celsius).mean_per_key().par_do(ToWindowResult<double>{}).write(out("averages"));
  minutes.late().write(out("late"));

  readings.window_into(windows::sliding(5min, 1min), lateness)
      .map(celsius)
      .max_per_key()
      .par_do(ToWindowResult<double>{})
      .write(out("maxima"));

  readings.window_into(windows::sessions(30s), lateness)
      .map(celsius)
      .count_per_key()
      .par_do(ToWindowResult<std::uint64_t>{})
      .write(out("sessions"));
}

}  // namespace runnel::examples

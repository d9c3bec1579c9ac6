#pragma once
// End-to-end latency of a paced streaming run: for each result row, the wall
// time it reaches the sink minus the wall time the generator was due to emit
// the event that the row's timestamp names (for a window result, the
// window's last event). Only rows whose timestamp lies in the generated
// span count: upserts of unwindowed aggregations carry the global window's
// timestamp and results of processing-time windows (q12) a wall-clock one.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <runnel/runnel.hpp>

namespace runnel::nexmark {

// Rows per millisecond of latency, up to a minute (later ones in the last bucket).
using LatencyHistogram = std::array<std::uint64_t, 60'001>;

class LatencyRecorder {
 public:
  // Event n has event time base + n * 1000 / rate and is due at
  // started + n / pace seconds of wall time.
  LatencyRecorder(Timestamp base_time, std::uint64_t rate, double pace, Timestamp span_end)
      : base_(base_time), rate_(static_cast<double>(rate)), pace_(pace), span_end_(span_end) {}

  // The wall clock when the job starts (the generator starts pacing then).
  void start() { started_ = now_ms(); }

  // Latency of a row with event time `t` reaching the sink at `now`, or -1
  // if `t` names no generated event.
  std::int64_t latency_ms(Timestamp t, double now) const {
    if (t < base_ || t > span_end_) return -1;
    double n = static_cast<double>(t - base_) * rate_ / 1000.0;
    double due = started_ + n / pace_ * 1000.0;
    return std::max<std::int64_t>(0, static_cast<std::int64_t>(now - due));
  }

  void merge(const std::vector<std::int64_t>& latencies_ms) {
    std::lock_guard lock(mu_);
    for (std::int64_t ms : latencies_ms) {
      ++total_[static_cast<std::size_t>(std::min<std::int64_t>(ms, total_.size() - 1))];
    }
  }

  // "p50 12 ms, p99 40 ms, max 52 ms over 123 rows", or why there is none.
  std::string summary() const {
    std::lock_guard lock(mu_);
    std::uint64_t rows = 0;
    for (auto c : total_) rows += c;
    if (rows == 0) return "no result row carried an event time of the generated span";
    auto quantile = [&](double q) {
      auto want = static_cast<std::uint64_t>(q * static_cast<double>(rows - 1)) + 1;
      std::uint64_t seen = 0;
      for (std::size_t i = 0; i < total_.size(); ++i) {
        seen += total_[i];
        if (seen >= want) return i;
      }
      return total_.size() - 1;
    };
    std::size_t max = total_.size() - 1;
    while (total_[max] == 0) --max;
    return "p50 " + std::to_string(quantile(0.5)) + " ms, p99 " + std::to_string(quantile(0.99)) +
           " ms, max " + std::to_string(max) + " ms over " + std::to_string(rows) + " rows";
  }

  static double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
  }

 private:
  Timestamp base_;
  double rate_;
  double pace_;
  Timestamp span_end_;
  double started_ = 0;
  mutable std::mutex mu_;
  LatencyHistogram total_{};
};

// Passes rows through, recording their latency; merged once per batch.
// (Measurement only: a clock read and a copy per row.)
template <class Row>
struct LatencyProbe : DoFn<Row, Row> {
  std::shared_ptr<LatencyRecorder> recorder;
  std::vector<std::int64_t> batch;  // this batch's latencies
  explicit LatencyProbe(std::shared_ptr<LatencyRecorder> r) : recorder(std::move(r)) {}

  void process(const Row& row, const ElementContext& c, Emitter<Row>& out) {
    std::int64_t ms = recorder->latency_ms(c.timestamp, LatencyRecorder::now_ms());
    if (ms >= 0) batch.push_back(ms);
    out.emit(row);
  }
  void finish_bundle(Emitter<Row>&) {
    if (batch.empty()) return;
    recorder->merge(batch);
    batch.clear();
  }
};

}  // namespace runnel::nexmark

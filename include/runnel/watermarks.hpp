#pragma once
// Watermark strategies for with_timestamps. A watermark W says that no more
// elements with event time <= W are expected; in streaming mode a window's
// results are emitted when the watermark passes its end. Watermarks are
// tracked per source split (file split, generator shard, Kafka partition) and
// combined by minimum, so one slow split holds the others back.
//
//   events.with_timestamps(&Event::time,
//                          watermarks::bounded_out_of_orderness(5s).with_idleness(30s));
#include <chrono>
#include <stdexcept>

#include "runnel/window.hpp"

namespace runnel {

struct WatermarkStrategy {
  // Elements arrive at most this much later (in event time) than the latest
  // element of their split seen so far.
  Timestamp max_delay_ms = 0;
  // A split without records for this long (processing time) stops holding
  // the watermark back; 0 = never. A reader with no split at all is idle
  // after this long too.
  Timestamp idle_after_ms = 0;

  WatermarkStrategy with_idleness(std::chrono::milliseconds timeout) const {
    if (timeout.count() <= 0) throw std::invalid_argument("with_idleness: timeout must be > 0");
    WatermarkStrategy s = *this;
    s.idle_after_ms = timeout.count();
    return s;
  }
};

namespace watermarks {

// Out of order by at most max_delay: the watermark is the latest event time
// seen, minus max_delay, minus 1 ms.
inline WatermarkStrategy bounded_out_of_orderness(std::chrono::milliseconds max_delay) {
  if (max_delay.count() < 0) {
    throw std::invalid_argument("bounded_out_of_orderness: max_delay must be >= 0");
  }
  return WatermarkStrategy{max_delay.count(), 0};
}

// Event times never decrease within a split.
inline WatermarkStrategy ascending() { return WatermarkStrategy{}; }

}  // namespace watermarks
}  // namespace runnel

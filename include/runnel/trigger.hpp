#pragma once
// Triggers: when a window's results are emitted in streaming mode (Beam's
// model). The default fires once when the watermark passes the end of the
// window, and again for each late element within the allowed lateness.
//
//   triggers::after_watermark()
//       .with_early(triggers::after_count(100))                // every 100 elements before
//       .with_late(triggers::after_processing_time(1s))        // at most once a second after
//   triggers::repeatedly(triggers::after_count(1000))         // the global window, every 1000
//
// Batch mode ignores triggers: each window is emitted once, complete, which
// is what the last pane in accumulating mode holds.
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "runnel/window.hpp"

namespace runnel {

// A repeated firing condition within one window and key: after `count`
// elements since the last firing, or `delay_ms` of processing time after the
// first element since the last firing. Zero for both: never.
struct FiringCondition {
  std::uint64_t count = 0;
  Timestamp delay_ms = 0;
  constexpr bool never() const { return count == 0 && delay_ms == 0; }
};

struct Trigger {
  enum class Kind : std::uint8_t {
    kAfterWatermark,  // on time at the end of the window, plus early and late firings
    kRepeatedly,      // whenever `repeat` holds (and at the end of the window if data is pending)
  };
  Kind kind = Kind::kAfterWatermark;
  FiringCondition repeat;
  FiringCondition early;
  FiringCondition late{1, 0};  // each late element, by default

  Trigger with_early(FiringCondition c) const {
    require_watermark("with_early");
    Trigger t = *this;
    t.early = c;
    return t;
  }
  Trigger with_late(FiringCondition c) const {
    require_watermark("with_late");
    Trigger t = *this;
    t.late = c;
    return t;
  }
  // True if a firing depends on counting elements (pre-aggregation would change the count).
  constexpr bool counts_elements() const {
    return kind == Kind::kRepeatedly ? repeat.count > 0 : early.count > 0 || late.count > 1;
  }

 private:
  void require_watermark(const char* what) const {
    if (kind != Kind::kAfterWatermark) {
      throw std::invalid_argument(std::string(what) +
                                  ": only after_watermark() has early and late firings");
    }
  }
};

namespace triggers {

inline FiringCondition after_count(std::uint64_t n) {
  if (n == 0) throw std::invalid_argument("triggers::after_count: n must be > 0");
  return FiringCondition{n, 0};
}
inline FiringCondition after_processing_time(std::chrono::milliseconds delay) {
  if (delay.count() <= 0)
    throw std::invalid_argument("triggers::after_processing_time: delay must be > 0");
  return FiringCondition{0, delay.count()};
}
inline Trigger after_watermark() { return Trigger{}; }
inline Trigger repeatedly(FiringCondition c) {
  if (c.never()) throw std::invalid_argument("triggers::repeatedly: give a condition");
  Trigger t;
  t.kind = Trigger::Kind::kRepeatedly;
  t.repeat = c;
  t.late = c;
  return t;
}

}  // namespace triggers

// What a firing emits: only what arrived since the previous pane
// (discarding, Beam's default) or everything so far (accumulating).
enum class Accumulation : std::uint8_t { kDiscarding, kAccumulating };

// How a windowed collection is grouped over time: window_into's second argument.
struct Windowing {
  Trigger trigger = triggers::after_watermark();
  Accumulation accumulation = Accumulation::kDiscarding;
  // How long after the watermark passes a window's end its late data is
  // still added (and fired as late panes). Later data goes to the late output.
  std::chrono::milliseconds allowed_lateness{0};
};

// What a collection carries from window_into to the grouping that uses it.
struct WindowingStrategy {
  Windowing windowing;
  bool merging = false;  // sessions: windows merge per key
};

}  // namespace runnel

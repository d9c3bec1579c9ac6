#pragma once
// Which firing of its window a result is (Beam's PaneInfo). A window's
// results may be emitted several times in streaming mode: early (before the
// watermark reaches the window's end), on time, and late (for data within
// the allowed lateness). Batch mode emits one on-time pane per window.
#include <cstdint>

namespace runnel {

struct PaneInfo {
  enum class Timing : std::uint8_t { kEarly, kOnTime, kLate };
  Timing timing = Timing::kOnTime;
  bool is_first = true;
  bool is_last = true;      // no more panes of this window and key will follow
  std::uint32_t index = 0;  // 0 for the first pane of the window and key

  constexpr bool operator==(const PaneInfo&) const = default;
};

inline const char* to_string(PaneInfo::Timing t) {
  switch (t) {
    case PaneInfo::Timing::kEarly:
      return "early";
    case PaneInfo::Timing::kOnTime:
      return "on-time";
    case PaneInfo::Timing::kLate:
      return "late";
  }
  return "?";
}

}  // namespace runnel

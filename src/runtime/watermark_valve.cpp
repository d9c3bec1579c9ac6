#include "runtime/watermark_valve.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace runnel::runtime {

WatermarkValve::WatermarkValve(int channels) : channels_(static_cast<std::size_t>(channels)) {}

bool WatermarkValve::on_watermark(int channel, Timestamp wm) {
  if (channel < 0 || static_cast<std::size_t>(channel) >= channels_.size()) {
    throw std::logic_error("watermark on channel " + std::to_string(channel) + " of " +
                           std::to_string(channels_.size()));
  }
  auto& ch = channels_[static_cast<std::size_t>(channel)];
  ch.idle = wm == kIdleWatermark;
  if (!ch.idle) ch.watermark = std::max(ch.watermark, wm);

  Timestamp lowest_active = kMaxTimestamp;
  Timestamp highest_idle = kMinTimestamp;
  bool any_open = false;
  bool any_active = false;
  for (const auto& c : channels_) {
    if (c.watermark == kMaxTimestamp) continue;  // ended
    any_open = true;
    if (c.idle) {
      highest_idle = std::max(highest_idle, c.watermark);
    } else {
      any_active = true;
      lowest_active = std::min(lowest_active, c.watermark);
    }
  }
  idle_ = any_open && !any_active;
  const Timestamp candidate = idle_ ? highest_idle : lowest_active;
  if (candidate <= watermark_) return false;
  watermark_ = candidate;
  return true;
}

}  // namespace runnel::runtime

#pragma once
// The watermark of one reader: per source split, the latest event time seen
// minus the allowed delay; the reader's watermark is the minimum over splits
// that have neither ended nor gone idle. Updated once per batch.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "runnel/watermarks.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

class SplitWatermarks {
 public:
  explicit SplitWatermarks(WatermarkStrategy strategy) : strategy_(strategy) {}

  // A batch from `split` whose latest event time is `max_ts` (kMinTimestamp if empty).
  void observe(std::int32_t split, Timestamp max_ts, Timestamp now) {
    last_data_ = now;
    Split& s = splits_[find(split)];
    s.max_ts = std::max(s.max_ts, max_ts);
    s.last_seen = now;
  }
  // The split begins: until its first records it holds the watermark at the minimum.
  void begin(std::int32_t split, Timestamp now) { splits_[find(split)].last_seen = now; }
  // The split has no more records. Once no split is left, the reader's
  // watermark is at least what the ended splits reached (they said all they
  // had), even if no watermark was taken while they ran.
  void end(std::int32_t split) {
    for (const auto& s : splits_) {
      if (s.id == split && s.max_ts != kMinTimestamp) {
        ended_ = std::max(ended_, s.max_ts - strategy_.max_delay_ms - 1);
      }
    }
    std::erase_if(splits_, [&](const Split& s) { return s.id == split; });
    if (splits_.empty()) watermark_ = std::max(watermark_, ended_);
  }

  // The watermark at processing time `now`, never lower than before;
  // kIdleWatermark if every split is idle (or there has been none for the
  // idle timeout).
  Timestamp current(Timestamp now) {
    bool any_active = false;
    Timestamp wm = kMaxTimestamp;
    for (const auto& s : splits_) {
      if (strategy_.idle_after_ms > 0 && now - s.last_seen >= strategy_.idle_after_ms) continue;
      any_active = true;
      wm = std::min(
          wm, s.max_ts == kMinTimestamp ? kMinTimestamp : s.max_ts - strategy_.max_delay_ms - 1);
    }
    if (!any_active) {
      if (strategy_.idle_after_ms > 0 && now - last_data_ >= strategy_.idle_after_ms)
        return kIdleWatermark;
      // Every split ended (or none began): the ended ones said all they had.
      return watermark_;
    }
    watermark_ = std::max(watermark_, wm);
    return watermark_;
  }

 private:
  struct Split {
    std::int32_t id;
    Timestamp max_ts = kMinTimestamp;
    Timestamp last_seen = 0;
  };
  // An index, not a reference: GCC 12 at -O3 takes a reference returned
  // after push_back for a dangling one (-Werror=dangling-pointer).
  std::size_t find(std::int32_t id) {
    for (std::size_t i = 0; i < splits_.size(); ++i) {
      if (splits_[i].id == id) return i;
    }
    splits_.push_back(Split{id});
    return splits_.size() - 1;
  }

  WatermarkStrategy strategy_;
  std::vector<Split> splits_;  // few per reader: a linear scan is fastest
  Timestamp watermark_ = kMinTimestamp;
  Timestamp ended_ = kMinTimestamp;  // the highest watermark an ended split reached
  Timestamp last_data_ = wall_clock_ms();
};

}  // namespace runnel::detail

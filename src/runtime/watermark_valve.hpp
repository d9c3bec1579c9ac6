#pragma once
// The watermark of one consumer instance's input, from the watermarks of the
// channels that feed it (each producer instance of each input edge is one
// channel), as Flink's StatusWatermarkValve:
//
// - the input's watermark is the minimum over the channels that are open and
//   active; it never goes back;
// - an ended channel (its watermark at kMaxTimestamp) holds no one back;
// - an idle channel (it sent kIdleWatermark) is left out of the minimum until
//   it sends a watermark again, which makes it active from that watermark on;
// - when every open channel is idle, the input is idle and its watermark is the
//   highest one the idle channels reached (the sources' event time went that
//   far; nothing lower can follow from them without a new watermark);
// - when every channel has ended, the watermark is kMaxTimestamp.
#include <vector>

#include "runnel/window.hpp"

namespace runnel::runtime {

class WatermarkValve {
 public:
  explicit WatermarkValve(int channels);

  // Channel `channel` sent watermark `wm` (kIdleWatermark: it went idle;
  // kMaxTimestamp: it ended). True if the input's watermark rose.
  bool on_watermark(int channel, Timestamp wm);
  bool on_channel_end(int channel) { return on_watermark(channel, kMaxTimestamp); }

  // The input's watermark: kMinTimestamp until every active channel sent one.
  Timestamp watermark() const { return watermark_; }
  // Every open channel is idle (and at least one is open).
  bool idle() const { return idle_; }
  // What a tick passes down the task: kIdleWatermark while idle, so that the
  // operators downstream leave this input out of their own minimum.
  Timestamp current() const { return idle_ ? kIdleWatermark : watermark_; }

 private:
  struct Channel {
    Timestamp watermark = kMinTimestamp;
    bool idle = false;
  };
  std::vector<Channel> channels_;
  Timestamp watermark_ = kMinTimestamp;
  bool idle_ = false;
};

}  // namespace runnel::runtime

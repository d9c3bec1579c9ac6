#pragma once
// Aligned checkpoint barriers at one consumer instance (Flink's protocol), as
// a small explicit state machine.
//
//   kIdle --barrier(c, n > last)--> kAligning(n)  [c blocked]
//   kAligning(n) --barrier(c, n)--> kAligning(n)  [c blocked]
//   kAligning(n) --end(c)--------> kAligning(n)  [c counts as arrived]
//   kAligning(n) --last open channel arrives or ends--> kIdle, Action::kSnapshot
//   kIdle --end(c)---------------> kIdle
//   kIdle --barrier(c, n <= last)--> kIdle       [stale: ignored]
//
// While aligning, messages from blocked channels wait (the caller holds them
// and replays them after the snapshot). Channels are FIFO and every source
// sends every barrier, so a channel cannot send barrier n+1 before n, nor a
// barrier after its end: those are logic errors.
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "runnel/detail/check.hpp"

namespace runnel::runtime {

class BarrierAligner {
 public:
  enum class State { kIdle, kAligning };
  enum class Action { kNone, kSnapshot };

  explicit BarrierAligner(int channels)
      : arrived_(static_cast<std::size_t>(channels), 0),
        ended_(static_cast<std::size_t>(channels), 0) {}

  Action on_barrier(int channel, std::int64_t id) {
    RUNNEL_CHECK_LT(static_cast<std::size_t>(channel), arrived_.size());
    auto c = static_cast<std::size_t>(channel);
    if (ended_[c]) fail("checkpoint barrier after the end of its channel", channel, id);
    if (state_ == State::kIdle) {
      if (id <= last_) return Action::kNone;
      state_ = State::kAligning;
      aligning_ = id;
      std::fill(arrived_.begin(), arrived_.end(), 0);
    } else if (id != aligning_) {
      if (id < aligning_) return Action::kNone;
      fail("checkpoint barrier overtook the one being aligned on its channel", channel, id);
    } else if (arrived_[c]) {
      fail("checkpoint barrier arrived twice on its channel", channel, id);
    }
    arrived_[c] = 1;
    return complete_if_aligned();
  }

  Action on_channel_end(int channel) {
    RUNNEL_CHECK_LT(static_cast<std::size_t>(channel), ended_.size());
    ended_[static_cast<std::size_t>(channel)] = 1;
    return state_ == State::kAligning ? complete_if_aligned() : Action::kNone;
  }

  // While aligning: messages of this channel must wait until the snapshot.
  bool blocked(int channel) const {
    return state_ == State::kAligning && arrived_[static_cast<std::size_t>(channel)];
  }
  State state() const { return state_; }
  // The checkpoint being aligned, or after kSnapshot, the one to snapshot.
  std::int64_t checkpoint() const { return state_ == State::kAligning ? aligning_ : last_; }

 private:
  // Channels are FIFO and every source sends every barrier: what breaks that
  // is a logic error, reported with the channel and both checkpoints.
  [[noreturn]] void fail(const char* what, int channel, std::int64_t id) const {
    throw std::logic_error(std::string(what) + ": channel " + std::to_string(channel) +
                           ", checkpoint " + std::to_string(id) + " (aligning " +
                           (state_ == State::kAligning ? std::to_string(aligning_) : "none") +
                           ", last aligned " + std::to_string(last_) + ")");
  }

  Action complete_if_aligned() {
    for (std::size_t c = 0; c < arrived_.size(); ++c) {
      if (!arrived_[c] && !ended_[c]) return Action::kNone;
    }
    state_ = State::kIdle;
    last_ = aligning_;
    std::fill(arrived_.begin(), arrived_.end(), 0);
    return Action::kSnapshot;
  }

  State state_ = State::kIdle;
  std::int64_t aligning_ = 0;
  std::int64_t last_ = 0;  // the last checkpoint aligned
  std::vector<char> arrived_;
  std::vector<char> ended_;
};

}  // namespace runnel::runtime

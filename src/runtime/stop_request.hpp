#pragma once
// Requests to stop the running jobs of this process gracefully (a signal
// handler makes them: a lock-free atomic is async-signal-safe). Jobs
// poll it: streaming jobs with checkpoints take a final checkpoint, commit it
// and stop; streaming jobs without end their sources as if the input ended
// (every window fires, sinks commit); batch jobs are interrupted.
#include <atomic>
#include <cstdint>

namespace runnel::runtime {

// How many stops were requested in this process so far: a run notes the
// count when it starts and acts on any request after it (so nothing needs
// clearing, and concurrent runs all see it).
std::atomic<std::uint64_t>& stop_requests();

// How many savepoints were requested in this process so far (a signal
// handler may raise it): the checkpoint coordinators take one for each change
// they see.
std::atomic<std::uint64_t>& savepoint_requests();

// A run's own request (Pipeline::request_stop / request_abort).
enum class OwnStop : int { kNone = 0, kStop = 1, kAbort = 2 };

// Whether one run was asked to stop: by a process-wide request made after it
// started, or by its own flag (which stops one run of several in a process:
// a member of a scaled-out job stops the shards it hands over, and aborts
// those it lost: no final checkpoint, no commit).
class StopCheck {
 public:
  StopCheck() = default;
  StopCheck(std::uint64_t base, const std::atomic<int>* own) : base_(base), own_(own) {}
  bool asked() const {
    return stop_requests().load(std::memory_order_relaxed) != base_ ||
           (own_ != nullptr && own_->load(std::memory_order_relaxed) != 0);
  }
  bool aborted() const {
    return own_ != nullptr &&
           own_->load(std::memory_order_relaxed) == static_cast<int>(OwnStop::kAbort);
  }

 private:
  std::uint64_t base_ = 0;
  const std::atomic<int>* own_ = nullptr;
};

}  // namespace runnel::runtime

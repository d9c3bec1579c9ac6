#pragma once
// A request to stop the running jobs of this process gracefully (a signal
// handler sets it: a lock-free atomic store is async-signal-safe). Jobs
// poll it: streaming jobs with checkpoints take a final checkpoint, commit it
// and stop; streaming jobs without end their sources as if the input ended
// (every window fires, sinks commit); batch jobs are interrupted.
#include <atomic>

namespace runnel::runtime {

std::atomic<bool>& stop_request();

}  // namespace runnel::runtime

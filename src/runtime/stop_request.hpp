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

}  // namespace runnel::runtime

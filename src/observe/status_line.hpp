#pragma once
// A one-line status of a running job, logged every interval from a thread of
// its own (unbounded jobs have no progress bar): rates in and out, totals,
// the watermark lag at the sinks, the fullest input queue, checkpoints.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/job_metrics.hpp"

namespace runnel::observe {

class StatusLine {
 public:
  StatusLine(std::shared_ptr<const JobMetrics> metrics, std::chrono::milliseconds interval);
  ~StatusLine();
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

 private:
  void loop();
  std::shared_ptr<const JobMetrics> metrics_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// The line for `now` given the totals at the previous line (`seconds` ago).
std::string status_text(const JobMetrics& m, const JobTotals& before, double seconds);

}  // namespace runnel::observe

#include "observe/status_line.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "core/log.hpp"

namespace runnel::observe {

std::string status_text(const JobMetrics& m, const JobTotals& before, double seconds) {
  const JobTotals now = totals(m);
  const double dt = std::max(seconds, 1e-3);
  std::string line = fmt::format("status: {:.0f} records/s in, {:.0f} records/s out; {} in, {} out",
                                 static_cast<double>(now.records_in - before.records_in) / dt,
                                 static_cast<double>(now.records_out - before.records_out) / dt,
                                 now.records_in, now.records_out);
  if (now.dead_letters > 0) line += fmt::format(", {} dead letters", now.dead_letters);
  if (now.late_records > 0) line += fmt::format(", {} late", now.late_records);
  if (!m.has_plan()) return line;
  // The fullest input queue.
  double fullest = 0;
  std::size_t fullest_task = 0;
  for (std::size_t t = 0; t < m.tasks().size(); ++t) {
    const auto& task = m.tasks()[t];
    for (int i = 0; i < task.parallelism; ++i) {
      const auto& inst = m.instance(static_cast<int>(t), i);
      if (inst.queue_capacity > 0) {
        double fill = static_cast<double>(inst.queue_fill.load()) / inst.queue_capacity;
        if (fill > fullest) {
          fullest = fill;
          fullest_task = t;
        }
      }
    }
  }
  if (const auto wm = slowest_sink_watermark(m)) {
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    line += fmt::format("; watermark lag {:.1f} s", static_cast<double>(now_ms - *wm) / 1e3);
  }
  if (fullest >= 0.5)
    line += fmt::format("; backpressure: task {} input {:.0f}% full", fullest_task, fullest * 100);
  const auto ck = m.checkpoints();
  if (ck.completed > 0) {
    line += fmt::format("; checkpoints {} (last #{} in {:.2f} s)", ck.completed,
                        ck.history.back().id, ck.history.back().seconds);
  }
  if (ck.failed > 0)
    line += fmt::format("; {} checkpoints failed (last #{})", ck.failed, ck.last_failed_id);
  return line;
}

StatusLine::StatusLine(std::shared_ptr<const JobMetrics> metrics,
                       std::chrono::milliseconds interval)
    : metrics_(std::move(metrics)), interval_(interval), thread_([this] { loop(); }) {}

StatusLine::~StatusLine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StatusLine::loop() {
  JobTotals before = totals(*metrics_);
  auto last = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    auto now = std::chrono::steady_clock::now();
    log_info(status_text(*metrics_, before, std::chrono::duration<double>(now - last).count()));
    before = totals(*metrics_);
    last = now;
  }
}

}  // namespace runnel::observe

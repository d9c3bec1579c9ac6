#include "core/job_metrics.hpp"

#include <algorithm>

namespace runnel {

namespace {
constexpr std::size_t kCheckpointHistory = 50;
}

const char* to_string(JobState s) {
  switch (s) {
    case JobState::kCreated:
      return "created";
    case JobState::kRunning:
      return "running";
    case JobState::kFinished:
      return "finished";
    case JobState::kStopped:
      return "stopped";
    case JobState::kFailed:
      return "failed";
  }
  return "unknown";
}

void JobMetrics::set_plan(std::vector<TaskInfo> tasks, std::vector<EdgeInfo> edges) {
  tasks_ = std::move(tasks);
  edges_ = std::move(edges);
  instances_.clear();
  for (const auto& t : tasks_) {
    auto& per_task = instances_.emplace_back();
    for (int i = 0; i < t.parallelism; ++i)
      per_task.push_back(std::make_unique<InstanceFigures>(t.ops.size(), t.queue_capacity));
  }
  planned_.store(true, std::memory_order_release);
}

void JobMetrics::attach_bytes_read(const std::atomic<std::uint64_t>* count) {
  std::lock_guard lock(mu_);
  bytes_source_ = count;
}

void JobMetrics::detach_bytes_read() {
  std::lock_guard lock(mu_);
  if (bytes_source_) bytes_final_ = bytes_source_->load();
  bytes_source_ = nullptr;
}

std::uint64_t JobMetrics::bytes_read() const {
  std::lock_guard lock(mu_);
  return bytes_source_ ? bytes_source_->load() : bytes_final_;
}

double JobMetrics::uptime_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void JobMetrics::checkpoint_completed(const CheckpointRecord& r) {
  std::lock_guard lock(mu_);
  ++checkpoints_.completed;
  checkpoints_.history.push_back(r);
  if (checkpoints_.history.size() > kCheckpointHistory)
    checkpoints_.history.erase(checkpoints_.history.begin());
}

void JobMetrics::checkpoint_failed(std::int64_t id, const std::string& why) {
  std::lock_guard lock(mu_);
  ++checkpoints_.failed;
  checkpoints_.last_failed_id = id;
  checkpoints_.last_failure = why;
}

void JobMetrics::restored(std::int64_t id) {
  std::lock_guard lock(mu_);
  ++checkpoints_.restores;
  checkpoints_.restored_id = id;
}

JobMetrics::CheckpointFigures JobMetrics::checkpoints() const {
  std::lock_guard lock(mu_);
  return checkpoints_;
}

void JobMetrics::set_consumer_lag(const std::string& topic, int partition, std::int64_t lag) {
  std::lock_guard lock(mu_);
  lag_[{topic, partition}] = lag;
}

std::map<std::pair<std::string, int>, std::int64_t> JobMetrics::consumer_lag() const {
  std::lock_guard lock(mu_);
  return lag_;
}

void JobMetrics::set_config(std::map<std::string, std::string> config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
}

std::map<std::string, std::string> JobMetrics::config() const {
  std::lock_guard lock(mu_);
  return config_;
}

JobTotals totals(const JobMetrics& m) {
  JobTotals t;
  if (!m.has_plan()) return t;
  const auto& tasks = m.tasks();
  for (std::size_t task = 0; task < tasks.size(); ++task) {
    for (int i = 0; i < tasks[task].parallelism; ++i) {
      const auto& inst = m.instance(static_cast<int>(task), i);
      for (std::size_t o = 0; o < tasks[task].ops.size(); ++o) {
        const auto& c = inst.ops[o].counters;
        const auto& kind = tasks[task].ops[o].kind;
        if (kind == "source") t.records_in += c.records_out + c.dead_letters;
        if (kind == "sink") t.records_out += c.records_in;
        t.dead_letters += c.dead_letters;
        t.late_records += c.late_records;
        t.spilled_bytes += c.spilled_bytes;
        t.bytes_in += c.bytes_in;
      }
    }
  }
  return t;
}

std::optional<std::int64_t> slowest_sink_watermark(const JobMetrics& m) {
  if (!m.has_plan()) return std::nullopt;
  std::optional<std::int64_t> slowest;
  for (std::size_t t = 0; t < m.tasks().size(); ++t) {
    const auto& task = m.tasks()[t];
    for (int i = 0; i < task.parallelism; ++i) {
      const auto& inst = m.instance(static_cast<int>(t), i);
      for (std::size_t o = 0; o < task.ops.size(); ++o) {
        const std::int64_t w = inst.ops[o].watermark.load(std::memory_order_relaxed);
        if (task.ops[o].kind == "sink" && is_watermark_time(w))
          slowest = slowest ? std::min(*slowest, w) : w;
      }
    }
  }
  return slowest;
}

}  // namespace runnel

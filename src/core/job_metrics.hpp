#pragma once
// The live figures of one run: the plan's shape (tasks of fused operators,
// exchanges) and, per operator and parallel instance, the counters its thread
// keeps (runnel/detail/counter.hpp), its watermark, its input queue's fill and its
// busy time; for the job, the checkpoint history and Kafka consumer lag.
// The executor writes them once per batch without locks; the metrics server
// and the status line read them from their own threads.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runnel/detail/counter.hpp"

namespace runnel {

// Whether a watermark is a time: not the one before the first, nor the end of
// input or the idle marker (runnel's kMinTimestamp, kMaxTimestamp and above).
inline bool is_watermark_time(std::int64_t w) {
  return w > std::numeric_limits<std::int64_t>::min() / 2 &&
         w < std::numeric_limits<std::int64_t>::max() / 4;
}

struct OperatorFigures {
  InstanceCounters counters;
  // Output watermark, ms since the epoch; the minimum int64 until the first.
  std::atomic<std::int64_t> watermark{std::numeric_limits<std::int64_t>::min()};
};

// One parallel instance of a task: its operators' figures and its thread's.
struct InstanceFigures {
  InstanceFigures(std::size_t ops, std::uint32_t queue_capacity)
      : ops(ops), queue_capacity(queue_capacity) {}
  std::deque<OperatorFigures> ops;  // a deque: built in place, never moved
  // Time spent handling batches (sources: producing them), waits on full
  // queues downstream included; idle time waiting for input is not.
  Counter busy_ns;
  std::atomic<std::uint32_t> queue_fill{0};  // batches waiting in its input queue
  const std::uint32_t queue_capacity;        // 0: a source, no input queue
};

struct OperatorInfo {
  std::string name;
  std::string kind;  // source, sink, element-wise, keyed, ...
};

struct TaskInfo {
  int parallelism = 1;
  std::vector<OperatorInfo> ops;     // fused, head first
  std::uint32_t queue_capacity = 0;  // batches per instance input queue; 0: a source
};

struct EdgeInfo {
  int from_task = 0;
  int from_op = 0;
  int to_task = 0;
  std::string kind;  // forward, hash, broadcast, ...
};

struct CheckpointRecord {
  std::int64_t id = 0;
  double seconds = 0;  // trigger to durable
  std::uint64_t bytes = 0;
  std::int64_t completed_unix_ms = 0;
  double pause_seconds = 0;  // the longest a task instance paused its records for its snapshot
};

enum class JobState { kCreated, kRunning, kFinished, kStopped, kFailed };
const char* to_string(JobState s);

class JobMetrics final : public FigureReporter {
 public:
  explicit JobMetrics(std::string job_name = "job") : job_name_(std::move(job_name)) {}
  JobMetrics(const JobMetrics&) = delete;
  JobMetrics& operator=(const JobMetrics&) = delete;

  // Lays out the figures of a plan; called before its threads start.
  void set_plan(std::vector<TaskInfo> tasks, std::vector<EdgeInfo> edges);
  InstanceFigures& instance(int task, int instance) { return *instances_[task][instance]; }
  const InstanceFigures& instance(int task, int instance) const {
    return *instances_[task][instance];
  }
  const std::vector<TaskInfo>& tasks() const { return tasks_; }
  const std::vector<EdgeInfo>& edges() const { return edges_; }
  const std::string& job_name() const { return job_name_; }
  // Whether set_plan ran: before, the figures list no tasks.
  bool has_plan() const { return planned_.load(std::memory_order_acquire); }

  void set_state(JobState s) { state_.store(s, std::memory_order_release); }
  JobState state() const { return state_.load(std::memory_order_acquire); }
  double uptime_seconds() const;

  // Checkpoints (rare: a lock is fine).
  void checkpoint_completed(const CheckpointRecord& r);
  // Checkpoint id could not be written (why), and the job goes on.
  void checkpoint_failed(std::int64_t id, const std::string& why);
  void restored(std::int64_t id);
  struct CheckpointFigures {
    std::uint64_t completed = 0, failed = 0, restores = 0;
    std::int64_t restored_id = -1;
    std::int64_t last_failed_id = 0;  // 0: none failed
    std::string last_failure;
    std::vector<CheckpointRecord> history;  // the latest, oldest first
  };
  CheckpointFigures checkpoints() const;

  // Kafka sources: lag per topic partition, reported every second or so.
  void set_consumer_lag(const std::string& topic, int partition, std::int64_t lag) override;
  std::map<std::pair<std::string, int>, std::int64_t> consumer_lag() const;

  // The job's settings as given (flag -> value), for its page.
  void set_config(std::map<std::string, std::string> config);
  std::map<std::string, std::string> config() const;

  // Bytes the job's bounded sources will read (0: unknown).
  std::atomic<std::uint64_t> expected_bytes{0};
  // Bytes read so far: the executor's count while it lives (attached before
  // any reader starts), then the last value it had, so figures that outlive
  // their run (a member's page over its shards) never read a freed count.
  void attach_bytes_read(const std::atomic<std::uint64_t>* count);
  void detach_bytes_read();
  std::uint64_t bytes_read() const;

 private:
  std::string job_name_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<bool> planned_{false};
  std::atomic<JobState> state_{JobState::kCreated};
  std::vector<TaskInfo> tasks_;
  std::vector<EdgeInfo> edges_;
  std::vector<std::vector<std::unique_ptr<InstanceFigures>>> instances_;  // [task][instance]
  mutable std::mutex mu_;
  CheckpointFigures checkpoints_;
  std::map<std::pair<std::string, int>, std::int64_t> lag_;
  std::map<std::string, std::string> config_;                 // under mu_
  const std::atomic<std::uint64_t>* bytes_source_ = nullptr;  // under mu_
  std::uint64_t bytes_final_ = 0;                             // under mu_
};

// The job's totals: records read by sources (rejected included) and taken by
// sinks, and the rest summed over every instance.
struct JobTotals {
  std::uint64_t records_in = 0, records_out = 0, dead_letters = 0, late_records = 0,
                spilled_bytes = 0, bytes_in = 0;
};
JobTotals totals(const JobMetrics& m);

// The slowest watermark of the job's sinks (ms since the epoch), if any
// has one that is a time.
std::optional<std::int64_t> slowest_sink_watermark(const JobMetrics& m);

}  // namespace runnel

#pragma once
// Triggers checkpoints, gathers every task instance's snapshot, writes the
// checkpoint and, once it is durable, tells sinks to publish (the second
// phase of their commit). It runs on a thread of its own; tasks only touch it
// at a barrier (acknowledge) and when they finish (finished).
//
// A task instance that has finished acknowledges once, with the state it
// finished in; that stands for it in every later checkpoint (its channels
// ended, so consumers count them as aligned), so a job whose history source
// ended keeps checkpointing its live part.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/job_metrics.hpp"
#include "runtime/physical_plan.hpp"
#include "runtime/stop_request.hpp"

namespace runnel::runtime {

struct CheckpointConfig {
  std::filesystem::path dir;  // empty: no checkpoints
  std::chrono::milliseconds interval{1000};
  int keep = 3;                      // complete checkpoints kept
  std::string restore;               // "": start afresh; "latest"; or a checkpoint's path
  std::filesystem::path local_copy;  // PipelineOptions::restore_local_copy
  // Checkpoints in a row that may fail to be written before the job fails.
  int tolerable_failures = 0;
  // The memory backend: every this-many-th checkpoint is full (RowLog).
  int full_every = 10;
  // Where savepoints go (state/savepoint.hpp); empty: none can be taken.
  std::filesystem::path savepoint_dir;
  // A restore drops saved state no operator of the plan takes.
  bool allow_non_restored_state = false;
  // A stop drains (the sources end, windows fire) instead of taking a final
  // checkpoint at once; the executor takes it when every task has finished.
  bool drain = false;
};

struct CheckpointStats {
  std::uint64_t completed = 0;
  std::uint64_t aborted = 0;
  std::uint64_t failed = 0;  // could not be written, and tolerated
  std::int64_t last_id = 0;  // the last completed one
  double last_seconds = 0;   // trigger to durable
  std::uint64_t last_bytes = 0;
  double total_seconds = 0;
  // The longest a task instance paused its records for its snapshot at a
  // barrier: in the last completed checkpoint, and in any.
  double last_pause_seconds = 0;
  double max_pause_seconds = 0;
  std::string last_savepoint;  // its directory; empty: none taken
};

class CheckpointCoordinator {
 public:
  using Log = std::function<void(const std::string&)>;
  using Fail = std::function<void(std::exception_ptr)>;
  // Called (on the coordinator's thread) once the checkpoint taken for a
  // stop request is durable and committed: the job may stop now.
  using Stopped = std::function<void(std::int64_t)>;

  // shared[task][op]: the operators' shared state (for the sinks' commits).
  CheckpointCoordinator(const PhysicalPlan& plan,
                        const std::vector<std::vector<std::shared_ptr<SharedState>>>& shared,
                        CheckpointConfig config, std::int64_t first_id, int max_parallelism,
                        KeyGroupRange key_groups, Log log, Fail fail, Stopped stopped);
  ~CheckpointCoordinator();

  // A stop request (see stop_request.hpp) makes the next checkpoint the
  // last. Before start().
  void set_stop(StopCheck stop) { stop_ = stop; }
  // Completed and aborted checkpoints are recorded there too. Before start().
  void set_metrics(JobMetrics* metrics) { metrics_ = metrics; }
  // The run's claim on the directory (state/checkpoint_claims.hpp): checked
  // before each checkpoint is written and before its output is published.
  void set_claim(std::int64_t claim) { claim_ = claim; }
  // savepoint_requests() when the run started: a request after it is taken.
  // Before start().
  void set_savepoints_seen(std::uint64_t n) { savepoints_seen_ = n; }
  void start();
  void stop();  // abandons a checkpoint in flight; joins the thread

  // Sources poll this between batches: an id above the last they injected
  // is a checkpoint to take now.
  std::int64_t requested() const { return requested_.load(std::memory_order_acquire); }
  // The last checkpoint that is durable and committed (sinks prune with it).
  const std::atomic<std::int64_t>& completed() const { return completed_; }
  // The last checkpoint that completed or failed: nothing waits for it or
  // any before it (RocksDB instances remove their snapshots up to it).
  const std::atomic<std::int64_t>& settled() const { return settled_; }

  // Task instance (task, instance) took its snapshot for checkpoint id,
  // pausing its records for pause_seconds.
  void acknowledge(int task, int instance, std::int64_t id, std::vector<OperatorSnapshot> snaps,
                   double pause_seconds = 0);
  // It finished; snaps is its final state, valid for every later checkpoint.
  void finished(int task, int instance, std::vector<OperatorSnapshot> snaps);
  // After a drain, once every task instance has finished and the
  // coordinator is stopped: a last checkpoint of their final states (where
  // the sources stopped, the windows fired), a savepoint too with a
  // savepoint_dir. Throws if it cannot be written.
  void checkpoint_drained();

  CheckpointStats stats() const;

 private:
  struct Slot {
    std::optional<std::vector<OperatorSnapshot>> pending;  // for in_flight_
    std::optional<std::vector<OperatorSnapshot>> final;
  };
  void loop();
  bool all_acknowledged() const;  // with mu_ held
  // Writes checkpoint id and has the sinks commit it; false: it could not be
  // written and the failure is tolerated (a failure not tolerated throws).
  bool complete(std::int64_t id, std::chrono::steady_clock::time_point started, bool final);
  // Checkpoint id could not be written (why): throws unless it may be tolerated.
  void failed(std::int64_t id, const std::string& why, bool final);
  // Keeps checkpoint id as a savepoint; a failure is logged (the checkpoint
  // itself stands).
  void save_point(std::int64_t id);
  bool savepoint_asked() const {
    return savepoint_requests().load(std::memory_order_relaxed) != savepoints_seen_;
  }

  const PhysicalPlan& plan_;
  const std::vector<std::vector<std::shared_ptr<SharedState>>>& shared_;
  CheckpointConfig config_;
  int max_parallelism_;
  KeyGroupRange key_groups_;
  std::int64_t claim_ = 0;
  Log log_;
  Fail fail_;
  Stopped stopped_;
  // The first operator that cannot go on past a failed checkpoint ("": none).
  std::string needs_every_checkpoint_;
  int failures_in_row_ = 0;  // the coordinator thread's
  StopCheck stop_;
  std::uint64_t savepoints_seen_ = 0;  // savepoint_requests() acted on
  JobMetrics* metrics_ = nullptr;
  std::int64_t next_id_;
  std::atomic<std::int64_t> requested_{0};
  std::atomic<std::int64_t> completed_{0};
  std::atomic<std::int64_t> settled_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::int64_t in_flight_ = 0;
  double in_flight_pause_ = 0;            // the longest pause for in_flight_ so far
  std::vector<std::vector<Slot>> slots_;  // [task][instance]
  int running_sources_ = 0;
  CheckpointStats stats_;
  std::thread thread_;
};

}  // namespace runnel::runtime

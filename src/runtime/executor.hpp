#pragma once
// Runs a physical plan: one thread per task instance, bounded queues between
// tasks, end-of-input in band. The first failure cancels every queue, so the
// job stops promptly, and is rethrown from run().
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/job_metrics.hpp"
#include "runtime/checkpoint_coordinator.hpp"
#include "runtime/physical_plan.hpp"
#include "runtime/stop_request.hpp"
#include "state/checkpoint_store.hpp"

namespace runnel::runtime {

struct InstanceRun;

// The plan's shape, for the metrics (task_graph.cpp).
void describe_plan(const PhysicalPlan& plan, std::size_t queue_capacity, JobMetrics& m);

struct ExecutionOptions {
  int max_parallelism = 128;
  std::size_t batch_size = 1024;
  std::size_t memory_budget = 0;    // for all hash tables together; 0 = unlimited
  std::size_t queue_capacity = 16;  // batches per task instance input
  std::filesystem::path temp_dir;
  // Keyed state's backend; RocksDB keeps its databases under state_dir.
  StateBackend state_backend = StateBackend::kMemory;
  std::filesystem::path state_dir;
  RocksDbTimers rocksdb_timers = RocksDbTimers::kRocksDB;
  // Streaming mode: watermarks in band, timers, results as windows complete.
  bool streaming = false;
  // Streaming mode: how often watermarks are computed and sent, timers run
  // and exchange buffers are flushed; 0 = after every batch.
  std::chrono::milliseconds tick{10};
  // Streaming mode: periodic checkpoints, and where to restore from.
  CheckpointConfig checkpoints;
  // Lines for the user (a restore, a damaged checkpoint skipped); stderr if unset.
  std::function<void(const std::string&)> log;
  // Where the run keeps its live figures (for a metrics server); the
  // executor makes its own when unset.
  std::shared_ptr<JobMetrics> metrics;
  // This run's own stop request (null: only process-wide ones, see stop_request.hpp).
  const std::atomic<int>* stop = nullptr;  // an OwnStop
  // The run fails once sources rejected more records than this, or more
  // than this fraction of those they read (PipelineOptions::max_rejected).
  std::uint64_t max_rejected = UINT64_MAX;
  double max_rejected_fraction = 1.0;
  // A job spread over members: this run reads share `share` of `shares` of
  // every input (see InstanceContext).
  int share = 0;
  int shares = 1;
  // The key groups this run owns: its share's.
  KeyGroupRange key_groups() const {
    return KeyGroupRange::of_share(share, shares, max_parallelism);
  }
};

struct ExecutionStats {
  std::uint64_t records_in = 0;    // read by sources (rejected ones included)
  std::uint64_t records_out = 0;   // taken by sinks
  std::uint64_t dead_letters = 0;  // records sent to a dead-letter output
  std::uint64_t spilled_bytes = 0;
  std::uint64_t late_records = 0;  // later than the allowed lateness
  double seconds = 0;
  CheckpointStats checkpoints;
  std::int64_t restored_checkpoint = -1;  // -1: no restore; 0: none was complete
  double restore_seconds = 0;  // loading the checkpoint, then the slowest instance's restore
  bool stopped = false;        // on a stop request (see stop_request.hpp)
};

class Executor {
 public:
  Executor(const PhysicalPlan& plan, ExecutionOptions options);
  ~Executor();

  // Creates per-operator shared state (validates outputs, lists input files).
  // Throws on user errors before any thread starts.
  void prepare();
  // Bytes the bounded sources will read, once prepared; 0 if unknown.
  std::uint64_t expected_bytes() const;
  // Bytes read so far, updated by sources once per batch.
  const std::atomic<std::uint64_t>& bytes_read() const { return bytes_read_; }

  ExecutionStats run();

 private:
  // The task graph of a run (task_graph.cpp): every instance built, wired to
  // its exchanges, before any thread starts.
  struct TaskGraph {
    std::vector<std::unique_ptr<InstanceRun>> runs;
    std::vector<int> channel_base;                // per edge: its first channel at the consumer
    std::vector<int> num_channels;                // per task: channels feeding each instance
    std::int64_t first_id = 1;                    // the first checkpoint id of this run
    std::size_t budget = 0;                       // memory budget per budget-holding instance
    std::shared_ptr<detail::KvMemory> kv_memory;  // RocksDB's share of it, or null
  };
  // Whether instances of `op` hold a share of the memory budget.
  bool holds_budget(const Operator& op) const;
  // The part of the budget the job's RocksDB databases share (0: none).
  std::size_t rocksdb_budget() const;
  std::size_t memory_budget_per_instance() const;
  void make_queues();
  TaskGraph build_task_graph(std::int64_t first_id);
  std::unique_ptr<InstanceRun> build_instance(const TaskGraph& g, int task, int instance);
  Output* wire_port(const TaskGraph& g, InstanceRun& r, int op, int port);
  InstanceContext instance_context(const TaskGraph& g, InstanceRun& r, int op);

  // Planning a restore (restore_plan.cpp). start_checkpointing checks every
  // operator can take part, plans the restore and makes the coordinator; it
  // returns the first id for new checkpoints.
  std::int64_t start_checkpointing();
  // Finds the checkpoint to restore, lets operators recover (sinks publish
  // or discard), and returns the first id for new checkpoints.
  std::int64_t prepare_restore();
  // Why an operator cannot restore checkpoint `c`, or "".
  std::string restore_problem(const state::LoadedCheckpoint& c) const;
  // The saved state of operator o of task t: by its uid, or by position in
  // a checkpoint written before uids.
  const state::LoadedOperator* saved_state(const state::LoadedCheckpoint& c, std::size_t t,
                                           std::size_t o) const;
  // Throws a UserError when `c`'s state does not fit this plan.
  void check_state_fits(const state::LoadedCheckpoint& c) const;
  void check_positional_state_fits(const state::LoadedCheckpoint& c) const;
  void recover_sinks();
  // The restored state of this instance's operators: operator state whole,
  // keyed state for the key groups it now owns.
  void assign_restored_state(InstanceRun& r) const;

  // Running (executor.cpp).
  void run_threads(std::vector<std::unique_ptr<InstanceRun>>& runs);
  void run_instance(InstanceRun& r);
  void run_source(InstanceRun& r);
  void run_consumer(InstanceRun& r);
  // The end of an instance's input: final watermark, finish, last snapshot.
  void finish_instance(InstanceRun& r);
  bool produce_timed(InstanceRun& r, SourceInstance& source);
  // Streaming: passes the input watermark down the task's operators and on
  // through its exchanges.
  void propagate_watermark(InstanceRun& r, Timestamp input);
  void tick(InstanceRun& r, Timestamp input);
  // Checkpoints: snapshots the task's operators, sends the barrier on, and
  // acknowledges to the coordinator.
  void take_checkpoint(InstanceRun& r, std::int64_t id);
  // The job's commit step: every sink publishes its output, or all abort.
  void commit_job();
  ExecutionStats stats(const std::vector<std::unique_ptr<InstanceRun>>& runs,
                       std::chrono::steady_clock::time_point start) const;
  void log(const std::string& line) const;
  void fail(std::exception_ptr error);
  // Why the rejected records fail the run (max_rejected), or "". While it
  // runs (`at_end` false) a fraction is judged once 1,000 records are in.
  std::string rejection_problem(bool at_end) const;
  // Runs `body` while a thread checks the rejected records every 100 ms.
  void watch_rejections(const std::function<void()>& body);
  // After the final checkpoint of a stop request: every task stops where it
  // is (no end-of-input), and sinks drop what came after the checkpoint.
  void stop_after_checkpoint();
  // Sources poll this: a stop request to act on now (see run_source).
  bool stop_requested_now();

  const PhysicalPlan& plan_;
  ExecutionOptions options_;
  // shared_[task][op]
  std::vector<std::vector<std::shared_ptr<SharedState>>> shared_;
  bool prepared_ = false;
  std::atomic<std::uint64_t> bytes_read_{0};
  std::shared_ptr<JobMetrics> metrics_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopped_{false};   // failed_ was set by a stop request, not an error
  std::atomic<bool> draining_{false};  // a stop ends the sources (no checkpoints, or drain)
  StopCheck stop_;                     // whether this run was asked to stop (see stop_request.hpp)
  std::exception_ptr error_;
  std::vector<std::vector<std::unique_ptr<class BatchQueue>>> queues_;  // [task][instance]
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  std::optional<state::LoadedCheckpoint> restored_;
  std::int64_t restored_id_ = -1;
  std::int64_t claim_ = 0;   // this run's claim on the checkpoint directory (0: none)
  double load_seconds_ = 0;  // reading and verifying the checkpoint to restore
};

}  // namespace runnel::runtime

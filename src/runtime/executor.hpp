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

#include "ops/job_metrics.hpp"
#include "runtime/checkpoint_coordinator.hpp"
#include "runtime/physical_plan.hpp"
#include "state/checkpoint_store.hpp"

namespace runnel::runtime {

struct ExecutionOptions {
  int max_parallelism = 128;
  std::size_t batch_size = 1024;
  std::size_t memory_budget = 0;    // for all hash tables together; 0 = unlimited
  std::size_t queue_capacity = 16;  // batches per task instance input
  std::filesystem::path temp_dir;
  // Keyed state's backend; RocksDB keeps its databases under state_dir.
  StateBackend state_backend = StateBackend::kMemory;
  std::filesystem::path state_dir;
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
  std::shared_ptr<ops::JobMetrics> metrics;
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
  struct InstanceRun;
  void run_instance(InstanceRun& r);
  void run_source(InstanceRun& r);
  void run_consumer(InstanceRun& r);
  bool produce_timed(InstanceRun& r, SourceInstance& source);
  // Streaming: passes the input watermark down the task's operators and on
  // through its exchanges.
  void propagate_watermark(InstanceRun& r, Timestamp input);
  void tick(InstanceRun& r, Timestamp input);
  // Checkpoints: snapshots the task's operators, sends the barrier on, and
  // acknowledges to the coordinator.
  void take_checkpoint(InstanceRun& r, std::int64_t id);
  // Finds the checkpoint to restore, lets operators recover (sinks publish
  // or discard), and returns the first id for new checkpoints.
  std::int64_t prepare_restore();
  void log(const std::string& line) const;
  void fail(std::exception_ptr error);
  // After the final checkpoint of a stop request: every task stops where it
  // is (no end-of-input), and sinks drop what came after the checkpoint.
  void stop_after_checkpoint();
  // Sources poll this: a stop request to act on now (see run_source).
  bool stop_requested_now();

  const PhysicalPlan& plan_;
  ExecutionOptions options_;
  // shared_[task][op]
  std::vector<std::vector<std::shared_ptr<void>>> shared_;
  bool prepared_ = false;
  std::atomic<std::uint64_t> bytes_read_{0};
  std::shared_ptr<ops::JobMetrics> metrics_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> stopped_{false};   // failed_ was set by a stop request, not an error
  std::atomic<bool> draining_{false};  // streaming without checkpoints: sources end on a stop
  std::uint64_t stop_base_ = 0;        // stop requests before this run (see stop_request.hpp)
  std::exception_ptr error_;
  std::vector<std::vector<std::unique_ptr<class BatchQueue>>> queues_;  // [task][instance]
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  std::optional<state::LoadedCheckpoint> restored_;
  std::int64_t restored_id_ = -1;
  double load_seconds_ = 0;  // reading and verifying the checkpoint to restore
};

}  // namespace runnel::runtime

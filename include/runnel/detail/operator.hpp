#pragma once
// The runtime's view of an operator. A planned Operator is immutable; each
// parallel instance gets its own OperatorInstance holding everything that
// changes while it runs (buffers, hash tables). Batches, never records, cross
// these interfaces: one virtual call per batch.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runnel/detail/batch.hpp"
#include "runnel/detail/counter.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/shared_state.hpp"
#include "runnel/detail/snapshot.hpp"

namespace runnel {
namespace detail {
class KvMemory;  // the state layer's (kv_store.hpp); only held here
}  // namespace detail

// Streaming mode: a source split (a file split, a Kafka partition, a
// generator shard) begins, before its first record, so that its watermark
// holds the others back from the start; or ends, so that it no longer does.
// Control, not data: it travels down a task's fused operators in order with
// the batches the source pushed before it, and is consumed where event time
// is assigned (with_timestamps). Exchanges do not carry it: downstream of
// with_timestamps, the watermark speaks for the splits.
struct SplitEvent {
  enum class Kind : std::uint8_t { kStart, kEnd };
  Kind kind = Kind::kStart;
  std::int32_t split = -1;
};

// Where an operator instance sends a batch: the next fused operator, a fan-out
// to several, or an exchange to another task. The callee may move values out
// of the batch; the caller clears and reuses it afterwards.
class Output {
 public:
  virtual ~Output() = default;
  virtual void push(BatchBase& batch) = 0;
  // A split event after the batches pushed so far; dropped where no fused
  // operator follows (an exchange, an unused output).
  virtual void split_event(const SplitEvent& /*event*/) {}
};

class OperatorInstance;

// Feeds an operator instance of the same thread, as its input 0: a direct
// call, no queue (the executor's fused operators; a composite operator's parts).
// Split events go to the instance, and on to `next_outputs` (its output
// ports) unless it consumes them.
class InstanceInput final : public Output {
 public:
  InstanceInput(OperatorInstance* next, std::vector<Output*> next_outputs)
      : next_(next), next_outputs_(std::move(next_outputs)) {}
  void push(BatchBase& batch) override;
  void split_event(const SplitEvent& event) override;

 private:
  OperatorInstance* next_;
  std::vector<Output*> next_outputs_;
};

// What the executor tells an instance about where it runs.
struct InstanceContext {
  int instance = 0;  // 0 .. parallelism-1
  int parallelism = 1;
  // A job spread over members (PipelineOptions::share): this run reads share
  // `share` of `shares` of every input. Splits (file ranges, Kafka
  // partitions, generator shards) are numbered the same in every member,
  // independent of its parallelism; split i belongs to share i % shares, and
  // within it to instance (i / shares) % parallelism. (A create() is cut
  // into `shares` slices, then each into `parallelism`.)
  int share = 0;
  int shares = 1;
  bool share_owns(std::uint64_t split) const {
    return split % static_cast<std::uint64_t>(shares) == static_cast<std::uint64_t>(share);
  }
  bool reads_split(std::uint64_t split) const {
    return share_owns(split) &&
           (split / static_cast<std::uint64_t>(shares)) % static_cast<std::uint64_t>(parallelism) ==
               static_cast<std::uint64_t>(instance);
  }
  int max_parallelism = 128;  // number of key groups
  // The key groups this run owns (count 0: all of them); a keyed operator's
  // instance owns owned_key_groups().first_of(instance, parallelism) ..
  // last_of(instance, parallelism).
  KeyGroupRange key_groups;
  KeyGroupRange owned_key_groups() const {
    return key_groups.count > 0 ? key_groups : KeyGroupRange::all(max_parallelism);
  }
  std::size_t batch_size = 1024;
  std::size_t memory_budget = 0;   // bytes this instance may hold in hash tables; 0 = unlimited
  std::filesystem::path temp_dir;  // where spill files go
  InstanceCounters* counters = nullptr;
  FigureReporter* figures = nullptr;                     // may be null
  std::atomic<std::uint64_t>* progress_bytes = nullptr;  // sources add bytes read, per batch
  SharedState* shared = nullptr;  // what the operator's make_shared_state made, or null
  // Streaming mode: watermarks travel with the data and results are emitted
  // as windows complete. Batch mode: nothing before the end of the input.
  bool streaming = false;
  // Checkpoints are on: sinks hold output back until the checkpoint that
  // covers it completes. `first_checkpoint_id` is the id the next
  // checkpoint of this run will have; `completed_checkpoint` is raised by the
  // coordinator once a checkpoint is durable and committed,
  // `settled_checkpoint` once it completed or failed.
  bool checkpointing = false;
  std::int64_t first_checkpoint_id = 1;
  const std::atomic<std::int64_t>* completed_checkpoint = nullptr;
  const std::atomic<std::int64_t>* settled_checkpoint = nullptr;
  // The memory backend's checkpoints are incremental (with a state_dir):
  // every this-many-th is full, the others hold what changed since the last.
  int checkpoint_full_every = 10;
  // Keyed state: which backend, and for RocksDB the directory of this run
  // where instances keep their databases (named by `uid`, the operator's
  // stable position in the plan, and the instance), and the memory they
  // share (null: no budget).
  StateBackend state_backend = StateBackend::kMemory;
  std::filesystem::path state_dir;
  RocksDbTimers rocksdb_timers = RocksDbTimers::kRocksDB;  // in the database or beside it
  std::string uid;
  std::shared_ptr<detail::KvMemory> kv_memory;
};

// What the executor tells an operator when it makes its shared state.
struct SharedStateContext {
  int parallelism = 1;
  int share = 0;  // as InstanceContext
  int shares = 1;
  // The job restores a checkpoint (or starts one from nothing): a sink's
  // directory may hold the output of the run being resumed.
  bool restoring = false;
  // Checkpoints are on: where they go, how often, how many are kept; and the
  // operator's stable position in the plan (as InstanceContext::uid).
  bool checkpointing = false;
  std::filesystem::path checkpoint_dir;
  std::chrono::milliseconds checkpoint_interval{0};
  int checkpoints_kept = 0;
  std::string uid;
};

class OperatorInstance {
 public:
  virtual ~OperatorInstance() = default;
  virtual void open() {}
  // A batch arrived on input `input` (0 for single-input operators).
  virtual void process(int input, BatchBase& batch) = 0;
  // Input `input` has ended (every producer of it has finished).
  virtual void end_of_input(int /*input*/) {}
  // Every input has ended: emit what is buffered.
  virtual void finish() {}
  // Release resources; called after finish, and also on failure.
  virtual void close() {}

  // Streaming mode only. The watermark of this instance's input (the minimum
  // over its input channels; for a source, kMinTimestamp) rose to `input`:
  // emit what that completes and return this operator's output watermark.
  // Called once per watermark interval, so it may be idempotent and cheap;
  // at the end of input it is called with kMaxTimestamp before finish().
  virtual Timestamp on_watermark(Timestamp input) { return input; }
  // Streaming mode only: called about every timer tick with the processing
  // time in milliseconds since the epoch (early firings, idleness).
  virtual void on_processing_time(Timestamp /*now*/) {}
  // Streaming mode only: a source split began or ended upstream in this task
  // (after every batch the source pushed before it). True if the operator
  // consumes it; false (the default) passes it on to each of its outputs,
  // which the caller does: an operator only overrides this to use it. An
  // operator between a source and with_timestamps must therefore not hold
  // output back across process() calls (element-wise operators flush each batch).
  virtual bool on_split_event(const SplitEvent& /*event*/) { return false; }

  // Checkpoints (streaming mode; stateless operators too, with nothing
  // kept of what they write). Called when
  // the barrier of checkpoint `id` has arrived on every input, between
  // batches, in the task's operator order: save what it takes to continue
  // from here. An operator that holds output back (a partial combine) sends
  // it now, so it travels ahead of the barrier.
  virtual void snapshot(std::int64_t /*id*/, OperatorSnapshot& /*out*/) {}
  // Called after open() and before any input when the job restores a checkpoint.
  virtual void restore(const RestoredState& /*in*/) {}
};

inline void InstanceInput::push(BatchBase& batch) { next_->process(0, batch); }
inline void InstanceInput::split_event(const SplitEvent& event) {
  if (next_->on_split_event(event)) return;
  for (auto* out : next_outputs_) out->split_event(event);
}

// A source instance produces until it is exhausted; the executor calls
// `produce` in a loop. It never receives input batches.
class SourceInstance : public OperatorInstance {
 public:
  void process(int, BatchBase&) final {}
  // Produce the next batch(es) to the outputs; false once exhausted.
  virtual bool produce() = 0;
};

// What an operator is, for the planner and for `explain`.
enum class OperatorKind {
  kSource,       // no inputs
  kElementWise,  // map, filter, flat_map, par_do: fusable, forward input
  kKeyed,        // needs its input hash-partitioned by key group
  kMultiInput,   // flatten, side-input par_do: starts a task, merges inputs
  kSink,         // writes outside the pipeline
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                        std::vector<Output*> outputs) const = 0;
  // State shared by all parallel instances of this operator in one run (e.g.
  // the list of file splits sources take from). Null if none.
  virtual std::shared_ptr<SharedState> make_shared_state(const SharedStateContext& /*ctx*/) const {
    return nullptr;
  }
  // Called once after every instance finished successfully (e.g. write _SUCCESS).
  virtual void on_job_success(SharedState* /*shared*/) const {}
  // Called once if the job failed (e.g. remove temporary files).
  virtual void on_job_failure(SharedState* /*shared*/) const {}
  // Called once, from whichever thread failed the job, while instances may
  // still run: wake any instance waiting for something (a checkpoint's
  // commit) that will not come now, so that the job ends at once.
  virtual void on_job_cancel(SharedState* /*shared*/) const {}
  // True if instances hold hash tables that count against the memory budget.
  virtual bool uses_memory_budget() const { return false; }
  // True if instances keep keyed rows (KeyedRows): on the RocksDB backend
  // their caches of decoded rows count against the memory budget too.
  virtual bool keeps_keyed_rows() const { return false; }
  // False for a source that never ends by itself (a live topic, a
  // generator without a limit): the pipeline then runs in streaming mode.
  virtual bool bounded() const { return true; }
  // Whether and how instances take part in checkpoints (see snapshot.hpp).
  virtual CheckpointSupport checkpoint_support() const { return CheckpointSupport::kUnsupported; }
  // The version of what this operator's instances' snapshot() writes (keyed
  // and operator state). Every checkpoint records it per operator and a
  // restore hands it back (RestoredState::format), so a later version can
  // read what an earlier one wrote; a checkpoint written in a format above
  // this one is refused at restore, naming the operator. Raise it when the
  // bytes change.
  virtual std::uint32_t state_format() const { return 1; }
  // Why an operator of a kind that could take part cannot (kUnsupported), and what to do.
  virtual std::string checkpoint_unsupported_reason() const { return {}; }
  // Sinks, the second phase of their commit: checkpoint `id` is durable, so
  // publish what its instances' operator states (`states`) hold back. Called
  // on the checkpoint coordinator's thread, once per completed checkpoint.
  virtual void commit_checkpoint(SharedState* /*shared*/, std::int64_t /*id*/,
                                 const std::vector<std::string>& /*states*/) const {}
  // Whether the job can go on past a checkpoint that failed (the next one
  // then covers what it would have; see tolerable checkpoint failures):
  // false for a sink whose output waits for each checkpoint to complete
  // before it takes more, which would wait for ever.
  virtual bool outlives_failed_checkpoint(SharedState* /*shared*/) const { return true; }
  // A restore of checkpoint `id` (0: none complete, start from the
  // beginning), before any instance starts: publish what `states` hold back
  // and discard what was written after checkpoint `id`.
  virtual void recover(SharedState* /*shared*/, std::int64_t /*id*/,
                       const std::vector<std::string>& /*states*/) const {}
  // Before a restore: why checkpoint `id` (its instances' operator states)
  // cannot be restored by this operator, or "" if it can. `--restore latest`
  // then tries the checkpoint before (a sink that cannot finish the commit of
  // that checkpoint's output asks for the one before it).
  virtual std::string restore_problem(SharedState* /*shared*/, std::int64_t /*id*/,
                                      const std::vector<std::string>& /*states*/) const {
    return {};
  }
  // Total bytes a bounded source will read, for progress; 0 if unknown.
  virtual std::uint64_t expected_bytes(SharedState* /*shared*/) const { return 0; }
};

}  // namespace runnel

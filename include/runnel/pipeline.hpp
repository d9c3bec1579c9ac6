#pragma once
// Pipeline: owns the graph a program builds, plans it and runs it.
//
//   Pipeline p(PipelineOptions{.parallelism = 4});
//   auto counts = p.read(io::text("in/*.txt")).flat_map(...).count_per_element();
//   counts.write(io::csv("out"));
//   RunResult r = p.run();
//
// run() throws runnel::UserError for what a user can fix (paths, output in the
// way) and other exceptions for internal failures; a failed run leaves no
// output under final names.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "runnel/csv.hpp"
#include "runnel/dead_letter.hpp"
#include "runnel/detail/generator_source.hpp"
#include "runnel/detail/hybrid_source.hpp"
#include "runnel/detail/node_builder.hpp"
#include "runnel/error.hpp"
#include "runnel/execution_mode.hpp"
#include "runnel/generator.hpp"
#include "runnel/hybrid.hpp"
#include "runnel/io.hpp"
#include "runnel/json.hpp"
#include "runnel/pcollection.hpp"

namespace runnel {
class JobMetrics;
namespace runtime {
struct PhysicalPlan;
}

struct PipelineOptions {
  int parallelism = 0;            // instances per task; 0 = the machine's cores
  std::size_t batch_size = 1024;  // records per batch between operators
  // For all hash tables and, with RocksDB state, RocksDB and its row caches; 0 = unlimited.
  std::size_t memory_budget = std::size_t{1} << 30;
  int max_parallelism = 128;  // key groups
  std::string temp_dir;       // for spill files; empty = the system's temp directory
  // Where keyed state lives: in memory, or in RocksDB databases under
  // state_dir (empty: under temp_dir), one per operator instance, removed
  // when the run ends (checkpoints hold what survives it).
  StateBackend state_backend = StateBackend::kMemory;
  std::string state_dir;
  // RocksDB state: timers (a stateful DoFn's, a combine's firings and
  // cleanup) in its databases, counted in memory_budget, or in memory as
  // on the memory backend (faster when a job sets a timer per few records
  // and they fit; not in the budget).
  RocksDbTimers rocksdb_timers = RocksDbTimers::kRocksDB;
  bool overwrite_output = false;  // file sinks replace an earlier run's output
  // The job fails (a UserError naming the limit, its output not committed)
  // once its sources have rejected more than `max_rejected` records, or more
  // than `max_rejected_fraction` of the records they read (checked while it
  // runs once 1,000 records are in, and at the end on all of them). By
  // default no number of rejected records fails a job: they go to
  // dead_letters() and are counted.
  std::uint64_t max_rejected = UINT64_MAX;
  double max_rejected_fraction = 1.0;
  bool progress = false;       // a progress bar on stderr (when it is a terminal)
  bool lift_combiners = true;  // pre-aggregate before keyed exchanges
  bool fuse = true;            // run element-wise chains in their producer's task
  ExecutionMode mode = ExecutionMode::kAuto;
  // Streaming mode: how often watermarks advance, timers run and partly
  // filled batches are sent on (a bound on the latency it adds); 0 = after
  // every batch.
  std::chrono::milliseconds watermark_interval{10};
  // Streaming mode: checkpoints into this directory (empty: none), every
  // interval (from the end of one to the start of the next), keeping the
  // newest `checkpoints_kept`. Batch mode takes none: a failed run is rerun.
  std::string checkpoint_dir;
  std::chrono::milliseconds checkpoint_interval{1000};
  int checkpoints_kept = 3;
  // Checkpoints in a row that may fail to be written (a full disk, a
  // directory that cannot be written) before the job fails, as Flink's
  // tolerable checkpoint failures; 0 (the default): the first failure fails
  // the job. A failed checkpoint is discarded and the next one covers what
  // it would have (file sinks publish its output then). A job with an
  // exactly-once Kafka sink fails at the first failure whatever this says:
  // the sink's transaction waits for that checkpoint. A stop's final
  // checkpoint that fails always fails the job.
  int tolerable_checkpoint_failures = 0;
  // The memory backend's checkpoints are incremental: each writes the rows
  // that changed since the one before, and every this-many-th writes every
  // row (so a restore reads at most this many files per instance; 1: every
  // checkpoint is full). The RocksDB backend's share unchanged table files
  // whatever this says.
  int checkpoint_full_every = 10;
  // "latest": resume from the newest usable checkpoint in checkpoint_dir (or
  // from the beginning if there is none); a checkpoint's path: from that one;
  // empty: start afresh.
  std::string restore;
  // With restore "latest": a directory of copies of checkpoint_dir's
  // checkpoints on this machine's disk (a job member's standby replica,
  // --standby-replicas; Flink's task-local recovery). The checkpoint the
  // restore chooses is read from its copy here when the copy is the same
  // checkpoint and intact, else from checkpoint_dir.
  std::string restore_local_copy;
  // A restore whose checkpoint holds state for a uid this pipeline has no
  // stateful transform for fails, naming it; with this, that state is
  // dropped (Flink's --allowNonRestoredState).
  bool allow_non_restored_state = false;
  // Savepoints (checkpoints a user keeps, for upgrades) go here, each as
  // savepoint-N: taken on request_savepoint() (SIGUSR1 in the CLI), and the
  // final checkpoint of a stop is one too. Retention never deletes them. They
  // restore as checkpoints do: restore = the savepoint's path. Empty: a
  // request is refused with a warning.
  std::string savepoint_dir;
  // What a stop request does to a streaming job: false keeps the state (a
  // final checkpoint, no window fires early: Flink's stop with savepoint);
  // true drains (the sources end where they are, every window fires, the
  // sinks commit, and with checkpoints a final one records where the sources
  // stopped: Flink's stop --drain).
  bool drain_on_stop = false;

  // While it runs, the job serves its figures on metrics_address:metrics_port:
  // /metrics (Prometheus text format), /api/job (the plan and its figures as
  // JSON) and / (a web page of both). -1: off; 0: a free port, which is
  // logged and passed to `on_metrics_port`.
  int metrics_port = -1;
  // The address it listens on: loopback unless told otherwise (the figures
  // name topics, paths and operators); another is logged as a warning.
  // "0.0.0.0" listens on every interface.
  std::string metrics_address = "127.0.0.1";
  std::function<void(int port)> on_metrics_port;
  // Serves the final figures this long after the job ends (a short job ends
  // between two Prometheus scrapes otherwise), then returns from run().
  std::chrono::milliseconds metrics_linger{0};
  // Logs a one-line status (rates, watermark lag, backpressure, checkpoints)
  // this often while the job runs; 0: never.
  std::chrono::milliseconds status_interval{0};
  // Called with the run's figures before it starts (they outlive the run
  // while held): a member of a job spread over processes reports its shards'
  // progress from them. The figures' type is internal (src/core).
  std::function<void(const std::shared_ptr<JobMetrics>&)> on_metrics;
  // The job's name on the web page and in the logs.
  std::string job_name = "job";
  // A job spread over several processes (members, see --job-id in the
  // guide): this run reads share `share` (0 .. shares-1) of every input:
  // the Kafka partitions, file splits and generator shards numbered i with
  // i % shares == share (numbered the same in every member), and the
  // share-th of `shares` equal slices of a create(). A keyed exchange
  // crosses between shares through the job's repartition topics on the
  // cluster below (key group g to share g * shares / max_parallelism); a
  // plan with a broadcast exchange is refused while shares > 1.
  int share = 0;
  int shares = 1;
  // With shares > 1: the job's id, and the Kafka cluster its members meet on
  // (bootstrap servers; librdkafka properties to reach it).
  std::string job_id;
  std::string job_bootstrap;
  std::map<std::string, std::string> job_kafka_properties;
};

struct RunResult {
  std::uint64_t records_in = 0;     // read by sources, rejected ones included
  std::uint64_t records_out = 0;    // written by sinks
  std::uint64_t dead_letters = 0;   // rejected by sources
  std::uint64_t spilled_bytes = 0;  // hash aggregation overflow written to disk
  std::uint64_t late_records = 0;   // later than the allowed lateness (see window_into)
  bool streaming = false;           // the mode it ran in
  double seconds = 0;
  std::uint64_t checkpoints = 0;         // completed in this run
  std::uint64_t checkpoints_failed = 0;  // failed and tolerated in this run
  double checkpoint_seconds = 0;         // the last one's duration, trigger to durable
  std::uint64_t checkpoint_bytes = 0;    // the last one's size
  // The longest any task instance held its records back to snapshot its
  // state at a checkpoint's barrier, over the run (Flink's "sync duration";
  // what is written off the task thread is not in it).
  double checkpoint_max_pause_seconds = 0;
  std::int64_t restored_checkpoint = -1;  // -1: not restored; 0: restored, none was complete
  double restore_seconds = 0;             // reading the checkpoint and restoring every instance
  bool stopped = false;                   // ended by request_stop() (or SIGINT/SIGTERM in the CLI)
  std::string savepoint;  // the last savepoint this run took (its directory), or empty
};

// Asks the pipelines running in this process now to stop gracefully (safe to
// call from a signal handler). A streaming job with checkpoints takes a final
// checkpoint, commits its sinks up to it and returns with RunResult::stopped
// (no end-of-input: a restore of that checkpoint continues where it stopped,
// as Flink's stop with savepoint); a streaming job without checkpoints ends
// its sources as if the input ended (every window fires, sinks commit); a
// batch job is interrupted with a UserError and commits nothing.
void request_stop();

// Asks the streaming pipelines with checkpoints running in this process now
// to take a savepoint into their savepoint_dir (safe to call from a signal
// handler; the CLI calls it on SIGUSR1). The job goes on.
void request_savepoint();

class Pipeline {
 public:
  explicit Pipeline(PipelineOptions options = {});
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Elements from memory, split over the instances.
  template <class T>
  PCollection<T> create(std::vector<T> values) {
    return source<T>(NodeBuilder("create", OperatorKind::kSource,
                                 std::make_shared<detail::CreateSource<T>>(std::move(values))));
  }

  // Synthetic events (see generator.hpp); unbounded if options.events is 0.
  template <class T, class F>
  PCollection<T> read(const io::GeneratorIO<T, F>& in) {
    static_assert(
        std::is_convertible_v<std::invoke_result_t<const F&, const io::GeneratedEvent&>, T>,
        "io::generator<T>(options, f): f must be callable as f(const io::GeneratedEvent&) "
        "and return a T");
    return source<T>(NodeBuilder("generator", OperatorKind::kSource,
                                 std::make_shared<detail::GeneratorSource<T, F>>(in)));
  }

  // Every line of the files the path or glob names.
  PCollection<std::string> read(const io::TextIO& in);
  // A Kafka topic's records (see runnel/kafka.hpp).
  PCollection<io::KafkaRecord> read(const io::KafkaIO& in);
  // A Kafka topic's record values decoded as T; those that do not decode go
  // to dead_letters() with topic-partition, offset and reason.
  template <class T, io::KafkaFormat F>
  PCollection<T> read(const io::KafkaValuesIO<T, F>& in) {
    PCollection<io::KafkaRecord> records = read(in.io);
    const char* format = F == io::KafkaFormat::kJson  ? "json"
                         : F == io::KafkaFormat::kCsv ? "csv"
                                                      : "coded";
    return source_with_dead_letters<T>(
        NodeBuilder(std::string("decode ") + format + " '" + in.io.topic + "'",
                    OperatorKind::kElementWise, std::make_shared<detail::KafkaDecodeOp<T, F>>())
            .input(records.ref()));
  }

  // A history, then a live topic (see runnel/hybrid.hpp); records that do not
  // decode, on either side, go to dead_letters().
  template <class T, class History, class Live, class TimeFn>
  PCollection<T> read(const io::HybridIO<T, History, Live, TimeFn>& in) {
    io::KafkaIO live = in.live.io;
    live.start_time = in.switch_time;
    auto live_values = in.live;
    live_values.io = live;
    return source_with_dead_letters<T>(NodeBuilder(
        "read history then kafka '" + live.topic + "'", OperatorKind::kSource,
        std::make_shared<detail::HybridSourceOp<T, TimeFn>>(
            typed_source(in.history), typed_source(live_values), in.time_of, in.switch_time)));
  }

  // Every line (of the files, or every record value of a kafka:// topic)
  // parsed as a T, as CSV or JSON; lines that do not parse go to dead_letters().
  template <class T>
  PCollection<T> read(const io::RecordsIO<T>& in) {
    static_assert(!std::is_void_v<T>,
                  "read(io::csv<T>(glob)) or read(io::json<T>(glob)): name the record type T");
    if (io::is_kafka_url(in.path)) {
      const io::KafkaIO k = io::kafka_url_input(in.path, in.kafka_bounded, in.kafka_properties,
                                                in.kafka_wait_for_topic);
      if constexpr (json::parsable_v<T>) {
        if (in.format == io::RecordFormat::kJson) return read(k.template json<T>());
      }
      if constexpr (csv::parsable_v<T>) {
        if (in.format == io::RecordFormat::kCsv) return read(k.template csv<T>());
      }
      throw UserError("'" + in.path + "': these records have no " +
                      io::record_format_name(in.format) + " form to read");
    }
    return source_with_dead_letters<T>(
        NodeBuilder(std::string("read ") + io::record_format_name(in.format) + " '" + in.path + "'",
                    OperatorKind::kSource, detail::record_file_source(in)));
  }

  // Every record any source read so far rejected, with where and why. Call
  // after the reads: rejections of sources added later, and of any source if
  // this is never called, are logged to stderr by run().
  PCollection<DeadLetter> dead_letters();
  // Sources whose rejections nobody has asked for yet.
  bool has_unclaimed_dead_letters() const {
    return dead_letters_claimed_ < dead_letter_ports_.size();
  }

  // The physical plan: tasks, what is fused into each, and the exchanges.
  std::string explain() const;

  RunResult run();
  // Asks this pipeline's run (on another thread) to stop as request_stop()
  // does, without touching other runs in the process.
  void request_stop() {
    int none = 0;
    stop_.compare_exchange_strong(none, 1);
  }
  // Ends this pipeline's run at once without a final checkpoint or a commit:
  // run() throws, and what the run wrote since its last checkpoint is
  // discarded by the next restore (a member of a job spread over processes
  // that lost a shard to another member).
  void request_abort() { stop_.store(2); }

  const PipelineOptions& options() const { return options_; }
  // The mode run() uses: options().mode, or for kAuto what the sources imply.
  bool streaming() const;

 private:
  friend int detail::add_node(Pipeline& p, NodeSpec spec);
  friend void detail::set_uid(Pipeline& p, int node, std::string uid);
  int add_node(NodeSpec spec);
  template <class T>
  PCollection<T> source(NodeBuilder node) {
    return PCollection<T>(this, PortRef{add_node(node.build()), 0});
  }
  // A node whose output 1 is its rejected records: they go to dead_letters().
  template <class T>
  PCollection<T> source_with_dead_letters(NodeBuilder node) {
    const int id = add_node(node.outputs(2).build());
    dead_letter_ports_.push_back(PortRef{id, 1});
    return PCollection<T>(this, PortRef{id, 0});
  }
  template <class T>
  static detail::TypedSource typed_source(const io::RecordsIO<T>& in) {
    return {detail::record_file_source(in), nullptr};
  }
  template <class T, io::KafkaFormat F>
  static detail::TypedSource typed_source(const io::KafkaValuesIO<T, F>& in) {
    return {detail::make_kafka_source(in.io, false),
            std::make_shared<detail::KafkaDecodeOp<T, F>>()};
  }
  std::vector<NodeSpec> graph_with_defaults() const;
  runtime::PhysicalPlan physical_plan() const;

  PipelineOptions options_;
  std::atomic<int> stop_{0};  // 1: stop, 2: abort (runtime::OwnStop)
  std::vector<NodeSpec> nodes_;
  std::vector<PortRef> dead_letter_ports_;
  std::size_t dead_letters_claimed_ = 0;  // dead_letter_ports_[0, this) have a consumer
};

}  // namespace runnel

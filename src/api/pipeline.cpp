#include "runnel/pipeline.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "api/repartition_plan.hpp"
#include "api/stable_ids.hpp"
#include "core/log.hpp"
#include "observe/metrics_server.hpp"
#include "observe/progress.hpp"
#include "observe/status_line.hpp"
#include "plan/planner.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/error.hpp"
#include "runtime/executor.hpp"
#include "runtime/stop_request.hpp"

namespace runnel {
namespace detail {

int add_node(Pipeline& p, NodeSpec spec) { return p.add_node(std::move(spec)); }

void set_uid(Pipeline& p, int node, std::string uid) {
  // The manifest keeps it on a line of its own, trimmed.
  const bool one_line =
      !uid.empty() && std::isspace(static_cast<unsigned char>(uid.front())) == 0 &&
      std::isspace(static_cast<unsigned char>(uid.back())) == 0 &&
      std::none_of(uid.begin(), uid.end(), [](char c) { return c == '\n' || c == '\r'; });
  if (!one_line)
    throw std::invalid_argument("uid('" + uid +
                                "'): a uid is one line of text, not empty, with no space at "
                                "either end");
  auto& nodes = p.nodes_;
  // A stateless step saves nothing: the uid names the stateful transform it
  // comes from (a composite's last step: count()'s map, a JSON read's decode).
  auto target = static_cast<std::size_t>(node);
  for (std::size_t at = target;;) {
    const NodeSpec& n = nodes.at(at);
    if (n.kind != OperatorKind::kElementWise || n.inputs.size() != 1 ||
        n.op->checkpoint_support() != CheckpointSupport::kStateless)
      break;
    at = static_cast<std::size_t>(n.inputs[0].node);
    const NodeSpec& up = nodes.at(at);
    if (up.op->checkpoint_support() == CheckpointSupport::kStateful) {
      if (up.uid.empty()) target = at;
      break;
    }
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (i != target && nodes[i].uid == uid)
      throw std::invalid_argument("uid '" + uid + "' is given to two transforms ('" +
                                  nodes[i].name + "' and '" + nodes[target].name +
                                  "'); a uid names one transform");
  }
  nodes[target].uid = std::move(uid);
}
bool overwrite_default(const Pipeline& p) { return p.options().overwrite_output; }

namespace {
// Where unclaimed dead letters go: stderr, a few in full, then a count.
class LogDeadLettersOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext&,
                                                std::vector<Output*>) const override {
    return std::make_unique<Instance>();
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    void process(int, BatchBase& batch) override {
      for (const auto& d : batch_cast<DeadLetter>(batch).values) {
        if (shown_++ < 10) {
          log_warn(fmt::format("rejected {}:{}: {}", d.source, d.line, d.reason));
          if (shown_ == 10)
            log_warn(
                "further rejected records are counted, not logged: --dead-letters DIR or "
                "kafka://HOST:PORT/TOPIC (or Pipeline::dead_letters()) keeps each with its "
                "reason");
        }
      }
    }

   private:
    std::uint64_t shown_ = 0;
  };
};

std::filesystem::path make_temp_dir(const std::string& base) {
  static std::atomic<int> counter{0};
  std::filesystem::path root =
      base.empty() ? std::filesystem::temp_directory_path() : std::filesystem::path(base);
  return root / fmt::format("runnel-{}-{}", ::getpid(), counter.fetch_add(1));
}

// A directory of this run under the user's --state-dir. Those a killed run
// left behind (their process is gone) are removed first: RocksDB working
// copies are worthless once their run ends; checkpoints hold the state.
std::filesystem::path make_state_dir(const std::string& base) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(base, ec) && !fs::is_directory(base, ec))
    throw UserError("--state-dir '" + base + "' is not a directory");
  fs::create_directories(base, ec);
  if (ec) throw UserError("cannot create --state-dir '" + base + "': " + ec.message());
  for (const auto& e : fs::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    int pid = 0, n = 0;
    if (std::sscanf(name.c_str(), "runnel-%d-%d", &pid, &n) == 2 && pid > 0 &&
        ::kill(pid, 0) != 0 && errno == ESRCH)
      fs::remove_all(e.path(), ec);
  }
  return make_temp_dir(base);
}
}  // namespace
}  // namespace detail

Pipeline::Pipeline(PipelineOptions options) : options_(std::move(options)) {
  if (options_.parallelism <= 0) {
    options_.parallelism = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  if (options_.batch_size == 0) options_.batch_size = 1;
  // Every instance gets a key group. Not in a job spread over shares: all its
  // members must hash keys into the same groups, whatever their parallelism.
  if (options_.max_parallelism < options_.parallelism && options_.shares <= 1)
    options_.max_parallelism = options_.parallelism;
  // Key groups are two bytes in RocksDB keys (and Flink's limit is the same).
  if (options_.max_parallelism > kMaxKeyGroups)
    throw UserError("max parallelism (key groups) is at most " + std::to_string(kMaxKeyGroups) +
                    ", not " + std::to_string(options_.max_parallelism));
}

int Pipeline::add_node(NodeSpec spec) {
  for (const auto& in : spec.inputs) {
    if (in.node < 0 || in.node >= static_cast<int>(nodes_.size())) {
      throw std::invalid_argument("a collection from another pipeline was used in '" + spec.name +
                                  "'");
    }
  }
  nodes_.push_back(std::move(spec));
  return static_cast<int>(nodes_.size()) - 1;
}

PCollection<std::string> Pipeline::read(const io::TextIO& in) {
  auto [name, op] = detail::text_source(in);
  return source<std::string>(NodeBuilder(std::move(name), OperatorKind::kSource, std::move(op)));
}

PCollection<io::KafkaRecord> Pipeline::read(const io::KafkaIO& in) {
  return source<io::KafkaRecord>(NodeBuilder("read kafka '" + in.topic + "'", OperatorKind::kSource,
                                             detail::make_kafka_source(in, false)));
}

PCollection<DeadLetter> Pipeline::dead_letters() {
  dead_letters_claimed_ = dead_letter_ports_.size();
  std::vector<PCollection<DeadLetter>> all;
  for (auto ref : dead_letter_ports_) all.emplace_back(this, ref);
  if (all.empty()) return create<DeadLetter>({});
  if (all.size() == 1) return all[0];
  return flatten(all);
}

std::vector<NodeSpec> Pipeline::graph_with_defaults() const {
  std::vector<NodeSpec> nodes = nodes_;
  // Rejected records are never dropped silently: unclaimed, they are logged.
  for (std::size_t i = dead_letters_claimed_; i < dead_letter_ports_.size(); ++i) {
    NodeSpec spec;
    spec.name = "log rejected records";
    spec.kind = OperatorKind::kSink;
    spec.op = std::make_shared<detail::LogDeadLettersOp>();
    spec.num_outputs = 0;
    spec.inputs = {dead_letter_ports_[i]};
    nodes.push_back(std::move(spec));
  }
  api::assign_stable_ids(nodes);
  return nodes;
}

runtime::PhysicalPlan Pipeline::physical_plan() const {
  plan::PlanOptions po{options_.parallelism, options_.lift_combiners, options_.fuse};
  runtime::PhysicalPlan plan = plan::make_physical_plan(graph_with_defaults(), po);
  // Spread over members: keyed exchanges go through repartition topics.
  if (options_.shares > 1) api::cut_exchanges_between_shares(plan, options_);
  return plan;
}

std::string Pipeline::explain() const { return physical_plan().explain(); }

bool Pipeline::streaming() const { return plan::streaming_mode(nodes_, options_.mode); }

namespace {

// The executor's options from the pipeline's; checkpoints only in streaming mode.
runtime::ExecutionOptions execution_options(const PipelineOptions& options, bool streaming_mode) {
  runtime::ExecutionOptions eo;
  eo.max_parallelism = options.max_parallelism;
  eo.batch_size = options.batch_size;
  eo.memory_budget = options.memory_budget;
  eo.temp_dir = detail::make_temp_dir(options.temp_dir);
  eo.state_backend = options.state_backend;
  eo.rocksdb_timers = options.rocksdb_timers;
  // The memory backend writes its checkpoints' row logs there.
  if (options.state_backend == StateBackend::kRocksDB ||
      (streaming_mode && (!options.checkpoint_dir.empty() || !options.restore.empty()))) {
    eo.state_dir = options.state_dir.empty() ? eo.temp_dir / "state"
                                             : detail::make_state_dir(options.state_dir);
  }
  eo.streaming = streaming_mode;
  eo.tick = options.watermark_interval;
  if (!(options.max_rejected_fraction >= 0.0 && options.max_rejected_fraction <= 1.0))
    throw UserError(fmt::format("max_rejected_fraction {} is not a fraction from 0 to 1",
                                options.max_rejected_fraction));
  eo.max_rejected = options.max_rejected;
  eo.max_rejected_fraction = options.max_rejected_fraction;
  if (options.shares < 1 || options.share < 0 || options.share >= options.shares)
    throw UserError(fmt::format("share {} of {}: a share is 0 .. shares-1, and shares at least 1",
                                options.share, options.shares));
  // Each share owns a range of key groups, at least one.
  if (options.shares > options.max_parallelism)
    throw UserError(fmt::format(
        "{} shares but {} key groups (max parallelism): a job needs at least as many key groups "
        "as shares; use fewer shares or raise PipelineOptions::max_parallelism",
        options.shares, options.max_parallelism));
  eo.share = options.share;
  eo.shares = options.shares;
  if (const int groups = eo.key_groups().count; options.shares > 1 && options.parallelism > groups)
    log_warn(
        fmt::format("share {} of {} owns {} key groups: keyed steps use {} of their {} "
                    "instances (fewer shares, or more key groups, would use them all)",
                    options.share, options.shares, groups, groups, options.parallelism));
  if (!options.restore.empty() && options.checkpoint_dir.empty()) {
    if (options.restore == "latest")
      throw UserError("--restore latest needs --checkpoint-dir: where are the checkpoints?");
  }
  if (!options.checkpoint_dir.empty() || !options.restore.empty()) {
    if (!streaming_mode) {
      log_warn(
          "batch mode takes no checkpoints (a failed batch run is rerun); "
          "--checkpoint-dir and --restore are ignored");
    } else {
      eo.checkpoints.dir = options.checkpoint_dir.empty()
                               ? std::filesystem::path(options.restore).parent_path()
                               : std::filesystem::path(options.checkpoint_dir);
      eo.checkpoints.interval = options.checkpoint_interval;
      eo.checkpoints.keep = std::max(1, options.checkpoints_kept);
      eo.checkpoints.tolerable_failures = std::max(0, options.tolerable_checkpoint_failures);
      eo.checkpoints.restore = options.restore;
      eo.checkpoints.local_copy = options.restore_local_copy;
      eo.checkpoints.full_every = std::max(1, options.checkpoint_full_every);
      eo.checkpoints.savepoint_dir = options.savepoint_dir;
      eo.checkpoints.allow_non_restored_state = options.allow_non_restored_state;
      eo.checkpoints.drain = options.drain_on_stop;
    }
  }

  return eo;
}

// After the run, the metrics server keeps serving the final figures a while
// (--metrics-linger); a stop request (SIGINT/SIGTERM in the CLI) ends the wait.
void linger(const PipelineOptions& options) {
  log_info(fmt::format("metrics: serving the final figures for {} ms more",
                       options.metrics_linger.count()));
  const auto until = std::chrono::steady_clock::now() + options.metrics_linger;
  const auto requests = runtime::stop_requests().load();
  while (std::chrono::steady_clock::now() < until && runtime::stop_requests().load() == requests)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

RunResult result_of(const runtime::ExecutionStats& stats, bool streaming_mode) {
  RunResult result;
  result.records_in = stats.records_in;
  result.records_out = stats.records_out;
  result.dead_letters = stats.dead_letters;
  result.spilled_bytes = stats.spilled_bytes;
  result.late_records = stats.late_records;
  result.streaming = streaming_mode;
  result.seconds = stats.seconds;
  result.checkpoints = stats.checkpoints.completed;
  result.checkpoints_failed = stats.checkpoints.failed;
  result.checkpoint_seconds = stats.checkpoints.last_seconds;
  result.checkpoint_bytes = stats.checkpoints.last_bytes;
  result.checkpoint_max_pause_seconds = stats.checkpoints.max_pause_seconds;
  result.restored_checkpoint = stats.restored_checkpoint;
  result.stopped = stats.stopped;
  result.restore_seconds = stats.restore_seconds;
  result.savepoint = stats.checkpoints.last_savepoint;
  return result;
}

}  // namespace

RunResult Pipeline::run() {
  const bool streaming_mode = streaming();
  runtime::PhysicalPlan physical = physical_plan();
  if (options_.shares > 1) api::create_repartition_topics(physical, options_);
  runtime::ExecutionOptions eo = execution_options(options_, streaming_mode);
  eo.stop = &stop_;
  auto metrics = std::make_shared<JobMetrics>(options_.job_name);
  eo.metrics = metrics;
  runtime::Executor executor(physical, eo);
  executor.prepare();
  metrics->expected_bytes = executor.expected_bytes();
  metrics->attach_bytes_read(&executor.bytes_read());
  // Before the executor goes (a return or a throw): the figures may outlive it.
  struct DetachBytes {
    JobMetrics& m;
    ~DetachBytes() { m.detach_bytes_read(); }
  } detach_bytes{*metrics};
  if (options_.on_metrics) options_.on_metrics(metrics);
  // Destroyed before the executor: the metrics point at its byte count.
  std::unique_ptr<observe::MetricsServer> server;
  if (options_.metrics_port >= 0) {
    try {
      server = std::make_unique<observe::MetricsServer>(metrics, options_.metrics_port,
                                                        options_.metrics_address);
    } catch (const std::runtime_error& e) {
      throw UserError(e.what());
    }
    log_info(fmt::format("metrics: {} (Prometheus: /metrics, JSON: /api/job)", server->url()));
    if (options_.on_metrics_port) options_.on_metrics_port(server->port());
  }
  std::optional<observe::StatusLine> status;
  if (options_.status_interval.count() > 0) status.emplace(metrics, options_.status_interval);
  runtime::ExecutionStats stats;
  {
    observe::ProgressBar progress(executor.expected_bytes(), executor.bytes_read(),
                                  options_.progress);
    struct RemoveTemp {
      std::filesystem::path dir;
      ~RemoveTemp() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    } cleanup{eo.temp_dir}, cleanup_state{eo.state_dir};
    stats = executor.run();
  }
  if (server && options_.metrics_linger.count() > 0) {
    status.reset();  // nothing moves any more
    linger(options_);
  }
  return result_of(stats, streaming_mode);
}

void request_stop() { runtime::stop_requests().fetch_add(1); }

void request_savepoint() { runtime::savepoint_requests().fetch_add(1); }

}  // namespace runnel

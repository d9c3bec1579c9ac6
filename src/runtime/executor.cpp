#include "runtime/executor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "ops/log.hpp"
#include "runnel/error.hpp"
#include "runtime/barrier_aligner.hpp"
#include "runtime/batch_queue.hpp"
#include "runtime/exchange.hpp"
#include "runtime/stop_request.hpp"

namespace runnel::runtime {
namespace {

// One output port read by several consumers: all but the last get a copy.
class FanOutOutput final : public Output {
 public:
  explicit FanOutOutput(std::vector<Output*> outs) : outs_(std::move(outs)) {}
  void push(BatchBase& batch) override {
    for (std::size_t i = 0; i + 1 < outs_.size(); ++i) {
      BatchPtr copy = batch.clone();
      outs_[i]->push(*copy);
    }
    outs_.back()->push(batch);
  }

 private:
  std::vector<Output*> outs_;
};

// An output port nobody reads (an unused tagged output).
class DiscardOutput final : public Output {
 public:
  void push(BatchBase& batch) override { batch.clear(); }
};

// Feeds a fused operator (its input 0) and counts what it takes.
class CountedInput final : public Output {
 public:
  CountedInput(OperatorInstance* next, Counter* records_in)
      : next_(next), records_in_(records_in) {}
  void push(BatchBase& batch) override {
    if (records_in_) *records_in_ += batch.size();
    next_->process(0, batch);
  }

 private:
  OperatorInstance* next_;
  Counter* records_in_;  // null for sinks: they count what they write
};

// Counts what an operator emits on one output port, once per batch.
class CountedOutput final : public Output {
 public:
  CountedOutput(Output* next, Counter* records_out) : next_(next), records_out_(records_out) {}
  void push(BatchBase& batch) override {
    *records_out_ += batch.size();
    next_->push(batch);
  }

 private:
  Output* next_;
  Counter* records_out_;
};

const char* kind_name(OperatorKind k) {
  switch (k) {
    case OperatorKind::kSource:
      return "source";
    case OperatorKind::kElementWise:
      return "element-wise";
    case OperatorKind::kKeyed:
      return "keyed";
    case OperatorKind::kMultiInput:
      return "multi-input";
    case OperatorKind::kSink:
      return "sink";
  }
  return "operator";
}

// The plan's shape, for the metrics.
void describe_plan(const PhysicalPlan& plan, std::size_t queue_capacity, ops::JobMetrics& m) {
  std::vector<ops::TaskInfo> tasks;
  for (const auto& t : plan.tasks) {
    auto& info = tasks.emplace_back();
    info.parallelism = t.parallelism;
    // As the executor makes its queues (BatchQueue raises 0 to 1).
    if (!t.in_edges.empty())
      info.queue_capacity = static_cast<std::uint32_t>(std::max<std::size_t>(1, queue_capacity));
    for (const auto& op : t.ops) info.ops.push_back({op.name, kind_name(op.kind)});
  }
  std::vector<ops::EdgeInfo> edges;
  for (const auto& e : plan.edges)
    edges.push_back({e.from_task, e.from_op, e.to_task, to_string(e.kind)});
  m.set_plan(std::move(tasks), std::move(edges));
}

std::uint64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since)
          .count());
}

}  // namespace

struct Executor::InstanceRun {
  int task = 0;
  int instance = 0;
  ops::InstanceFigures* figures = nullptr;  // its counters, watermarks, busy time
  std::vector<std::unique_ptr<OperatorInstance>> ops;
  std::vector<std::unique_ptr<Output>> outputs;  // owned adapters
  std::vector<ExchangeOutput*> exchanges;
  std::vector<int> exchange_owner;         // per exchange: the op that feeds it
  std::vector<int> producer;               // per op: the fused op feeding it (-1: the head)
  std::vector<Timestamp> op_watermarks;    // per op: its output watermark
  std::vector<char> op_idle;               // per op: its input went quiet
  std::vector<int> expected_end_of_input;  // per head input
  int num_channels = 0;                    // producer instances feeding this instance
  std::vector<std::optional<RestoredState>> restore;  // per op, when restoring
  std::int64_t injected = 0;                          // sources: the last barrier sent
  double restore_seconds = 0;                         // its operators' restore() calls
};

Executor::Executor(const PhysicalPlan& plan, ExecutionOptions options)
    : plan_(plan), options_(std::move(options)) {}

Executor::~Executor() = default;

void Executor::prepare() {
  shared_.clear();
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    const auto& task = plan_.tasks[t];
    auto& per_op = shared_.emplace_back();
    SharedStateContext ctx;
    ctx.parallelism = task.parallelism;
    ctx.checkpointing = options_.streaming && !options_.checkpoints.dir.empty();
    ctx.restoring = ctx.checkpointing && !options_.checkpoints.restore.empty();
    if (ctx.checkpointing) {
      ctx.checkpoint_dir = options_.checkpoints.dir;
      ctx.checkpoint_interval = options_.checkpoints.interval;
      ctx.checkpoints_kept = options_.checkpoints.keep;
    }
    for (std::size_t o = 0; o < task.ops.size(); ++o) {
      ctx.uid = fmt::format("{}.{}", t, o);
      per_op.push_back(task.ops[o].op->make_shared_state(ctx));
    }
  }
  prepared_ = true;
}

std::uint64_t Executor::expected_bytes() const {
  std::uint64_t total = 0;
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    for (std::size_t o = 0; o < plan_.tasks[t].ops.size(); ++o) {
      total += plan_.tasks[t].ops[o].op->expected_bytes(shared_[t][o].get());
    }
  }
  return total;
}

void Executor::fail(std::exception_ptr error) {
  if (failed_.exchange(true)) return;  // the first failure is the one reported
  error_ = std::move(error);
  for (auto& per_task : queues_) {
    for (auto& q : per_task) q->close();
  }
}

void Executor::stop_after_checkpoint() {
  if (failed_.exchange(true)) return;
  stopped_ = true;
  for (auto& per_task : queues_) {
    for (auto& q : per_task) q->close();
  }
}

bool Executor::stop_requested_now() {
  if (stop_requests().load(std::memory_order_relaxed) == stop_base_) return false;
  if (!options_.streaming) {
    fail(std::make_exception_ptr(
        UserError("interrupted: a batch job stops without committing its output; run it again")));
    return true;
  }
  // With checkpoints the coordinator takes a final one and then stops the
  // job; without, the sources end here and the job drains.
  if (coordinator_) return false;
  draining_ = true;
  return true;
}

ExecutionStats Executor::run() {
  if (!prepared_) prepare();
  auto start = std::chrono::steady_clock::now();
  const auto& tasks = plan_.tasks;

  // Memory budget: split evenly over every instance that holds a hash table.
  std::size_t budget_holders = 0;
  for (const auto& task : tasks) {
    for (const auto& op : task.ops) {
      if (op.op->uses_memory_budget()) budget_holders += static_cast<std::size_t>(task.parallelism);
    }
  }
  std::size_t per_instance_budget =
      budget_holders == 0 ? 0 : options_.memory_budget / budget_holders;
  if (options_.memory_budget != 0 && per_instance_budget == 0) per_instance_budget = 1;

  const bool checkpointing = options_.streaming && !options_.checkpoints.dir.empty();
  std::int64_t first_id = 1;
  if (checkpointing) {
    for (const auto& task : tasks) {
      for (const auto& op : task.ops) {
        if (op.op->checkpoint_support() == CheckpointSupport::kUnsupported) {
          const std::string why = op.op->checkpoint_unsupported_reason();
          throw UserError("'" + op.name + "' cannot take part in checkpoints" +
                          (why.empty() ? std::string(" yet") : ": " + why) +
                          "; run this job without --checkpoint-dir");
        }
      }
    }
    const auto load_start = std::chrono::steady_clock::now();
    first_id = prepare_restore();
    load_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    coordinator_ = std::make_unique<CheckpointCoordinator>(
        plan_, shared_, options_.checkpoints, first_id, options_.max_parallelism,
        [this](const std::string& line) { log(line); },
        [this](std::exception_ptr e) { fail(std::move(e)); },
        [this](std::int64_t) { stop_after_checkpoint(); });
  }

  metrics_ = options_.metrics ? options_.metrics : std::make_shared<ops::JobMetrics>();
  describe_plan(plan_, options_.queue_capacity, *metrics_);
  if (restored_id_ > 0) metrics_->restored(restored_id_);
  if (coordinator_) coordinator_->set_metrics(metrics_.get());
  queues_.clear();
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    auto& qs = queues_.emplace_back();
    for (int i = 0; i < task.parallelism; ++i) {
      qs.push_back(
          std::make_unique<BatchQueue>(task.in_edges.empty() ? 1 : options_.queue_capacity));
      if (!task.in_edges.empty())
        qs.back()->set_fill_gauge(&metrics_->instance(static_cast<int>(t), i).queue_fill);
    }
  }

  // Each producer instance of an edge is one channel at its consumer: its
  // watermark counts in the consumer's minimum.
  std::vector<int> channel_base(plan_.edges.size(), 0);
  std::vector<int> num_channels(tasks.size(), 0);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (int e : tasks[t].in_edges) {
      const auto& edge = plan_.edges[e];
      channel_base[e] = num_channels[t];
      num_channels[t] +=
          edge.kind == ExchangeKind::kForward ? 1 : tasks[edge.from_task].parallelism;
    }
  }

  // Build every instance (operators, outputs, exchanges) before starting threads.
  std::vector<std::unique_ptr<InstanceRun>> runs;
  for (int t = 0; t < static_cast<int>(tasks.size()); ++t) {
    const auto& task = tasks[t];
    for (int i = 0; i < task.parallelism; ++i) {
      auto r = std::make_unique<InstanceRun>();
      r->task = t;
      r->instance = i;
      r->figures = &metrics_->instance(t, i);
      r->ops.resize(task.ops.size());
      r->producer.assign(task.ops.size(), -1);
      r->op_watermarks.assign(task.ops.size(), kMinTimestamp);
      r->op_idle.assign(task.ops.size(), 0);
      r->num_channels = num_channels[t];
      r->injected = first_id - 1;  // barriers start at first_id
      for (std::size_t o = 0; o < task.ops.size(); ++o) {
        for (const auto& port : task.ops[o].fused_consumers) {
          for (int c : port) r->producer[c] = static_cast<int>(o);
        }
      }
      r->expected_end_of_input.assign(static_cast<std::size_t>(task.num_inputs), 0);
      for (int e : task.in_edges) {
        const auto& edge = plan_.edges[e];
        r->expected_end_of_input[edge.to_input] +=
            edge.kind == ExchangeKind::kForward ? 1 : tasks[edge.from_task].parallelism;
      }
      // Consumers come after producers, so build from the back.
      for (int o = static_cast<int>(task.ops.size()) - 1; o >= 0; --o) {
        const auto& fop = task.ops[o];
        std::vector<Output*> ports;
        for (int p = 0; p < fop.num_outputs; ++p) {
          std::vector<Output*> consumers;
          for (int c : fop.fused_consumers[p]) {
            Counter* in = task.ops[c].kind == OperatorKind::kSink
                              ? nullptr
                              : &r->figures->ops[c].counters.records_in;
            r->outputs.push_back(std::make_unique<CountedInput>(r->ops[c].get(), in));
            consumers.push_back(r->outputs.back().get());
          }
          for (int e : fop.out_edges[p]) {
            const auto& edge = plan_.edges[e];
            std::vector<BatchQueue*> targets;
            if (edge.kind == ExchangeKind::kForward) {
              targets.push_back(queues_[edge.to_task][i].get());
            } else {
              for (auto& q : queues_[edge.to_task]) targets.push_back(q.get());
            }
            int channel = channel_base[e] + (edge.kind == ExchangeKind::kForward ? 0 : i);
            auto ex = std::make_unique<ExchangeOutput>(edge.kind, edge.partitioner.get(), targets,
                                                       edge.to_input, channel, options_.batch_size,
                                                       options_.max_parallelism);
            r->exchanges.push_back(ex.get());
            r->exchange_owner.push_back(o);
            consumers.push_back(ex.get());
            r->outputs.push_back(std::move(ex));
          }
          if (consumers.empty()) {
            r->outputs.push_back(std::make_unique<DiscardOutput>());
            ports.push_back(r->outputs.back().get());
          } else if (consumers.size() == 1) {
            ports.push_back(consumers[0]);
          } else {
            r->outputs.push_back(std::make_unique<FanOutOutput>(consumers));
            ports.push_back(r->outputs.back().get());
          }
          // records_out is the main output (port 0), as read downstream:
          // dead letters and late records have counters of their own, and
          // sources count what they emit themselves.
          if (fop.kind != OperatorKind::kSource && p == 0 && !consumers.empty()) {
            r->outputs.push_back(std::make_unique<CountedOutput>(
                ports.back(), &r->figures->ops[o].counters.records_out));
            ports.back() = r->outputs.back().get();
          }
        }
        InstanceContext ctx;
        ctx.instance = i;
        ctx.parallelism = task.parallelism;
        ctx.max_parallelism = options_.max_parallelism;
        ctx.batch_size = options_.batch_size;
        ctx.memory_budget = fop.op->uses_memory_budget() ? per_instance_budget : 0;
        ctx.temp_dir = options_.temp_dir;
        ctx.counters = &r->figures->ops[o].counters;
        ctx.figures = metrics_.get();
        ctx.progress_bytes = &bytes_read_;
        ctx.shared = shared_[t][o].get();
        ctx.streaming = options_.streaming;
        ctx.state_backend = options_.state_backend;
        ctx.state_dir = options_.state_dir;
        ctx.uid = fmt::format("{}.{}", t, o);
        if (coordinator_) {
          ctx.checkpointing = true;
          ctx.first_checkpoint_id = first_id;
          ctx.completed_checkpoint = &coordinator_->completed();
        }
        r->ops[o] = fop.op->instantiate(ctx, ports);
      }
      if (restored_) {
        r->restore.resize(task.ops.size());
        for (std::size_t o = 0; o < task.ops.size(); ++o) {
          if (task.ops[o].op->checkpoint_support() != CheckpointSupport::kStateful) continue;
          const auto* saved = restored_->find(fmt::format("{}.{}", t, o));
          if (saved == nullptr) continue;
          RestoredState in;
          in.checkpoint_id = restored_->id;
          in.operator_states = saved->operator_states;
          in.native_dirs = saved->native_dirs;
          for (std::size_t kg = 0; kg < saved->key_groups.size(); ++kg) {
            if (saved->key_groups[kg].empty()) continue;
            if (instance_of_key_group(static_cast<int>(kg), task.parallelism,
                                      options_.max_parallelism) == i)
              in.key_groups.emplace_back(static_cast<int>(kg), saved->key_groups[kg]);
          }
          r->restore[o] = std::move(in);
        }
      }
      runs.push_back(std::move(r));
    }
  }
  restored_.reset();  // every instance has its copy

  stop_base_ = stop_requests().load();
  if (coordinator_) {
    coordinator_->set_stop_base(stop_base_);
    coordinator_->start();
  }
  metrics_->set_state(ops::JobState::kRunning);
  std::vector<std::thread> threads;
  threads.reserve(runs.size());
  try {
    for (auto& r : runs) threads.emplace_back([this, &r] { run_instance(*r); });
  } catch (...) {
    // Too many threads for this machine: stop the ones started, report it.
    fail(std::make_exception_ptr(UserError("cannot start " + std::to_string(runs.size()) +
                                           " threads; lower --parallelism")));
  }
  for (auto& th : threads) th.join();
  // No checkpoint commits while the job's end commits (or aborts) the sinks.
  if (coordinator_) coordinator_->stop();

  // Publish every sink's output, or none: once one commit fails, the rest abort.
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      auto* shared = shared_[t][o].get();
      if (!failed_) {
        try {
          tasks[t].ops[o].op->on_job_success(shared);
          continue;
        } catch (...) {
          fail(std::current_exception());
        }
      }
      try {
        tasks[t].ops[o].op->on_job_failure(shared);
      } catch (...) {
        // Cleanup is best effort; the first error is the one reported.
      }
    }
  }
  if (failed_ && !stopped_) {
    metrics_->set_state(ops::JobState::kFailed);
    std::rethrow_exception(error_);
  }
  metrics_->set_state(stopped_ || draining_ ? ops::JobState::kStopped : ops::JobState::kFinished);

  ExecutionStats stats;
  const auto totals = ops::totals(*metrics_);
  stats.records_in = totals.records_in;
  stats.records_out = totals.records_out;
  stats.dead_letters = totals.dead_letters;
  stats.spilled_bytes = totals.spilled_bytes;
  stats.late_records = totals.late_records;
  if (coordinator_) stats.checkpoints = coordinator_->stats();
  stats.restored_checkpoint = restored_id_;
  stats.stopped = stopped_ || draining_;
  if (restored_id_ > 0) {
    double slowest = 0;
    for (const auto& r : runs) slowest = std::max(slowest, r->restore_seconds);
    stats.restore_seconds = load_seconds_ + slowest;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

// Names the task for an error from user code: which operators, which instance.
static std::string describe_task(const PhysicalTask& task, int task_index, int instance) {
  std::string ops;
  for (const auto& op : task.ops) ops += (ops.empty() ? "" : " -> ") + op.name;
  return fmt::format("task {} [{}], instance {}", task_index, ops, instance);
}

void Executor::propagate_watermark(InstanceRun& r, Timestamp input) {
  // An idle operator passes kIdleWatermark on; its last watermark is kept.
  auto out = [&](std::size_t o) { return r.op_idle[o] ? kIdleWatermark : r.op_watermarks[o]; };
  for (std::size_t o = 0; o < r.ops.size(); ++o) {
    Timestamp in = r.producer[o] < 0 ? input : out(static_cast<std::size_t>(r.producer[o]));
    Timestamp w = r.ops[o]->on_watermark(in);
    r.op_idle[o] = w == kIdleWatermark;
    // Watermarks never go back, whatever an operator returns.
    if (!r.op_idle[o]) {
      r.op_watermarks[o] = std::max(r.op_watermarks[o], w);
      r.figures->ops[o].watermark.store(r.op_watermarks[o], std::memory_order_relaxed);
    }
  }
  for (std::size_t x = 0; x < r.exchanges.size(); ++x) {
    r.exchanges[x]->watermark(out(static_cast<std::size_t>(r.exchange_owner[x])));
  }
}

void Executor::tick(InstanceRun& r, Timestamp input) {
  Timestamp now = detail::wall_clock_ms();
  for (auto& op : r.ops) op->on_processing_time(now);
  propagate_watermark(r, input);
  for (auto* ex : r.exchanges) ex->flush();
}

void Executor::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    ops::log_info(line);
  }
}

std::int64_t Executor::prepare_restore() {
  const auto& cfg = options_.checkpoints;
  const auto& tasks = plan_.tasks;
  std::int64_t first_id = state::highest_checkpoint_id(cfg.dir) + 1;
  if (cfg.restore.empty()) return first_id;
  std::vector<std::string> lines;
  // A checkpoint an operator cannot restore (see Operator::restore_problem).
  auto problem = [&](const state::LoadedCheckpoint& c) -> std::string {
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
        const auto* saved = c.find(fmt::format("{}.{}", t, o));
        if (saved == nullptr) continue;
        std::string why =
            tasks[t].ops[o].op->restore_problem(shared_[t][o].get(), c.id, saved->operator_states);
        if (!why.empty()) return tasks[t].ops[o].name + ": " + why;
      }
    }
    return {};
  };
  if (cfg.restore == "latest") {
    restored_ = state::load_latest(cfg.dir, lines, problem);
    for (const auto& l : lines) log(l);
    if (!restored_) {
      log("no complete checkpoint in '" + cfg.dir.string() + "': starting from the beginning");
    }
  } else {
    try {
      restored_ = state::load_checkpoint(cfg.restore);
    } catch (const std::exception& e) {
      throw UserError("cannot restore checkpoint '" + cfg.restore + "': " + e.what() +
                      "; pass --restore latest to use the newest usable one");
    }
    if (std::string why = problem(*restored_); !why.empty())
      throw UserError("cannot restore checkpoint '" + cfg.restore + "': " + why +
                      "; restore the one before it, or pass --restore latest");
    first_id = std::max(
        first_id,
        state::highest_checkpoint_id(std::filesystem::path(cfg.restore).parent_path()) + 1);
  }
  restored_id_ = restored_ ? restored_->id : 0;
  if (restored_) {
    if (restored_->max_parallelism != options_.max_parallelism) {
      throw UserError(fmt::format(
          "checkpoint '{}' has {} key groups but the job runs with {}; the max parallelism "
          "(key groups) must stay the same across restores",
          restored_->path.string(), restored_->max_parallelism, options_.max_parallelism));
    }
    // Same pipeline? Every stateful operator must be where it was.
    std::size_t matched = 0;
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
        if (tasks[t].ops[o].op->checkpoint_support() != CheckpointSupport::kStateful) continue;
        const auto* saved = restored_->find(fmt::format("{}.{}", t, o));
        if (saved == nullptr || saved->name != tasks[t].ops[o].name) {
          throw UserError(fmt::format(
              "checkpoint '{}' was taken by a different pipeline: it has no state for '{}'",
              restored_->path.string(), tasks[t].ops[o].name));
        }
        ++matched;
      }
    }
    if (matched != restored_->operators.size()) {
      throw UserError(fmt::format("checkpoint '{}' was taken by a different pipeline",
                                  restored_->path.string()));
    }
    log(fmt::format("restoring checkpoint {} ({})", restored_->id, restored_->path.string()));
  }
  // Sinks publish what the checkpoint covers and drop what came after it.
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      const auto* saved = restored_ ? restored_->find(fmt::format("{}.{}", t, o)) : nullptr;
      static const std::vector<std::string> none;
      tasks[t].ops[o].op->recover(shared_[t][o].get(), restored_id_,
                                  saved ? saved->operator_states : none);
    }
  }
  return first_id;
}

void Executor::take_checkpoint(InstanceRun& r, std::int64_t id) {
  std::vector<OperatorSnapshot> snaps(r.ops.size());
  // Stateless operators are told too: they may hold output back.
  for (std::size_t o = 0; o < r.ops.size(); ++o) {
    r.ops[o]->snapshot(id, snaps[o]);
    r.figures->ops[o].counters.state_bytes = snaps[o].bytes();
  }
  for (auto* ex : r.exchanges) ex->barrier(id);
  coordinator_->acknowledge(r.task, r.instance, id, std::move(snaps));
}

bool Executor::produce_timed(InstanceRun& r, SourceInstance& source) {
  const auto started = std::chrono::steady_clock::now();
  bool more = source.produce();
  r.figures->busy_ns += elapsed_ns(started);
  return more;
}

void Executor::run_source(InstanceRun& r) {
  auto* source = dynamic_cast<SourceInstance*>(r.ops[0].get());
  if (source == nullptr) throw std::logic_error("task without inputs has no source at its head");
  if (!options_.streaming) {
    while (!failed_.load(std::memory_order_relaxed) && !stop_requested_now() &&
           produce_timed(r, *source)) {
    }
    return;
  }
  auto next_tick = std::chrono::steady_clock::now();
  while (!failed_.load(std::memory_order_relaxed) && !stop_requested_now() &&
         produce_timed(r, *source)) {
    if (coordinator_) {
      std::int64_t id = coordinator_->requested();
      if (id > r.injected) {
        r.injected = id;
        take_checkpoint(r, id);
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      tick(r, kMinTimestamp);
      next_tick = now + options_.tick;
    }
  }
}

void Executor::run_consumer(InstanceRun& r) {
  auto& queue = *queues_[r.task][r.instance];
  int open_inputs = 0;
  for (int n : r.expected_end_of_input) open_inputs += n > 0 ? 1 : 0;
  auto remaining = r.expected_end_of_input;
  // Streaming: each channel's watermark; the input's is their minimum, over
  // the channels that are not idle (kIdleWatermark if all are).
  std::vector<Timestamp> channel_wm(static_cast<std::size_t>(r.num_channels), kMinTimestamp);
  std::vector<char> channel_idle(static_cast<std::size_t>(r.num_channels), 0);
  Timestamp input_wm = kMinTimestamp;
  bool input_idle = false;
  auto advance = [&](int channel, Timestamp wm) {
    channel_idle[channel] = wm == kIdleWatermark;
    if (wm != kIdleWatermark) channel_wm[channel] = std::max(channel_wm[channel], wm);
    // Ended channels (at kMaxTimestamp) hold nothing back; idle ones are
    // left out of the minimum. When every open channel is idle, the highest
    // watermark they reached holds (as Flink's valve does).
    Timestamp m = kMaxTimestamp;
    Timestamp highest_idle = kMinTimestamp;
    bool any_open = false;
    bool any_active = false;
    for (std::size_t c = 0; c < channel_wm.size(); ++c) {
      if (channel_wm[c] == kMaxTimestamp) continue;
      any_open = true;
      if (channel_idle[c]) {
        highest_idle = std::max(highest_idle, channel_wm[c]);
      } else {
        any_active = true;
        m = std::min(m, channel_wm[c]);
      }
    }
    if (any_open && !any_active) m = highest_idle;
    input_idle = any_open && !any_active;
    // A rise goes down the task at once: waiting for the tick would add to latency.
    if (m > input_wm) {
      input_wm = m;
      propagate_watermark(r, input_wm);
    }
  };
  const bool timed_wait = options_.streaming && options_.tick.count() > 0;
  const bool head_counts = plan_.tasks[r.task].ops[0].kind != OperatorKind::kSink;
  auto next_tick = std::chrono::steady_clock::now() + options_.tick;
  // Checkpoints: messages of channels whose barrier came first wait in
  // `held` until the others' barriers arrive; then they are replayed.
  BarrierAligner aligner(r.num_channels);
  std::deque<Message> held, replay;
  auto on_aligner = [&](BarrierAligner::Action a) {
    if (a != BarrierAligner::Action::kSnapshot) return;
    take_checkpoint(r, aligner.checkpoint());
    replay.insert(replay.begin(), std::make_move_iterator(held.begin()),
                  std::make_move_iterator(held.end()));
    held.clear();
  };
  while (open_inputs > 0) {
    std::optional<Message> m;
    if (!replay.empty()) {
      m = std::move(replay.front());
      replay.pop_front();
    } else if (timed_wait) {
      m = queue.pop_until(next_tick);
    } else {
      m = queue.pop();
    }
    if (m && aligner.blocked(m->channel)) {
      held.push_back(std::move(*m));
      m.reset();
    }
    if (m) {
      if (m->kind == Message::Kind::kData) {
        const auto started = std::chrono::steady_clock::now();
        if (head_counts) r.figures->ops[0].counters.records_in += m->batch->size();
        r.ops[0]->process(m->input, *m->batch);
        r.figures->busy_ns += elapsed_ns(started);
      } else if (m->kind == Message::Kind::kWatermark) {
        advance(m->channel, m->watermark);
      } else if (m->kind == Message::Kind::kBarrier) {
        on_aligner(aligner.on_barrier(m->channel, m->checkpoint));
      } else {
        if (options_.streaming)
          advance(m->channel, kMaxTimestamp);  // an ended channel holds no one back
        if (--remaining[m->input] == 0) {
          r.ops[0]->end_of_input(m->input);
          --open_inputs;
        }
        if (coordinator_) on_aligner(aligner.on_channel_end(m->channel));
      }
    }
    if (options_.streaming) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next_tick) {
        tick(r, input_idle ? kIdleWatermark : input_wm);
        next_tick = now + options_.tick;
      }
    }
  }
}

void Executor::run_instance(InstanceRun& r) {
  const auto& task = plan_.tasks[r.task];
  std::size_t opened = 0;
  try {
    for (auto& op : r.ops) {
      op->open();
      ++opened;
    }
    const auto restore_start = std::chrono::steady_clock::now();
    for (std::size_t o = 0; o < r.restore.size(); ++o) {
      if (r.restore[o]) r.ops[o]->restore(*r.restore[o]);
    }
    r.restore_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - restore_start).count();
    r.restore.clear();
    if (task.in_edges.empty()) {
      run_source(r);
    } else {
      run_consumer(r);
    }
    if (!failed_) {
      // Streaming: the end of the input completes every window.
      if (options_.streaming) propagate_watermark(r, kMaxTimestamp);
      for (auto& op : r.ops) op->finish();
      for (auto* ex : r.exchanges) ex->finish();
      if (coordinator_) {
        // The state it ended in stands for this instance in later checkpoints.
        std::vector<OperatorSnapshot> snaps(r.ops.size());
        for (std::size_t o = 0; o < r.ops.size(); ++o) {
          if (task.ops[o].op->checkpoint_support() == CheckpointSupport::kStateful)
            r.ops[o]->snapshot(coordinator_->requested(), snaps[o]);
        }
        coordinator_->finished(r.task, r.instance, std::move(snaps));
      }
    }
  } catch (const Cancelled&) {
    // Another instance failed first; its error is the one reported.
  } catch (const UserError&) {
    fail(std::current_exception());  // says what and where already
  } catch (const std::exception& e) {
    fail(std::make_exception_ptr(std::runtime_error(
        fmt::format("{} (in {})", e.what(), describe_task(task, r.task, r.instance)))));
  } catch (...) {
    fail(std::current_exception());
  }
  // Only operators whose open() ran are closed (a DoFn's teardown pairs with its setup).
  for (std::size_t i = 0; i < opened; ++i) {
    try {
      r.ops[i]->close();
    } catch (...) {
      fail(std::current_exception());
    }
  }
}

}  // namespace runnel::runtime

// Building the task graph of a run: queues, channels, and for every task
// instance its operators wired to each other and to the exchanges.
#include <fmt/format.h>

#include <algorithm>

#include "runnel/detail/kv_store.hpp"
#include "runtime/batch_queue.hpp"
#include "runtime/executor.hpp"
#include "runtime/instance_run.hpp"

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
  void split_event(const SplitEvent& event) override {
    for (auto* out : outs_) out->split_event(event);
  }

 private:
  std::vector<Output*> outs_;
};

// An output port nobody reads (an unused tagged output).
class DiscardOutput final : public Output {
 public:
  void push(BatchBase& batch) override { batch.clear(); }
};

// Feeds a fused operator (its input 0) and counts what it takes. A split
// event goes to the operator and, unless it consumes it, on to every one of
// its outputs (as InstanceInput does inside a composite operator).
class CountedInput final : public Output {
 public:
  CountedInput(OperatorInstance* next, const std::vector<Output*>* next_outputs,
               Counter* records_in)
      : next_(next), next_outputs_(next_outputs), records_in_(records_in) {}
  void push(BatchBase& batch) override {
    if (records_in_) *records_in_ += batch.size();
    next_->process(0, batch);
  }
  void split_event(const SplitEvent& event) override {
    if (next_->on_split_event(event)) return;
    for (auto* out : *next_outputs_) out->split_event(event);
  }

 private:
  OperatorInstance* next_;
  const std::vector<Output*>* next_outputs_;  // the instance's own (InstanceRun::ports)
  Counter* records_in_;                       // null for sinks: they count what they write
};

// Counts what an operator emits on one output port, once per batch.
class CountedOutput final : public Output {
 public:
  CountedOutput(Output* next, Counter* records_out) : next_(next), records_out_(records_out) {}
  void push(BatchBase& batch) override {
    *records_out_ += batch.size();
    next_->push(batch);
  }
  void split_event(const SplitEvent& event) override { next_->split_event(event); }

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

}  // namespace

void describe_plan(const PhysicalPlan& plan, std::size_t queue_capacity, JobMetrics& m) {
  std::vector<TaskInfo> tasks;
  for (const auto& t : plan.tasks) {
    auto& info = tasks.emplace_back();
    info.parallelism = t.parallelism;
    // As the executor makes its queues (BatchQueue raises 0 to 1).
    if (!t.in_edges.empty())
      info.queue_capacity = static_cast<std::uint32_t>(std::max<std::size_t>(1, queue_capacity));
    for (const auto& op : t.ops) info.ops.push_back({op.name, kind_name(op.kind)});
  }
  std::vector<EdgeInfo> edges;
  for (const auto& e : plan.edges)
    edges.push_back({e.from_task, e.from_op, e.to_task, to_string(e.kind)});
  m.set_plan(std::move(tasks), std::move(edges));
}

bool Executor::holds_budget(const Operator& op) const {
  // On RocksDB, keyed rows are a cache of decoded rows in front of the
  // database, and the budget bounds it; in memory they are the state itself.
  return op.uses_memory_budget() ||
         (options_.state_backend == StateBackend::kRocksDB && op.keeps_keyed_rows());
}

std::size_t Executor::rocksdb_budget() const {
  if (options_.state_backend != StateBackend::kRocksDB || options_.memory_budget == 0) return 0;
  for (const auto& task : plan_.tasks) {
    for (const auto& op : task.ops) {
      // A quarter for the databases (block cache, index and filter blocks,
      // memtables), the rest for the caches of decoded rows in front of
      // them, which spare a read and a decode per hit. Nexmark q18 at 1 GiB
      // (CPU s): a tenth 50, a quarter 40-42, a half 47, three quarters 47.
      if (holds_budget(*op.op)) return options_.memory_budget / 4;
    }
  }
  return 0;
}

std::size_t Executor::memory_budget_per_instance() const {
  // What RocksDB does not take, split evenly over every instance that holds
  // a hash table.
  std::size_t holders = 0;
  for (const auto& task : plan_.tasks) {
    for (const auto& op : task.ops) {
      if (holds_budget(*op.op)) holders += static_cast<std::size_t>(task.parallelism);
    }
  }
  if (holders == 0) return 0;
  return std::max<std::size_t>((options_.memory_budget - rocksdb_budget()) / holders,
                               options_.memory_budget != 0 ? 1 : 0);
}

void Executor::make_queues() {
  queues_.clear();
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    const auto& task = plan_.tasks[t];
    auto& qs = queues_.emplace_back();
    for (int i = 0; i < task.parallelism; ++i) {
      qs.push_back(
          std::make_unique<BatchQueue>(task.in_edges.empty() ? 1 : options_.queue_capacity));
      if (!task.in_edges.empty())
        qs.back()->set_fill_gauge(&metrics_->instance(static_cast<int>(t), i).queue_fill);
    }
  }
}

Executor::TaskGraph Executor::build_task_graph(std::int64_t first_id) {
  TaskGraph g;
  g.first_id = first_id;
  g.budget = memory_budget_per_instance();
  if (const std::size_t native = rocksdb_budget(); native != 0)
    g.kv_memory = std::make_shared<detail::KvMemory>(native);
  // Each producer instance of an edge is one channel at its consumer: its
  // watermark counts in the consumer's minimum.
  const auto& tasks = plan_.tasks;
  g.channel_base.assign(plan_.edges.size(), 0);
  g.num_channels.assign(tasks.size(), 0);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (int e : tasks[t].in_edges) {
      const auto& edge = plan_.edges[e];
      g.channel_base[e] = g.num_channels[t];
      g.num_channels[t] +=
          edge.kind == ExchangeKind::kForward ? 1 : tasks[edge.from_task].parallelism;
    }
  }
  // Every instance (operators, outputs, exchanges) is built before any thread starts.
  for (int t = 0; t < static_cast<int>(tasks.size()); ++t) {
    for (int i = 0; i < tasks[t].parallelism; ++i) g.runs.push_back(build_instance(g, t, i));
  }
  restored_.reset();  // every instance has its copy
  return g;
}

std::unique_ptr<InstanceRun> Executor::build_instance(const TaskGraph& g, int t, int i) {
  const auto& task = plan_.tasks[t];
  auto r = std::make_unique<InstanceRun>();
  r->task = t;
  r->instance = i;
  r->figures = &metrics_->instance(t, i);
  r->ops.resize(task.ops.size());
  r->ports.resize(task.ops.size());
  r->producer.assign(task.ops.size(), -1);
  r->op_watermarks.assign(task.ops.size(), kMinTimestamp);
  r->op_idle.assign(task.ops.size(), 0);
  r->num_channels = g.num_channels[t];
  r->injected = g.first_id - 1;  // barriers start at first_id
  for (std::size_t o = 0; o < task.ops.size(); ++o) {
    for (const auto& port : task.ops[o].fused_consumers) {
      for (int c : port) r->producer[c] = static_cast<int>(o);
    }
  }
  r->expected_end_of_input.assign(static_cast<std::size_t>(task.num_inputs), 0);
  for (int e : task.in_edges) {
    const auto& edge = plan_.edges[e];
    r->expected_end_of_input[edge.to_input] +=
        edge.kind == ExchangeKind::kForward ? 1 : plan_.tasks[edge.from_task].parallelism;
  }
  // Consumers come after producers, so build from the back.
  for (int o = static_cast<int>(task.ops.size()) - 1; o >= 0; --o) {
    auto& ports = r->ports[o];
    for (int p = 0; p < task.ops[o].num_outputs; ++p) ports.push_back(wire_port(g, *r, o, p));
    r->ops[o] = task.ops[o].op->instantiate(instance_context(g, *r, o), ports);
  }
  if (restored_) assign_restored_state(*r);
  return r;
}

Output* Executor::wire_port(const TaskGraph& g, InstanceRun& r, int o, int p) {
  const auto& task = plan_.tasks[r.task];
  const auto& fop = task.ops[o];
  std::vector<Output*> consumers;
  for (int c : fop.fused_consumers[p]) {
    Counter* in =
        task.ops[c].kind == OperatorKind::kSink ? nullptr : &r.figures->ops[c].counters.records_in;
    r.outputs.push_back(std::make_unique<CountedInput>(r.ops[c].get(), &r.ports[c], in));
    consumers.push_back(r.outputs.back().get());
  }
  for (int e : fop.out_edges[p]) {
    const auto& edge = plan_.edges[e];
    std::vector<BatchQueue*> targets;
    if (edge.kind == ExchangeKind::kForward) {
      targets.push_back(queues_[edge.to_task][r.instance].get());
    } else {
      for (auto& q : queues_[edge.to_task]) targets.push_back(q.get());
    }
    int channel = g.channel_base[e] + (edge.kind == ExchangeKind::kForward ? 0 : r.instance);
    auto ex = std::make_unique<ExchangeOutput>(edge.kind, edge.partitioner.get(), targets,
                                               edge.to_input, channel, options_.batch_size,
                                               options_.max_parallelism, options_.key_groups());
    r.exchanges.push_back(ex.get());
    r.exchange_owner.push_back(o);
    consumers.push_back(ex.get());
    r.outputs.push_back(std::move(ex));
  }
  Output* port = nullptr;
  if (consumers.empty()) {
    r.outputs.push_back(std::make_unique<DiscardOutput>());
    return r.outputs.back().get();
  } else if (consumers.size() == 1) {
    port = consumers[0];
  } else {
    r.outputs.push_back(std::make_unique<FanOutOutput>(consumers));
    port = r.outputs.back().get();
  }
  // records_out is the main output (port 0), as read downstream: dead letters
  // and late records have counters of their own, and sources count what they
  // emit themselves.
  if (fop.kind != OperatorKind::kSource && p == 0) {
    r.outputs.push_back(
        std::make_unique<CountedOutput>(port, &r.figures->ops[o].counters.records_out));
    port = r.outputs.back().get();
  }
  return port;
}

InstanceContext Executor::instance_context(const TaskGraph& g, InstanceRun& r, int o) {
  const auto& task = plan_.tasks[r.task];
  const auto& fop = task.ops[o];
  InstanceContext ctx;
  ctx.instance = r.instance;
  ctx.parallelism = task.parallelism;
  ctx.share = options_.share;
  ctx.shares = options_.shares;
  ctx.max_parallelism = options_.max_parallelism;
  ctx.key_groups = options_.key_groups();
  ctx.batch_size = options_.batch_size;
  ctx.memory_budget = holds_budget(*fop.op) ? g.budget : 0;
  ctx.temp_dir = options_.temp_dir;
  ctx.counters = &r.figures->ops[o].counters;
  ctx.figures = metrics_.get();
  ctx.progress_bytes = &bytes_read_;
  ctx.shared = shared_[r.task][o].get();
  ctx.streaming = options_.streaming;
  ctx.state_backend = options_.state_backend;
  ctx.state_dir = options_.state_dir;
  ctx.rocksdb_timers = options_.rocksdb_timers;
  ctx.kv_memory = g.kv_memory;
  ctx.uid = fmt::format("{}.{}", r.task, o);
  if (coordinator_) {
    ctx.checkpointing = true;
    ctx.first_checkpoint_id = g.first_id;
    ctx.completed_checkpoint = &coordinator_->completed();
    ctx.settled_checkpoint = &coordinator_->settled();
    ctx.checkpoint_full_every = options_.checkpoints.full_every;
  }
  return ctx;
}

}  // namespace runnel::runtime

#include "plan/planner.hpp"

#include <stdexcept>
#include <string>

#include "runnel/error.hpp"

namespace runnel {
namespace plan {
namespace {

using runtime::FusedOperator;
using runtime::PhysicalEdge;
using runtime::PhysicalPlan;
using runtime::PhysicalTask;

// Where a node's operator ended up: task and operator index within it.
struct Placement {
  int task = -1;
  int op = -1;
};

class Planner {
 public:
  Planner(const std::vector<NodeSpec>& nodes, const PlanOptions& options)
      : nodes_(nodes), options_(options), placed_(nodes.size()) {}

  PhysicalPlan run() {
    for (std::size_t n = 0; n < nodes_.size(); ++n) place(static_cast<int>(n));
    return std::move(plan_);
  }

 private:
  int parallelism_of(const NodeSpec& node) const {
    return node.parallelism > 0 ? node.parallelism : options_.parallelism;
  }

  Placement producer(PortRef ref) const {
    if (ref.node < 0 || ref.node >= static_cast<int>(placed_.size()) ||
        placed_[ref.node].task < 0) {
      throw std::logic_error("node input refers to a node not yet planned");
    }
    return placed_[ref.node];
  }

  int new_task(int parallelism, int num_inputs) {
    PhysicalTask task;
    task.parallelism = parallelism;
    task.num_inputs = num_inputs;
    plan_.tasks.push_back(std::move(task));
    return static_cast<int>(plan_.tasks.size()) - 1;
  }

  int add_op(int task, const std::string& name, const std::string& uid, OperatorKind kind,
             std::shared_ptr<const Operator> op, int num_outputs) {
    FusedOperator f;
    f.name = name;
    f.uid = uid;
    f.kind = kind;
    f.op = std::move(op);
    f.num_outputs = num_outputs;
    f.fused_consumers.resize(static_cast<std::size_t>(num_outputs));
    f.out_edges.resize(static_cast<std::size_t>(num_outputs));
    plan_.tasks[task].ops.push_back(std::move(f));
    return static_cast<int>(plan_.tasks[task].ops.size()) - 1;
  }

  void connect(Placement from, int port, int to_task, int to_input, ExchangeKind kind,
               std::shared_ptr<const Partitioner> partitioner) {
    PhysicalEdge e;
    e.from_task = from.task;
    e.from_op = from.op;
    e.from_port = port;
    e.to_task = to_task;
    e.to_input = to_input;
    e.kind = kind;
    e.partitioner = std::move(partitioner);
    plan_.edges.push_back(std::move(e));
    int id = static_cast<int>(plan_.edges.size()) - 1;
    plan_.tasks[from.task].ops[from.op].out_edges[port].push_back(id);
    plan_.tasks[to_task].in_edges.push_back(id);
  }

  // Adds `op` fused behind `from` if parallelism allows; else in a new task fed by rebalance.
  Placement fuse_or_start(Placement from, int port, int parallelism, const std::string& name,
                          const std::string& uid, OperatorKind kind,
                          std::shared_ptr<const Operator> op, int num_outputs) {
    if (options_.fuse && plan_.tasks[from.task].parallelism == parallelism) {
      int o = add_op(from.task, name, uid, kind, std::move(op), num_outputs);
      plan_.tasks[from.task].ops[from.op].fused_consumers[port].push_back(o);
      return {from.task, o};
    }
    int t = new_task(parallelism, 1);
    int o = add_op(t, name, uid, kind, std::move(op), num_outputs);
    bool same = plan_.tasks[from.task].parallelism == parallelism;
    connect(from, port, t, 0, same ? ExchangeKind::kForward : ExchangeKind::kRebalance, nullptr);
    return {t, o};
  }

  void place(int n) {
    const NodeSpec& node = nodes_[n];
    const int par = parallelism_of(node);
    switch (node.kind) {
      case OperatorKind::kSource: {
        int t = new_task(par, 0);
        placed_[n] = {t, add_op(t, node.name, node.uid, node.kind, node.op, node.num_outputs)};
        break;
      }
      case OperatorKind::kElementWise:
      case OperatorKind::kSink: {
        if (node.inputs.size() != 1) throw std::logic_error(node.name + ": expects one input");
        placed_[n] = fuse_or_start(producer(node.inputs[0]), node.inputs[0].port, par, node.name,
                                   node.uid, node.kind, node.op, node.num_outputs);
        break;
      }
      case OperatorKind::kKeyed: {
        if (node.inputs.size() != 1) throw std::logic_error(node.name + ": expects one input");
        Placement from = producer(node.inputs[0]);
        int port = node.inputs[0].port;
        int t = new_task(par, 1);
        if (options_.lift_combiners && node.partial && !node.needs_raw_input) {
          // The partial aggregation runs in the producer's task: it shares its
          // parallelism when fused, else it gets a task of its own.
          Placement partial = fuse_or_start(from, port, plan_.tasks[from.task].parallelism,
                                            node.name + " (partial)", node.uid + " (partial)",
                                            OperatorKind::kElementWise, node.partial, 1);
          int o =
              add_op(t, node.name + " (merge)", node.uid, node.kind, node.merge, node.num_outputs);
          connect(partial, 0, t, 0, ExchangeKind::kHash, node.partial_partitioner);
          placed_[n] = {t, o};
        } else {
          int o = add_op(t, node.name, node.uid, node.kind, node.op, node.num_outputs);
          connect(from, port, t, 0, ExchangeKind::kHash, node.partitioner);
          placed_[n] = {t, o};
        }
        break;
      }
      case OperatorKind::kMultiInput: {
        int t = new_task(par, static_cast<int>(node.inputs.size()));
        int o = add_op(t, node.name, node.uid, node.kind, node.op, node.num_outputs);
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
          Placement from = producer(node.inputs[i]);
          ExchangeKind kind =
              i < node.input_exchanges.size() ? node.input_exchanges[i] : ExchangeKind::kForward;
          if (kind == ExchangeKind::kForward && plan_.tasks[from.task].parallelism != par) {
            kind = ExchangeKind::kRebalance;
          }
          connect(from, node.inputs[i].port, t, static_cast<int>(i), kind, nullptr);
        }
        placed_[n] = {t, o};
        break;
      }
    }
  }

  const std::vector<NodeSpec>& nodes_;
  PlanOptions options_;
  std::vector<Placement> placed_;
  PhysicalPlan plan_;
};

}  // namespace

runtime::PhysicalPlan make_physical_plan(const std::vector<NodeSpec>& nodes,
                                         const PlanOptions& options) {
  return Planner(nodes, options).run();
}

bool streaming_mode(const std::vector<NodeSpec>& nodes, ExecutionMode mode) {
  const NodeSpec* unbounded = nullptr;
  for (const auto& n : nodes) {
    if (n.kind == OperatorKind::kSource && !n.op->bounded()) unbounded = &n;
  }
  switch (mode) {
    case ExecutionMode::kStreaming:
      return true;
    case ExecutionMode::kBatch:
      if (unbounded != nullptr) {
        throw UserError("batch mode needs bounded input, but '" + unbounded->name +
                        "' never ends: run in streaming mode (--mode streaming), or bound the "
                        "source");
      }
      return false;
    case ExecutionMode::kAuto:
      break;
  }
  return unbounded != nullptr;
}

}  // namespace plan
}  // namespace runnel

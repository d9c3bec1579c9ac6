#pragma once
// The physical plan: tasks (fused operator trees, each run by `parallelism`
// threads) joined by exchanges. The planner builds it; the executor runs it.
#include <memory>
#include <string>
#include <vector>

#include "runnel/detail/node_spec.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/partitioner.hpp"

namespace runnel::runtime {

struct FusedOperator {
  std::string name;
  // What its state is saved and restored under (NodeSpec::uid, with " (partial)"
  // for a lifted combiner's pre-aggregation).
  std::string uid;
  OperatorKind kind = OperatorKind::kElementWise;
  std::shared_ptr<const Operator> op;
  int num_outputs = 1;
  // Per output port: operators of the same task fed directly (their input 0).
  std::vector<std::vector<int>> fused_consumers;
  // Per output port: exchanges to other tasks (indices into PhysicalPlan::edges).
  std::vector<std::vector<int>> out_edges;
};

struct PhysicalTask {
  int parallelism = 1;
  // ops[0] is the head: a source, or the operator the input edges feed. An
  // operator's consumers always come after it.
  std::vector<FusedOperator> ops;
  std::vector<int> in_edges;
  int num_inputs = 0;  // inputs of the head operator
};

struct PhysicalEdge {
  int from_task = -1;
  int from_op = -1;
  int from_port = 0;
  int to_task = -1;
  int to_input = 0;
  ExchangeKind kind = ExchangeKind::kForward;
  std::shared_ptr<const Partitioner> partitioner;  // kHash only
};

struct PhysicalPlan {
  std::vector<PhysicalTask> tasks;
  std::vector<PhysicalEdge> edges;

  // A readable description: tasks with their fused operators, and exchanges.
  std::string explain() const;
};

}  // namespace runnel::runtime

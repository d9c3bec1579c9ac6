#pragma once
// One node of the logical graph, as the typed API hands it to the planner.
// Everything typed is behind Operator and Partitioner; the planner sees only this.
#include <memory>
#include <string>
#include <vector>

#include "runnel/detail/operator.hpp"
#include "runnel/detail/partitioner.hpp"

namespace runnel {

enum class ExchangeKind {
  kForward,    // instance i to instance i (fused when possible)
  kHash,       // by key group
  kRebalance,  // whole batches round robin
  kBroadcast,  // every batch to every instance
};

const char* to_string(ExchangeKind kind);

// An output port of a node: what a PCollection refers to.
struct PortRef {
  int node = -1;
  int port = 0;
};

struct NodeSpec {
  std::string name;  // shown by explain
  // The id its state is saved under in checkpoints (PCollection::uid()); empty:
  // derived when the pipeline runs (see Pipeline's stable default ids).
  std::string uid;
  OperatorKind kind = OperatorKind::kElementWise;
  std::shared_ptr<const Operator> op;
  int num_outputs = 1;
  std::vector<PortRef> inputs;
  // kMultiInput: the exchange each input arrives through (kForward or kBroadcast).
  std::vector<ExchangeKind> input_exchanges;
  // kKeyed: routes the raw input by key.
  std::shared_ptr<const Partitioner> partitioner;
  // kKeyed with a liftable combiner: `partial` pre-aggregates in the producer's
  // task, `partial_partitioner` routes its output, and `merge` replaces `op`.
  std::shared_ptr<const Operator> partial;
  std::shared_ptr<const Partitioner> partial_partitioner;
  std::shared_ptr<const Operator> merge;
  // The node must see every raw element (its trigger counts them): the
  // planner keeps the raw path even when it could lift.
  bool needs_raw_input = false;
  int parallelism = 0;  // 0: the pipeline's
};

}  // namespace runnel

#pragma once
// The one way the typed API makes a node of the logical graph:
//
//   NodeBuilder("window_into", OperatorKind::kElementWise, op).outputs(2).input(ref).build()
//
// It sets what a node of each kind needs (NodeSpec says what each field means)
// and leaves the rest to the planner.
#include <memory>
#include <string>
#include <utility>

#include "runnel/detail/node_spec.hpp"

namespace runnel {

class NodeBuilder {
 public:
  NodeBuilder(std::string name, OperatorKind kind, std::shared_ptr<const Operator> op) {
    spec_.name = std::move(name);
    spec_.kind = kind;
    spec_.op = std::move(op);
    if (kind == OperatorKind::kSink) spec_.num_outputs = 0;
  }
  // An input, in order (input 0 first).
  NodeBuilder& input(PortRef from) {
    spec_.inputs.push_back(from);
    return *this;
  }
  // An input of a kMultiInput node, with the exchange it arrives through.
  NodeBuilder& input(PortRef from, ExchangeKind exchange) {
    spec_.inputs.push_back(from);
    spec_.input_exchanges.push_back(exchange);
    return *this;
  }
  NodeBuilder& outputs(int n) {
    spec_.num_outputs = n;
    return *this;
  }
  // kKeyed: how the raw input is routed by key.
  NodeBuilder& partitioned_by(std::shared_ptr<const Partitioner> partitioner) {
    spec_.partitioner = std::move(partitioner);
    return *this;
  }
  // kKeyed with a liftable combiner: `partial` pre-aggregates in the
  // producer's task, `partial_partitioner` routes what it emits, and `merge`
  // takes the partials where `op` would have taken the raw input.
  NodeBuilder& liftable(std::shared_ptr<const Operator> partial,
                        std::shared_ptr<const Partitioner> partial_partitioner,
                        std::shared_ptr<const Operator> merge) {
    spec_.partial = std::move(partial);
    spec_.partial_partitioner = std::move(partial_partitioner);
    spec_.merge = std::move(merge);
    return *this;
  }
  // A liftable kKeyed node that must see every raw element (a trigger that
  // counts them): the planner does not lift it.
  NodeBuilder& needs_raw_input(bool raw) {
    spec_.needs_raw_input = raw;
    return *this;
  }
  NodeSpec build() { return std::move(spec_); }

 private:
  NodeSpec spec_;
};

}  // namespace runnel

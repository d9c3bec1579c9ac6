#pragma once
// Turns the logical graph into a physical plan: fuses element-wise chains into
// their producer's task, lifts combiners before keyed exchanges, and picks the
// exchange kind of every edge.
#include <vector>

#include "runnel/detail/node_spec.hpp"
#include "runnel/execution_mode.hpp"
#include "runtime/physical_plan.hpp"

namespace runnel::plan {

struct PlanOptions {
  int parallelism = 1;         // for nodes that do not set their own
  bool lift_combiners = true;  // off only to compare plans in tests
  bool fuse = true;            // off: every operator its own task (tests)
};

// Whether the graph runs in streaming mode: kStreaming and kBatch as asked
// (batch over a source that never ends is a UserError naming it), kAuto
// when any source is unbounded.
bool streaming_mode(const std::vector<NodeSpec>& nodes, ExecutionMode mode);

runtime::PhysicalPlan make_physical_plan(const std::vector<NodeSpec>& nodes,
                                         const PlanOptions& options);

}  // namespace runnel::plan

#include "runtime/physical_plan.hpp"

#include <fmt/format.h>

namespace runnel::runtime {

std::string PhysicalPlan::explain() const {
  std::string out;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const auto& task = tasks[t];
    out += fmt::format("Task {} (parallelism {})\n", t, task.parallelism);
    for (int e : task.in_edges) {
      const auto& edge = edges[e];
      out += fmt::format("  <- {} from task {} [{}]\n", to_string(edge.kind), edge.from_task,
                         tasks[edge.from_task].ops[edge.from_op].name);
    }
    for (std::size_t o = 0; o < task.ops.size(); ++o) {
      const auto& op = task.ops[o];
      // What a checkpoint saves its state under (PCollection::uid).
      const bool stateful = op.op && op.op->checkpoint_support() == CheckpointSupport::kStateful;
      out += fmt::format("  {} {}{}\n", o == 0 ? "*" : "+", op.name,
                         stateful ? fmt::format("  [uid '{}']", op.uid) : std::string());
    }
  }
  out +=
      "(* heads a task; + is fused into it: no queue between them; [uid] names the state a "
      "checkpoint saves)\n";
  return out;
}

}  // namespace runnel::runtime

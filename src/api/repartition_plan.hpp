#pragma once
// A shard's plan, when the job is spread over members: each keyed exchange
// becomes a repartition topic (io/kafka/repartition_ops.hpp).
#include "runnel/pipeline.hpp"
#include "runtime/physical_plan.hpp"

namespace runnel::api {

// Cuts every keyed exchange of `plan` in two: a writer fused into the
// producing task, and a reader task that feeds the keyed step (appended at
// the end, so every other operator keeps its place and uid). A broadcast
// exchange, or a keyed one over a type without a Coder, is a UserError
// naming the step.
void cut_exchanges_between_shares(runtime::PhysicalPlan& plan, const PipelineOptions& options);
// Creates the topics of a plan cut so, where they do not exist; a
// UserError if one has not one partition per shard.
void create_repartition_topics(const runtime::PhysicalPlan& plan, const PipelineOptions& options);

}  // namespace runnel::api

#pragma once
// A member of a job spread over several processes (--job-id): it joins the
// job's group on Kafka (io/kafka/job_membership.hpp) and runs one pipeline
// per shard it owns, each reading that shard's share of the inputs, with its
// checkpoints under CHECKPOINT_DIR/shard-NN and its file output under
// OUTPUT/shard-NN. A shard it gives up is stopped first (a final checkpoint);
// one it takes over resumes from that shard's latest checkpoint. It returns
// when every shard of the (bounded) job is done, or when asked to stop.
#include <string>

#include "api/job_cli.hpp"

namespace runnel::api {

// After apply_flags; returns the process exit code's reason by throwing as
// run_job expects (UserError: 2, anything else: 1).
void run_member(const std::string& name, JobFlags& flags, const JobBuilder& build);

}  // namespace runnel::api

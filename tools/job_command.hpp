#pragma once
// `runnel job status --job-id ID --bootstrap B`: a job spread over members,
// as its Kafka topics tell it: the members and what each owns, the shards
// done, each shard's progress (records, checkpoint, watermark, input lag) as
// its member last reported it, and the latest complete checkpoint of each
// shard where the job's checkpoint directory is reachable from here.
#include <CLI/CLI.hpp>

#include <functional>

namespace runnel::tools {

// Adds `job` and its subcommands to `app`; the returned function runs the
// one that was parsed (exit code), or returns -1 if none was.
std::function<int()> add_job_commands(CLI::App& app);

}  // namespace runnel::tools

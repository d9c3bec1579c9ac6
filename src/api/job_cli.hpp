#pragma once
// The flags every runnel job takes, and running a job from them: shared by
// run_main (a user's program) and the runnel CLI's built-in jobs.
#include <CLI/CLI.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/flag_values.hpp"
#include "runnel/run_main.hpp"

namespace runnel::api {

struct JobFlags {
  Options options;
  std::string memory_budget = "1GiB";
  int parallelism = 0;
  bool no_progress = false;
  bool explain = false;
  std::string mode = "auto";
  std::string state_backend = "memory";
  std::string rocksdb_timers;
  std::string checkpoint_interval = "1s";
  int restart_attempts = 0;  // a failed streaming run resumes from its latest checkpoint
  std::vector<std::string> kafka_properties;  // key=value, parsed by run_job
  int metrics_port = -1;                      // -1: no metrics server
  std::string metrics_address;                // empty: PipelineOptions' default
  std::string status_interval;                // empty: no status lines
  std::string metrics_linger;                 // empty: the server ends with the job
  std::string log_format = "text";
  std::string log_level = "info";
  // A job spread over members (see api/job_member.hpp): its id, the Kafka
  // cluster the members meet on, and its shard count (0: the default).
  std::string job_id;
  std::string bootstrap;
  int job_shards = 0;
  // Other members that keep a copy of each shard's latest checkpoint on
  // their own disk, so the one that takes a shard over restores from it.
  int standby_replicas = 0;
  // A run_main program's own flags (ProgramFlags), flag -> value.
  std::map<std::string, std::string> program_flags;
  // --max-rejected: a count ("100") or a percentage ("1%"); empty: no limit.
  std::string max_rejected;
};

// The job's settings, flag -> value, for its page: what was given and the
// defaults that shape the run; secrets among the Kafka properties hidden.
std::map<std::string, std::string> job_config(const std::string& name, const JobFlags& flags);

// Sends the pipeline's unclaimed dead letters where the flags say
// (--dead-letters, else OUTPUT/_rejected for a directory output); returns
// where, or "" when they are left to the log.
std::string route_dead_letters(Pipeline& p, const Options& options);

// Adds --input, --output, --parallelism, ... to `cmd`.
void add_job_flags(CLI::App& cmd, JobFlags& flags, bool with_explain_flag = true);

// Builds the pipeline, wires rejected records to OUTPUT/_rejected, runs it (or
// prints its plan) and prints a summary. Returns the process exit code.
int run_job(const std::string& name, JobFlags& flags, const JobBuilder& build, bool explain_only);

using runnel::parse_byte_size;
using runnel::parse_duration;

}  // namespace runnel::api

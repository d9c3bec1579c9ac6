// The runnel command line: runs the built-in jobs and explains their plans.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include "api/job_cli.hpp"
#include "checkpoints_command.hpp"
#include "job_command.hpp"
#include "jobs/fraud.hpp"
#include "jobs/iot.hpp"
#include "jobs/maintenance.hpp"
#include "jobs/uppercase.hpp"
#include "jobs/wordcount.hpp"
#include "kafka_command.hpp"
#include "nexmark_command.hpp"
#include "runnel/version.hpp"

namespace {

struct Job {
  const char* name;
  const char* description;
  runnel::JobBuilder build;
};

const Job kJobs[] = {
    {"wordcount", "count words: lines of 'word,count' in OUTPUT/part-NNNNN.csv",
     runnel::examples::wordcount},
    {"uppercase", "upper-case every line into OUTPUT/part-NNNNN.txt", runnel::examples::uppercase},
    {"iot",
     "temperature readings (CSV history, then a live generator): per-device averages, maxima, "
     "sessions and late readings under OUTPUT/",
     runnel::examples::iot},
    {"maintenance",
     "machine vibration (CSV history, then a live generator): per-machine sliding statistics "
     "and early alerts under OUTPUT/",
     runnel::examples::maintenance},
    {"fraud",
     "transactions (CSV history, then a live generator): alerts for a small charge followed "
     "within a minute by a large one, in OUTPUT/alerts",
     runnel::examples::fraud},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("runnel: one engine for batch and stream processing");
  app.set_version_flag("--version", std::string("runnel ") + runnel::version());
  app.require_subcommand(1);
  auto* run = app.add_subcommand("run", "run a built-in job");
  auto* explain = app.add_subcommand(
      "explain", "print a built-in job's physical plan (what is fused, how data moves)");
  auto* jobs = app.add_subcommand("jobs", "list the built-in jobs");
  auto* checkpoints = app.add_subcommand("checkpoints", "look into a job's checkpoints");
  checkpoints->require_subcommand(1);
  std::string checkpoint_path;
  auto* list_cmd = checkpoints->add_subcommand(
      "list", "every checkpoint in a --checkpoint-dir: id, time, size, complete or not");
  list_cmd->add_option("DIR", checkpoint_path, "the job's --checkpoint-dir")->required();
  auto* inspect_cmd = checkpoints->add_subcommand(
      "inspect", "one checkpoint: its operators, instances, key groups and sizes, verified");
  inspect_cmd->add_option("PATH", checkpoint_path, "a checkpoint directory (DIR/chk-NNNNNNNNN)")
      ->required();
  run->require_subcommand(1);
  explain->require_subcommand(1);
  auto run_kafka = runnel::tools::add_kafka_commands(app);
  auto run_job_command = runnel::tools::add_job_commands(app);
  auto run_nexmark = runnel::tools::add_nexmark_commands(app);

  std::map<CLI::App*, std::pair<const Job*, bool>> commands;  // -> job, explain only
  std::map<CLI::App*, runnel::api::JobFlags> flags;
  for (const auto& job : kJobs) {
    for (auto* parent : {run, explain}) {
      auto* cmd = parent->add_subcommand(job.name, job.description);
      runnel::api::add_job_flags(*cmd, flags[cmd], parent == run);
      commands[cmd] = {&job, parent == explain};
    }
  }

  // Name an unknown job plainly rather than as a missing subcommand.
  if (argc >= 3 && (std::string(argv[1]) == "run" || std::string(argv[1]) == "explain") &&
      argv[2][0] != '-') {
    bool known = false;
    std::string names;
    for (const auto& job : kJobs) {
      known = known || job.name == std::string(argv[2]);
      names += names.empty() ? job.name : std::string(", ") + job.name;
    }
    if (!known) {
      std::fprintf(stderr, "runnel: error: unknown job '%s'; the built-in jobs are: %s\n", argv[2],
                   names.c_str());
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "runnel: error: %s (see runnel --help)\n", e.what());
    return 2;
  }

  if (int rc = run_kafka(); rc >= 0) return rc;
  if (int rc = run_job_command(); rc >= 0) return rc;
  if (int rc = run_nexmark(); rc >= 0) return rc;
  if (list_cmd->parsed()) return runnel::tools::list_checkpoints_command(checkpoint_path);
  if (inspect_cmd->parsed()) return runnel::tools::inspect_checkpoint_command(checkpoint_path);
  if (jobs->parsed()) {
    for (const auto& job : kJobs) std::printf("%-12s %s\n", job.name, job.description);
    return 0;
  }
  for (auto& [cmd, what] : commands) {
    if (cmd->parsed())
      return runnel::api::run_job(what.first->name, flags[cmd], what.first->build, what.second);
  }
  return 2;
}

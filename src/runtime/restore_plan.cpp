// Planning a restore: which checkpoint (the one asked for, or the newest one
// every operator can restore), whether it fits this pipeline, what sinks
// publish or discard, and which key groups each new instance receives.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "runnel/detail/key_groups.hpp"
#include "runnel/error.hpp"
#include "runtime/executor.hpp"
#include "runtime/instance_run.hpp"
#include "state/checkpoint_claims.hpp"
#include "state/checkpoint_store.hpp"

namespace runnel::runtime {
namespace {

std::string key_of(std::size_t task, std::size_t op) { return fmt::format("{}.{}", task, op); }

// The kind of transform an operator belongs to, which must write and read
// the same state: its name without what it reads or writes ("write text
// 'out'" is a "write text"), and a lifted combiner's merge is the combiner
// unlifted (a trigger that counts elements turns lifting off).
std::string transform_of(std::string name) {
  constexpr std::string_view kMerge = " (merge)";
  if (name.size() > kMerge.size() && name.ends_with(kMerge))
    name.resize(name.size() - kMerge.size());
  if (const auto quote = name.find(" '"); quote != std::string::npos) name.resize(quote);
  return name;
}

// A state written in a format newer than the operator reads is refused, not misread.
void check_format(const state::LoadedCheckpoint& c, const FusedOperator& op,
                  const state::LoadedOperator& saved) {
  if (const std::uint32_t reads = op.op->state_format(); saved.format > reads) {
    throw UserError(fmt::format(
        "checkpoint '{}': the state of '{}' was written in format {}, by a later version of "
        "this job or of runnel; this one reads formats up to {}. Restore with that version",
        c.path.string(), op.name, saved.format, reads));
  }
}

}  // namespace

const state::LoadedOperator* Executor::saved_state(const state::LoadedCheckpoint& c, std::size_t t,
                                                   std::size_t o) const {
  // Written before runnel saved state by uid: by position, as it was taken.
  if (c.positional()) return c.find(key_of(t, o));
  return c.find_uid(plan_.tasks[t].ops[o].uid);
}

std::int64_t Executor::start_checkpointing() {
  for (const auto& task : plan_.tasks) {
    for (const auto& op : task.ops) {
      if (op.op->checkpoint_support() == CheckpointSupport::kUnsupported) {
        const std::string why = op.op->checkpoint_unsupported_reason();
        throw UserError("'" + op.name + "' cannot take part in checkpoints" +
                        (why.empty() ? std::string(" yet") : ": " + why) +
                        "; run this job without --checkpoint-dir");
      }
    }
  }
  // Claimed before the restore reads it: a run still writing here from
  // before (one taken over) is fenced from now on.
  try {
    claim_ = state::claim_checkpoints(options_.checkpoints.dir);
  } catch (const std::exception& e) {
    // A full disk fails the checkpoints too, each as tolerated; the job
    // goes on, without the fence.
    log(fmt::format("{}; this run is not fenced against another on the same directory", e.what()));
  }
  const auto load_start = std::chrono::steady_clock::now();
  const std::int64_t first_id = prepare_restore();
  load_seconds_ =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  coordinator_ = std::make_unique<CheckpointCoordinator>(
      plan_, shared_, options_.checkpoints, first_id, options_.max_parallelism,
      options_.key_groups(), [this](const std::string& line) { log(line); },
      [this](std::exception_ptr e) { fail(std::move(e)); },
      [this](std::int64_t) { stop_after_checkpoint(); });
  coordinator_->set_claim(claim_);
  return first_id;
}

std::string Executor::restore_problem(const state::LoadedCheckpoint& c) const {
  const auto& tasks = plan_.tasks;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      const auto* saved = saved_state(c, t, o);
      // A newer format is refused by check_state_fits, with its own message.
      if (saved == nullptr || saved->format > tasks[t].ops[o].op->state_format()) continue;
      std::string why =
          tasks[t].ops[o].op->restore_problem(shared_[t][o].get(), c.id, saved->operator_states);
      if (!why.empty()) return tasks[t].ops[o].name + ": " + why;
    }
  }
  return {};
}

std::int64_t Executor::prepare_restore() {
  const auto& cfg = options_.checkpoints;
  const auto started = std::chrono::steady_clock::now();
  std::int64_t first_id = state::highest_checkpoint_id(cfg.dir) + 1;
  if (cfg.restore.empty()) return first_id;
  if (cfg.restore == "latest") {
    std::vector<std::string> lines;
    restored_ = state::load_latest(
        cfg.dir, lines, [this](const state::LoadedCheckpoint& c) { return restore_problem(c); },
        cfg.local_copy);
    for (const auto& l : lines) log(l);
    if (!restored_) {
      log("no complete checkpoint in '" + cfg.dir.string() + "': starting from the beginning");
    }
  } else {
    try {
      restored_ = state::load_checkpoint(cfg.restore);
    } catch (const std::exception& e) {
      throw UserError("cannot restore checkpoint '" + cfg.restore + "': " + e.what() +
                      "; pass --restore latest to use the newest usable one");
    }
    if (std::string why = restore_problem(*restored_); !why.empty())
      throw UserError("cannot restore checkpoint '" + cfg.restore + "': " + why +
                      "; restore the one before it, or pass --restore latest");
    first_id = std::max(
        first_id,
        state::highest_checkpoint_id(std::filesystem::path(cfg.restore).parent_path()) + 1);
    // A savepoint restored into another directory: new ids stay above its
    // own, which the sinks' published epochs are numbered by.
    first_id = std::max(first_id, restored_->id + 1);
  }
  restored_id_ = restored_ ? restored_->id : 0;
  if (restored_) {
    check_state_fits(*restored_);
    // How long finding, reading and checking it took: what a standby copy saves.
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    log(fmt::format("restoring checkpoint {} ({}; read and checked in {} ms)", restored_->id,
                    restored_->path.string(), ms));
  }
  recover_sinks();
  return first_id;
}

void Executor::check_state_fits(const state::LoadedCheckpoint& c) const {
  if (c.max_parallelism != options_.max_parallelism) {
    throw UserError(fmt::format(
        "checkpoint '{}' has {} key groups but the job runs with {}; the max parallelism "
        "(key groups) must stay the same across restores",
        c.path.string(), c.max_parallelism, options_.max_parallelism));
  }
  if (c.key_groups != options_.key_groups()) {
    const KeyGroupRange now = options_.key_groups();
    throw UserError(fmt::format(
        "checkpoint '{}' holds key groups {}..{} but this run owns {}..{} (share {} of {}): a "
        "share restores only checkpoints of its own range (the number of shares must stay the "
        "same, and a checkpoint written before runnel recorded ranges holds all groups); start "
        "the job with a new --checkpoint-dir",
        c.path.string(), c.key_groups.first, c.key_groups.last(), now.first, now.last(),
        options_.share, options_.shares));
  }
  if (c.positional()) {
    check_positional_state_fits(c);
    return;
  }
  // Each saved state goes to the operator with its uid, of the same kind;
  // operators without saved state start empty; state nothing takes is
  // refused, or dropped when the user allows it.
  const auto& tasks = plan_.tasks;
  std::vector<bool> taken(c.operators.size(), false);
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      const auto& op = tasks[t].ops[o];
      if (op.op->checkpoint_support() != CheckpointSupport::kStateful) continue;
      const auto* saved = saved_state(c, t, o);
      if (saved == nullptr) {
        log(fmt::format("'{}' (uid '{}') starts empty: checkpoint {} has no state for it", op.name,
                        op.uid, c.id));
        continue;
      }
      for (std::size_t k = 0; k < c.operators.size(); ++k)
        if (&c.operators[k].second == saved) taken[k] = true;
      if (transform_of(saved->name) != transform_of(op.name)) {
        throw UserError(fmt::format(
            "checkpoint '{}': the state saved under uid '{}' was written by '{}', but this "
            "pipeline's '{}' has that uid; give each its own uid, or restore with the job that "
            "wrote it",
            c.path.string(), op.uid, saved->name, op.name));
      }
      check_format(c, op, *saved);
    }
  }
  std::string left;
  for (std::size_t k = 0; k < c.operators.size(); ++k) {
    if (taken[k]) continue;
    const auto& saved = c.operators[k].second;
    left += fmt::format("{}'{}' ({})", left.empty() ? "" : ", ", saved.uid, saved.name);
  }
  if (left.empty()) return;
  if (!options_.checkpoints.allow_non_restored_state) {
    throw UserError(fmt::format(
        "checkpoint '{}' holds state for uid {} that no transform of this pipeline has: give the "
        "transform that held it the same uid() (see `runnel checkpoints` for what a checkpoint "
        "holds), or pass --allow-non-restored-state to drop that state",
        c.path.string(), left));
  }
  log(fmt::format("dropping the state of uid {} from checkpoint {} (--allow-non-restored-state)",
                  left, c.id));
}

void Executor::check_positional_state_fits(const state::LoadedCheckpoint& c) const {
  // Every stateful operator must be where it was.
  const auto& tasks = plan_.tasks;
  std::size_t matched = 0;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      if (tasks[t].ops[o].op->checkpoint_support() != CheckpointSupport::kStateful) continue;
      const auto* saved = saved_state(c, t, o);
      if (saved == nullptr || saved->name != tasks[t].ops[o].name) {
        throw UserError(fmt::format(
            "checkpoint '{}' was taken before runnel saved state by uid, by a different pipeline: "
            "it has no state for '{}' (such a checkpoint restores only into the pipeline that "
            "took it)",
            c.path.string(), tasks[t].ops[o].name));
      }
      check_format(c, tasks[t].ops[o], *saved);
      ++matched;
    }
  }
  if (matched != c.operators.size()) {
    throw UserError(
        fmt::format("checkpoint '{}' was taken by a different pipeline", c.path.string()));
  }
}

void Executor::recover_sinks() {
  // Sinks publish what the checkpoint covers and drop what came after it.
  static const std::vector<std::string> none;
  const auto& tasks = plan_.tasks;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      const auto* saved = restored_ ? saved_state(*restored_, t, o) : nullptr;
      tasks[t].ops[o].op->recover(shared_[t][o].get(), restored_id_,
                                  saved ? saved->operator_states : none);
    }
  }
}

void Executor::assign_restored_state(InstanceRun& r) const {
  const auto& task = plan_.tasks[r.task];
  r.restore.resize(task.ops.size());
  for (std::size_t o = 0; o < task.ops.size(); ++o) {
    if (task.ops[o].op->checkpoint_support() != CheckpointSupport::kStateful) continue;
    const auto* saved = saved_state(*restored_, static_cast<std::size_t>(r.task), o);
    if (saved == nullptr) continue;
    RestoredState in;
    in.checkpoint_id = restored_->id;
    in.format = saved->format;
    in.operator_states = saved->operator_states;
    in.native_dirs = saved->native_dirs;
    in.saved_key_groups = restored_->key_groups;
    for (std::size_t kg = 0; kg < saved->key_groups.size(); ++kg) {
      if (saved->key_groups[kg].empty()) continue;
      if (restored_->key_groups.instance_of(static_cast<int>(kg), task.parallelism) == r.instance)
        in.key_groups.emplace_back(static_cast<int>(kg), saved->key_groups[kg]);
    }
    r.restore[o] = std::move(in);
  }
}

}  // namespace runnel::runtime

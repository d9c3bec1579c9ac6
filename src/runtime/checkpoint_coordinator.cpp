#include "runtime/checkpoint_coordinator.hpp"

#include <fmt/format.h>

#include "runtime/stop_request.hpp"
#include "state/checkpoint_claims.hpp"
#include "state/checkpoint_store.hpp"
#include "state/savepoint.hpp"

namespace runnel::runtime {

CheckpointCoordinator::CheckpointCoordinator(
    const PhysicalPlan& plan, const std::vector<std::vector<std::shared_ptr<SharedState>>>& shared,
    CheckpointConfig config, std::int64_t first_id, int max_parallelism, KeyGroupRange key_groups,
    Log log, Fail fail, Stopped stopped)
    : plan_(plan),
      shared_(shared),
      config_(std::move(config)),
      max_parallelism_(max_parallelism),
      key_groups_(key_groups),
      log_(std::move(log)),
      fail_(std::move(fail)),
      stopped_(std::move(stopped)),
      next_id_(first_id) {
  requested_.store(first_id - 1);
  completed_.store(first_id - 1);
  settled_.store(first_id - 1);
  slots_.resize(plan_.tasks.size());
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    slots_[t].resize(static_cast<std::size_t>(plan_.tasks[t].parallelism));
    if (plan_.tasks[t].in_edges.empty()) running_sources_ += plan_.tasks[t].parallelism;
    for (std::size_t o = 0; o < plan_.tasks[t].ops.size(); ++o) {
      const auto& op = plan_.tasks[t].ops[o];
      if (needs_every_checkpoint_.empty() &&
          !op.op->outlives_failed_checkpoint(shared_[t][o].get()))
        needs_every_checkpoint_ = op.name;
    }
  }
}

CheckpointCoordinator::~CheckpointCoordinator() { stop(); }

void CheckpointCoordinator::start() {
  thread_ = std::thread([this] { loop(); });
}

void CheckpointCoordinator::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CheckpointCoordinator::acknowledge(int task, int instance, std::int64_t id,
                                        std::vector<OperatorSnapshot> snaps, double pause_seconds) {
  {
    std::lock_guard lock(mu_);
    if (id != in_flight_) return;  // abandoned
    slots_[task][instance].pending = std::move(snaps);
    in_flight_pause_ = std::max(in_flight_pause_, pause_seconds);
  }
  cv_.notify_all();
}

void CheckpointCoordinator::finished(int task, int instance, std::vector<OperatorSnapshot> snaps) {
  {
    std::lock_guard lock(mu_);
    slots_[task][instance].final = std::move(snaps);
    if (plan_.tasks[task].in_edges.empty()) --running_sources_;
  }
  cv_.notify_all();
}

CheckpointStats CheckpointCoordinator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

bool CheckpointCoordinator::all_acknowledged() const {
  for (const auto& per_task : slots_) {
    for (const auto& s : per_task) {
      if (!s.pending && !s.final) return false;
    }
  }
  return true;
}

void CheckpointCoordinator::loop() {
  std::unique_lock lock(mu_);
  auto next = std::chrono::steady_clock::now() + config_.interval;
  // Draining, a stop ends the sources instead (the executor sees it): the
  // checkpoints go on until they have finished.
  const auto stop_asked = [this] { return stop_.asked() && !config_.drain; };
  while (!stopping_) {
    // A stop or savepoint request (set by a signal handler, which cannot
    // notify) is polled.
    while (!stopping_ && !stop_asked() && !savepoint_asked() &&
           std::chrono::steady_clock::now() < next)
      cv_.wait_until(
          lock, std::min(next, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)));
    if (stopping_ || stop_.aborted()) break;  // aborted: no final checkpoint
    const bool final = stop_asked();
    bool savepoint = final && !config_.savepoint_dir.empty();
    if (savepoint_asked()) {
      savepoints_seen_ = savepoint_requests().load();
      if (config_.savepoint_dir.empty()) {
        log_(
            "a savepoint was asked for, but this job has no savepoint directory "
            "(--savepoint-dir): none taken");
      } else if (running_sources_ == 0) {
        log_("a savepoint was asked for, but every source has finished: none taken");
      } else {
        savepoint = true;
      }
      if (!savepoint && !final) continue;
    }
    // Once every source has finished, the end of the job commits what is left.
    if (running_sources_ == 0) {
      if (final) {  // the job is ending by itself
        cv_.wait(lock, [&] { return stopping_; });
        break;
      }
      next = std::chrono::steady_clock::now() + config_.interval;
      continue;
    }
    // Fenced runs start no checkpoint: their instances would open the next
    // epoch's files, which the new owner may be writing.
    if (claim_ > 0) {
      lock.unlock();
      try {
        state::check_claim(config_.dir, claim_, fmt::format("checkpoint {}", next_id_));
      } catch (...) {
        fail_(std::current_exception());
        lock.lock();
        break;
      }
      lock.lock();
      if (stopping_) break;
    }
    const std::int64_t id = next_id_++;
    const auto started = std::chrono::steady_clock::now();
    in_flight_ = id;
    in_flight_pause_ = 0;
    for (auto& per_task : slots_) {
      for (auto& s : per_task) s.pending.reset();
    }
    requested_.store(id, std::memory_order_release);
    cv_.wait(lock, [&] { return stopping_ || all_acknowledged(); });
    if (stopping_) break;
    lock.unlock();
    try {
      // A failure it tolerates leaves nothing to do: the next one covers it.
      if (complete(id, started, final)) {
        if (savepoint) save_point(id);
      } else if (savepoint) {
        log_(fmt::format("savepoint not taken: checkpoint {} failed; ask again", id));
      }
    } catch (...) {
      fail_(std::current_exception());
      lock.lock();
      break;
    }
    if (final) {
      log_(fmt::format("stopping: checkpoint {} is the last; resume with --restore latest", id));
      stopped_(id);
      lock.lock();
      in_flight_ = 0;
      break;
    }
    lock.lock();
    in_flight_ = 0;
    // The interval runs from the end of one checkpoint to the next trigger.
    next = std::chrono::steady_clock::now() + config_.interval;
  }
  in_flight_ = 0;
}

void CheckpointCoordinator::save_point(std::int64_t id) {
  try {
    const auto start = std::chrono::steady_clock::now();
    const auto path =
        state::write_savepoint(state::checkpoint_path(config_.dir, id), config_.savepoint_dir);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    log_(fmt::format("savepoint {} taken: {}, linked in {} ms (restore it with --restore {})", id,
                     path.string(), ms, path.string()));
    std::lock_guard lock(mu_);
    stats_.last_savepoint = path.string();
  } catch (const std::exception& e) {
    log_(fmt::format("savepoint {} failed: {}; checkpoint {} stands in '{}'", id, e.what(), id,
                     config_.dir.string()));
  }
}

void CheckpointCoordinator::checkpoint_drained() {
  std::int64_t id = 0;
  {
    std::lock_guard lock(mu_);
    for (auto& per_task : slots_) {
      for (auto& s : per_task) {
        s.pending.reset();
        if (!s.final)
          throw std::logic_error("checkpoint_drained: a task instance has not finished");
      }
    }
    id = next_id_++;
    in_flight_pause_ = 0;
  }
  requested_.store(id, std::memory_order_release);
  if (claim_ > 0) state::check_claim(config_.dir, claim_, fmt::format("checkpoint {}", id));
  if (!complete(id, std::chrono::steady_clock::now(), true)) return;  // complete threw for a final
  log_(
      fmt::format("drained: checkpoint {} holds where the sources stopped; resume with "
                  "--restore latest",
                  id));
  if (!config_.savepoint_dir.empty()) save_point(id);
}

void CheckpointCoordinator::failed(std::int64_t id, const std::string& why, bool final) {
  ++failures_in_row_;
  // Failing the job is what Flink does with no tolerable failures: running on
  // without checkpoints for ever would hold the sinks' output back.
  std::string stop_reason;
  if (final) {
    stop_reason = "it was the final checkpoint of a stop";
  } else if (!needs_every_checkpoint_.empty()) {
    stop_reason = fmt::format(
        "'{}' cannot go on past a failed checkpoint (its transaction waits for it to complete)",
        needs_every_checkpoint_);
  } else if (failures_in_row_ > config_.tolerable_failures) {
    stop_reason = fmt::format("{} in a row failed; --tolerable-checkpoint-failures is {}",
                              failures_in_row_, config_.tolerable_failures);
  }
  if (!stop_reason.empty())
    throw std::runtime_error(fmt::format("checkpoint {} failed: {}; {}", id, why, stop_reason));
  log_(fmt::format("checkpoint {} failed ({} of {} tolerated in a row): {}; the next one covers it",
                   id, failures_in_row_, config_.tolerable_failures, why));
  std::lock_guard lock(mu_);
  ++stats_.failed;
  if (metrics_) metrics_->checkpoint_failed(id, why);
}

bool CheckpointCoordinator::complete(std::int64_t id, std::chrono::steady_clock::time_point started,
                                     bool final) {
  // The acknowledgements are complete and no task touches the slots of a
  // checkpoint in flight any more: read them without the lock.
  // Fenced (another run claimed the directory): not tolerated like a
  // failed write, the run ends here.
  if (claim_ > 0) state::check_claim(config_.dir, claim_, fmt::format("checkpoint {}", id));
  state::CheckpointContent content;
  content.id = id;
  content.max_parallelism = max_parallelism_;
  content.key_groups = key_groups_;
  content.claim = claim_;
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    const auto& task = plan_.tasks[t];
    for (std::size_t o = 0; o < task.ops.size(); ++o) {
      if (task.ops[o].op->checkpoint_support() != CheckpointSupport::kStateful) continue;
      state::OperatorCheckpoint op;
      op.key = fmt::format("{}.{}", t, o);
      op.uid = task.ops[o].uid;
      op.name = task.ops[o].name;
      op.format = task.ops[o].op->state_format();
      for (auto& s : slots_[t]) {
        // A finished instance's final state serves again later: copy it.
        op.instances.push_back(s.pending ? std::move(s.pending->at(o)) : s.final->at(o));
      }
      content.operators.push_back(std::move(op));
    }
  }
  std::uint64_t bytes = 0;
  try {
    bytes = state::write_checkpoint(config_.dir, content);
  } catch (const std::exception& e) {
    // Discarded: the sinks publish nothing for it, and their next
    // checkpoint's states still list what this one held back.
    failed(id, e.what(), final);
    settled_.store(id, std::memory_order_release);
    return false;
  }
  failures_in_row_ = 0;
  // Taken over while it was written: a restore ignores it (it finished after
  // the newer claim) or owns it (before), and publishes what it covers.
  if (claim_ > 0)
    state::check_claim(config_.dir, claim_, fmt::format("publishing checkpoint {}'s output", id));
  // Durable: the sinks may publish what it covers.
  for (std::size_t t = 0, k = 0; t < plan_.tasks.size(); ++t) {
    const auto& task = plan_.tasks[t];
    for (std::size_t o = 0; o < task.ops.size(); ++o) {
      if (task.ops[o].op->checkpoint_support() != CheckpointSupport::kStateful) continue;
      std::vector<std::string> states;
      for (const auto& inst : content.operators[k].instances) states.push_back(inst.operator_state);
      task.ops[o].op->commit_checkpoint(shared_[t][o].get(), id, states);
      ++k;
    }
  }
  completed_.store(id, std::memory_order_release);
  settled_.store(id, std::memory_order_release);
  state::retain_checkpoints(config_.dir, config_.keep);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::lock_guard lock(mu_);
  ++stats_.completed;
  stats_.last_id = id;
  stats_.last_seconds = seconds;
  stats_.last_pause_seconds = in_flight_pause_;
  stats_.max_pause_seconds = std::max(stats_.max_pause_seconds, in_flight_pause_);
  stats_.last_bytes = bytes;
  stats_.total_seconds += seconds;
  if (metrics_) {
    auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
    metrics_->checkpoint_completed({id, seconds, bytes, unix_ms, in_flight_pause_});
  }
  return true;
}

}  // namespace runnel::runtime

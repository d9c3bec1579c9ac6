#include "runtime/executor.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "core/log.hpp"
#include "runnel/error.hpp"
#include "runtime/barrier_aligner.hpp"
#include "runtime/batch_queue.hpp"
#include "runtime/exchange.hpp"
#include "runtime/instance_run.hpp"
#include "runtime/stop_request.hpp"
#include "runtime/watermark_valve.hpp"
#include "state/checkpoint_claims.hpp"

namespace runnel::runtime {
namespace {

std::uint64_t elapsed_ns(std::chrono::steady_clock::time_point since) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since)
          .count());
}

}  // namespace

Executor::Executor(const PhysicalPlan& plan, ExecutionOptions options)
    : plan_(plan), options_(std::move(options)) {}

Executor::~Executor() = default;

void Executor::prepare() {
  shared_.clear();
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    const auto& task = plan_.tasks[t];
    auto& per_op = shared_.emplace_back();
    SharedStateContext ctx;
    ctx.parallelism = task.parallelism;
    ctx.share = options_.share;
    ctx.shares = options_.shares;
    ctx.checkpointing = options_.streaming && !options_.checkpoints.dir.empty();
    ctx.restoring = ctx.checkpointing && !options_.checkpoints.restore.empty();
    if (ctx.checkpointing) {
      ctx.checkpoint_dir = options_.checkpoints.dir;
      ctx.checkpoint_interval = options_.checkpoints.interval;
      ctx.checkpoints_kept = options_.checkpoints.keep;
    }
    for (std::size_t o = 0; o < task.ops.size(); ++o) {
      ctx.uid = fmt::format("{}.{}", t, o);
      per_op.push_back(task.ops[o].op->make_shared_state(ctx));
    }
  }
  prepared_ = true;
}

std::uint64_t Executor::expected_bytes() const {
  std::uint64_t total = 0;
  for (std::size_t t = 0; t < plan_.tasks.size(); ++t) {
    for (std::size_t o = 0; o < plan_.tasks[t].ops.size(); ++o) {
      total += plan_.tasks[t].ops[o].op->expected_bytes(shared_[t][o].get());
    }
  }
  return total;
}

void Executor::fail(std::exception_ptr error) {
  if (failed_.exchange(true)) return;  // the first failure is the one reported
  error_ = std::move(error);
  for (auto& per_task : queues_) {
    for (auto& q : per_task) q->close();
  }
  for (std::size_t t = 0; t < shared_.size(); ++t) {
    for (std::size_t o = 0; o < shared_[t].size(); ++o) {
      try {
        plan_.tasks[t].ops[o].op->on_job_cancel(shared_[t][o].get());
      } catch (...) {
        // Waking is best effort; the first error is the one reported.
      }
    }
  }
}

void Executor::stop_after_checkpoint() {
  if (failed_.exchange(true)) return;
  stopped_ = true;
  for (auto& per_task : queues_) {
    for (auto& q : per_task) q->close();
  }
}

bool Executor::stop_requested_now() {
  if (!stop_.asked()) return false;
  if (stop_.aborted()) {
    fail(std::make_exception_ptr(
        std::runtime_error("aborted: the run was told to end without committing")));
    return true;
  }
  if (!options_.streaming) {
    fail(std::make_exception_ptr(
        UserError("interrupted: a batch job stops without committing its output; run it again")));
    return true;
  }
  // With checkpoints the coordinator takes a final one and then stops the
  // job; without, or told to drain, the sources end here and the job drains.
  if (coordinator_ && !options_.checkpoints.drain) return false;
  draining_ = true;
  return true;
}

ExecutionStats Executor::run() {
  // A savepoint asked for while the run starts (restores) is taken once it runs.
  const std::uint64_t savepoints_at_start = savepoint_requests().load();
  if (!prepared_) prepare();
  const auto start = std::chrono::steady_clock::now();
  const bool checkpointing = options_.streaming && !options_.checkpoints.dir.empty();
  const std::int64_t first_id = checkpointing ? start_checkpointing() : 1;

  metrics_ = options_.metrics ? options_.metrics : std::make_shared<JobMetrics>();
  describe_plan(plan_, options_.queue_capacity, *metrics_);
  if (restored_id_ > 0) metrics_->restored(restored_id_);
  if (coordinator_) coordinator_->set_metrics(metrics_.get());
  make_queues();
  TaskGraph graph = build_task_graph(first_id);

  stop_ = StopCheck(stop_requests().load(), options_.stop);
  if (coordinator_) {
    coordinator_->set_stop(stop_);
    coordinator_->set_savepoints_seen(savepoints_at_start);
    coordinator_->start();
  }
  metrics_->set_state(JobState::kRunning);
  watch_rejections([&] { run_threads(graph.runs); });
  // No checkpoint commits while the job's end commits (or aborts) the sinks.
  if (coordinator_) coordinator_->stop();
  // Drained: a last checkpoint records where the sources stopped (it
  // publishes the file output, so the rejection limit is judged first; an
  // aborted run takes none).
  if (coordinator_ && draining_ && !failed_ && !stop_.aborted()) {
    try {
      if (std::string why = rejection_problem(true); !why.empty()) throw UserError(why);
      coordinator_->checkpoint_drained();
    } catch (...) {
      fail(std::current_exception());
    }
  }
  commit_job();
  if (failed_ && !stopped_) {
    metrics_->set_state(JobState::kFailed);
    std::rethrow_exception(error_);
  }
  metrics_->set_state(stopped_ || draining_ ? JobState::kStopped : JobState::kFinished);
  return stats(graph.runs, start);
}

void Executor::run_threads(std::vector<std::unique_ptr<InstanceRun>>& runs) {
  std::vector<std::thread> threads;
  threads.reserve(runs.size());
  try {
    for (auto& r : runs) threads.emplace_back([this, &r] { run_instance(*r); });
  } catch (...) {
    // Too many threads for this machine: stop the ones started, report it.
    fail(std::make_exception_ptr(UserError("cannot start " + std::to_string(runs.size()) +
                                           " threads; lower --parallelism")));
  }
  for (auto& th : threads) th.join();
}

std::string Executor::rejection_problem(bool at_end) const {
  const std::uint64_t limit = options_.max_rejected;
  const double fraction = options_.max_rejected_fraction;
  if (limit == UINT64_MAX && fraction >= 1.0) return "";
  const auto t = runnel::totals(*metrics_);
  if (t.dead_letters > limit)
    return fmt::format(
        "{} records rejected, more than the {} allowed (--max-rejected, "
        "PipelineOptions::max_rejected): the job fails and commits nothing further (what "
        "checkpoints committed and records already sent to a Kafka topic without transactions "
        "stay); run it without the limit to see the rejected records with their reasons",
        t.dead_letters, limit);
  if (fraction < 1.0 && t.records_in > 0 && (at_end || t.records_in >= 1000) &&
      static_cast<double>(t.dead_letters) > fraction * static_cast<double>(t.records_in))
    return fmt::format(
        "{} of {} records rejected ({:.3g}%), more than the {:.3g}% allowed (--max-rejected, "
        "PipelineOptions::max_rejected_fraction): the job fails and commits nothing further (what "
        "checkpoints committed and records already sent to a Kafka topic without transactions "
        "stay); run it without the limit to see the rejected records with their reasons",
        t.dead_letters, t.records_in,
        100.0 * static_cast<double>(t.dead_letters) / static_cast<double>(t.records_in),
        100.0 * fraction);
  return "";
}

void Executor::watch_rejections(const std::function<void()>& body) {
  if (options_.max_rejected == UINT64_MAX && options_.max_rejected_fraction >= 1.0) {
    body();
    return;
  }
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::thread watcher;
  try {
    watcher = std::thread([&] {
      try {
        std::unique_lock lock(m);
        while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) {
          if (failed_) return;
          if (std::string why = rejection_problem(false); !why.empty()) {
            fail(std::make_exception_ptr(UserError(why)));
            return;
          }
        }
      } catch (...) {
        fail(std::current_exception());
      }
    });
  } catch (const std::system_error&) {
    // No thread to spare: the check at the end still applies.
    body();
    return;
  }
  struct Join {
    std::mutex& m;
    std::condition_variable& cv;
    bool& done;
    std::thread& t;
    ~Join() {
      {
        std::lock_guard lock(m);
        done = true;
      }
      cv.notify_all();
      if (t.joinable()) t.join();
    }
  } join{m, cv, done, watcher};
  body();
}

void Executor::commit_job() {
  if (!failed_) {
    if (std::string why = rejection_problem(true); !why.empty())
      fail(std::make_exception_ptr(UserError(why)));
  }
  // A run taken over publishes nothing at its end either.
  if (!failed_ && claim_ > 0) {
    try {
      state::check_claim(options_.checkpoints.dir, claim_, "publishing the job's final output");
    } catch (...) {
      fail(std::current_exception());
    }
  }
  // Publish every sink's output, or none: once one commit fails, the rest abort.
  const auto& tasks = plan_.tasks;
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
      auto* shared = shared_[t][o].get();
      if (!failed_) {
        try {
          tasks[t].ops[o].op->on_job_success(shared);
          continue;
        } catch (...) {
          fail(std::current_exception());
        }
      }
      try {
        tasks[t].ops[o].op->on_job_failure(shared);
      } catch (...) {
        // Cleanup is best effort; the first error is the one reported.
      }
    }
  }
}

ExecutionStats Executor::stats(const std::vector<std::unique_ptr<InstanceRun>>& runs,
                               std::chrono::steady_clock::time_point start) const {
  ExecutionStats stats;
  const auto totals = runnel::totals(*metrics_);
  stats.records_in = totals.records_in;
  stats.records_out = totals.records_out;
  stats.dead_letters = totals.dead_letters;
  stats.spilled_bytes = totals.spilled_bytes;
  stats.late_records = totals.late_records;
  if (coordinator_) stats.checkpoints = coordinator_->stats();
  stats.restored_checkpoint = restored_id_;
  stats.stopped = stopped_ || draining_;
  if (restored_id_ > 0) {
    double slowest = 0;
    for (const auto& r : runs) slowest = std::max(slowest, r->restore_seconds);
    stats.restore_seconds = load_seconds_ + slowest;
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

// Names the task for an error from user code: which operators, which instance.
static std::string describe_task(const PhysicalTask& task, int task_index, int instance) {
  std::string ops;
  for (const auto& op : task.ops) ops += (ops.empty() ? "" : " -> ") + op.name;
  return fmt::format("task {} [{}], instance {}", task_index, ops, instance);
}

void Executor::propagate_watermark(InstanceRun& r, Timestamp input) {
  // An idle operator passes kIdleWatermark on; its last watermark is kept.
  auto out = [&](std::size_t o) { return r.op_idle[o] ? kIdleWatermark : r.op_watermarks[o]; };
  for (std::size_t o = 0; o < r.ops.size(); ++o) {
    Timestamp in = r.producer[o] < 0 ? input : out(static_cast<std::size_t>(r.producer[o]));
    Timestamp w = r.ops[o]->on_watermark(in);
    r.op_idle[o] = w == kIdleWatermark;
    // Watermarks never go back, whatever an operator returns.
    if (!r.op_idle[o]) {
      r.op_watermarks[o] = std::max(r.op_watermarks[o], w);
      r.figures->ops[o].watermark.store(r.op_watermarks[o], std::memory_order_relaxed);
    }
  }
  for (std::size_t x = 0; x < r.exchanges.size(); ++x) {
    r.exchanges[x]->watermark(out(static_cast<std::size_t>(r.exchange_owner[x])));
  }
}

void Executor::tick(InstanceRun& r, Timestamp input) {
  Timestamp now = detail::wall_clock_ms();
  for (auto& op : r.ops) op->on_processing_time(now);
  propagate_watermark(r, input);
  for (auto* ex : r.exchanges) ex->flush();
}

void Executor::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    log_info(line);
  }
}

void Executor::take_checkpoint(InstanceRun& r, std::int64_t id) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<OperatorSnapshot> snaps(r.ops.size());
  // Stateless operators are told too: they may hold output back.
  for (std::size_t o = 0; o < r.ops.size(); ++o) {
    r.ops[o]->snapshot(id, snaps[o]);
    r.figures->ops[o].counters.state_bytes = snaps[o].bytes();
  }
  for (auto* ex : r.exchanges) ex->barrier(id);
  coordinator_->acknowledge(r.task, r.instance, id, std::move(snaps),
                            static_cast<double>(elapsed_ns(started)) / 1e9);
}

bool Executor::produce_timed(InstanceRun& r, SourceInstance& source) {
  const auto started = std::chrono::steady_clock::now();
  bool more = source.produce();
  r.figures->busy_ns += elapsed_ns(started);
  return more;
}

void Executor::run_source(InstanceRun& r) {
  auto* source = dynamic_cast<SourceInstance*>(r.ops[0].get());
  if (source == nullptr) throw std::logic_error("task without inputs has no source at its head");
  if (!options_.streaming) {
    while (!failed_.load(std::memory_order_relaxed) && !stop_requested_now() &&
           produce_timed(r, *source)) {
    }
    return;
  }
  auto next_tick = std::chrono::steady_clock::now();
  while (!failed_.load(std::memory_order_relaxed) && !stop_requested_now() &&
         produce_timed(r, *source)) {
    if (coordinator_) {
      std::int64_t id = coordinator_->requested();
      if (id > r.injected) {
        r.injected = id;
        take_checkpoint(r, id);
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      tick(r, kMinTimestamp);
      next_tick = now + options_.tick;
    }
  }
}

void Executor::run_consumer(InstanceRun& r) {
  auto& queue = *queues_[r.task][r.instance];
  int open_inputs = 0;
  for (int n : r.expected_end_of_input) open_inputs += n > 0 ? 1 : 0;
  auto remaining = r.expected_end_of_input;
  // Streaming: the input's watermark from its channels'. A rise goes down the
  // task at once: waiting for the tick would add to latency.
  WatermarkValve valve(r.num_channels);
  auto advance = [&](int channel, Timestamp wm) {
    if (valve.on_watermark(channel, wm)) propagate_watermark(r, valve.watermark());
  };
  const bool timed_wait = options_.streaming && options_.tick.count() > 0;
  const bool head_counts = plan_.tasks[r.task].ops[0].kind != OperatorKind::kSink;
  auto next_tick = std::chrono::steady_clock::now() + options_.tick;
  // Checkpoints: messages of channels whose barrier came first wait in
  // `held` until the others' barriers arrive; then they are replayed.
  BarrierAligner aligner(r.num_channels);
  std::deque<Message> held, replay;
  auto on_aligner = [&](BarrierAligner::Action a) {
    if (a != BarrierAligner::Action::kSnapshot) return;
    take_checkpoint(r, aligner.checkpoint());
    replay.insert(replay.begin(), std::make_move_iterator(held.begin()),
                  std::make_move_iterator(held.end()));
    held.clear();
  };
  while (open_inputs > 0) {
    std::optional<Message> m;
    if (!replay.empty()) {
      m = std::move(replay.front());
      replay.pop_front();
    } else if (timed_wait) {
      m = queue.pop_until(next_tick);
    } else {
      m = queue.pop();
    }
    if (m && aligner.blocked(m->channel)) {
      held.push_back(std::move(*m));
      m.reset();
    }
    if (m) {
      if (m->kind == Message::Kind::kData) {
        const auto started = std::chrono::steady_clock::now();
        if (head_counts) r.figures->ops[0].counters.records_in += m->batch->size();
        r.ops[0]->process(m->input, *m->batch);
        r.figures->busy_ns += elapsed_ns(started);
      } else if (m->kind == Message::Kind::kWatermark) {
        advance(m->channel, m->watermark);
      } else if (m->kind == Message::Kind::kBarrier) {
        on_aligner(aligner.on_barrier(m->channel, m->checkpoint));
      } else {
        if (options_.streaming)
          advance(m->channel, kMaxTimestamp);  // an ended channel holds no one back
        if (--remaining[m->input] == 0) {
          r.ops[0]->end_of_input(m->input);
          --open_inputs;
        }
        if (coordinator_) on_aligner(aligner.on_channel_end(m->channel));
      }
    }
    if (options_.streaming) {
      auto now = std::chrono::steady_clock::now();
      if (now >= next_tick) {
        tick(r, valve.current());
        next_tick = now + options_.tick;
      }
    }
  }
}

void Executor::finish_instance(InstanceRun& r) {
  // Streaming: the end of the input completes every window.
  if (options_.streaming) propagate_watermark(r, kMaxTimestamp);
  for (auto& op : r.ops) op->finish();
  for (auto* ex : r.exchanges) ex->finish();
  if (!coordinator_) return;
  // The state it ended in stands for this instance in later checkpoints.
  const auto& task = plan_.tasks[r.task];
  std::vector<OperatorSnapshot> snaps(r.ops.size());
  for (std::size_t o = 0; o < r.ops.size(); ++o) {
    if (task.ops[o].op->checkpoint_support() == CheckpointSupport::kStateful)
      r.ops[o]->snapshot(coordinator_->requested(), snaps[o]);
  }
  coordinator_->finished(r.task, r.instance, std::move(snaps));
}

void Executor::run_instance(InstanceRun& r) {
  const auto& task = plan_.tasks[r.task];
  std::size_t opened = 0;
  try {
    for (auto& op : r.ops) {
      op->open();
      ++opened;
    }
    const auto restore_start = std::chrono::steady_clock::now();
    for (std::size_t o = 0; o < r.restore.size(); ++o) {
      if (r.restore[o]) r.ops[o]->restore(*r.restore[o]);
    }
    r.restore_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - restore_start).count();
    r.restore.clear();
    if (task.in_edges.empty()) {
      run_source(r);
    } else {
      run_consumer(r);
    }
    if (!failed_) finish_instance(r);
  } catch (const Cancelled&) {
    // Another instance failed first; its error is the one reported.
  } catch (const UserError&) {
    fail(std::current_exception());  // says what and where already
  } catch (const std::exception& e) {
    fail(std::make_exception_ptr(std::runtime_error(
        fmt::format("{} (in {})", e.what(), describe_task(task, r.task, r.instance)))));
  } catch (...) {
    fail(std::current_exception());
  }
  // Only operators whose open() ran are closed (a DoFn's teardown pairs with its setup).
  for (std::size_t i = 0; i < opened; ++i) {
    try {
      r.ops[i]->close();
    } catch (...) {
      fail(std::current_exception());
    }
  }
}

}  // namespace runnel::runtime

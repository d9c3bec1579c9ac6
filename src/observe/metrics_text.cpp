// The Prometheus exposition: a registry built afresh at each scrape from the
// live figures (they are our own atomics; prometheus-cpp formats them).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <sstream>
#include <string>

#include "observe/metrics_server.hpp"

namespace runnel::observe {

namespace {

double now_ms() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

using prometheus::BuildCounter;
using prometheus::BuildGauge;

// A series' own labels and the ones every series of a view carries (a shard's).
prometheus::Labels with(const prometheus::Labels& base, prometheus::Labels own) {
  own.insert(base.begin(), base.end());
  return own;
}

// The per-operator and per-task families of one scrape.
struct InstanceFamilies {
  explicit InstanceFamilies(prometheus::Registry& reg)
      : in(BuildCounter()
               .Name("runnel_operator_records_in_total")
               .Help("Records an operator instance took in")
               .Register(reg)),
        out(BuildCounter()
                .Name("runnel_operator_records_out_total")
                .Help("Records an operator instance emitted (sources: read and valid)")
                .Register(reg)),
        bytes_in(BuildCounter()
                     .Name("runnel_operator_bytes_in_total")
                     .Help("Bytes a source instance read")
                     .Register(reg)),
        bytes_out(BuildCounter()
                      .Name("runnel_operator_bytes_out_total")
                      .Help("Bytes a sink instance wrote")
                      .Register(reg)),
        dead(BuildCounter()
                 .Name("runnel_operator_dead_letters_total")
                 .Help("Malformed records sent to the dead-letter output")
                 .Register(reg)),
        late(BuildCounter()
                 .Name("runnel_operator_late_records_total")
                 .Help("Records later than the allowed lateness, sent to the late output")
                 .Register(reg)),
        spilled(BuildCounter()
                    .Name("runnel_operator_spilled_bytes_total")
                    .Help("Bytes spilled to disk by a hash table over its memory budget")
                    .Register(reg)),
        state(BuildGauge()
                  .Name("runnel_operator_state_bytes")
                  .Help("Bytes of the instance's state in its last checkpoint")
                  .Register(reg)),
        wm(BuildGauge()
               .Name("runnel_operator_watermark_milliseconds")
               .Help("The operator instance's output watermark, ms since the epoch")
               .Register(reg)),
        wm_lag(BuildGauge()
                   .Name("runnel_operator_watermark_lag_seconds")
                   .Help("Wall clock minus the output watermark")
                   .Register(reg)),
        busy(BuildCounter()
                 .Name("runnel_task_busy_seconds_total")
                 .Help("Time a task instance spent on batches (waits on full queues included)")
                 .Register(reg)),
        fill(BuildGauge()
                 .Name("runnel_task_queue_fill_ratio")
                 .Help("Batches waiting in a task instance's input queue over its capacity "
                       "(near 1: backpressure from this task)")
                 .Register(reg)) {}
  prometheus::Family<prometheus::Counter>& in;
  prometheus::Family<prometheus::Counter>& out;
  prometheus::Family<prometheus::Counter>& bytes_in;
  prometheus::Family<prometheus::Counter>& bytes_out;
  prometheus::Family<prometheus::Counter>& dead;
  prometheus::Family<prometheus::Counter>& late;
  prometheus::Family<prometheus::Counter>& spilled;
  prometheus::Family<prometheus::Gauge>& state;
  prometheus::Family<prometheus::Gauge>& wm;
  prometheus::Family<prometheus::Gauge>& wm_lag;
  prometheus::Family<prometheus::Counter>& busy;
  prometheus::Family<prometheus::Gauge>& fill;
};

// One operator instance's figures. The job's totals in `tot` add up the very
// values shown: each counter is read once (another batch may land meanwhile).
void add_operator_figures(InstanceFamilies& f, const prometheus::Labels& l, const std::string& kind,
                          const OperatorFigures& fig, double now, JobTotals& tot) {
  const auto& c = fig.counters;
  const std::uint64_t n_in = c.records_in.get(), n_out = c.records_out.get(),
                      n_dead = c.dead_letters.get();
  if (kind == "source") tot.records_in += n_out + n_dead;
  if (kind == "sink") tot.records_out += n_in;
  tot.dead_letters += n_dead;
  f.in.Add(l).Increment(static_cast<double>(n_in));
  f.out.Add(l).Increment(static_cast<double>(n_out));
  f.dead.Add(l).Increment(static_cast<double>(n_dead));
  f.late.Add(l).Increment(static_cast<double>(c.late_records.get()));
  if (kind == "source") f.bytes_in.Add(l).Increment(static_cast<double>(c.bytes_in.get()));
  if (kind == "sink") f.bytes_out.Add(l).Increment(static_cast<double>(c.bytes_out.get()));
  if (c.spilled_bytes.get() > 0)
    f.spilled.Add(l).Increment(static_cast<double>(c.spilled_bytes.get()));
  if (c.state_bytes.get() > 0) f.state.Add(l).Set(static_cast<double>(c.state_bytes.get()));
  const std::int64_t w = fig.watermark.load(std::memory_order_relaxed);
  if (is_watermark_time(w)) {
    f.wm.Add(l).Set(static_cast<double>(w));
    f.wm_lag.Add(l).Set((now - static_cast<double>(w)) / 1e3);
  }
}

void add_instance_figures(InstanceFamilies& f, const JobMetrics& m, const prometheus::Labels& base,
                          JobTotals& tot) {
  const double now = now_ms();
  const auto& tasks = m.tasks();
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    for (int i = 0; i < tasks[t].parallelism; ++i) {
      const auto& inst = m.instance(static_cast<int>(t), i);
      const prometheus::Labels task_labels =
          with(base, {{"task", std::to_string(t)}, {"instance", std::to_string(i)}});
      f.busy.Add(task_labels).Increment(static_cast<double>(inst.busy_ns.get()) / 1e9);
      if (inst.queue_capacity > 0) {
        f.fill.Add(task_labels)
            .Set(static_cast<double>(inst.queue_fill.load(std::memory_order_relaxed)) /
                 inst.queue_capacity);
      }
      for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
        const auto& op = tasks[t].ops[o];
        const prometheus::Labels l = with(base, {{"task", std::to_string(t)},
                                                 {"op", std::to_string(o)},
                                                 {"operator", op.name},
                                                 {"kind", op.kind},
                                                 {"instance", std::to_string(i)}});
        add_operator_figures(f, l, op.kind, inst.ops[o], now, tot);
      }
    }
  }
}

// The job's totals, uptime and state.
void add_job_figures(prometheus::Registry& reg, const JobMetrics& m, const prometheus::Labels& base,
                     const JobTotals& tot) {
  BuildCounter()
      .Name("runnel_job_records_in_total")
      .Help("Records the job's sources read (rejected ones included)")
      .Register(reg)
      .Add(base)
      .Increment(static_cast<double>(tot.records_in));
  BuildCounter()
      .Name("runnel_job_records_out_total")
      .Help("Records the job's sinks took")
      .Register(reg)
      .Add(base)
      .Increment(static_cast<double>(tot.records_out));
  BuildCounter()
      .Name("runnel_job_dead_letters_total")
      .Help("Records the job sent to dead-letter outputs")
      .Register(reg)
      .Add(base)
      .Increment(static_cast<double>(tot.dead_letters));
  BuildGauge()
      .Name("runnel_job_uptime_seconds")
      .Help("Seconds since the run was set up")
      .Register(reg)
      .Add(base)
      .Set(m.uptime_seconds());
  auto& state_gauge =
      BuildGauge().Name("runnel_job_state").Help("1 for the job's current state").Register(reg);
  for (auto s : {JobState::kCreated, JobState::kRunning, JobState::kFinished, JobState::kStopped,
                 JobState::kFailed}) {
    state_gauge.Add(with(base, {{"state", to_string(s)}})).Set(m.state() == s ? 1 : 0);
  }
  if (m.expected_bytes.load() > 0) {
    BuildGauge()
        .Name("runnel_job_expected_bytes")
        .Help("Bytes the job's bounded sources will read")
        .Register(reg)
        .Add(base)
        .Set(static_cast<double>(m.expected_bytes.load()));
  }
}

// Checkpoints, restores and Kafka consumer lag.
void add_checkpoint_figures(prometheus::Registry& reg, const JobMetrics& m,
                            const prometheus::Labels& base) {
  const auto ck = m.checkpoints();
  BuildCounter()
      .Name("runnel_checkpoints_completed_total")
      .Help("Checkpoints completed (durable and committed)")
      .Register(reg)
      .Add(base)
      .Increment(static_cast<double>(ck.completed));
  BuildCounter()
      .Name("runnel_checkpoints_failed_total")
      .Help("Checkpoints that could not be written, tolerated (--tolerable-checkpoint-failures)")
      .Register(reg)
      .Add(base)
      .Increment(static_cast<double>(ck.failed));
  BuildCounter()
      .Name("runnel_restores_total")
      .Help("Checkpoints this process restored")
      .Register(reg)
      .Add(base)
      .Increment(static_cast<double>(ck.restores));
  if (!ck.history.empty()) {
    const auto& last = ck.history.back();
    auto gauge = [&](const char* name, const char* help, double v) {
      BuildGauge().Name(name).Help(help).Register(reg).Add(base).Set(v);
    };
    gauge("runnel_checkpoint_last_id", "The id of the last completed checkpoint",
          static_cast<double>(last.id));
    gauge("runnel_checkpoint_last_duration_seconds",
          "The last completed checkpoint, from trigger to durable", last.seconds);
    gauge("runnel_checkpoint_last_pause_seconds",
          "The longest a task instance paused its records to snapshot its state for the last "
          "completed checkpoint (what is written off the task thread is not in it)",
          last.pause_seconds);
    gauge("runnel_checkpoint_last_size_bytes", "Bytes the last completed checkpoint wrote",
          static_cast<double>(last.bytes));
    gauge("runnel_checkpoint_last_completed_timestamp_seconds",
          "When the last checkpoint completed, seconds since the epoch",
          static_cast<double>(last.completed_unix_ms) / 1e3);
  }
  const auto lag = m.consumer_lag();
  if (!lag.empty()) {
    auto& fam = BuildGauge()
                    .Name("runnel_kafka_consumer_lag_records")
                    .Help("Records in a Kafka partition after the source's position")
                    .Register(reg);
    for (const auto& [tp, n] : lag)
      fam.Add(with(base, {{"topic", tp.first}, {"partition", std::to_string(tp.second)}}))
          .Set(static_cast<double>(n));
  }
}

}  // namespace

namespace {

// Every figure of one run, its series labelled with `base` too. A family
// registered twice in `reg` (a member's second shard) is the same family.
void add_run(prometheus::Registry& reg, const JobMetrics& m, const prometheus::Labels& base) {
  InstanceFamilies families(reg);  // registered (and listed) before the plan is known too
  JobTotals tot;
  if (m.has_plan()) add_instance_figures(families, m, base, tot);
  add_job_figures(reg, m, base, tot);
  add_checkpoint_figures(reg, m, base);
}

std::string serialize(const prometheus::Registry& reg) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, reg.Collect());
  return os.str();
}

}  // namespace

std::string prometheus_text(const JobMetrics& m) {
  prometheus::Registry reg;
  add_run(reg, m, {});
  return serialize(reg);
}

std::string prometheus_text(const MemberFigures& member) {
  prometheus::Registry reg;
  BuildGauge()
      .Name("runnel_member_shards")
      .Help("Shards of the job this member runs now")
      .Register(reg)
      .Add({{"job_id", member.job_id}})
      .Set(static_cast<double>(member.shards.size()));
  for (const auto& [shard, m] : member.shards) add_run(reg, *m, {{"shard", std::to_string(shard)}});
  return serialize(reg);
}

}  // namespace runnel::observe

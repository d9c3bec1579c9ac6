// The Prometheus exposition: a registry built afresh at each scrape from the
// live figures (they are our own atomics; prometheus-cpp formats them).
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <sstream>
#include <string>

#include "ops/metrics_server.hpp"

namespace runnel::ops {

namespace {

double now_ms() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

}  // namespace

std::string prometheus_text(const JobMetrics& m) {
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  prometheus::Registry reg;
  auto& in = BuildCounter()
                 .Name("runnel_operator_records_in_total")
                 .Help("Records an operator instance took in")
                 .Register(reg);
  auto& out = BuildCounter()
                  .Name("runnel_operator_records_out_total")
                  .Help("Records an operator instance emitted (sources: read and valid)")
                  .Register(reg);
  auto& bytes_in = BuildCounter()
                       .Name("runnel_operator_bytes_in_total")
                       .Help("Bytes a source instance read")
                       .Register(reg);
  auto& bytes_out = BuildCounter()
                        .Name("runnel_operator_bytes_out_total")
                        .Help("Bytes a sink instance wrote")
                        .Register(reg);
  auto& dead = BuildCounter()
                   .Name("runnel_operator_dead_letters_total")
                   .Help("Malformed records sent to the dead-letter output")
                   .Register(reg);
  auto& late = BuildCounter()
                   .Name("runnel_operator_late_records_total")
                   .Help("Records later than the allowed lateness, sent to the late output")
                   .Register(reg);
  auto& spilled = BuildCounter()
                      .Name("runnel_operator_spilled_bytes_total")
                      .Help("Bytes spilled to disk by a hash table over its memory budget")
                      .Register(reg);
  auto& state = BuildGauge()
                    .Name("runnel_operator_state_bytes")
                    .Help("Bytes of the instance's state in its last checkpoint")
                    .Register(reg);
  auto& wm = BuildGauge()
                 .Name("runnel_operator_watermark_milliseconds")
                 .Help("The operator instance's output watermark, ms since the epoch")
                 .Register(reg);
  auto& wm_lag = BuildGauge()
                     .Name("runnel_operator_watermark_lag_seconds")
                     .Help("Wall clock minus the output watermark")
                     .Register(reg);
  auto& busy = BuildCounter()
                   .Name("runnel_task_busy_seconds_total")
                   .Help("Time a task instance spent on batches (waits on full queues included)")
                   .Register(reg);
  auto& fill = BuildGauge()
                   .Name("runnel_task_queue_fill_ratio")
                   .Help(
                       "Batches waiting in a task instance's input queue over its capacity "
                       "(near 1: backpressure from this task)")
                   .Register(reg);

  const double now = now_ms();
  JobTotals tot;
  if (m.has_plan()) {
    const auto& tasks = m.tasks();
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      for (int i = 0; i < tasks[t].parallelism; ++i) {
        const auto& inst = m.instance(static_cast<int>(t), i);
        const prometheus::Labels task_labels{{"task", std::to_string(t)},
                                             {"instance", std::to_string(i)}};
        busy.Add(task_labels).Increment(static_cast<double>(inst.busy_ns.get()) / 1e9);
        if (inst.queue_capacity > 0) {
          fill.Add(task_labels)
              .Set(static_cast<double>(inst.queue_fill.load(std::memory_order_relaxed)) /
                   inst.queue_capacity);
        }
        for (std::size_t o = 0; o < tasks[t].ops.size(); ++o) {
          const auto& op = tasks[t].ops[o];
          const auto& c = inst.ops[o].counters;
          prometheus::Labels l{{"task", std::to_string(t)},
                               {"op", std::to_string(o)},
                               {"operator", op.name},
                               {"kind", op.kind},
                               {"instance", std::to_string(i)}};
          // Each counter read once: the job's totals below add up the very
          // values shown per operator (another batch may land meanwhile).
          const std::uint64_t n_in = c.records_in.get(), n_out = c.records_out.get(),
                              n_dead = c.dead_letters.get();
          if (op.kind == "source") tot.records_in += n_out + n_dead;
          if (op.kind == "sink") tot.records_out += n_in;
          tot.dead_letters += n_dead;
          in.Add(l).Increment(static_cast<double>(n_in));
          out.Add(l).Increment(static_cast<double>(n_out));
          dead.Add(l).Increment(static_cast<double>(n_dead));
          late.Add(l).Increment(static_cast<double>(c.late_records.get()));
          if (op.kind == "source") bytes_in.Add(l).Increment(static_cast<double>(c.bytes_in.get()));
          if (op.kind == "sink") bytes_out.Add(l).Increment(static_cast<double>(c.bytes_out.get()));
          if (c.spilled_bytes.get() > 0)
            spilled.Add(l).Increment(static_cast<double>(c.spilled_bytes.get()));
          if (c.state_bytes.get() > 0) state.Add(l).Set(static_cast<double>(c.state_bytes.get()));
          std::int64_t w = inst.ops[o].watermark.load(std::memory_order_relaxed);
          if (is_watermark_time(w)) {
            wm.Add(l).Set(static_cast<double>(w));
            wm_lag.Add(l).Set((now - static_cast<double>(w)) / 1e3);
          }
        }
      }
    }
  }

  BuildCounter()
      .Name("runnel_job_records_in_total")
      .Help("Records the job's sources read (rejected ones included)")
      .Register(reg)
      .Add({})
      .Increment(static_cast<double>(tot.records_in));
  BuildCounter()
      .Name("runnel_job_records_out_total")
      .Help("Records the job's sinks took")
      .Register(reg)
      .Add({})
      .Increment(static_cast<double>(tot.records_out));
  BuildCounter()
      .Name("runnel_job_dead_letters_total")
      .Help("Records the job sent to dead-letter outputs")
      .Register(reg)
      .Add({})
      .Increment(static_cast<double>(tot.dead_letters));
  BuildGauge()
      .Name("runnel_job_uptime_seconds")
      .Help("Seconds since the run was set up")
      .Register(reg)
      .Add({})
      .Set(m.uptime_seconds());
  auto& state_gauge =
      BuildGauge().Name("runnel_job_state").Help("1 for the job's current state").Register(reg);
  for (auto s : {JobState::kCreated, JobState::kRunning, JobState::kFinished, JobState::kStopped,
                 JobState::kFailed}) {
    state_gauge.Add({{"state", to_string(s)}}).Set(m.state() == s ? 1 : 0);
  }
  if (m.expected_bytes.load() > 0) {
    BuildGauge()
        .Name("runnel_job_expected_bytes")
        .Help("Bytes the job's bounded sources will read")
        .Register(reg)
        .Add({})
        .Set(static_cast<double>(m.expected_bytes.load()));
  }

  const auto ck = m.checkpoints();
  BuildCounter()
      .Name("runnel_checkpoints_completed_total")
      .Help("Checkpoints completed (durable and committed)")
      .Register(reg)
      .Add({})
      .Increment(static_cast<double>(ck.completed));
  BuildCounter()
      .Name("runnel_restores_total")
      .Help("Checkpoints this process restored")
      .Register(reg)
      .Add({})
      .Increment(static_cast<double>(ck.restores));
  if (!ck.history.empty()) {
    const auto& last = ck.history.back();
    auto gauge = [&](const char* name, const char* help, double v) {
      BuildGauge().Name(name).Help(help).Register(reg).Add({}).Set(v);
    };
    gauge("runnel_checkpoint_last_id", "The id of the last completed checkpoint",
          static_cast<double>(last.id));
    gauge("runnel_checkpoint_last_duration_seconds",
          "The last completed checkpoint, from trigger to durable", last.seconds);
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
      fam.Add({{"topic", tp.first}, {"partition", std::to_string(tp.second)}})
          .Set(static_cast<double>(n));
  }

  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, reg.Collect());
  return os.str();
}

}  // namespace runnel::ops

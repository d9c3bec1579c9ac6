#include "api/job_cli.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <thread>

#include "api/job_member.hpp"
#include "core/job_metrics.hpp"
#include "core/log.hpp"
#include "observe/progress.hpp"
#include "runnel/error.hpp"
#include "runnel/kafka.hpp"
#include "runnel/version.hpp"

namespace runnel::api {
namespace {

// SIGINT/SIGTERM while a job runs: the first asks it to stop gracefully, a
// second exits at once.
std::atomic<int> g_signals{0};  // lock free, so safe in a handler (on any thread)
void on_stop_signal(int) {
  if (g_signals.fetch_add(1) > 0) {
    const char msg[] = "runnel: second signal: exiting now\n";
    (void)!::write(2, msg, sizeof msg - 1);
    std::_Exit(130);
  }
  const char msg[] =
      "runnel: stopping (a final checkpoint, if checkpoints are on; a second signal exits at "
      "once)\n";
  (void)!::write(2, msg, sizeof msg - 1);
  request_stop();
}

// SIGUSR1: a savepoint (the job goes on).
std::atomic<bool> g_savepoints{false};  // the job has a --savepoint-dir
void on_savepoint_signal(int) {
  if (!g_savepoints.load()) {
    const char msg[] =
        "runnel: SIGUSR1 asks for a savepoint, but this job has no --savepoint-dir (and "
        "--checkpoint-dir): none taken\n";
    (void)!::write(2, msg, sizeof msg - 1);
    return;
  }
  const char msg[] = "runnel: taking a savepoint\n";
  (void)!::write(2, msg, sizeof msg - 1);
  request_savepoint();
}

// Installs the handlers for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_signals = 0;
    old_int_ = std::signal(SIGINT, on_stop_signal);
    old_term_ = std::signal(SIGTERM, on_stop_signal);
    old_usr1_ = std::signal(SIGUSR1, on_savepoint_signal);
  }
  ~StopSignals() {
    std::signal(SIGINT, old_int_);
    std::signal(SIGTERM, old_term_);
    std::signal(SIGUSR1, old_usr1_);
  }

 private:
  void (*old_int_)(int);
  void (*old_term_)(int);
  void (*old_usr1_)(int);
};

}  // namespace

void add_job_flags(CLI::App& cmd, JobFlags& f, bool with_explain_flag) {
  cmd.add_option("--input,-i", f.options.input,
                 "input file, directory or glob (quote globs), or kafka://HOST:PORT/TOPIC");
  cmd.add_option("--output,-o", f.options.output,
                 "output directory (must be empty or absent), or kafka://HOST:PORT/TOPIC");
  cmd.add_option("--format", f.options.format,
                 "csv or json: how a program's typed records (Options::source) are read, one "
                 "per line or record value (default: from --input's extension, "
                 ".json/.jsonl/.ndjson being JSON; else csv); jobs over text lines ignore it");
  cmd.add_option("--output-format", f.options.output_format,
                 "csv or json: how a program's typed records are written (default: --format, "
                 "else csv)");
  cmd.add_flag("--bounded", f.options.bounded,
               "a kafka:// input is read up to its end offsets at the start (batch input)");
  cmd.add_flag("--wait-for-topic", f.options.wait_for_topic,
               "a kafka:// input whose topic does not exist yet is waited for, with a warning "
               "every 10 s (default: an error at the start)");
  cmd.add_option("--dead-letters", f.options.dead_letters,
                 "where rejected records go, with the source, line or offset and reason of "
                 "each: a directory (CSV files) or kafka://HOST:PORT/TOPIC (JSON values) "
                 "(default: OUTPUT/_rejected for a directory output, else the log)");
  cmd.add_option("--max-rejected", f.max_rejected,
                 "the job fails, its output not committed, once its sources rejected more than "
                 "this many records (e.g. 100) or this share of those read (e.g. 1%, judged "
                 "from 1,000 records on while it runs, and at the end) (default: no limit)");
  cmd.add_flag("--kafka-exactly-once", f.options.exactly_once,
               "a kafka:// output is written through Kafka transactions, one per checkpoint");
  cmd.add_option("--kafka-property", f.kafka_properties,
                 "a librdkafka property for Kafka inputs and outputs, key=value (repeatable)");
  cmd.add_option("--parallelism,-p", f.parallelism,
                 "parallel instances per task (default: the machine's cores)")
      ->check(CLI::Range(1, 1024));
  cmd.add_option(
      "--memory-budget", f.memory_budget,
      "memory for hash aggregations before they spill to disk and, with RocksDB state, for "
      "RocksDB and its row caches, e.g. 512MiB (default 1GiB)");
  cmd.add_option("--batch-size", f.options.pipeline.batch_size,
                 "records per batch between operators")
      ->check(CLI::Range(1, 1 << 20));
  cmd.add_option("--temp-dir", f.options.pipeline.temp_dir,
                 "directory for spill files (default: system temp)");
  cmd.add_flag("--overwrite", f.options.pipeline.overwrite_output,
               "replace an earlier run's output");
  cmd.add_flag("--no-progress", f.no_progress, "no progress bar");
  cmd.add_option("--mode", f.mode,
                 "batch, streaming, or auto: streaming if a source is unbounded (default auto)")
      ->check(CLI::IsMember({"auto", "batch", "streaming"}));
  cmd.add_option("--checkpoint-dir", f.options.pipeline.checkpoint_dir,
                 "streaming mode: take checkpoints into this directory");
  cmd.add_option("--checkpoint-interval", f.checkpoint_interval,
                 "time between checkpoints, e.g. 200ms, 1s (default 1s)");
  cmd.add_option("--checkpoints-kept", f.options.pipeline.checkpoints_kept,
                 "complete checkpoints to keep (default 3)")
      ->check(CLI::Range(1, 1000));
  cmd.add_option("--tolerable-checkpoint-failures",
                 f.options.pipeline.tolerable_checkpoint_failures,
                 "checkpoints in a row whose checkpoint directory may fail to be written (a full "
                 "disk) before the job fails; the next one covers a failed one "
                 "(default 0: the first failure fails the job; with an exactly-once Kafka sink "
                 "the first always does)")
      ->check(CLI::Range(0, 1'000'000));
  cmd.add_option("--checkpoint-full-every", f.options.pipeline.checkpoint_full_every,
                 "memory state: every N-th checkpoint writes all rows, the others what changed "
                 "since the one before (default 10; 1: every checkpoint is full)")
      ->check(CLI::Range(1, 1'000'000));
  cmd.add_option("--restore", f.options.pipeline.restore,
                 "resume from 'latest' (the newest usable checkpoint in --checkpoint-dir) or from "
                 "a checkpoint's path");
  cmd.add_option("--savepoint-dir", f.options.pipeline.savepoint_dir,
                 "with --checkpoint-dir: where savepoints go (SIGUSR1 takes one; a stop's final "
                 "checkpoint is one too); retention never deletes them; restore one with "
                 "--restore DIR/savepoint-N");
  cmd.add_flag("--allow-non-restored-state", f.options.pipeline.allow_non_restored_state,
               "a restore drops saved state that no transform of the job takes (by uid), instead "
               "of failing");
  cmd.add_flag("--drain", f.options.pipeline.drain_on_stop,
               "on SIGINT/SIGTERM, drain: the sources end where they are, every window fires, "
               "the output is committed, and with --checkpoint-dir a final checkpoint records "
               "where the sources stopped (default: a final checkpoint at once, no window fired "
               "early)");
  cmd.add_option("--state-backend", f.state_backend,
                 "where keyed state lives: memory, or rocksdb for state larger than memory "
                 "(default memory)")
      ->check(CLI::IsMember({"memory", "rocksdb"}));
  cmd.add_option("--state-dir", f.options.pipeline.state_dir,
                 "with --state-backend rocksdb: where its databases go (default: --temp-dir)");
  cmd.add_option("--rocksdb-timers", f.rocksdb_timers,
                 "with --state-backend rocksdb: where timers live, rocksdb (in its databases, "
                 "within --memory-budget; the default) or memory (beside them, outside the "
                 "budget, faster when a job sets a timer per few records), as Flink's "
                 "timer-service.factory")
      ->check(CLI::IsMember({"rocksdb", "memory"}));
  cmd.add_option("--restart-attempts", f.restart_attempts,
                 "with --checkpoint-dir: after a failure (not a user error), resume from the "
                 "latest checkpoint, up to this many times (default 0)")
      ->check(CLI::Range(0, 1'000'000));
  cmd.add_option("--metrics-port", f.metrics_port,
                 "serve the job's metrics on PORT (of 127.0.0.1 unless --metrics-address): "
                 "/metrics (Prometheus), /api/job "
                 "(JSON) and a web page at /; 0 picks a free port and logs it; with --job-id, the "
                 "member's shards, also /api/member (default: off)")
      ->check(CLI::Range(0, 65535));
  cmd.add_option("--metrics-address", f.metrics_address,
                 "with --metrics-port: the address to serve on (default 127.0.0.1; 0.0.0.0: every "
                 "interface, which is logged as a warning: the figures name topics and paths)");
  cmd.add_option("--metrics-linger", f.metrics_linger,
                 "with --metrics-port: keep serving the final figures this long after the job "
                 "ends, e.g. 30s (default: stop with the job)");
  cmd.add_option("--status-interval", f.status_interval,
                 "log a one-line status (rates, watermark lag, backpressure, checkpoints) this "
                 "often, e.g. 10s (default: never)");
  cmd.add_option("--log-format", f.log_format, "text (default) or json: one JSON object per line")
      ->check(CLI::IsMember({"text", "json"}));
  cmd.add_option("--log-level", f.log_level,
                 "the lowest level logged: trace, debug, info (default), warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  cmd.add_option("--job-id", f.job_id,
                 "run as a member of the job with this id: every process started with the same "
                 "flags and id, on any machine that reaches its Kafka cluster, shares the job's "
                 "inputs (see the guide's 'Scaling out')");
  cmd.add_option("--bootstrap", f.bootstrap,
                 "with --job-id: the Kafka cluster the members meet on, HOST:PORT[,...] (default: "
                 "the one a kafka:// --input or --output names)");
  cmd.add_option("--job-shards", f.job_shards,
                 "with --job-id: the job's shards, fixed when its first member starts: at most "
                 "this many members get work (default 4)")
      ->check(CLI::Range(1, 1024));
  cmd.add_option("--standby-replicas", f.standby_replicas,
                 "with --job-id: this many other members keep a copy of each shard's latest "
                 "checkpoint on their own disk, so a member that takes a shard over restores it "
                 "from there (default 0)")
      ->check(CLI::Range(0, 64));
  if (with_explain_flag)
    cmd.add_flag("--explain", f.explain, "print the physical plan instead of running");
}

namespace {

// "100": a count; "1%" or "0.5%": a share of the records read.
void parse_max_rejected(const std::string& text, PipelineOptions& po) {
  const bool percent = !text.empty() && text.back() == '%';
  const std::string number = percent ? text.substr(0, text.size() - 1) : text;
  const char* end = number.data() + number.size();
  if (percent) {
    double v = 0;
    auto [ptr, ec] = std::from_chars(number.data(), end, v);
    if (ec == std::errc() && ptr == end && v >= 0 && v <= 100) {
      po.max_rejected_fraction = v / 100.0;
      return;
    }
  } else {
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(number.data(), end, v);
    if (ec == std::errc() && ptr == end && !number.empty()) {
      po.max_rejected = v;
      return;
    }
  }
  throw UserError("--max-rejected '" + text +
                  "' is neither a count nor a percentage: write e.g. 100 or 1%");
}

// The job's flags into its options; a flag that does not fit the others is a UserError.
void apply_flags(JobFlags& f, const std::string& name) {
  auto& po = f.options.pipeline;
  po.job_name = name;
  po.metrics_port = f.metrics_port;
  if (!f.metrics_address.empty()) {
    if (f.metrics_port < 0)
      throw UserError("--metrics-address is for a metrics server: add --metrics-port");
    po.metrics_address = f.metrics_address;
  }
  if (!f.metrics_linger.empty()) {
    if (f.metrics_port < 0)
      throw UserError("--metrics-linger is for a metrics server: add --metrics-port");
    po.metrics_linger = parse_duration(f.metrics_linger, "--metrics-linger");
  }
  if (!f.status_interval.empty())
    po.status_interval = parse_duration(f.status_interval, "--status-interval");
  for (const auto& kv : f.kafka_properties) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UserError("--kafka-property '" + kv + "': write key=value, e.g. acks=all");
    f.options.kafka_properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (f.options.exactly_once && !io::is_kafka_url(f.options.output))
    throw UserError("--kafka-exactly-once is for a kafka:// --output; '" + f.options.output +
                    "' is not one (file outputs are exactly once with checkpoints already)");
  if (!f.options.format.empty()) io::parse_record_format(f.options.format, "--format");
  if (!f.options.output_format.empty())
    io::parse_record_format(f.options.output_format, "--output-format");
  if (f.options.wait_for_topic && !io::is_kafka_url(f.options.input))
    throw UserError("--wait-for-topic is for a kafka:// --input; '" + f.options.input +
                    "' is not one");
  if (io::is_kafka_url(f.options.dead_letters)) {
    io::parse_kafka_url(f.options.dead_letters);
  } else if (!f.options.dead_letters.empty() && !f.options.output.empty()) {
    std::error_code ec;
    const auto dl = std::filesystem::weakly_canonical(f.options.dead_letters, ec);
    const auto out = std::filesystem::weakly_canonical(f.options.output, ec);
    const auto rel = dl.lexically_relative(out);
    if (!ec && !rel.empty() && *rel.begin() != "..")
      throw UserError("--dead-letters '" + f.options.dead_letters + "' is inside --output '" +
                      f.options.output +
                      "': choose a directory outside it (without --dead-letters they go to "
                      "OUTPUT/_rejected)");
  }
  if (!f.max_rejected.empty()) parse_max_rejected(f.max_rejected, po);
  if (f.options.bounded && !io::is_kafka_url(f.options.input))
    throw UserError("--bounded is for a kafka:// --input; '" + f.options.input +
                    "' is not one (files are bounded already)");
  po.memory_budget = parse_byte_size(f.memory_budget, "--memory-budget");
  po.parallelism = f.parallelism;
  po.checkpoint_interval = parse_duration(f.checkpoint_interval, "--checkpoint-interval");
  po.progress = !f.no_progress;
  po.state_backend = f.state_backend == "rocksdb" ? StateBackend::kRocksDB : StateBackend::kMemory;
  if (!po.state_dir.empty() && po.state_backend != StateBackend::kRocksDB)
    throw UserError(
        "--state-dir is for --state-backend rocksdb; add that flag or drop --state-dir");
  if (!f.rocksdb_timers.empty() && po.state_backend != StateBackend::kRocksDB)
    throw UserError(
        "--rocksdb-timers is for --state-backend rocksdb; add that flag or drop --rocksdb-timers");
  po.rocksdb_timers =
      f.rocksdb_timers == "memory" ? RocksDbTimers::kMemory : RocksDbTimers::kRocksDB;
  po.mode = f.mode == "batch"       ? ExecutionMode::kBatch
            : f.mode == "streaming" ? ExecutionMode::kStreaming
                                    : ExecutionMode::kAuto;
  if (f.job_id.empty() && (!f.bootstrap.empty() || f.job_shards > 0 || f.standby_replicas > 0))
    throw UserError(fmt::format("{} is for a job spread over members: add --job-id ID",
                                !f.bootstrap.empty() ? "--bootstrap"
                                : f.job_shards > 0   ? "--job-shards"
                                                     : "--standby-replicas"));
  if (!po.savepoint_dir.empty() && po.checkpoint_dir.empty())
    throw UserError(
        "--savepoint-dir needs --checkpoint-dir: a savepoint is a checkpoint that is kept");
  // A member hands shards over by stopping them: a drain would fire their
  // windows early, and each handover would leave a savepoint.
  if (!f.job_id.empty() && (po.drain_on_stop || !po.savepoint_dir.empty()))
    throw UserError(fmt::format(
        "{} is not for a job spread over members (--job-id) yet: members stop shards to hand "
        "them over, and restore them from their own checkpoints",
        po.drain_on_stop ? "--drain" : "--savepoint-dir"));
  g_savepoints = !po.savepoint_dir.empty();
  if (f.restart_attempts > 0 && po.checkpoint_dir.empty())
    throw UserError(fmt::format(
        "--restart-attempts {} needs --checkpoint-dir: a restart resumes from a checkpoint",
        f.restart_attempts));
}

// What a run did, in one line (and why it stopped, if it was asked to).
void log_summary(const std::string& name, RunResult r, const PipelineOptions& po,
                 const std::string& dead_letters_to) {
  // The dead-letter sink takes exactly the dead letters; they are not results.
  if (!dead_letters_to.empty()) r.records_out -= std::min(r.records_out, r.dead_letters);
  double rate = r.seconds > 0 ? static_cast<double>(r.records_in) / r.seconds : 0;
  std::string rejected = r.dead_letters == 0        ? ""
                         : !dead_letters_to.empty() ? fmt::format(", {} rejected (see {})",
                                                                  r.dead_letters, dead_letters_to)
                                                    : fmt::format(", {} rejected", r.dead_letters);
  std::string spilled =
      r.spilled_bytes == 0
          ? ""
          : fmt::format(", spilled {}", observe::human_bytes(static_cast<double>(r.spilled_bytes)));
  std::string late =
      r.late_records == 0 ? "" : fmt::format(", {} late (see the late output)", r.late_records);
  std::string checkpoints =
      r.checkpoints == 0 && r.restored_checkpoint < 0
          ? ""
          : fmt::format(", {} checkpoints (last {:.0f} ms, {}; longest pause {:.0f} ms)",
                        r.checkpoints, r.checkpoint_seconds * 1000,
                        observe::human_bytes(static_cast<double>(r.checkpoint_bytes)),
                        r.checkpoint_max_pause_seconds * 1000);
  if (r.checkpoints_failed > 0) checkpoints += fmt::format(" ({} failed)", r.checkpoints_failed);
  if (r.restored_checkpoint > 0)
    checkpoints += fmt::format(", restored checkpoint {} in {:.2f} s", r.restored_checkpoint,
                               r.restore_seconds);
  if (r.stopped)
    log_info(fmt::format(
        "{} stopped on request: {}{}", name,
        po.checkpoint_dir.empty() || po.drain_on_stop
            ? "its sources ended early, every window fired and all its output is committed"
            : "its output is committed up to the final checkpoint",
        po.checkpoint_dir.empty() ? std::string()
        : r.savepoint.empty()     ? std::string("; --restore latest continues from there")
                                  : "; --restore " + r.savepoint + " continues from there"));
  log_info(fmt::format(
      "{} {} ({} mode): {} records in, {} out{}{}{}{}, {:.2f} s, {:.0f} "
      "records/s",
      name, r.stopped ? "stopped" : "done", r.streaming ? "streaming" : "batch", r.records_in,
      r.records_out, rejected, late, spilled, checkpoints, r.seconds, rate));
}

}  // namespace

namespace {
// As Flink's configuration view: values of settings that look secret are hidden.
bool looks_secret(const std::string& key) {
  for (const char* word :
       {"password", "secret", "key", "jaas", "token", "credential", "oauthbearer"})
    if (key.find(word) != std::string::npos) return true;
  return false;
}
}  // namespace

std::map<std::string, std::string> job_config(const std::string& name, const JobFlags& f) {
  const auto& o = f.options;
  const auto& po = o.pipeline;
  std::map<std::string, std::string> c;
  auto put = [&](const std::string& flag, const std::string& value) {
    if (!value.empty()) c[flag] = value;
  };
  put("program", name);
  put("runnel", version());
  put("--input", o.input);
  put("--output", o.output);
  put("--format", o.format);
  put("--output-format", o.output_format);
  put("--dead-letters", o.dead_letters);
  put("--max-rejected", f.max_rejected);
  if (o.bounded) put("--bounded", "true");
  if (o.wait_for_topic) put("--wait-for-topic", "true");
  if (o.exactly_once) put("--kafka-exactly-once", "true");
  put("--parallelism", po.parallelism > 0 ? std::to_string(po.parallelism)
                                          : fmt::format("{} (the machine's cores)",
                                                        std::thread::hardware_concurrency()));
  put("--mode", f.mode);
  put("--memory-budget", f.memory_budget);
  put("--batch-size", std::to_string(po.batch_size));
  put("--state-backend", f.state_backend);
  put("--state-dir", po.state_dir);
  put("--checkpoint-dir", po.checkpoint_dir);
  if (!po.checkpoint_dir.empty()) {
    put("--checkpoint-interval", f.checkpoint_interval);
    put("--checkpoints-kept", std::to_string(po.checkpoints_kept));
  }
  put("--restore", po.restore);
  put("--savepoint-dir", po.savepoint_dir);
  if (po.allow_non_restored_state) put("--allow-non-restored-state", "true");
  if (po.drain_on_stop) put("--drain", "true");
  if (f.restart_attempts > 0) put("--restart-attempts", std::to_string(f.restart_attempts));
  put("--job-id", f.job_id);
  if (!f.job_id.empty()) {
    put("--bootstrap", f.bootstrap);
    if (f.job_shards > 0) put("--job-shards", std::to_string(f.job_shards));
    if (f.standby_replicas > 0) put("--standby-replicas", std::to_string(f.standby_replicas));
  }
  put("max parallelism (key groups)", std::to_string(po.max_parallelism));
  for (const auto& [k, v] : o.kafka_properties) {
    // As Flink's configuration view: values of keys that look secret are hidden.
    c["--kafka-property " + k] = looks_secret(k) ? "******" : v;
  }
  for (const auto& [k, v] : f.program_flags) c[k] = looks_secret(k) ? "******" : v;
  return c;
}

std::string route_dead_letters(Pipeline& p, const Options& o) {
  if (!p.has_unclaimed_dead_letters()) {
    if (!o.dead_letters.empty())
      log_warn(
          fmt::format("--dead-letters {}: the program sends its rejected records "
                      "elsewhere itself (Pipeline::dead_letters()); nothing goes there",
                      o.dead_letters));
    return "";
  }
  if (io::is_kafka_url(o.dead_letters)) {
    io::RecordsIO<> out{o.dead_letters};
    out.format = io::RecordFormat::kJson;
    out.kafka_properties = o.kafka_properties;
    out.kafka_exactly_once = o.exactly_once;
    p.dead_letters().write(out);
    return o.dead_letters;
  }
  std::string dir = o.dead_letters;
  if (dir.empty() && !o.output.empty() && !io::is_kafka_url(o.output))
    dir = (std::filesystem::path(o.output) / "_rejected").string();
  if (dir.empty()) return "";
  p.dead_letters().write(io::csv(dir).without_success_marker());
  return dir;
}

int run_job(const std::string& name, JobFlags& f, const JobBuilder& build, bool explain_only) {
  try {
    configure_logging(f.log_format == "json" ? LogFormat::kJson : LogFormat::kText, f.log_level);
    // Which build wrote a log matters once several versions run a job.
    if (!explain_only && !f.explain)
      log_info(fmt::format("{} starting (runnel {}, pid {})", name, version(), ::getpid()));
    apply_flags(f, name);
    auto& po = f.options.pipeline;
    if (!f.job_id.empty() && !explain_only && !f.explain) {
      StopSignals signals;
      run_member(name, f, build);
      return 0;
    }
    std::string dead_letters_to;
    RunResult r;
    // The page shows the job's settings.
    po.on_metrics = [config = job_config(name, f),
                     then = po.on_metrics](const std::shared_ptr<JobMetrics>& m) {
      m->set_config(config);
      if (then) then(m);
    };
    // As Flink's fixed-delay restart strategy: the job is built anew and
    // restored from its latest checkpoint (sinks commit only what a
    // checkpoint covers, so nothing is lost or written twice).
    for (int attempt = 0;; ++attempt) {
      Pipeline p(po);
      build(p, f.options);
      dead_letters_to = route_dead_letters(p, f.options);
      if (explain_only || f.explain) {
        std::cout << p.explain();
        return 0;
      }
      try {
        StopSignals signals;
        r = p.run();
        break;
      } catch (const UserError&) {
        throw;
      } catch (const std::exception& e) {
        if (attempt >= f.restart_attempts) throw;
        log_warn(fmt::format(
            "{} failed: {}; restarting from the latest checkpoint in {} (restart {} of {})", name,
            e.what(), po.checkpoint_dir, attempt + 1, f.restart_attempts));
        po.restore = "latest";
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
    }
    log_summary(name, r, po, dead_letters_to);
    return 0;
  } catch (const UserError& e) {
    log_error(e.what());
    return 2;
  } catch (const std::exception& e) {
    log_error(fmt::format("internal failure: {}", e.what()));
    return 1;
  }
}

}  // namespace runnel::api

#include "api/job_member.hpp"
#include "api/standby_copies.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <signal.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "core/job_metrics.hpp"
#include "core/log.hpp"
#include "io/kafka/job_membership.hpp"
#include "observe/metrics_server.hpp"
#include "runnel/error.hpp"
#include "runnel/kafka.hpp"
#include "runtime/stop_request.hpp"
#include "state/checkpoint_claims.hpp"
#include "state/synced_file.hpp"

namespace runnel::api {
namespace {

namespace fs = std::filesystem;

constexpr int kDefaultShards = 4;
// How often a member reports to the job's members topic (runnel job status).
constexpr std::chrono::seconds kReportInterval{2};
// A member whose latest report is older is taken for gone (as by runnel job status).
constexpr std::int64_t kSilentMs = 10'000;

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One shard's pipeline, run on a thread of its own.
struct ShardRun {
  int shard = 0;
  std::int64_t taken_ms = 0;
  std::unique_ptr<Pipeline> pipeline;
  // The run's figures, set from its thread once it has them (for reports
  // and the member's page).
  std::mutex metrics_mu;
  std::shared_ptr<JobMetrics> metrics;
  std::thread thread;
  std::atomic<bool> finished{false};
  bool stopping = false;   // this member stopped it (a rebalance, or a stop request)
  std::string local_copy;  // this member's standby copies of the shard's checkpoints
  std::exception_ptr error;
  RunResult result;
  int restarts = 0;
};

// The cluster that coordinates the job: --bootstrap, else the one a kafka://
// input or output names.
io::KafkaIO job_cluster(const JobFlags& f) {
  io::KafkaIO cluster;
  if (!f.bootstrap.empty())
    cluster.bootstrap = f.bootstrap;
  else if (io::is_kafka_url(f.options.input))
    cluster.bootstrap = io::parse_kafka_url(f.options.input).bootstrap;
  else if (io::is_kafka_url(f.options.output))
    cluster.bootstrap = io::parse_kafka_url(f.options.output).bootstrap;
  else
    throw UserError(fmt::format(
        "--job-id {}: the members of a job meet on a Kafka cluster; name it with --bootstrap "
        "HOST:PORT (or use a kafka:// --input or --output)",
        f.job_id));
  // Only how to reach the cluster: the membership's clients set their own
  // group, assignor and transactions (a sink's transactional.id or a
  // source's group.id are not theirs).
  for (const auto& [k, v] : f.options.kafka_properties) {
    for (const char* prefix : {"security.", "sasl.", "ssl.", "socket.", "client.", "broker.",
                               "reconnect.", "metadata.", "api.version", "session.timeout.ms",
                               "heartbeat.interval.ms", "max.poll.interval.ms", "debug"}) {
      if (k.rfind(prefix, 0) == 0) cluster.properties[k] = v;
    }
  }
  return cluster;
}

// What every member of a job must agree on, flag -> value (the program,
// its inputs and outputs, mode and checkpoints); what may differ per member
// (parallelism, memory, logging, temp and state directories) is left out.
std::map<std::string, std::string> job_flags(const std::string& name, const JobFlags& f) {
  const auto& o = f.options;
  std::map<std::string, std::string> out = {
      {"program", name},
      {"--input", o.input},
      {"--output", o.output},
      {"--bounded", fmt::format("{}", o.bounded)},
      {"--kafka-exactly-once", fmt::format("{}", o.exactly_once)},
      {"--mode", f.mode},
      {"--checkpoint-dir", o.pipeline.checkpoint_dir},
      {"--checkpoint-interval", fmt::format("{}", f.checkpoint_interval)},
      {"--state-backend", f.state_backend},
      // Keys must hash into the same key groups in every member.
      {"max_parallelism", fmt::format("{}", o.pipeline.max_parallelism)}};
  for (const auto& [k, v] : o.kafka_properties) out["--kafka-property " + k] = v;
  // Only when given, so members started before these flags existed agree.
  if (!o.format.empty()) out["--format"] = o.format;
  if (f.standby_replicas > 0) out["--standby-replicas"] = std::to_string(f.standby_replicas);
  // The program's own flags shape its pipeline as much as runnel's do.
  for (const auto& [k, v] : f.program_flags) out[k] = v;
  if (!o.output_format.empty()) out["--output-format"] = o.output_format;
  if (!o.dead_letters.empty()) out["--dead-letters"] = o.dead_letters;
  if (!f.max_rejected.empty()) out["--max-rejected"] = f.max_rejected;
  return out;
}

// The output directory belongs to this job: a member may write into it if it
// is new, empty, or holds this job's output (a member that died left some).
void claim_output(const fs::path& dir, const std::string& job_id, bool overwrite) {
  const fs::path marker = dir / "_runnel_job";
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec) && !overwrite) {
    auto owner_of = [&] {
      std::ifstream in(marker);
      std::string owner;
      std::getline(in, owner);
      return owner;
    };
    // Another member may be claiming it this moment (its marker is still a
    // temporary file): wait for the marker.
    auto only_claims = [&] {
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind("._runnel_job.", 0) != 0) return false;
      return true;
    };
    std::string owner = owner_of();
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (owner.empty() && std::chrono::steady_clock::now() < until) {
      const bool claiming = only_claims();
      // Read after the listing: a marker renamed into place in between (the
      // listing no longer holds only claims) is seen here.
      owner = owner_of();
      if (!owner.empty() || !claiming) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (owner != job_id)
      throw UserError(fmt::format(
          "output directory '{}' exists and is not empty{}; remove it, choose another --output, or "
          "pass --overwrite",
          dir.string(),
          owner.empty() ? "" : fmt::format(" (it holds the output of job '{}')", owner)));
  }
  fs::create_directories(dir, ec);
  if (ec)
    throw UserError(
        fmt::format("cannot create output directory '{}': {}", dir.string(), ec.message()));
  // Every member writes the same line: the last rename wins, whichever it is.
  state::replace_file_synced(marker, job_id + "\n", "output directory");
}

class Member {
 public:
  Member(const std::string& name, JobFlags& f, const JobBuilder& build)
      : name_(name), f_(f), build_(build), stop_base_(runtime::stop_requests().load()) {}
  // On a failure: the other runs stop (a final checkpoint each), then the
  // member leaves the group, so the shards move on at once.
  ~Member() {
    server_.reset();
    stop_all();
    membership_.reset();
  }
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  void run() {
    const bool file_output = !f_.options.output.empty() && !io::is_kafka_url(f_.options.output);
    if (file_output)
      claim_output(f_.options.output, f_.job_id, f_.options.pipeline.overwrite_output);
    io::JobMembership::Callbacks callbacks;
    callbacks.assigned = [this](const std::vector<int>& shards) {
      for (int s : shards) start(s);
    };
    callbacks.revoked = [this](const std::vector<int>& shards, bool lost) { stop(shards, lost); };
    membership_ = std::make_unique<io::JobMembership>(
        job_cluster(f_), f_.job_id, f_.job_shards > 0 ? f_.job_shards : kDefaultShards,
        f_.job_shards > 0, job_flags(name_, f_), std::move(callbacks));
    log_info(
        fmt::format("{}: member of job '{}' ({} shards); waiting for the group to give it "
                    "shards",
                    name_, f_.job_id, membership_->shards()));
    if (f_.metrics_port >= 0) serve_page();
    if (f_.standby_replicas > 0 && !f_.options.pipeline.checkpoint_dir.empty()) {
      const auto& po = f_.options.pipeline;
      const fs::path base = !po.state_dir.empty()  ? fs::path(po.state_dir)
                            : !po.temp_dir.empty() ? fs::path(po.temp_dir)
                                                   : fs::temp_directory_path();
      remove_dead_members_copies(base);
      standby_ = std::make_unique<StandbyCopies>(
          po.checkpoint_dir, base / fmt::format("runnel-standby-{}-{}-{}", f_.job_id, host_name(),
                                                static_cast<long>(::getpid())));
    }
    bool stop_asked = false;
    auto next_report = std::chrono::steady_clock::now();
    while (true) {
      membership_->poll(std::chrono::milliseconds(100));
      reap();
      if (std::chrono::steady_clock::now() >= next_report) {
        {
          std::lock_guard lock(page_mu_);
          page_member_id_ = membership_->member_id();
        }
        membership_->report(report(false));
        if (standby_) place_standby_copies();
        next_report = std::chrono::steady_clock::now() + kReportInterval;
      }
      if (static_cast<int>(membership_->done().size()) == membership_->shards()) break;
      if (runtime::stop_requests().load() != stop_base_) {
        stop_asked = true;
        break;
      }
    }
    // Stopping: each run takes its final checkpoint (the stop request reached
    // them too); then the group hands their shards to the other members.
    stop_all();
    membership_->leave();
    membership_->report(report(true));
    membership_->flush_reports();
    if (stop_asked) {
      log_info(
          fmt::format("{}: stopped on request; its shards go to the job's other members", name_));
      return;
    }
    if (file_output) write_success();
    log_info(fmt::format(
        "{}: job '{}' is done: all {} shards ran to their end ({} of them here: "
        "{} records in, {} out)",
        name_, f_.job_id, membership_->shards(), shards_run_here_, records_in_, records_out_));
  }

 private:
  // The options of shard `s`'s run, and its pipeline built.
  std::unique_ptr<Pipeline> build_shard(ShardRun& run, bool batch) {
    const int s = run.shard;
    Options o = f_.options;
    auto& po = o.pipeline;
    po.on_metrics = [this, &run](const std::shared_ptr<JobMetrics>& m) {
      m->set_config(job_config(name_, f_));
      {
        std::lock_guard lock(run.metrics_mu);
        run.metrics = m;
      }
      std::lock_guard lock(page_mu_);
      page_shards_[run.shard] = m;
    };
    po.metrics_port = -1;  // the member serves one page for all its shards
    const int shards = membership_->shards();
    po.share = s;
    po.shares = shards;
    // Keyed exchanges go through the job's repartition topics.
    const io::KafkaIO cluster = job_cluster(f_);
    po.job_id = f_.job_id;
    po.job_bootstrap = cluster.bootstrap;
    po.job_kafka_properties = cluster.properties;
    po.job_name = fmt::format("{}/shard-{:02d}", name_, s);
    po.progress = false;
    const std::string part = fmt::format("shard-{:02d}", s);
    if (!o.output.empty() && !io::is_kafka_url(o.output))
      o.output = (fs::path(o.output) / part).string();
    if (!o.dead_letters.empty() && !io::is_kafka_url(o.dead_letters))
      o.dead_letters = (fs::path(o.dead_letters) / part).string();
    if (!po.checkpoint_dir.empty()) {
      po.checkpoint_dir = (fs::path(po.checkpoint_dir) / part).string();
      po.restore = "latest";
      po.restore_local_copy = run.local_copy;
    }
    // A batch shard is rerun from its beginning by whoever takes it over: its
    // output replaces what a member that died before the end left.
    if (batch) po.overwrite_output = true;
    auto p = std::make_unique<Pipeline>(po);
    build_(*p, o);
    route_dead_letters(*p, o);
    return p;
  }

  void start(int s) {
    if (membership_->done().count(s)) {
      log_info(fmt::format("{}: shard {} was done already", name_, s));
      return;
    }
    auto run = std::make_unique<ShardRun>();
    run->shard = s;
    run->taken_ms = wall_ms();
    if (standby_) run->local_copy = standby_->take(s).string();
    const bool streaming = make_pipeline(*run);
    log_info(fmt::format(
        "{}: shard {} taken at {} ms ({})", name_, s, wall_ms(),
        streaming ? "resuming from its latest checkpoint, if it has one" : "from its beginning"));
    launch(*run);
    runs_[s] = std::move(run);
  }

  // The shard's pipeline, for its mode; returns whether it streams.
  bool make_pipeline(ShardRun& run) {
    run.pipeline = build_shard(run, false);
    const bool streaming = run.pipeline->streaming();
    if (!streaming) {
      run.pipeline = build_shard(run, true);
    } else if (f_.options.pipeline.checkpoint_dir.empty()) {
      throw UserError(fmt::format(
          "--job-id {} in streaming mode needs --checkpoint-dir on storage every member reaches: "
          "a shard that moves to another member resumes from its checkpoints there",
          f_.job_id));
    }
    return streaming;
  }

  static void launch(ShardRun& run) {
    {
      std::lock_guard lock(run.metrics_mu);
      run.metrics.reset();  // a restart's figures are the new run's
    }
    run.finished = false;
    run.error = nullptr;
    run.thread = std::thread([&run] {
      try {
        run.result = run.pipeline->run();
      } catch (...) {
        run.error = std::current_exception();
      }
      run.finished.store(true, std::memory_order_release);
    });
  }

  // Every run asked to stop (each takes a final checkpoint), then joined.
  void stop_all() {
    for (auto& [shard, run] : runs_) {
      run->stopping = true;
      if (run->thread.joinable()) run->pipeline->request_stop();
    }
    for (auto& [shard, run] : runs_) {
      if (!run->thread.joinable()) continue;
      run->thread.join();
      log_info(fmt::format("{}: shard {} stopped at {} ms{}", name_, shard, wall_ms(),
                           restore_note(*run)));
    }
    runs_.clear();
    std::lock_guard lock(page_mu_);
    page_shards_.clear();
  }

  // Gives shards up: handed over, each stops with a final checkpoint (all
  // asked at once, then waited for); lost (this member's session expired, so
  // another member may own them already), each is aborted without one.
  void stop(const std::vector<int>& shards, bool lost) {
    // A shard that ended by itself is done, not given up; one that failed
    // is not restarted when the session is lost (another member may own it).
    reap(!lost);
    std::vector<std::map<int, std::unique_ptr<ShardRun>>::iterator> going;
    for (int s : shards) {
      auto it = runs_.find(s);
      if (it == runs_.end()) continue;
      it->second->stopping = true;
      if (lost)
        it->second->pipeline->request_abort();
      else
        it->second->pipeline->request_stop();
      going.push_back(it);
    }
    const char* why = lost ? "lost with this member's session" : "handed over";
    for (auto it : going) {
      ShardRun& run = *it->second;
      if (run.thread.joinable()) run.thread.join();
      if (run.error) {
        try {
          std::rethrow_exception(run.error);
        } catch (const std::exception& e) {
          log_info(fmt::format("{}: shard {} ended ({}): {}", name_, run.shard, why, e.what()));
        }
      }
      log_info(fmt::format("{}: shard {} given up at {} ms ({}{})", name_, run.shard, wall_ms(),
                           why, restore_note(run)));
      off_page(run.shard);
      if (standby_) standby_->release(run.shard);
      runs_.erase(it);
    }
  }

  // Runs that ended by themselves: a shard done, or failed.
  void reap(bool restarts = true) {
    for (auto it = runs_.begin(); it != runs_.end();) {
      ShardRun& run = *it->second;
      if (run.stopping || !run.finished.load(std::memory_order_acquire)) {
        ++it;
        continue;
      }
      run.thread.join();
      if (run.error) {
        try {
          std::rethrow_exception(run.error);
        } catch (const state::FencedError& e) {
          // Another member owns the shard now (this one stalled past its
          // session): not restarted, which would take it back; the group
          // tells this member what it owns when it catches up.
          it = give_up(it, fmt::format("another member took it over: {}", e.what()));
          continue;
        } catch (const UserError&) {
          throw;
        } catch (const std::exception& e) {
          if (run.restarts >= f_.restart_attempts || f_.options.pipeline.checkpoint_dir.empty())
            throw;
          // A restart claims the shard's checkpoints: not when another
          // member claimed them since (this one stalled, and its run failed
          // for another reason before the fence saw it).
          const fs::path ck =
              fs::path(f_.options.pipeline.checkpoint_dir) / fmt::format("shard-{:02d}", run.shard);
          if (!restarts || !state::newest_claim_is_this_process(ck)) {
            it = give_up(it, fmt::format("failed: {}; {}", e.what(),
                                         restarts ? "another member claimed its checkpoints since"
                                                  : "this member's session is lost"));
            continue;
          }
          ++run.restarts;
          log_warn(
              fmt::format("{}: shard {} failed: {}; restarting it from its latest checkpoint "
                          "(restart {} of {})",
                          name_, run.shard, e.what(), run.restarts, f_.restart_attempts));
          // From the checkpoint directory: the standby copy may be gone once
          // the first run restored.
          run.local_copy.clear();
          make_pipeline(run);
          launch(run);
          ++it;
          continue;
        }
      }
      if (run.result.stopped) {  // a stop request; the loop ends this member
        ++it;
        continue;
      }
      ++shards_run_here_;
      records_in_ += run.result.records_in;
      records_out_ += run.result.records_out;
      membership_->mark_done(run.shard);
      off_page(run.shard);
      if (standby_) standby_->release(run.shard);
      log_info(fmt::format("{}: shard {} done at {} ms: {} records in, {} out, {:.2f} s", name_,
                           run.shard, wall_ms(), run.result.records_in, run.result.records_out,
                           run.result.seconds));
      it = runs_.erase(it);
    }
  }

  // What this member owns and how each shard does, for `runnel job status`.
  std::string report(bool left) {
    nlohmann::json shards = nlohmann::json::array();
    for (const auto& [s, run] : runs_) {
      nlohmann::json j = {{"shard", s}, {"taken_ms", run->taken_ms}, {"restarts", run->restarts}};
      std::shared_ptr<JobMetrics> m;
      {
        std::lock_guard lock(run->metrics_mu);
        m = run->metrics;
      }
      if (m && !run->finished.load(std::memory_order_acquire)) {
        const JobTotals t = totals(*m);
        j["records_in"] = t.records_in;
        j["records_out"] = t.records_out;
        j["dead_letters"] = t.dead_letters;
        j["late_records"] = t.late_records;
        const auto ck = m->checkpoints();
        if (!ck.history.empty()) {
          j["checkpoint"] = ck.history.back().id;
          j["checkpoint_ms"] = ck.history.back().completed_unix_ms;
        }
        if (ck.restored_id >= 0) j["restored"] = ck.restored_id;
        // Restored, and checkpointed since: its standby copy is not needed.
        if (standby_ && !ck.history.empty()) standby_->restored(s);
        if (const auto wm = slowest_sink_watermark(*m)) j["watermark_ms"] = *wm;
        nlohmann::json lag = nlohmann::json::array();
        for (const auto& [tp, n] : m->consumer_lag())
          lag.push_back({{"topic", tp.first}, {"partition", tp.second}, {"lag", n}});
        j["lag"] = std::move(lag);
      }
      shards.push_back(std::move(j));
    }
    return nlohmann::json{{"member", membership_->member_id()},
                          {"host", host_name()},
                          {"pid", static_cast<long>(::getpid())},
                          {"program", name_},
                          {"parallelism", f_.options.pipeline.parallelism},
                          {"started_ms", started_ms_},
                          {"updated_ms", wall_ms()},
                          {"left", left},
                          {"shards_done_here", shards_run_here_},
                          {"shards", std::move(shards)},
                          {"standby", standby_json()}}
        .dump();
  }

  // The standby copies this member holds: shard -> the checkpoint copied.
  nlohmann::json standby_json() const {
    nlohmann::json out = nlohmann::json::array();
    if (standby_)
      for (const auto& [s, id] : standby_->held())
        out.push_back({{"shard", s}, {"checkpoint", id}});
    return out;
  }

  // Which shards to keep standby copies of, from the members' latest reports.
  void place_standby_copies() {
    std::vector<MemberShards> live;
    const std::string& me = membership_->report_key();
    const std::int64_t now = wall_ms();
    for (const auto& [key, r] : membership_->reports()) {
      if (key == me || now - r.time_ms > kSilentMs) continue;
      const auto j = nlohmann::json::parse(r.json, nullptr, false);
      if (j.is_discarded() || j.value("left", false)) continue;
      MemberShards m{key, {}};
      if (j.contains("shards") && j["shards"].is_array())
        for (const auto& sh : j["shards"]) m.shards.push_back(sh.value("shard", -1));
      live.push_back(std::move(m));
    }
    MemberShards mine{me, {}};
    for (const auto& [s, run] : runs_) mine.shards.push_back(s);
    live.push_back(std::move(mine));
    std::set<int> wanted = standby_shards(live, me, f_.standby_replicas);
    // A copy of a shard no live member runs is kept: its member died (it
    // went silent before the group took the shard from it), and the copy is
    // what the one that takes it over restores from.
    std::set<int> running;
    for (const MemberShards& m : live) running.insert(m.shards.begin(), m.shards.end());
    for (const auto& [s, id] : standby_->held())
      if (!running.count(s)) wanted.insert(s);
    for (const auto& [s, run] : runs_) wanted.erase(s);
    for (int s : membership_->done()) wanted.erase(s);
    standby_->want(std::move(wanted));
  }

  // The member's page (--metrics-port): the figures of the shards it runs now.
  void serve_page() {
    try {
      server_ = std::make_unique<observe::MetricsServer>(
          [this] {
            observe::MemberFigures fig;
            fig.job_id = f_.job_id;
            std::lock_guard lock(page_mu_);
            fig.member_id = page_member_id_;
            for (const auto& [s, m] : page_shards_) fig.shards.emplace_back(s, m);
            return fig;
          },
          f_.metrics_port, f_.options.pipeline.metrics_address);
    } catch (const std::runtime_error& e) {
      throw UserError(e.what());
    }
    log_info(
        fmt::format("{}: metrics: {} (Prometheus: /metrics, JSON: /api/member, /api/job?shard=N)",
                    name_, server_->url()));
    if (f_.options.pipeline.on_metrics_port) f_.options.pipeline.on_metrics_port(server_->port());
  }

  // Standby copies a member of this job on this host left when it was
  // killed (a member removes its own when it ends): their process is gone.
  // (The host is in the name: a state directory on a shared disk holds
  // other hosts' copies, whose processes this one cannot see.)
  void remove_dead_members_copies(const fs::path& base) const {
    const std::string prefix = fmt::format("runnel-standby-{}-{}-", f_.job_id, host_name());
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(base, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind(prefix, 0) != 0) continue;
      const std::string pid = name.substr(prefix.size());
      if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos)
        continue;
      if (::kill(static_cast<pid_t>(std::stol(pid)), 0) == 0 || errno != ESRCH) continue;
      fs::remove_all(e.path(), ec);
      log_info(fmt::format("{}: removed the standby copies a killed member left in {}", name_,
                           e.path().string()));
    }
  }

  // How the run had resumed, for the line that says it ended.
  static std::string restore_note(const ShardRun& run) {
    if (run.error || run.result.restored_checkpoint <= 0) return {};
    return fmt::format("; it had resumed from checkpoint {}, restored in {:.3f} s",
                       run.result.restored_checkpoint, run.result.restore_seconds);
  }

  // Drops a run that failed and must not be restarted, saying why.
  std::map<int, std::unique_ptr<ShardRun>>::iterator give_up(
      std::map<int, std::unique_ptr<ShardRun>>::iterator it, const std::string& why) {
    log_warn(fmt::format("{}: shard {} given up at {} ms ({})", name_, it->first, wall_ms(), why));
    off_page(it->first);
    if (standby_) standby_->release(it->first);
    return runs_.erase(it);
  }

  void off_page(int shard) {
    std::lock_guard lock(page_mu_);
    page_shards_.erase(shard);
  }

  static std::string host_name() {
    char name[256] = {};
    return ::gethostname(name, sizeof name - 1) == 0 ? name : "unknown-host";
  }

  void write_success() {
    state::replace_file_synced(fs::path(f_.options.output) / "_SUCCESS", "", "job output");
  }

  std::string name_;
  JobFlags& f_;
  const JobBuilder& build_;
  std::uint64_t stop_base_;
  std::unique_ptr<io::JobMembership> membership_;
  std::map<int, std::unique_ptr<ShardRun>> runs_;
  int shards_run_here_ = 0;
  std::int64_t started_ms_ = wall_ms();
  std::uint64_t records_in_ = 0, records_out_ = 0;
  // What the page shows, set from the shards' threads and the member's loop.
  std::mutex page_mu_;
  std::string page_member_id_;
  std::map<int, std::shared_ptr<const JobMetrics>> page_shards_;
  std::unique_ptr<StandbyCopies> standby_;
  std::unique_ptr<observe::MetricsServer> server_;  // after what it reads: destroyed first
};

}  // namespace

void run_member(const std::string& name, JobFlags& flags, const JobBuilder& build) {
  try {
    io::JobMembership::check_job_id(flags.job_id);
  } catch (const UserError& e) {
    throw UserError(fmt::format("--job-id: {}", e.what()));
  }
  if (!flags.options.pipeline.restore.empty())
    throw UserError(
        "--restore with --job-id: every member resumes each shard it takes from that shard's "
        "latest checkpoint by itself; drop --restore");
  if (flags.options.pipeline.metrics_linger.count() > 0)
    throw UserError(
        "--metrics-linger with --job-id: a member's page ends with the member; runnel job "
        "status shows a job's members and shards after they end");
  Member(name, flags, build).run();
}

}  // namespace runnel::api

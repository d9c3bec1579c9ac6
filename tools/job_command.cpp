#include "job_command.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/kafka/job_status.hpp"
#include "kafka_command.hpp"
#include "runnel/error.hpp"
#include "runnel/kafka.hpp"
#include "state/checkpoint_store.hpp"

namespace runnel::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A member that has not reported for this long is taken for gone (it reports
// every 2 s; its shards move on when its session times out, 6 s by default).
constexpr std::int64_t kSilentMs = 10'000;
constexpr std::int64_t kShownMs = 3'600'000;

struct JobFlags {
  std::string job_id;
  std::string bootstrap;
  std::vector<std::string> properties;
  bool json_out = false;
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string seconds(std::int64_t ms) {
  return fmt::format("{:.1f} s", static_cast<double>(ms) / 1e3);
}
std::string ago(std::int64_t ms) { return seconds(ms) + " ago"; }

// The newest complete checkpoint of each shard under the job's
// --checkpoint-dir, if this machine reaches it.
std::map<int, state::CheckpointInfo> latest_checkpoints(const std::string& dir, int shards) {
  std::map<int, state::CheckpointInfo> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (int s = 0; s < shards; ++s) {
    for (auto& c : state::list_checkpoints(fs::path(dir) / fmt::format("shard-{:02d}", s), false))
      if (c.valid && (!out.count(s) || c.id > out[s].id)) out[s] = std::move(c);
  }
  return out;
}

int status(const JobFlags& f) {
  if (f.bootstrap.empty())
    throw UserError("job status: name the job's Kafka cluster with --bootstrap HOST:PORT");
  const io::KafkaIO cluster = kafka_target(f.bootstrap, "", f.properties);
  const io::JobStatusRecords r = io::read_job_status(cluster, f.job_id);
  const std::int64_t now = now_ms();

  // Each member's latest report; who runs each shard now.
  json members = json::array();
  std::map<int, std::pair<json, std::string>> running;  // shard -> (its report, member)
  for (const auto& rep : r.members) {
    json m = json::parse(rep.json, nullptr, false);
    if (!m.is_object()) continue;
    const std::int64_t updated = m.value("updated_ms", rep.time_ms);
    const bool alive = !m.value("left", false) && now - updated < kSilentMs;
    m["key"] = rep.key;
    m["reported_ms_ago"] = now - updated;
    m["alive"] = alive;
    if (alive) {
      for (const auto& s : m["shards"]) running[s.value("shard", -1)] = {s, rep.key};
    }
    members.push_back(std::move(m));
  }
  const auto flag = [&](const char* name) {
    auto it = r.flags.find(name);
    return it == r.flags.end() ? std::string() : it->second;
  };
  const auto checkpoints = latest_checkpoints(flag("--checkpoint-dir"), r.shards);

  if (f.json_out) {
    json out = {{"job", f.job_id},
                {"bootstrap", f.bootstrap},
                {"shards", r.shards},
                {"flags", r.flags},
                {"members", members}};
    json done = json::object();
    for (const auto& [s, by] : r.done) done[std::to_string(s)] = by;
    out["done"] = done;
    json ck = json::object();
    for (const auto& [s, c] : checkpoints)
      ck[std::to_string(s)] = {
          {"id", c.id}, {"path", c.path.string()}, {"created_ms", c.created_ms}};
    out["checkpoints"] = ck;
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }

  std::printf("job '%s' at %s: %d shards, %zu done; program %s\n", f.job_id.c_str(),
              f.bootstrap.c_str(), r.shards, r.done.size(), flag("program").c_str());
  int alive = 0;
  for (const auto& m : members) alive += m["alive"].get<bool>() ? 1 : 0;
  // Processes long gone keep their last report (a member's key is its
  // process's): shown for an hour, counted after that.
  int old = 0;
  for (const auto& m : members) old += m["reported_ms_ago"].get<std::int64_t>() > kShownMs ? 1 : 0;
  std::printf(
      "members: %d reporting%s\n", alive,
      old > 0
          ? fmt::format(" ({} reports over an hour old not shown; --json lists them)", old).c_str()
          : "");
  for (const auto& m : members) {
    if (m["reported_ms_ago"].get<std::int64_t>() > kShownMs) continue;
    std::vector<int> owned;
    for (const auto& s : m["shards"]) owned.push_back(s.value("shard", -1));
    std::string shards = owned.empty() ? "none" : "";
    for (int s : owned) shards += (shards.empty() ? "" : ",") + std::to_string(s);
    const std::string state =
        m["alive"].get<bool>() ? "reporting" : (m.value("left", false) ? "left" : "silent (gone?)");
    std::printf("  %s  %s, shards %s, %d done here; last report %s (group member %s)\n",
                m["key"].get<std::string>().c_str(), state.c_str(),
                m["alive"].get<bool>() ? shards.c_str() : "-", m.value("shards_done_here", 0),
                ago(m["reported_ms_ago"].get<std::int64_t>()).c_str(),
                m.value("member", std::string("?")).c_str());
    if (m["alive"].get<bool>() && m.contains("standby") && !m["standby"].empty()) {
      std::string copies;
      for (const auto& c : m["standby"])
        copies += fmt::format("{}shard {} (checkpoint {})", copies.empty() ? "" : ", ",
                              c.value("shard", -1), c.value("checkpoint", 0LL));
      std::printf("      standby copies: %s\n", copies.c_str());
    }
  }
  std::printf("shards:\n");
  for (int s = 0; s < r.shards; ++s) {
    std::string line = fmt::format("  {:>3}  ", s);
    if (auto d = r.done.find(s); d != r.done.end()) {
      line += d->second;
    } else if (auto it = running.find(s); it != running.end()) {
      const json& j = it->second.first;
      line += fmt::format("running in {}, taken {}", it->second.second,
                          ago(now - j.value("taken_ms", now)));
      if (j.contains("records_in"))
        line += fmt::format("; {} records in, {} out", j.value("records_in", 0ULL),
                            j.value("records_out", 0ULL));
      if (j.value("dead_letters", 0ULL) > 0)
        line += fmt::format(", {} dead letters", j.value("dead_letters", 0ULL));
      if (j.contains("checkpoint"))
        line += fmt::format("; checkpoint {} ({})", j.value("checkpoint", 0LL),
                            ago(now - j.value("checkpoint_ms", now)));
      if (j.contains("watermark_ms"))
        line += fmt::format("; watermark {} behind", seconds(now - j.value("watermark_ms", now)));
      for (const auto& l : j.value("lag", json::array()))
        line += fmt::format("; lag {}/{} {}", l.value("topic", std::string()),
                            l.value("partition", 0), l.value("lag", 0LL));
      if (j.value("restarts", 0) > 0)
        line += fmt::format("; restarted {} times", j.value("restarts", 0));
    } else {
      line +=
          "no member runs it (the job waits for one, or for a dead member's session to time out)";
    }
    std::printf("%s\n", line.c_str());
  }
  if (!flag("--checkpoint-dir").empty()) {
    if (checkpoints.empty()) {
      std::printf("checkpoints (%s): none complete, or not reachable from here\n",
                  flag("--checkpoint-dir").c_str());
    } else {
      std::printf("latest complete checkpoints (%s):\n", flag("--checkpoint-dir").c_str());
      for (const auto& [s, c] : checkpoints)
        std::printf("  shard %d: %s, %s\n", s, c.path.filename().string().c_str(),
                    ago(now - c.created_ms).c_str());
    }
  }
  std::printf("started with:");
  for (const auto& [k, v] : r.flags)
    if (!v.empty() && k != "program") std::printf(" %s=%s", k.c_str(), v.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace

std::function<int()> add_job_commands(CLI::App& app) {
  auto f = std::make_shared<JobFlags>();
  auto* job = app.add_subcommand("job", "look into a job spread over members (--job-id)");
  job->require_subcommand(1);
  auto* status_cmd = job->add_subcommand(
      "status",
      "a job's members and what each owns, its shards (done, running, progress, lag) and "
      "latest checkpoints, from its Kafka topics");
  status_cmd->add_option("--job-id", f->job_id, "the job's id, as its members were given")
      ->required();
  status_cmd->add_option("--bootstrap,-b", f->bootstrap, "the job's Kafka cluster, host:port")
      ->required();
  status_cmd->add_option("--kafka-property", f->properties, "a librdkafka property, key=value");
  status_cmd->add_flag("--json", f->json_out, "print it as JSON");
  return [=]() -> int {
    return run_command([&]() -> int { return status_cmd->parsed() ? status(*f) : -1; });
  };
}

}  // namespace runnel::tools

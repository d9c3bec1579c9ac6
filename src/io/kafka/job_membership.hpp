#pragma once
// One process's membership in a job spread over several processes (members),
// Kafka Streams' way: no coordinator of our own, the Kafka cluster is the
// coordinator. A job with id ID has a fixed number of shards: the partitions
// of its topic `runnel-ID-shards`, which the consumer group `runnel-ID`
// hands out among the members (cooperative-sticky: a rebalance moves only
// the shards it must). A member owns the shards it is assigned and runs one
// pipeline per shard (PipelineOptions::share); a member that leaves gives its
// shards back when it has stopped them, and one that dies loses them when
// its session times out. Shards of a bounded job that finished are marked
// done in `runnel-ID-status`, which every member reads, so a shard is run to
// its end once and every member knows when the whole job is done.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/kafka.hpp"

namespace runnel::io {

class JobMembership {
 public:
  struct Callbacks {
    // Shards this member now owns too: start them.
    std::function<void(const std::vector<int>&)> assigned;
    // Shards this member must give up (another member joined, or this one
    // leaves): return once they are stopped. `lost`: this member's session
    // expired, so another member may own them already.
    std::function<void(const std::vector<int>&, bool lost)> revoked;
  };

  // `cluster`: the bootstrap servers and the user's librdkafka properties
  // (its topic is not used). Creates the job's topics if they do not exist,
  // with `shards` partitions; a job whose topic has another count keeps
  // its own, and a UserError says so if `shards_given`. `job_flags`
  // (flag -> value): what every member must be started with; the
  // first member records them, and a member whose differ is refused with a
  // UserError naming each difference.
  JobMembership(const KafkaIO& cluster, const std::string& job_id, int shards, bool shards_given,
                const std::map<std::string, std::string>& job_flags, Callbacks callbacks);
  ~JobMembership();
  JobMembership(const JobMembership&) = delete;
  JobMembership& operator=(const JobMembership&) = delete;

  int shards() const;
  // Serves the group for up to `wait`: heartbeats, rebalances (the callbacks
  // run on this thread, inside this call) and the status topic.
  void poll(std::chrono::milliseconds wait);
  // Records that `shard` ran to its end; durable once this returns.
  void mark_done(int shard);
  // The shards any member marked done, as read so far.
  const std::set<int>& done() const;
  // This member's id in the group (empty before it joined).
  std::string member_id() const;
  // Publishes this member's report (JSON: what it owns and how its shards
  // are doing) in the job's members topic, under a key of its own
  // (host/pid/random), without waiting; `runnel job status` reads the
  // latest of each member. flush_reports waits up to 2 s for them.
  void report(const std::string& json);
  void flush_reports();
  // The latest report of every member process, as read from the members
  // topic so far (this one's too), by key; `time_ms`: when the cluster took it.
  struct Report {
    std::string json;
    std::int64_t time_ms = 0;
  };
  const std::map<std::string, Report>& reports() const;
  // This process's key in the members topic.
  const std::string& report_key() const;
  // Leaves the group: the revoked callback runs for what this member owns.
  void leave();

  // A job id is a topic and group name's part: letters, digits, '.', '_', '-'.
  static void check_job_id(const std::string& job_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The job's status topic, `runnel-ID-status`, as read so far: the job's
// flags (key "flags": the first such record, the first member's) and the
// shards done (key: the shard's number; value "done by MEMBER").
struct JobStatusLog {
  std::string flags_json;
  std::map<int, std::string> done;
  void take(std::string_view key, std::string_view value, int shards);
};
// The flags as the status topic holds them (a JSON object).
std::map<std::string, std::string> decode_job_flags(const std::string& json);

// The topic of a job's member reports: one partition, compacted by member.
std::string members_topic(const std::string& job_id);

}  // namespace runnel::io

#pragma once
// What `runnel job status` reads: a job's own topics, as any client sees
// them, without joining the job.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "io/kafka/job_membership.hpp"
#include "runnel/kafka.hpp"

namespace runnel::io {

struct JobStatusRecords {
  int shards = 0;  // the partitions of runnel-ID-shards
  std::map<std::string, std::string> flags;
  std::map<int, std::string> done;  // shard -> "done by MEMBER"
  // The latest report of each member process (JobMembership::report), as
  // the members topic holds it, oldest first.
  struct Report {
    std::string key;           // host/pid/random
    std::string json;          // as the member wrote it
    std::int64_t time_ms = 0;  // when the cluster took it
  };
  std::vector<Report> members;
};

// Reads job `job_id`'s status and members topics on `cluster` to their ends.
// A UserError if the cluster holds no such job.
JobStatusRecords read_job_status(const KafkaIO& cluster, const std::string& job_id);

}  // namespace runnel::io

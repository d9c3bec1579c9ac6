#pragma once
// The two operators a keyed exchange becomes when the job is spread over
// members (PipelineOptions::shares > 1): a sink in the producing task that
// writes each batch's records to the partition of the shard owning their key
// group, and a source that reads this shard's partition and feeds the keyed
// step. The protocol is RepartitionInbox's; the planner's pass that cuts the
// exchange is the api layer's.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runnel/detail/operator.hpp"
#include "runnel/detail/partitioner.hpp"
#include "runnel/kafka.hpp"

namespace runnel::io {

struct RepartitionEdge {
  KafkaIO topic;  // the cluster, and the topic (one partition per shard)
  int shard = 0;
  int shards = 1;
  std::shared_ptr<const Partitioner> partitioner;  // encodable()
};

std::shared_ptr<const Operator> repartition_writer(RepartitionEdge edge);
std::shared_ptr<const Operator> repartition_reader(RepartitionEdge edge);

// Creates the topics (name, partitions) that do not exist yet; returns the
// partition count each has (the development cluster makes every topic with
// its default count).
std::vector<int> ensure_job_topics(const KafkaIO& cluster,
                                   const std::vector<std::pair<std::string, int>>& topics);

}  // namespace runnel::io

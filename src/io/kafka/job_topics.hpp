#pragma once
// Creating a job's own topics (its shards, status and repartition topics).
#include <librdkafka/rdkafka.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "runnel/kafka.hpp"

namespace runnel::io {

// Creates the topics (name, partitions) that do not exist: through the admin
// API on a real cluster (retention: forever); the development cluster has no
// controller to ask (so no admin API) and creates a topic when a producer
// first asks for its metadata, with its default partition count. Returns the
// partition count each topic has. Topics in `compacted` keep each key's
// latest record (cleanup.policy=compact) instead of every record.
std::vector<int> ensure_topics(rd_kafka_t* rk, const KafkaIO& cluster,
                               const std::vector<std::pair<std::string, int>>& wanted,
                               const std::set<std::string>& compacted = {});

}  // namespace runnel::io

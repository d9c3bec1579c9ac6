#pragma once
// What runnel's Kafka source, sink and CLI share over librdkafka's C API:
// handles that free themselves, client configuration from a KafkaIO, and
// topic metadata. librdkafka stays inside src/io/kafka/.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runnel/kafka.hpp"

namespace runnel::io::kafka_client {

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

// A producer or consumer for `io`'s cluster: bootstrap.servers, then the
// given defaults, then the user's properties (which win). A bad property is
// a UserError naming it. `conf_hook` may add callbacks to the configuration.
Handle make_client(rd_kafka_type_t type, const KafkaIO& io,
                   const std::vector<std::pair<std::string, std::string>>& defaults,
                   void (*conf_hook)(rd_kafka_conf_t*) = nullptr, void* opaque = nullptr);

// The topic's partition ids, nullopt if it does not exist (asking never
// creates it); a UserError if the cluster cannot be reached within `timeout`.
std::optional<std::vector<std::int32_t>> find_partitions(rd_kafka_t* rk, const KafkaIO& io,
                                                         std::chrono::milliseconds timeout);
// As find_partitions; a topic that does not exist is a UserError (missing_topic's).
std::vector<std::int32_t> partitions_of(rd_kafka_t* rk, const KafkaIO& io,
                                        std::chrono::milliseconds timeout);
// The partitions of one of the job's own topics, asked for by name: a
// producer's request creates the topic where the cluster creates topics on
// demand (the development cluster has no CreateTopics). A UserError if it
// does not exist (yet).
std::vector<std::int32_t> partitions_created(rd_kafka_t* rk, const KafkaIO& io,
                                             std::chrono::milliseconds timeout);
// "topic 'T' at B does not exist (topics there: ...); create it first ..."
std::string missing_topic(rd_kafka_t* rk, const KafkaIO& io, std::chrono::milliseconds timeout);

// Asks for the topic's metadata now, so the first records do not wait for
// it (a transactional producer otherwise waits about a second); errors are
// left to the first send.
void warm_up(rd_kafka_t* rk, rd_kafka_topic_t* topic, std::chrono::milliseconds timeout);

// Every topic of the cluster and its partition count.
std::vector<std::pair<std::string, int>> list_topics(rd_kafka_t* rk, const std::string& where,
                                                     std::chrono::milliseconds timeout);

// librdkafka's own log lines go to the job's log (ops/log.hpp), with its levels.
void route_logs(rd_kafka_conf_t* conf);

// "topic 'T' at BOOTSTRAP": where an error happened, for messages.
std::string where(const KafkaIO& io);

// Why a sink could not queue a record of `bytes` (key and value), and what to
// do about it: a record larger than the producer's limit names the setting.
std::string send_error(const std::string& where, rd_kafka_resp_err_t e, std::size_t bytes);

}  // namespace runnel::io::kafka_client

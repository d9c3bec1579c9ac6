// KafkaDevCluster over librdkafka's mock cluster (see include/runnel/kafka.hpp).
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <stdexcept>

#include "io/kafka/kafka_client.hpp"
#include "runnel/error.hpp"
#include "runnel/kafka.hpp"

namespace runnel::io {

struct KafkaDevCluster::Impl {
  kafka_client::Handle owner;  // the mock cluster lives in a client instance
  rd_kafka_mock_cluster_t* cluster = nullptr;
  int brokers = 1;
};

KafkaDevCluster::KafkaDevCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  if (brokers < 1 || brokers > 16)
    throw UserError(fmt::format("--brokers {}: a development cluster has 1 to 16", brokers));
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The owning client talks to no one: its own bootstrap would be the cluster.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("cannot start the development Kafka cluster: ") + err);
  }
  impl_->owner.reset(rk);
  impl_->cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (impl_->cluster == nullptr)
    throw std::runtime_error("cannot start the development Kafka cluster (no free port?)");
  impl_->brokers = brokers;
}

KafkaDevCluster::~KafkaDevCluster() {
  if (impl_->cluster) rd_kafka_mock_cluster_destroy(impl_->cluster);
}

std::string KafkaDevCluster::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

void KafkaDevCluster::create_topic(const std::string& topic, int partitions) {
  if (partitions < 1)
    throw UserError(fmt::format("topic '{}': {} partitions; give at least 1", topic, partitions));
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions,
                                                     std::min(impl_->brokers, 3));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(fmt::format("cannot create topic '{}' on the development cluster: {}", topic,
                                rd_kafka_err2str(e)));
}

}  // namespace runnel::io

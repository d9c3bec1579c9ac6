// KafkaDevCluster over librdkafka's mock cluster (see include/runnel/kafka.hpp).
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "io/kafka/kafka_client.hpp"
#include "runnel/error.hpp"
#include "runnel/kafka.hpp"

namespace runnel::io {
namespace {
// Kafka protocol API keys (librdkafka keeps its names for them private).
constexpr std::int16_t kProduce = 0, kFetch = 1, kOffsetCommit = 8, kAddPartitionsToTxn = 24,
                       kEndTxn = 26, kTxnOffsetCommit = 28;
}  // namespace

struct KafkaDevCluster::Impl {
  kafka_client::Handle owner;  // the mock cluster lives in a client instance
  rd_kafka_mock_cluster_t* cluster = nullptr;
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;  // (name, partitions) created here

  std::mutex mu;
  std::condition_variable wake;
  bool stopping = false;
  std::thread faults;

  // Waits `d` unless the cluster is being destroyed; false if it is.
  bool sleep(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return !wake.wait_for(lock, d, [&] { return stopping; });
  }
};

KafkaDevCluster::KafkaDevCluster(int brokers) : impl_(std::make_unique<Impl>()) {
  if (brokers < 1 || brokers > 16)
    throw UserError(fmt::format("--brokers {}: a development cluster has 1 to 16", brokers));
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The owning client talks to no one: its own bootstrap would be the cluster.
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  kafka_client::route_logs(conf);
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
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->faults.joinable()) impl_->faults.join();
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
  std::lock_guard lock(impl_->mu);
  impl_->topics.emplace_back(topic, partitions);
}

void KafkaDevCluster::fail_next(Requests kind, int count) {
  auto push = [&](std::int16_t api, rd_kafka_resp_err_t e) {
    std::vector<rd_kafka_resp_err_t> errors(static_cast<std::size_t>(count), e);
    rd_kafka_mock_push_request_errors_array(impl_->cluster, api, errors.size(), errors.data());
  };
  switch (kind) {
    case Requests::kProduce:
      push(kProduce, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
      break;
    case Requests::kFetch:
      push(kFetch, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
      break;
    case Requests::kCommit:
      push(kOffsetCommit, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
      push(kTxnOffsetCommit, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
      push(kEndTxn, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
      break;
    case Requests::kTransaction:
      push(kAddPartitionsToTxn, RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS);
      break;
  }
}

void KafkaDevCluster::set_broker_down(int broker) {
  if (rd_kafka_mock_broker_set_down(impl_->cluster, broker) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(
        fmt::format("no broker {} in the development cluster (1..{})", broker, impl_->brokers));
}

void KafkaDevCluster::set_broker_up(int broker) {
  if (rd_kafka_mock_broker_set_up(impl_->cluster, broker) != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(
        fmt::format("no broker {} in the development cluster (1..{})", broker, impl_->brokers));
}

void KafkaDevCluster::move_leader(const std::string& topic, int partition, int broker) {
  rd_kafka_resp_err_t e =
      rd_kafka_mock_partition_set_leader(impl_->cluster, topic.c_str(), partition, broker);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(fmt::format("cannot move the leader of {} partition {} to broker {}: {}", topic,
                                partition, broker, rd_kafka_err2str(e)));
}

void KafkaDevCluster::start_faults(std::chrono::milliseconds every,
                                   std::chrono::milliseconds down_for) {
  if (impl_->faults.joinable()) throw UserError("faults are already being injected");
  impl_->faults = std::thread([this, every, down_for] {
    Impl& m = *impl_;
    for (int n = 0; m.sleep(every); ++n) {
      const int broker = 1 + (n / 6) % m.brokers;
      switch (n % 6) {
        case 0:
          fail_next(Requests::kProduce, 3);
          std::fprintf(stderr, "runnel kafka dev: fault: the next 3 produce requests fail\n");
          break;
        case 1:
          fail_next(Requests::kFetch, 3);
          std::fprintf(stderr, "runnel kafka dev: fault: the next 3 fetch requests fail\n");
          break;
        case 2:
          fail_next(Requests::kCommit, 2);
          std::fprintf(stderr,
                       "runnel kafka dev: fault: the next 2 offset commits, transactional offset "
                       "commits and transaction ends fail\n");
          break;
        case 3:
          fail_next(Requests::kTransaction, 2);
          std::fprintf(stderr,
                       "runnel kafka dev: fault: the next 2 AddPartitionsToTxn requests fail\n");
          break;
        case 4: {
          std::vector<std::pair<std::string, int>> topics;
          {
            std::lock_guard lock(m.mu);
            topics = m.topics;
          }
          for (const auto& [topic, partitions] : topics)
            for (int p = 0; p < partitions; ++p)
              rd_kafka_mock_partition_set_leader(m.cluster, topic.c_str(), p,
                                                 1 + (p + n) % m.brokers);
          std::fprintf(stderr, "runnel kafka dev: fault: every partition's leader moved\n");
          break;
        }
        case 5:
          rd_kafka_mock_broker_set_down(m.cluster, broker);
          std::fprintf(stderr, "runnel kafka dev: fault: broker %d down for %lld ms\n", broker,
                       static_cast<long long>(down_for.count()));
          m.sleep(down_for);
          rd_kafka_mock_broker_set_up(m.cluster, broker);
          std::fprintf(stderr, "runnel kafka dev: broker %d up again\n", broker);
          break;
      }
    }
  });
}

}  // namespace runnel::io

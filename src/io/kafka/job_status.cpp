#include "io/kafka/job_status.hpp"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string_view>

#include "io/kafka/kafka_client.hpp"
#include "runnel/error.hpp"

namespace runnel::io {
namespace {

constexpr std::chrono::milliseconds kWait{10'000};

using Take = std::function<void(std::string_view key, std::string_view value, std::int64_t ms)>;

// Calls take for every record of partition 0 of `topic` up to its end as of now.
void read_to_end(const KafkaIO& cluster, const std::string& topic, const Take& take) {
  kafka_client::Handle rk = kafka_client::make_client(
      RD_KAFKA_CONSUMER, cluster,
      {{"group.id", topic + "-status-cli"}, {"enable.auto.commit", "false"}});
  std::int64_t low = 0, high = 0;
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), 0, &low, &high,
                                                           static_cast<int>(kWait.count()));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(fmt::format("cannot read topic '{}' at {}: {}", topic, cluster.bootstrap,
                                rd_kafka_err2str(e)));
  if (high <= low) return;
  rd_kafka_topic_partition_list_t* from = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(from, topic.c_str(), 0)->offset = low;
  rd_kafka_assign(rk.get(), from);
  rd_kafka_topic_partition_list_destroy(from);
  // Gives up after kWait without a record, however long the topic.
  auto until = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < until) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk.get(), 50);
    if (m == nullptr) continue;
    until = std::chrono::steady_clock::now() + kWait;
    const std::int64_t offset = m->offset;
    const bool ok = m->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (ok && m->key != nullptr && m->payload != nullptr) {
      take(std::string_view(static_cast<const char*>(m->key), m->key_len),
           std::string_view(static_cast<const char*>(m->payload), m->len),
           rd_kafka_message_timestamp(m, nullptr));
    }
    rd_kafka_message_destroy(m);
    if (ok && offset + 1 >= high) {
      rd_kafka_consumer_close(rk.get());
      return;
    }
  }
  rd_kafka_consumer_close(rk.get());
  throw UserError(fmt::format("topic '{}' at {}: no record for {} s before its end", topic,
                              cluster.bootstrap, kWait.count() / 1000));
}

}  // namespace

JobStatusRecords read_job_status(const KafkaIO& cluster, const std::string& job_id) {
  JobMembership::check_job_id(job_id);
  JobStatusRecords out;
  const std::string shards_topic = "runnel-" + job_id + "-shards";
  {
    kafka_client::Handle rk = kafka_client::make_client(RD_KAFKA_PRODUCER, cluster, {});
    for (const auto& [topic, partitions] :
         kafka_client::list_topics(rk.get(), cluster.bootstrap, kWait)) {
      if (topic == shards_topic) out.shards = partitions;
    }
  }
  if (out.shards == 0)
    throw UserError(
        fmt::format("no job '{}' at {}: it has no topic '{}' (a job's first member creates it)",
                    job_id, cluster.bootstrap, shards_topic));
  JobStatusLog log;
  read_to_end(cluster, "runnel-" + job_id + "-status",
              [&](std::string_view key, std::string_view value, std::int64_t) {
                log.take(key, value, out.shards);
              });
  out.flags = decode_job_flags(log.flags_json.empty() ? "{}" : log.flags_json);
  out.done = log.done;
  std::map<std::string, JobStatusRecords::Report> latest;
  read_to_end(cluster, members_topic(job_id),
              [&](std::string_view key, std::string_view value, std::int64_t ms) {
                latest[std::string(key)] = {std::string(key), std::string(value), ms};
              });
  for (auto& [key, report] : latest) out.members.push_back(std::move(report));
  std::sort(out.members.begin(), out.members.end(),
            [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
  return out;
}

}  // namespace runnel::io

#include "io/kafka/kafka_client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "core/log.hpp"
#include "runnel/error.hpp"

namespace runnel::io {

bool is_kafka_url(const std::string& path) { return path.rfind("kafka://", 0) == 0; }

KafkaIO parse_kafka_url(const std::string& url) {
  if (!is_kafka_url(url))
    throw UserError("'" + url + "' is not a Kafka URL: write kafka://HOST:PORT/TOPIC");
  const std::string rest = url.substr(8);
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 >= rest.size() ||
      rest.find('/', slash + 1) != std::string::npos)
    throw UserError("'" + url +
                    "' is not a Kafka URL: write kafka://HOST:PORT/TOPIC (e.g. "
                    "kafka://127.0.0.1:9092/words)");
  return kafka(rest.substr(0, slash), rest.substr(slash + 1));
}

KafkaIO kafka_url_input(const std::string& url, bool bounded,
                        const std::map<std::string, std::string>& properties, bool wait_for_topic) {
  KafkaIO k = parse_kafka_url(url);
  k.bounded_read = bounded;
  k.wait_topic = wait_for_topic;
  k.properties = properties;
  return k;
}

}  // namespace runnel::io

namespace runnel::io::kafka_client {

void route_logs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(
      conf, [](const rd_kafka_t* rk, int level, const char* facility, const char* message) {
        log_syslog_level(
            level, fmt::format("Kafka client {} ({}): {}", rd_kafka_name(rk), facility, message));
      });
}

std::string where(const KafkaIO& io) {
  return fmt::format("topic '{}' at {}", io.topic, io.bootstrap);
}

std::string send_error(const std::string& where, rd_kafka_resp_err_t e, std::size_t bytes) {
  if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
    return fmt::format(
        "Kafka sink, {}: a record of {} bytes is larger than the producer's message.max.bytes "
        "(default 1000000): raise it with --kafka-property message.max.bytes=N (the topic's "
        "max.message.bytes on the brokers must allow it too), or write smaller records",
        where, bytes);
  return fmt::format("Kafka sink, {}: cannot send: {}", where, rd_kafka_err2str(e));
}

Handle make_client(rd_kafka_type_t type, const KafkaIO& io,
                   const std::vector<std::pair<std::string, std::string>>& defaults,
                   void (*conf_hook)(rd_kafka_conf_t*), void* opaque) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  auto set = [&](const std::string& key, const std::string& value, bool user) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      if (user) throw UserError(fmt::format("Kafka property {}={}: {}", key, value, err));
      throw std::runtime_error(fmt::format("Kafka property {}={}: {}", key, value, err));
    }
  };
  route_logs(conf);
  set("bootstrap.servers", io.bootstrap, true);
  for (const auto& [k, v] : defaults) set(k, v, false);
  for (const auto& [k, v] : io.properties) set(k, v, true);
  if (conf_hook) conf_hook(conf);
  if (opaque) rd_kafka_conf_set_opaque(conf, opaque);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw UserError(fmt::format("cannot make a Kafka client for {}: {}", where(io), err));
  }
  return Handle(rk);
}

namespace {
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// The metadata of every topic (`by_name` false) or of io's topic asked for
// by name; a UserError if the cluster does not answer within `timeout`.
Metadata read_metadata(rd_kafka_t* rk, const KafkaIO& io, bool by_name,
                       std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* topic = by_name ? rd_kafka_topic_new(rk, io.topic.c_str(), nullptr) : nullptr;
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t e =
      rd_kafka_metadata(rk, by_name ? 0 : 1, topic, &raw, static_cast<int>(timeout.count()));
  if (topic) rd_kafka_topic_destroy(topic);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(
        fmt::format("cannot read the metadata of {} within {} ms: {} (is the cluster "
                    "up and the address right?)",
                    where(io), timeout.count(), rd_kafka_err2str(e)));
  return Metadata(raw);
}

// io's topic in `md`: nullptr if not listed, its sorted partition ids
// otherwise; a topic listed with an error (other than unknown) is a UserError.
const rd_kafka_metadata_topic_t* topic_in(const Metadata& md, const KafkaIO& io) {
  for (int t = 0; t < md->topic_cnt; ++t) {
    const auto& tm = md->topics[t];
    if (io.topic != tm.topic) continue;
    if (tm.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return nullptr;
    if (tm.err != RD_KAFKA_RESP_ERR_NO_ERROR || tm.partition_cnt == 0)
      throw UserError(fmt::format("{}: {}", where(io), rd_kafka_err2str(tm.err)));
    return &tm;
  }
  return nullptr;
}

std::vector<std::int32_t> partition_ids(const rd_kafka_metadata_topic_t& tm) {
  std::vector<std::int32_t> ids;
  for (int p = 0; p < tm.partition_cnt; ++p) ids.push_back(tm.partitions[p].id);
  std::sort(ids.begin(), ids.end());
  return ids;
}
}  // namespace

std::optional<std::vector<std::int32_t>> find_partitions(rd_kafka_t* rk, const KafkaIO& io,
                                                         std::chrono::milliseconds timeout) {
  // Every topic's metadata, not the topic's own: a request naming a topic
  // creates it on a cluster that creates topics on demand (librdkafka's
  // requests from a consumer included, as seen on the development cluster),
  // and a typo must not become an empty topic. A topic the client may not
  // describe is not listed either: it reads as missing.
  const Metadata md = read_metadata(rk, io, false, timeout);
  if (const auto* tm = topic_in(md, io)) return partition_ids(*tm);
  return std::nullopt;
}

std::string missing_topic(rd_kafka_t* rk, const KafkaIO& io, std::chrono::milliseconds timeout) {
  std::string names;
  int listed = 0, others = 0;
  for (const auto& [name, partitions] : list_topics(rk, io.bootstrap, timeout)) {
    if (name.rfind("__", 0) == 0 || name.rfind("runnel-", 0) == 0) continue;  // internal
    if (listed == 8) {
      ++others;
      continue;
    }
    names += (listed++ ? ", " : "") + name;
  }
  if (others > 0) names += fmt::format(" and {} more", others);
  return fmt::format(
      "{} does not exist ({}); create it first (e.g. runnel kafka dev --topic {}), check that "
      "the client may describe it (ACLs), or let the job wait for it (--wait-for-topic, "
      "KafkaIO::wait_for_topic())",
      where(io), listed == 0 ? "the cluster has no topics" : "topics there: " + names, io.topic);
}

std::vector<std::int32_t> partitions_of(rd_kafka_t* rk, const KafkaIO& io,
                                        std::chrono::milliseconds timeout) {
  if (auto ids = find_partitions(rk, io, timeout)) return *ids;
  throw UserError(missing_topic(rk, io, timeout));
}

std::vector<std::int32_t> partitions_created(rd_kafka_t* rk, const KafkaIO& io,
                                             std::chrono::milliseconds timeout) {
  const Metadata md = read_metadata(rk, io, true, timeout);
  if (const auto* tm = topic_in(md, io)) return partition_ids(*tm);
  throw UserError(fmt::format("{} does not exist", where(io)));
}

void warm_up(rd_kafka_t* rk, rd_kafka_topic_t* topic, std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  if (rd_kafka_metadata(rk, 0, topic, &raw, static_cast<int>(timeout.count())) ==
      RD_KAFKA_RESP_ERR_NO_ERROR)
    rd_kafka_metadata_destroy(raw);
}

std::vector<std::pair<std::string, int>> list_topics(rd_kafka_t* rk, const std::string& where,
                                                     std::chrono::milliseconds timeout) {
  const rd_kafka_metadata_t* raw = nullptr;
  rd_kafka_resp_err_t e =
      rd_kafka_metadata(rk, 1, nullptr, &raw, static_cast<int>(timeout.count()));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw UserError(fmt::format("cannot read the metadata of {} within {} ms: {}", where,
                                timeout.count(), rd_kafka_err2str(e)));
  std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter> md(raw);
  std::vector<std::pair<std::string, int>> out;
  for (int t = 0; t < md->topic_cnt; ++t)
    out.emplace_back(md->topics[t].topic, md->topics[t].partition_cnt);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace runnel::io::kafka_client

#include "kafka_command.hpp"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "api/job_cli.hpp"
#include "io/kafka/kafka_client.hpp"
#include "runnel/detail/kafka_ops.hpp"
#include "runnel/kafka.hpp"
#include "runnel/runnel.hpp"

namespace runnel::tools {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct KafkaFlags {
  int brokers = 1;
  int partitions = 1;
  std::vector<std::string> topics;
  std::string run_for;
  std::string faults;
  std::string bootstrap;
  std::string topic;
  std::vector<std::string> properties;
  std::string key_separator;
  std::uint64_t max = 0;
  std::string group;
};

io::KafkaIO target(const KafkaFlags& f) { return kafka_target(f.bootstrap, f.topic, f.properties); }

int dev(const KafkaFlags& f) {
  io::KafkaDevCluster cluster(f.brokers);
  for (const auto& t : f.topics) cluster.create_topic(t, f.partitions);
  if (!f.faults.empty()) cluster.start_faults(api::parse_duration(f.faults, "--faults"));
  std::printf("%s\n", cluster.bootstrap().c_str());
  std::fflush(stdout);
  std::fprintf(
      stderr,
      "runnel: development Kafka cluster (librdkafka's mock cluster, %d broker%s) at %s%s; "
      "%s\n",
      f.brokers, f.brokers == 1 ? "" : "s", cluster.bootstrap().c_str(),
      f.topics.empty() ? "" : fmt::format(", topics: {}", fmt::join(f.topics, ", ")).c_str(),
      f.run_for.empty() ? "Ctrl-C stops it" : ("stops after " + f.run_for).c_str());
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  const auto until = f.run_for.empty() ? std::chrono::steady_clock::time_point::max()
                                       : std::chrono::steady_clock::now() +
                                             api::parse_duration(f.run_for, "--for");
  while (!g_stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return 0;
}

// Lines of standard input as record values (or key SEP value).
int produce(const KafkaFlags& f) {
  io::KafkaIO io = target(f);
  detail::KafkaProducer producer(io);
  std::string line;
  std::uint64_t n = 0;
  while (std::getline(std::cin, line)) {
    std::string_view key, value = line;
    if (!f.key_separator.empty()) {
      auto at = line.find(f.key_separator);
      if (at != std::string::npos) {
        key = std::string_view(line).substr(0, at);
        value = std::string_view(line).substr(at + f.key_separator.size());
      }
    }
    producer.send(key, value);
    if (++n % 1024 == 0) producer.poll();
  }
  producer.flush();
  std::fprintf(stderr, "runnel: %llu records to %s\n", static_cast<unsigned long long>(n),
               io::kafka_client::where(io).c_str());
  return 0;
}

// The topic's records up to its end offsets now, partition by partition.
int consume(const KafkaFlags& f) {
  io::KafkaIO io = target(f);
  io.bounded();
  PipelineOptions o;
  o.parallelism = 1;
  o.progress = false;
  o.mode = ExecutionMode::kBatch;
  Pipeline p(o);
  auto records = p.read(io).collect();
  p.run();
  auto all = records.values();
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  std::uint64_t n = 0;
  for (const auto& r : all) {
    if (f.max > 0 && n == f.max) break;
    ++n;
    if (!f.key_separator.empty() && !r.key.empty()) {
      std::printf("%s%s%s\n", r.key.c_str(), f.key_separator.c_str(), r.value.c_str());
    } else {
      std::printf("%s\n", r.value.c_str());
    }
  }
  std::fprintf(stderr, "runnel: %llu records from %s\n", static_cast<unsigned long long>(n),
               io::kafka_client::where(io).c_str());
  return 0;
}

// Topics, partitions, records; with --group, the group's committed offsets and its lag.
int topics(const KafkaFlags& f) {
  io::KafkaIO io = target(f);
  auto rk = io::kafka_client::make_client(
      RD_KAFKA_CONSUMER, io,
      {{"group.id", f.group.empty() ? "runnel-topics" : f.group}, {"log_level", "3"}});
  if (f.group.empty()) {
    std::printf("%-30s %10s %12s\n", "topic", "partitions", "records");
  } else {
    std::printf("%-30s %10s %12s %12s %12s\n", "topic", "partitions", "records", "committed",
                "lag");
  }
  for (const auto& [name, partitions] :
       io::kafka_client::list_topics(rk.get(), f.bootstrap, std::chrono::seconds(10))) {
    std::int64_t records = 0, committed = 0, lag = 0;
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; ++p) {
      std::int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk.get(), name.c_str(), p, &low, &high, 10000) ==
          RD_KAFKA_RESP_ERR_NO_ERROR) {
        records += high - low;
      }
      rd_kafka_topic_partition_list_add(l, name.c_str(), p);
    }
    if (f.group.empty()) {
      std::printf("%-30s %10d %12lld\n", name.c_str(), partitions, static_cast<long long>(records));
    } else if (rd_kafka_committed(rk.get(), l, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      for (int p = 0; p < l->cnt; ++p) {
        std::int64_t low = 0, high = 0;
        rd_kafka_query_watermark_offsets(rk.get(), name.c_str(), l->elems[p].partition, &low, &high,
                                         10000);
        const std::int64_t at = l->elems[p].offset >= 0 ? l->elems[p].offset : low;
        if (l->elems[p].offset >= 0) committed += l->elems[p].offset;
        lag += high - at;
      }
      std::printf("%-30s %10d %12lld %12lld %12lld\n", name.c_str(), partitions,
                  static_cast<long long>(records), static_cast<long long>(committed),
                  static_cast<long long>(lag));
    }
    rd_kafka_topic_partition_list_destroy(l);
  }
  return 0;
}

}  // namespace

std::function<int()> add_kafka_commands(CLI::App& app) {
  auto f = std::make_shared<KafkaFlags>();
  auto* kafka = app.add_subcommand("kafka", "a development Kafka cluster, and small Kafka tools");
  kafka->require_subcommand(1);
  auto* dev_cmd = kafka->add_subcommand(
      "dev",
      "start a development Kafka cluster on loopback (librdkafka's mock cluster); prints its "
      "bootstrap address and serves until Ctrl-C");
  dev_cmd->add_option("--brokers", f->brokers, "brokers (default 1)")->check(CLI::Range(1, 16));
  dev_cmd->add_option("--partitions", f->partitions, "partitions of each --topic (default 1)")
      ->check(CLI::Range(1, 1024));
  dev_cmd->add_option("--topic", f->topics, "a topic to create (repeatable)");
  dev_cmd->add_option("--for", f->run_for, "stop after this long, e.g. 30s (default: at Ctrl-C)");
  dev_cmd->add_option("--faults", f->faults,
                      "inject a fault this often, e.g. 1s: failed produce, fetch, commit and "
                      "transaction requests, leader changes, a broker down for 2 s");
  auto add_target = [&](CLI::App* cmd) {
    cmd->add_option("--bootstrap,-b", f->bootstrap, "the cluster, host:port[,host:port]")
        ->required();
    cmd->add_option("--kafka-property", f->properties, "a librdkafka property, key=value");
  };
  auto* produce_cmd =
      kafka->add_subcommand("produce", "send the lines of standard input as record values");
  add_target(produce_cmd);
  produce_cmd->add_option("--topic,-t", f->topic, "the topic")->required();
  produce_cmd->add_option("--key-separator,-K", f->key_separator,
                          "split each line into key and value at the first SEP");
  auto* consume_cmd = kafka->add_subcommand(
      "consume", "print a topic's record values up to its end offsets now, partition by partition");
  add_target(consume_cmd);
  consume_cmd->add_option("--topic,-t", f->topic, "the topic")->required();
  consume_cmd->add_option("--key-separator,-K", f->key_separator,
                          "print keyed records as key SEP value");
  consume_cmd->add_option("--max", f->max, "print at most this many records");
  auto* topics_cmd = kafka->add_subcommand("topics", "list the topics, partitions and records");
  add_target(topics_cmd);
  topics_cmd->add_option("--group", f->group,
                         "also the offsets this consumer group committed, and its lag (a job's "
                         "Kafka source commits its checkpointed offsets to runnel-TOPIC)");
  return [=]() -> int {
    return run_command([&]() -> int {
      if (dev_cmd->parsed()) return dev(*f);
      if (produce_cmd->parsed()) return produce(*f);
      if (consume_cmd->parsed()) return consume(*f);
      if (topics_cmd->parsed()) return topics(*f);
      return -1;
    });
  };
}

io::KafkaIO kafka_target(const std::string& bootstrap, const std::string& topic,
                         const std::vector<std::string>& properties) {
  io::KafkaIO io = io::kafka(bootstrap, topic);
  for (const auto& kv : properties) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UserError("--kafka-property '" + kv + "': write key=value");
    io.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return io;
}

int run_command(const std::function<int()>& command) {
  try {
    return command();
  } catch (const UserError& e) {
    std::fprintf(stderr, "runnel: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "runnel: failure: %s\n", e.what());
    return 1;
  }
}

}  // namespace runnel::tools

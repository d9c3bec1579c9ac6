// bench/kafka: a repartition topic (what a keyed exchange between the shards
// of a job spread over members goes through, src/io/kafka/repartition_*)
// against the same bytes through plain librdkafka, in one process against
// one development cluster (librdkafka's mock cluster on loopback):
//   - `shards` writer threads each send `records / shards` records, in
//     payloads of `batch` records of `record_bytes` each (one Kafka message
//     per payload, as a shard sends one encoded batch per destination), to
//     partition (i % shards); a checkpoint every `checkpoint_ms` (flush, then
//     a Commit marker to every partition), a watermark per payload;
//   - `shards` reader threads, one per partition, read at the same time until
//     every writer's end; they check they took every payload once.
// The baseline, in the same run: the same payloads through a plain producer
// (linger 5 ms, no idempotence, no key) and one plain consumer per
// partition. Prints records/s of both, their ratio, and the bytes on the
// wire per record beyond the payload.
//
//   kafka_repartition_bench [--records N] [--shards S] [--batch B]
//                           [--record-bytes R] [--checkpoint-ms C] [--repeats K]
#include <fmt/format.h>
#include <librdkafka/rdkafka.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <runnel/runnel.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "io/kafka/repartition_topic.hpp"

namespace {
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Flags {
  std::uint64_t records = 300'000;  // the mock keeps 5 MB per partition
  int shards = 4;
  int batch = 64;
  int record_bytes = 48;
  int checkpoint_ms = 200;
  int repeats = 3;
};

struct Result {
  double seconds = 0;
  std::uint64_t wire_bytes = 0;  // keys and values sent, markers included
};

std::string payload_of(const Flags& f, std::uint64_t n) {
  std::string p(static_cast<std::size_t>(f.batch * f.record_bytes), 'x');
  const std::string tag = std::to_string(n);
  p.replace(0, tag.size(), tag);
  return p;
}

Result run_repartition(const std::string& bootstrap, const std::string& topic_name,
                       const Flags& f) {
  runnel::io::KafkaIO topic;
  topic.bootstrap = bootstrap;
  topic.topic = topic_name;
  const std::uint64_t payloads = f.records / static_cast<std::uint64_t>(f.batch);
  std::atomic<std::uint64_t> wire{0};
  std::vector<std::uint64_t> taken(static_cast<std::size_t>(f.shards), 0);
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < f.shards; ++s) {
    threads.emplace_back([&, s] {
      runnel::io::RepartitionWriter w(topic, s, f.shards, 0);
      auto last = Clock::now();
      std::int64_t id = 0;
      for (std::uint64_t i = static_cast<std::uint64_t>(s); i < payloads;
           i += static_cast<std::uint64_t>(f.shards)) {
        w.send(static_cast<int>(i % static_cast<std::uint64_t>(f.shards)), id + 1,
               payload_of(f, i));
        w.watermark(id + 1, static_cast<std::int64_t>(i));
        if (Clock::now() - last >= std::chrono::milliseconds(f.checkpoint_ms)) {
          w.flush();  // the barrier of checkpoint id + 1
          w.committed(++id);
          last = Clock::now();
        }
      }
      w.end();
      wire += w.bytes_sent();
    });
    threads.emplace_back([&, s] {
      runnel::io::RepartitionReader r(topic, s, f.shards);
      while (!r.ended()) {
        r.poll(20ms);
        runnel::io::RepartitionInbox::Item it;
        while (r.pop(it))
          if (it.kind == runnel::io::RepartitionKind::kData) ++taken[static_cast<std::size_t>(s)];
      }
    });
  }
  for (auto& t : threads) t.join();
  Result res;
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  res.wire_bytes = wire.load();
  std::uint64_t total = 0;
  for (auto t : taken) total += t;
  if (total != payloads)
    throw std::runtime_error(
        fmt::format("repartition: {} payloads taken, {} sent", total, payloads));
  return res;
}

rd_kafka_t* client(rd_kafka_type_t type, const std::string& bootstrap,
                   std::vector<std::pair<const char*, const char*>> props) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  for (auto [k, v] : props) rd_kafka_conf_set(conf, k, v, err, sizeof err);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (rk == nullptr) throw std::runtime_error(err);
  return rk;
}

Result run_plain(const std::string& bootstrap, const std::string& topic, const Flags& f) {
  const std::uint64_t payloads = f.records / static_cast<std::uint64_t>(f.batch);
  std::vector<std::uint64_t> taken(static_cast<std::size_t>(f.shards), 0);
  std::atomic<std::uint64_t> wire{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < f.shards; ++s) {
    threads.emplace_back([&, s] {
      rd_kafka_t* rk = client(RD_KAFKA_PRODUCER, bootstrap, {{"linger.ms", "5"}});
      std::uint64_t bytes = 0;
      for (std::uint64_t i = static_cast<std::uint64_t>(s); i < payloads;
           i += static_cast<std::uint64_t>(f.shards)) {
        const std::string p = payload_of(f, i);
        while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                                 RD_KAFKA_V_PARTITION(static_cast<std::int32_t>(
                                     i % static_cast<std::uint64_t>(f.shards))),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(p.data()), p.size()),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
          rd_kafka_poll(rk, 50);
        bytes += p.size();
        rd_kafka_poll(rk, 0);
      }
      rd_kafka_flush(rk, 60'000);
      rd_kafka_destroy(rk);
      wire += bytes;
    });
    threads.emplace_back([&, s] {
      rd_kafka_t* rk = client(RD_KAFKA_CONSUMER, bootstrap,
                              {{"group.id", "plain"},
                               {"enable.auto.commit", "false"},
                               {"auto.offset.reset", "earliest"},
                               {"fetch.wait.max.ms", "10"}});
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(l, topic.c_str(), s)->offset = RD_KAFKA_OFFSET_BEGINNING;
      rd_kafka_assign(rk, l);
      rd_kafka_topic_partition_list_destroy(l);
      const std::uint64_t want =
          (payloads + static_cast<std::uint64_t>(f.shards) - 1 - static_cast<std::uint64_t>(s)) /
          static_cast<std::uint64_t>(f.shards);
      auto& n = taken[static_cast<std::size_t>(s)];
      while (n < want) {
        if (Clock::now() - start > 120s)
          throw std::runtime_error(
              "plain consumer: records missing after 120 s (deleted by the "
              "development cluster's 5 MB per partition?)");
        rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 20);
        if (m == nullptr) continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++n;
        rd_kafka_message_destroy(m);
      }
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    });
  }
  for (auto& t : threads) t.join();
  Result res;
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  res.wire_bytes = wire.load();
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"A repartition topic against plain librdkafka, on the development cluster"};
  app.add_option("--records", f.records,
                 "records in all (default 300000; under 5 MB per partition: the development "
                 "cluster deletes older records)");
  app.add_option("--shards", f.shards, "shards: writers, readers and partitions (default 4)");
  app.add_option("--batch", f.batch, "records per payload (default 64)");
  app.add_option("--record-bytes", f.record_bytes, "bytes per record (default 48)");
  app.add_option("--checkpoint-ms", f.checkpoint_ms, "checkpoint interval (default 200)");
  app.add_option("--repeats", f.repeats, "runs of each (default 3)");
  CLI11_PARSE(app, argc, argv);
  if (f.shards < 1 || f.batch < 1 || f.record_bytes < 8) {
    fmt::print(stderr, "kafka_repartition_bench: --shards and --batch >= 1, --record-bytes >= 8\n");
    return 2;
  }
  try {
    runnel::io::KafkaDevCluster cluster;
    const double payload_bytes =
        static_cast<double>(f.records / f.batch) * f.batch * f.record_bytes;
    fmt::print("{} records of {} B in payloads of {}, {} shards, checkpoint every {} ms\n",
               f.records, f.record_bytes, f.batch, f.shards, f.checkpoint_ms);
    fmt::print("{:>6} {:>14} {:>14} {:>8} {:>22}\n", "run", "plain rec/s", "repart rec/s", "ratio",
               "extra wire B/record");
    for (int k = 0; k < f.repeats; ++k) {
      const std::string plain_topic = fmt::format("plain-{}", k),
                        rp_topic = fmt::format("rp-{}", k);
      cluster.create_topic(plain_topic, f.shards);
      cluster.create_topic(rp_topic, f.shards);
      const Result plain = run_plain(cluster.bootstrap(), plain_topic, f);
      const Result rp = run_repartition(cluster.bootstrap(), rp_topic, f);
      const double n = static_cast<double>(f.records / f.batch * f.batch);
      fmt::print("{:>6} {:>14.0f} {:>14.0f} {:>7.2f}x {:>22.2f}\n", k + 1, n / plain.seconds,
                 n / rp.seconds, plain.seconds / rp.seconds,
                 (static_cast<double>(rp.wire_bytes) - payload_bytes) / n);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "kafka_repartition_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}

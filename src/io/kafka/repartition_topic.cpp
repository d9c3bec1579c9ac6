#include "io/kafka/repartition_topic.hpp"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <stdexcept>

#include "core/log.hpp"
#include "io/kafka/kafka_client.hpp"

namespace runnel::io {
namespace {

std::uint64_t new_run_id() {
  std::random_device rd;
  const auto now =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t id =
      (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ (now * 0x9e3779b97f4a7c15ull);
  return id == 0 ? 1 : id;
}

}  // namespace

struct RepartitionWriter::Impl {
  kafka_client::Handle rk;
  rd_kafka_topic_t* topic = nullptr;
  std::string where;
  int producer = 0;
  int partitions = 0;
  std::uint64_t run = 0;
  std::atomic<std::uint64_t> bytes{0};
  // Delivery reports run in whichever thread polls.
  std::mutex mu;
  std::uint64_t failed = 0;
  std::string first_error;

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->_private != nullptr)
      static_cast<InFlight*>(m->_private)->records.fetch_sub(1, std::memory_order_acq_rel);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    auto* impl = static_cast<Impl*>(opaque);
    std::lock_guard lock(impl->mu);
    if (impl->failed++ == 0) impl->first_error = rd_kafka_err2str(m->err);
  }
  static void hook(rd_kafka_conf_t* conf) { rd_kafka_conf_set_dr_msg_cb(conf, on_delivery); }

  void produce(int partition, const RepartitionHeader& h, std::string_view payload,
               InFlight* in_flight = nullptr) {
    const std::string key = h.encode();
    while (true) {
      if (in_flight) in_flight->records.fetch_add(1, std::memory_order_acq_rel);
      rd_kafka_resp_err_t e =
          rd_kafka_producev(rk.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                            RD_KAFKA_V_VALUE(const_cast<char*>(payload.data()), payload.size()),
                            RD_KAFKA_V_OPAQUE(in_flight), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (in_flight) in_flight->records.fetch_sub(1, std::memory_order_acq_rel);
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        throw std::runtime_error(
            fmt::format("repartition, {}: cannot send: {}", where, rd_kafka_err2str(e)));
      rd_kafka_poll(rk.get(), 50);  // wait for acknowledgements to make room
    }
    bytes.fetch_add(key.size() + payload.size(), std::memory_order_relaxed);
  }

  void to_every_partition(RepartitionKind kind, std::int64_t epoch, std::int64_t value) {
    RepartitionHeader h{kind, static_cast<std::uint32_t>(producer), run, epoch, value};
    for (int p = 0; p < partitions; ++p) produce(p, h, {});
  }

  void flush(InFlight* in_flight) {
    constexpr int kFlushMs = 60'000;
    if (in_flight == nullptr) {
      if (rd_kafka_flush(rk.get(), kFlushMs) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        throw std::runtime_error(fmt::format(
            "repartition, {}: {} records not acknowledged within {} s (is the cluster up?)", where,
            rd_kafka_outq_len(rk.get()), kFlushMs / 1000));
    } else {
      // Not rd_kafka_flush: it waits for the whole queue, which the other
      // senders keep filling.
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(kFlushMs);
      while (in_flight->records.load(std::memory_order_acquire) > 0) {
        if (std::chrono::steady_clock::now() >= until)
          throw std::runtime_error(fmt::format(
              "repartition, {}: {} records not acknowledged within {} s (is the cluster up?)",
              where, in_flight->records.load(), kFlushMs / 1000));
        rd_kafka_poll(rk.get(), 5);
      }
    }
    std::lock_guard lock(mu);
    if (failed > 0)
      throw std::runtime_error(
          fmt::format("repartition, {}: {} records not delivered: {}", where, failed, first_error));
  }
};

RepartitionWriter::RepartitionWriter(const KafkaIO& topic, int producer, int partitions,
                                     std::int64_t restored_checkpoint)
    : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.where = kafka_client::where(topic);
  m.producer = producer;
  m.partitions = partitions;
  m.run = new_run_id();
  // Idempotence keeps each partition's records in the order sent through
  // retries: a marker never overtakes the records before it.
  m.rk = kafka_client::make_client(
      RD_KAFKA_PRODUCER, topic,
      {{"linger.ms", "5"}, {"enable.idempotence", "true"}, {"log_level", "3"}}, &Impl::hook, &m);
  m.topic = rd_kafka_topic_new(m.rk.get(), topic.topic.c_str(), nullptr);
  kafka_client::warm_up(m.rk.get(), m.topic, topic.metadata_wait);
  m.to_every_partition(RepartitionKind::kRun, 0, restored_checkpoint);
}

RepartitionWriter::~RepartitionWriter() {
  // A Commit sent last (a stopping shard's final checkpoint) should reach
  // the readers now, not when the shard runs again; a bounded wait.
  rd_kafka_flush(impl_->rk.get(), 5000);
  if (impl_->topic) rd_kafka_topic_destroy(impl_->topic);
}

void RepartitionWriter::send(int partition, std::int64_t epoch, std::string_view payload,
                             InFlight* in_flight) {
  RepartitionHeader h{RepartitionKind::kData, static_cast<std::uint32_t>(impl_->producer),
                      impl_->run, epoch, 0};
  impl_->produce(partition, h, payload, in_flight);
  rd_kafka_poll(impl_->rk.get(), 0);
}

void RepartitionWriter::watermark(std::int64_t epoch, std::int64_t time) {
  impl_->to_every_partition(RepartitionKind::kWatermark, epoch, time);
}

void RepartitionWriter::flush(InFlight* in_flight) { impl_->flush(in_flight); }

void RepartitionWriter::committed(std::int64_t id) {
  impl_->to_every_partition(RepartitionKind::kCommit, id, id);
  rd_kafka_poll(impl_->rk.get(), 0);
}

void RepartitionWriter::end() {
  // End covers every record of the run: none may be missing behind it.
  impl_->flush(nullptr);
  impl_->to_every_partition(RepartitionKind::kEnd, 0, 0);
  impl_->flush(nullptr);
}

std::uint64_t RepartitionWriter::run() const { return impl_->run; }
std::uint64_t RepartitionWriter::bytes_sent() const { return impl_->bytes.load(); }

struct RepartitionReader::Client {
  kafka_client::Handle rk;
};

RepartitionReader::RepartitionReader(const KafkaIO& topic, int partition, int producers,
                                     std::size_t buffer_bytes)
    : topic_(topic),
      partition_(partition),
      inbox_(producers, buffer_bytes),
      client_(std::make_unique<Client>()) {
  client_->rk = kafka_client::make_client(RD_KAFKA_CONSUMER, topic,
                                          {{"group.id", "runnel-repartition-reader"},
                                           {"enable.auto.commit", "false"},
                                           {"enable.auto.offset.store", "false"},
                                           {"auto.offset.reset", "error"},
                                           {"enable.partition.eof", "false"},
                                           {"fetch.wait.max.ms", "10"},
                                           {"log_level", "3"}});
}

RepartitionReader::~RepartitionReader() {
  if (client_ && client_->rk) rd_kafka_assign(client_->rk.get(), nullptr);
}

void RepartitionReader::restore(std::string_view snapshot) {
  inbox_.restore(snapshot);
  assigned_from_ = -1;  // read from the restored position
}

void RepartitionReader::assign(std::int64_t offset) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic_.topic.c_str(), partition_)->offset =
      offset == 0 ? RD_KAFKA_OFFSET_BEGINNING : offset;
  // A partition assigned again would keep its fetch position: unassign first.
  if (assigned_from_ >= 0) rd_kafka_assign(client_->rk.get(), nullptr);
  rd_kafka_resp_err_t e = rd_kafka_assign(client_->rk.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(fmt::format("repartition, {} partition {}: cannot read: {}",
                                         kafka_client::where(topic_), partition_,
                                         rd_kafka_err2str(e)));
  assigned_from_ = offset;
  sought_ = offset > 0;
}

void RepartitionReader::poll(std::chrono::milliseconds wait) {
  if (assigned_from_ < 0) assign(inbox_.read_from());
  rd_kafka_t* rk = client_->rk.get();
  int timeout = static_cast<int>(wait.count());
  // Reads no further while many records wait to be popped.
  for (int n = 0; n < 10'000 && inbox_.ready() < 10'000; ++n) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, timeout);
    if (m == nullptr) return;
    timeout = 0;
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      const std::string why = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      throw std::runtime_error(fmt::format(
          "repartition, {} partition {}: cannot read from offset {}: {} (deleted by the topic's "
          "retention, or the topic was made anew)",
          kafka_client::where(topic_), partition_, inbox_.read_from(), why));
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && errors_++ % 100 == 0)
      log_warn(fmt::format("repartition, {} partition {}: {} (retrying)",
                           kafka_client::where(topic_), partition_, rd_kafka_message_errstr(m)));
    const bool record = m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->partition == partition_;
    // After a seek back, what was fetched before it may still come: wait
    // for the record sought.
    if (record && sought_ && m->offset != inbox_.read_from()) {
      rd_kafka_message_destroy(m);
      continue;
    }
    if (record) sought_ = false;
    if (record && m->offset > inbox_.read_from()) {
      // Offsets of a topic without transactions or compaction are
      // contiguous: a jump means the cluster deleted records not read yet.
      const std::int64_t expected = inbox_.read_from(), got = m->offset;
      rd_kafka_message_destroy(m);
      throw std::runtime_error(fmt::format(
          "repartition, {} partition {}: records {}..{} were deleted before they were read (the "
          "topic's retention is too short; the development cluster keeps 5 MB per partition)",
          kafka_client::where(topic_), partition_, expected, got - 1));
    }
    const std::int64_t offset = m->offset;
    if (record) {
      inbox_.take(offset,
                  std::string_view(static_cast<const char*>(m->key), m->key ? m->key_len : 0),
                  std::string_view(static_cast<const char*>(m->payload), m->len));
    }
    rd_kafka_message_destroy(m);
    // The inbox must read records again that it could not keep (this one
    // among them, perhaps).
    if (record && inbox_.read_from() <= offset) {
      assign(inbox_.read_from());
      return;
    }
  }
}

}  // namespace runnel::io

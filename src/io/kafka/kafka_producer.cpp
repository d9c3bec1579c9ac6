// KafkaProducer (see include/runnel/detail/kafka_ops.hpp): librdkafka's
// producer, with its delivery reports counted, so a record the broker did not
// take fails the checkpoint or the end of the job instead of vanishing.
#include <fmt/format.h>

#include <stdexcept>

#include "io/kafka/kafka_client.hpp"
#include "runnel/detail/kafka_ops.hpp"

namespace runnel::detail {

struct KafkaProducer::Impl {
  io::kafka_client::Handle rk;
  rd_kafka_topic_t* topic = nullptr;
  std::string where;
  // Delivery reports are served by poll() and flush(), on the sink's thread.
  std::uint64_t failed = 0;
  std::string first_error;
};

namespace {
void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  auto* impl = static_cast<KafkaProducer::Impl*>(opaque);
  if (impl->failed++ == 0) impl->first_error = rd_kafka_err2str(m->err);
}
void hook(rd_kafka_conf_t* conf) { rd_kafka_conf_set_dr_msg_cb(conf, on_delivery); }
}  // namespace

KafkaProducer::KafkaProducer(const io::KafkaIO& io) : impl_(std::make_unique<Impl>()) {
  impl_->where = io::kafka_client::where(io);
  impl_->rk = io::kafka_client::make_client(
      RD_KAFKA_PRODUCER, io, {{"linger.ms", "5"}, {"log_level", "3"}}, hook, impl_.get());
  impl_->topic = rd_kafka_topic_new(impl_->rk.get(), io.topic.c_str(), nullptr);
  io::kafka_client::warm_up(impl_->rk.get(), impl_->topic, io.metadata_wait);
}

KafkaProducer::~KafkaProducer() {
  if (impl_->topic) rd_kafka_topic_destroy(impl_->topic);
}

void KafkaProducer::send(std::string_view key, std::string_view value, Timestamp time) {
  while (true) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        impl_->rk.get(), RD_KAFKA_V_RKT(impl_->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_TIMESTAMP(time > 0 ? time : 0), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw std::runtime_error(
          io::kafka_client::send_error(impl_->where, e, key.size() + value.size()));
    // The local queue is full: wait for acknowledgements to make room.
    rd_kafka_poll(impl_->rk.get(), 50);
  }
}

void KafkaProducer::poll() { rd_kafka_poll(impl_->rk.get(), 0); }

void KafkaProducer::flush() {
  constexpr int kFlushMs = 60'000;
  rd_kafka_resp_err_t e = rd_kafka_flush(impl_->rk.get(), kFlushMs);
  if (e == RD_KAFKA_RESP_ERR__TIMED_OUT)
    throw std::runtime_error(
        fmt::format("Kafka sink, {}: {} records not acknowledged within {} s (is the cluster up?)",
                    impl_->where, rd_kafka_outq_len(impl_->rk.get()), kFlushMs / 1000));
  if (impl_->failed > 0)
    throw std::runtime_error(fmt::format("Kafka sink, {}: {} records not delivered: {}",
                                         impl_->where, impl_->failed, impl_->first_error));
}

}  // namespace runnel::detail

#include "runnel/detail/descriptor_nodes.hpp"

namespace runnel::detail {

NamedOperator text_source(const io::TextIO& in) {
  if (io::is_kafka_url(in.path)) {
    io::KafkaIO k = io::parse_kafka_url(in.path);
    k.bounded_read = in.kafka_bounded;
    k.properties = in.kafka_properties;
    return {"read kafka '" + k.topic + "'", make_kafka_source(k, true)};
  }
  if (in.watching) {
    return {"watch text '" + in.path + "'",
            std::make_shared<WatchTextSourceOp>(in.path, in.poll_interval, in.idle_stop)};
  }
  return {"read text '" + in.path + "'", std::make_shared<TextSourceOp>(in.path)};
}

}  // namespace runnel::detail

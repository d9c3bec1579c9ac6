#include "runnel/detail/descriptor_nodes.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace runnel::io {

RecordFormat parse_record_format(const std::string& name, const std::string& flag) {
  if (name == "csv") return RecordFormat::kCsv;
  if (name == "json") return RecordFormat::kJson;
  throw UserError(flag + " '" + name + "': the formats are csv and json");
}

RecordFormat record_format_of(const std::string& path) {
  if (is_kafka_url(path)) return RecordFormat::kCsv;
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".json" || ext == ".jsonl" || ext == ".ndjson" ? RecordFormat::kJson
                                                               : RecordFormat::kCsv;
}

const char* record_format_name(RecordFormat f) { return f == RecordFormat::kJson ? "json" : "csv"; }

}  // namespace runnel::io

namespace runnel::detail {

NamedOperator text_source(const io::TextIO& in) {
  if (io::is_kafka_url(in.path)) {
    io::KafkaIO k = io::kafka_url_input(in.path, in.kafka_bounded, in.kafka_properties,
                                        in.kafka_wait_for_topic);
    return {"read kafka '" + k.topic + "'", make_kafka_source(k, true)};
  }
  if (in.watching) {
    return {"watch text '" + in.path + "'",
            std::make_shared<WatchTextSourceOp>(in.path, in.poll_interval, in.idle_stop)};
  }
  return {"read text '" + in.path + "'", std::make_shared<TextSourceOp>(in.path)};
}

}  // namespace runnel::detail

#pragma once
// The source or sink operator an IO descriptor names, with the node's name.
// Text and CSV descriptors take a path or a kafka:// url (so `--input` and
// `--output` may be either): the connector decides which, not the API.
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "runnel/detail/file_io_ops.hpp"
#include "runnel/detail/kafka_ops.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/io.hpp"
#include "runnel/kafka.hpp"

namespace runnel::detail {

struct NamedOperator {
  std::string name;
  std::shared_ptr<const Operator> op;
};

// Lines of files (read once, or a watched directory) or record values of a topic.
NamedOperator text_source(const io::TextIO& in);

// One line per element into files, or one record value per element into a
// topic. `raw`: strings as they are (text); else each element as CSV.
template <class T>
NamedOperator line_sink(const std::string& path, const char* ext, bool raw, bool overwrite,
                        bool marker, const std::map<std::string, std::string>& kafka_properties,
                        bool kafka_exactly_once) {
  if (io::is_kafka_url(path)) {
    io::KafkaIO k = io::parse_kafka_url(path);
    k.properties = kafka_properties;
    k.exactly_once_write = kafka_exactly_once;
    return {"write kafka '" + k.topic + "'", std::make_shared<KafkaSinkOp<T, false>>(k, raw)};
  }
  return {std::string("write ") + (raw ? "text" : "csv") + " '" + path + "'",
          std::make_shared<FileSinkOp<T>>(OutputSpec{path, ext, overwrite, marker}, raw)};
}

// `overwrite_default`: the pipeline's --overwrite.
template <class T>
NamedOperator sink_for(const io::TextIO& out, bool overwrite_default) {
  return line_sink<T>(out.path, "txt", true, out.overwrite_output || overwrite_default,
                      out.success_marker, out.kafka_properties, out.kafka_exactly_once);
}
template <class T>
NamedOperator sink_for(const io::CsvIO<void>& out, bool overwrite_default) {
  return line_sink<T>(out.path, "csv", false, out.overwrite_output || overwrite_default,
                      out.success_marker, out.kafka_properties, out.kafka_exactly_once);
}

}  // namespace runnel::detail

#pragma once
// The source or sink operator an IO descriptor names, with the node's name.
// Text, CSV and JSON descriptors take a path or a kafka:// url (so `--input` and
// `--output` may be either): the connector decides which, not the API.
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "runnel/detail/file_io_ops.hpp"
#include "runnel/detail/kafka_ops.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/error.hpp"
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
// topic, in `format` (text: strings as they are).
template <class T>
NamedOperator line_sink(const std::string& path, LineFormat format, bool overwrite, bool marker,
                        const std::map<std::string, std::string>& kafka_properties,
                        bool kafka_exactly_once) {
  if (format == LineFormat::kJson && !json::writable_v<T>)
    throw UserError("'" + path +
                    "': these records have no JSON form (a struct needs RUNNEL_FIELDS); write "
                    "them as CSV");
  if (format != LineFormat::kJson && !csv::writable_v<T>)
    throw UserError("'" + path + "': these records have no CSV form; write them as JSON");
  const char* name = format == LineFormat::kText  ? "text"
                     : format == LineFormat::kCsv ? "csv"
                                                  : "json";
  if (io::is_kafka_url(path)) {
    io::KafkaIO k = io::parse_kafka_url(path);
    k.properties = kafka_properties;
    k.exactly_once_write = kafka_exactly_once;
    std::shared_ptr<const Operator> op;
    if constexpr (json::writable_v<T>) {
      if (format == LineFormat::kJson)
        op = std::make_shared<KafkaSinkOp<T, false, io::KafkaFormat::kJson>>(k, false);
    }
    if (!op) op = std::make_shared<KafkaSinkOp<T, false>>(k, format == LineFormat::kText);
    return {"write kafka '" + k.topic + "'", std::move(op)};
  }
  const char* ext = format == LineFormat::kText  ? "txt"
                    : format == LineFormat::kCsv ? "csv"
                                                 : "jsonl";
  return {std::string("write ") + name + " '" + path + "'",
          std::make_shared<FileSinkOp<T>>(OutputSpec{path, ext, overwrite, marker}, format)};
}

// `overwrite_default`: the pipeline's --overwrite.
template <class T>
NamedOperator sink_for(const io::TextIO& out, bool overwrite_default) {
  return line_sink<T>(out.path, LineFormat::kText, out.overwrite_output || overwrite_default,
                      out.success_marker, out.kafka_properties, out.kafka_exactly_once);
}
template <class T>
NamedOperator sink_for(const io::RecordsIO<void>& out, bool overwrite_default) {
  return line_sink<T>(out.path,
                      out.format == io::RecordFormat::kJson ? LineFormat::kJson : LineFormat::kCsv,
                      out.overwrite_output || overwrite_default, out.success_marker,
                      out.kafka_properties, out.kafka_exactly_once);
}

// The file source of typed records in the descriptor's format.
template <class T>
std::shared_ptr<const Operator> record_file_source(const io::RecordsIO<T>& in) {
  if constexpr (json::parsable_v<T>) {
    if (in.format == io::RecordFormat::kJson)
      return std::make_shared<RecordFileSourceOp<T, io::RecordFormat::kJson>>(in.path, false);
  }
  if constexpr (csv::parsable_v<T>) {
    if (in.format == io::RecordFormat::kCsv)
      return std::make_shared<RecordFileSourceOp<T, io::RecordFormat::kCsv>>(in.path, in.header);
  }
  throw UserError(std::string("'") + in.path + "': these records have no " +
                  io::record_format_name(in.format) + " form to read");
}

}  // namespace runnel::detail

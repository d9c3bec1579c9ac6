#pragma once
// Where data comes from and goes to. The same descriptor reads and writes:
//   p.read(io::text("logs/*.txt"))        every line, as std::string
//   p.read(io::text("inbox/").watch())    every line of each file that appears in
//                                         inbox/, as it appears (unbounded)
//   p.read(io::csv<Reading>("in/*.csv"))  each line parsed into a Reading;
//                                         bad lines go to p.dead_letters()
//   c.write(io::text("out"))              one line per record, out/part-NNNNN.txt
//   p.read(io::json<Reading>("in/*.jsonl")) one JSON object per line
//   c.write(io::csv("out"))               CSV records, out/part-NNNNN.csv
//   c.write(io::json("out"))              JSON lines, out/part-NNNNN.jsonl
// A read path is a file, a directory (its files) or a glob. A write path is a
// directory; it must be empty or absent unless .overwrite() is set.
// Either may be a Kafka topic, kafka://HOST:PORT/TOPIC (see runnel/kafka.hpp):
// its record values are the lines.
#include <chrono>
#include <map>
#include <string>

namespace runnel::io {

struct TextIO {
  std::string path;
  bool overwrite_output = false;
  bool success_marker = true;
  // Reading a watched directory: an unbounded source (streaming mode).
  bool watching = false;
  std::chrono::milliseconds poll_interval{200};
  std::chrono::milliseconds idle_stop{0};  // 0 = never stop
  // kafka:// paths: read the topic only up to its end offsets at the start
  // (bounded), and librdkafka properties for the client.
  bool kafka_bounded = false;
  bool kafka_exactly_once = false;  // writing to a kafka:// path: through transactions
  // Reading a kafka:// path whose topic does not exist yet: wait for it (a
  // warning every 10 s) instead of failing (see KafkaIO::wait_for_topic).
  bool kafka_wait_for_topic = false;
  std::map<std::string, std::string> kafka_properties{};
  TextIO& overwrite(bool on = true) {
    overwrite_output = on;
    return *this;
  }
  // Reading: `path` is a directory watched for new files, each read once,
  // whole, when it appears (move finished files in; names starting with '.'
  // or '_' are ignored). Files already there are read first.
  TextIO& watch(std::chrono::milliseconds poll = std::chrono::milliseconds(200)) {
    watching = true;
    poll_interval = poll;
    return *this;
  }
  // ... and stop once no new file has appeared for this long (a demo that ends).
  TextIO& stop_when_idle(std::chrono::milliseconds idle) {
    idle_stop = idle;
    return *this;
  }
};

// How typed records are laid out: one CSV line, or one JSON object (see
// runnel/csv.hpp and runnel/json.hpp), per line of a file or per record value
// of a topic.
enum class RecordFormat { kCsv, kJson };

// Typed records in files or in a topic. T names the record type when reading;
// writing names none (the collection's type is written).
template <class T = void>
struct RecordsIO {
  std::string path;
  bool overwrite_output = false;
  bool success_marker = true;
  bool header = false;  // reading CSV files: skip each file's first line (a topic has none)
  // kafka:// paths: each record value is one record. The properties go to
  // the client. Writing: through transactions (exactly once). Reading: only
  // up to the end offsets at the start (bounded); values that do not parse go
  // to dead_letters() with topic-partition, offset and reason.
  std::map<std::string, std::string> kafka_properties{};
  bool kafka_exactly_once = false;
  bool kafka_bounded = false;
  bool kafka_wait_for_topic = false;  // reading: as TextIO's
  RecordFormat format = RecordFormat::kCsv;
  RecordsIO& overwrite(bool on = true) {
    overwrite_output = on;
    return *this;
  }
  RecordsIO& skip_header(bool on = true) {
    header = on;
    return *this;
  }
  RecordsIO& without_success_marker() {
    success_marker = false;
    return *this;
  }
};
template <class T = void>
using CsvIO = RecordsIO<T>;

inline TextIO text(std::string path) { return TextIO{std::move(path)}; }

// io::csv<T>(glob) to read records of type T; io::csv(dir) to write. The
// path may also be kafka://HOST:PORT/TOPIC, one CSV line per record value.
template <class T = void>
RecordsIO<T> csv(std::string path) {
  RecordsIO<T> io{std::move(path)};
  io.format = RecordFormat::kCsv;
  return io;
}
// The same with JSON lines (files: one object per line, written as
// part-NNNNN.jsonl) or JSON record values.
template <class T = void>
RecordsIO<T> json(std::string path) {
  RecordsIO<T> io{std::move(path)};
  io.format = RecordFormat::kJson;
  return io;
}

// The format a --format flag names ("csv" or "json"; a UserError otherwise),
// and the one a path's extension implies (.json, .jsonl, .ndjson: JSON; any
// other, a directory or a topic: CSV).
RecordFormat parse_record_format(const std::string& name, const std::string& flag);
RecordFormat record_format_of(const std::string& path);
const char* record_format_name(RecordFormat f);

}  // namespace runnel::io

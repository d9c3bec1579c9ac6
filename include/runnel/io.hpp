#pragma once
// Where data comes from and goes to. The same descriptor reads and writes:
//   p.read(io::text("logs/*.txt"))        every line, as std::string
//   p.read(io::text("inbox/").watch())    every line of each file that appears in
//                                         inbox/, as it appears (unbounded)
//   p.read(io::csv<Reading>("in/*.csv"))  each line parsed into a Reading;
//                                         bad lines go to p.dead_letters()
//   c.write(io::text("out"))              one line per record, out/part-NNNNN.txt
//   c.write(io::csv("out"))               CSV records, out/part-NNNNN.csv
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

template <class T = void>
struct CsvIO {
  std::string path;
  bool overwrite_output = false;
  bool success_marker = true;
  bool header = false;                                    // reading: skip each file's first line
  std::map<std::string, std::string> kafka_properties{};  // writing to a kafka:// path
  bool kafka_exactly_once = false;                        // ... through transactions
  CsvIO& overwrite(bool on = true) {
    overwrite_output = on;
    return *this;
  }
  CsvIO& skip_header(bool on = true) {
    header = on;
    return *this;
  }
  CsvIO& without_success_marker() {
    success_marker = false;
    return *this;
  }
};

inline TextIO text(std::string path) { return TextIO{std::move(path)}; }

// io::csv<T>(glob) to read records of type T; io::csv(dir) to write.
template <class T = void>
CsvIO<T> csv(std::string path) {
  return CsvIO<T>{std::move(path)};
}

}  // namespace runnel::io

#pragma once
// run_main: a user's program gets the runnel CLI's flags and behaviour in one call.
//
//   int main(int argc, char** argv) {
//     return runnel::run_main(argc, argv, [](runnel::Pipeline& p, const runnel::Options& o) {
//       p.read(o.text_input()).map(...).write(o.text_output());
//     });
//   }
//
// Typed records: p.read(o.source<Sale>()) ... .write(o.sink()) reads and
// writes CSV or JSON lines (--format, --output-format) in files or topics.
//
// Flags: --input, --output, --format, --output-format, --parallelism, --memory-budget,
// --batch-size,
// --temp-dir, --overwrite, --no-progress, --mode, --explain, --help, the
// checkpoint and state flags, and for Kafka --bounded and --kafka-property. Records a source
// rejects are written to OUTPUT/_rejected/ and counted in the summary.
// A program's own flags: runnel::ProgramFlags (program_flags.hpp), passed to run_main.
// Exit codes: 0 success, 2 a user error (message on stderr), 1 an internal failure.
#include <functional>
#include <map>
#include <string>

#include "runnel/io.hpp"
#include "runnel/pipeline.hpp"

namespace runnel {

class ProgramFlags;

struct Options {
  std::string input;          // --input: file, directory, glob or kafka://HOST:PORT/TOPIC
  std::string output;         // --output: directory or kafka://HOST:PORT/TOPIC
  bool bounded = false;       // --bounded: a Kafka input is read up to its end offsets at start
  bool exactly_once = false;  // --kafka-exactly-once: a Kafka output through transactions
  std::map<std::string, std::string> kafka_properties;  // --kafka-property key=value
  // --format csv|json: how source() reads records (and sink() writes them,
  // unless --output-format says otherwise). Empty: from --input's extension
  // (.json, .jsonl, .ndjson: JSON), else CSV; sink() writes CSV.
  std::string format;
  std::string output_format;  // --output-format csv|json
  // --dead-letters: where rejected records go, a directory (CSV files) or
  // kafka://HOST:PORT/TOPIC (one JSON object per record: source, line or
  // offset, reason, record). Empty: OUTPUT/_rejected when --output is a
  // directory, else the log.
  std::string dead_letters;
  // --wait-for-topic: a kafka:// --input whose topic does not exist yet is
  // waited for (a warning every 10 s) instead of failing at the start.
  bool wait_for_topic = false;
  PipelineOptions pipeline;

  // Records of type T from --input, in --format: files or a topic (one
  // record per line or per record value); those that do not parse go to the
  // dead letters (OUTPUT/_rejected/).
  template <class T>
  io::RecordsIO<T> source() const {
    io::RecordsIO<T> in{input};
    in.format =
        format.empty() ? io::record_format_of(input) : io::parse_record_format(format, "--format");
    in.kafka_bounded = bounded;
    in.kafka_wait_for_topic = wait_for_topic;
    in.kafka_properties = kafka_properties;
    return in;
  }
  // To --output in --output-format (else --format, else CSV): files
  // OUTPUT/part-NNNNN.csv or .jsonl, or record values of a topic.
  io::RecordsIO<> sink() const {
    const io::RecordFormat f = !output_format.empty()
                                   ? io::parse_record_format(output_format, "--output-format")
                               : !format.empty() ? io::parse_record_format(format, "--format")
                                                 : io::RecordFormat::kCsv;
    io::RecordsIO<> out{output};
    out.format = f;
    out.kafka_properties = kafka_properties;
    out.kafka_exactly_once = exactly_once;
    return out;
  }

  io::TextIO text_input() const {
    io::TextIO in = io::text(input);
    in.kafka_bounded = bounded;
    in.kafka_wait_for_topic = wait_for_topic;
    in.kafka_properties = kafka_properties;
    return in;
  }
  // CSV records of type T from files or a topic (one line per record value),
  // whatever --format says.
  template <class T>
  io::CsvIO<T> csv_input() const {
    io::CsvIO<T> in = io::csv<T>(input);
    in.kafka_bounded = bounded;
    in.kafka_wait_for_topic = wait_for_topic;
    in.kafka_properties = kafka_properties;
    return in;
  }
  io::TextIO text_output() const {
    io::TextIO out = io::text(output);
    out.kafka_properties = kafka_properties;
    out.kafka_exactly_once = exactly_once;
    return out;
  }
  io::CsvIO<> csv_output() const {
    io::CsvIO<> out = io::csv(output);
    out.kafka_properties = kafka_properties;
    out.kafka_exactly_once = exactly_once;
    return out;
  }
};

using JobBuilder = std::function<void(Pipeline&, const Options&)>;

int run_main(int argc, char** argv, const JobBuilder& build, const std::string& description = "");
// With the program's own flags (program_flags.hpp), parsed with runnel's.
int run_main(int argc, char** argv, ProgramFlags& flags, const JobBuilder& build,
             const std::string& description = "");

}  // namespace runnel

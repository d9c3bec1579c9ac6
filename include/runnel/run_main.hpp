#pragma once
// run_main: a user's program gets the runnel CLI's flags and behaviour in one call.
//
//   int main(int argc, char** argv) {
//     return runnel::run_main(argc, argv, [](runnel::Pipeline& p, const runnel::Options& o) {
//       p.read(o.text_input()).map(...).write(o.text_output());
//     });
//   }
//
// Flags: --input, --output, --parallelism, --memory-budget, --batch-size,
// --temp-dir, --overwrite, --no-progress, --mode, --explain, --help, the
// checkpoint and state flags, and for Kafka --bounded and --kafka-property. Records a source
// rejects are written to OUTPUT/_rejected/ and counted in the summary.
// Exit codes: 0 success, 2 a user error (message on stderr), 1 an internal failure.
#include <functional>
#include <map>
#include <string>

#include "runnel/io.hpp"
#include "runnel/pipeline.hpp"

namespace runnel {

struct Options {
  std::string input;          // --input: file, directory, glob or kafka://HOST:PORT/TOPIC
  std::string output;         // --output: directory or kafka://HOST:PORT/TOPIC
  bool bounded = false;       // --bounded: a Kafka input is read up to its end offsets at start
  bool exactly_once = false;  // --kafka-exactly-once: a Kafka output through transactions
  std::map<std::string, std::string> kafka_properties;  // --kafka-property key=value
  PipelineOptions pipeline;

  io::TextIO text_input() const {
    io::TextIO in = io::text(input);
    in.kafka_bounded = bounded;
    in.kafka_properties = kafka_properties;
    return in;
  }
  template <class T>
  io::CsvIO<T> csv_input() const {
    return io::csv<T>(input);
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

}  // namespace runnel

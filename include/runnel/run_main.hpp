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
// --temp-dir, --overwrite, --no-progress, --mode, --explain, --help. Records a source
// rejects are written to OUTPUT/_rejected/ and counted in the summary.
// Exit codes: 0 success, 2 a user error (message on stderr), 1 an internal failure.
#include <functional>
#include <string>

#include "runnel/io.hpp"
#include "runnel/pipeline.hpp"

namespace runnel {

struct Options {
  std::string input;   // --input: file, directory or glob
  std::string output;  // --output: directory
  PipelineOptions pipeline;

  io::TextIO text_input() const { return io::text(input); }
  template <class T>
  io::CsvIO<T> csv_input() const {
    return io::csv<T>(input);
  }
  io::TextIO text_output() const { return io::text(output); }
  io::CsvIO<> csv_output() const { return io::csv(output); }
};

using JobBuilder = std::function<void(Pipeline&, const Options&)>;

int run_main(int argc, char** argv, const JobBuilder& build, const std::string& description = "");

}  // namespace runnel

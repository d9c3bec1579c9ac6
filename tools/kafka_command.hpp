#pragma once
// `runnel kafka dev|produce|consume|topics`: a development Kafka cluster and
// small hands-on tools against any cluster.
#include <CLI/CLI.hpp>

#include <functional>

namespace runnel::tools {

// Adds `kafka` and its subcommands to `app`; the returned function runs the
// one that was parsed (exit code), or returns -1 if none was.
std::function<int()> add_kafka_commands(CLI::App& app);

}  // namespace runnel::tools

#pragma once
// `runnel kafka dev|produce|consume|topics`: a development Kafka cluster and
// small hands-on tools against any cluster.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "runnel/kafka.hpp"

namespace runnel::tools {

// A cluster and topic with the user's --kafka-property key=value flags.
io::KafkaIO kafka_target(const std::string& bootstrap, const std::string& topic,
                         const std::vector<std::string>& properties);

// Runs a command: a UserError is printed and exits 2, another failure 1.
int run_command(const std::function<int()>& command);

// Adds `kafka` and its subcommands to `app`; the returned function runs the
// one that was parsed (exit code), or returns -1 if none was.
std::function<int()> add_kafka_commands(CLI::App& app);

}  // namespace runnel::tools

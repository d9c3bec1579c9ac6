#pragma once
// `runnel nexmark generate|run|queries`: the Nexmark event generator and the
// queries of examples/nexmark as jobs.
#include <CLI/CLI.hpp>
#include <functional>

namespace runnel::tools {

// Adds `nexmark` and its subcommands to `app`; the returned function runs the
// one that was parsed (exit code), or returns -1 if none was.
std::function<int()> add_nexmark_commands(CLI::App& app);

}  // namespace runnel::tools

#pragma once
// What ProgramFlags holds: each flag's registration with CLI11 (kept out of
// the public header) and its value as text.
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runnel/program_flags.hpp"

namespace runnel {

struct ProgramFlags::Impl {
  struct Flag {
    std::string name;
    std::function<void(CLI::App&)> add;  // onto the program flags' group
    std::function<std::string()> text;
    std::string default_text;
  };
  std::vector<Flag> flags;
  std::vector<std::shared_ptr<void>> values;  // each flag's value, at a stable address
  std::string problem;  // a flag declared wrongly: reported when the command line is parsed

  // Adds the flags to `app` in a group of their own; a UserError names a
  // flag that is declared wrongly or clashes with one `app` has.
  void register_on(CLI::App& app) const;
  // The flags whose value is not their default, flag -> value: what the
  // members of a job must agree on (so a new version of a program that
  // adds a flag still joins a job of the old one while it is left alone).
  std::map<std::string, std::string> changed() const;
};

// Parses argv into `app`: nullopt to go on, else the exit code to return (0
// after --help or --version, printed; 2 after a refused flag, logged).
std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv);

}  // namespace runnel

#include "runnel/run_main.hpp"

#include <string>

#include "api/job_cli.hpp"
#include "api/program_flags_impl.hpp"
#include "core/log.hpp"
#include "runnel/error.hpp"
#include "runnel/version.hpp"

namespace runnel {

namespace {

int run_main_with(int argc, char** argv, ProgramFlags* program, const JobBuilder& build,
                  const std::string& description) {
  std::string name = argc > 0 ? argv[0] : "job";
  auto slash = name.find_last_of('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  CLI::App app(description.empty() ? "a runnel job" : description);
  app.set_version_flag("--version", name + " (runnel " + version() + ")");
  api::JobFlags flags;
  api::add_job_flags(app, flags);
  try {
    // Registered last: a program flag must not shadow one added after it.
    if (program != nullptr) program->impl().register_on(app);
  } catch (const UserError& e) {
    log_error(e.what());
    return 2;
  }
  if (auto rc = parse_command_line(app, argc, argv)) return *rc;
  if (program != nullptr) flags.program_flags = program->impl().changed();
  return api::run_job(name, flags, build, false);
}

}  // namespace

int run_main(int argc, char** argv, const JobBuilder& build, const std::string& description) {
  return run_main_with(argc, argv, nullptr, build, description);
}

int run_main(int argc, char** argv, ProgramFlags& flags, const JobBuilder& build,
             const std::string& description) {
  return run_main_with(argc, argv, &flags, build, description);
}

}  // namespace runnel

#include "runnel/run_main.hpp"

#include <string>

#include "api/job_cli.hpp"
#include "core/log.hpp"
#include "runnel/version.hpp"

namespace runnel {

int run_main(int argc, char** argv, const JobBuilder& build, const std::string& description) {
  std::string name = argc > 0 ? argv[0] : "job";
  auto slash = name.find_last_of('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  CLI::App app(description.empty() ? "a runnel job" : description);
  app.set_version_flag("--version", name + " (runnel " + version() + ")");
  api::JobFlags flags;
  api::add_job_flags(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    log_error(std::string(e.what()) + " (see --help)");
    return 2;
  }
  return api::run_job(name, flags, build, false);
}

}  // namespace runnel

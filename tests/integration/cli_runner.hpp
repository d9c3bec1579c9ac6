#pragma once
// Runs the runnel CLI as a user would and captures what it says.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace runnel::testing {

struct CliResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// `args` are passed through the shell as written (quote paths with shell_quote).
inline CliResult run_cli(const std::string& args) {
  std::string cmd = std::string(RUNNEL_CLI) + " " + args + " 2>&1";
  CliResult r;
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace runnel::testing

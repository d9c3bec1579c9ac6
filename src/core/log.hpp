#pragma once
// The job's log: spdlog, to stderr. Human-readable lines ("runnel: ...") by
// default, or JSON lines (one object per line: time, level, message) for log
// collectors. Every part of runnel logs through here, librdkafka included.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace runnel {

enum class LogFormat { kText, kJson };

// Sets the format and the lowest level logged: trace, debug, info, warn,
// error, critical or off. Throws std::invalid_argument on an unknown level.
void configure_logging(LogFormat format, std::string_view level);
LogFormat log_format();

void log_debug(std::string_view message);
void log_info(std::string_view message);
void log_warn(std::string_view message);
void log_error(std::string_view message);
// librdkafka's syslog levels (0 emergency .. 7 debug) mapped onto ours.
void log_syslog_level(int level, std::string_view message);

// The last warnings and errors logged in this process (up to 20, oldest
// first), for the job's page: what went wrong without reading the log.
struct LoggedProblem {
  std::int64_t time_ms = 0;  // since the epoch
  std::string level;         // "warn" or "error"
  std::string message;
};
std::vector<LoggedProblem> recent_problems();

}  // namespace runnel

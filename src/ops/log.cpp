#include "ops/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace runnel::ops {

namespace {

// The message as a JSON string's contents: quotes, backslashes and control
// characters escaped (a message may quote a malformed record).
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char ch : msg.payload) {
      auto c = static_cast<unsigned char>(ch);
      switch (c) {
        case '"':
          dest.append(std::string_view("\\\""));
          break;
        case '\\':
          dest.append(std::string_view("\\\\"));
          break;
        case '\n':
          dest.append(std::string_view("\\n"));
          break;
        case '\r':
          dest.append(std::string_view("\\r"));
          break;
        case '\t':
          dest.append(std::string_view("\\t"));
          break;
        default:
          if (c < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
            dest.append(esc, esc + 6);
          } else {
            dest.push_back(ch);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

std::atomic<LogFormat> g_format{LogFormat::kText};

spdlog::logger& logger() {
  static std::once_flag once;
  static std::shared_ptr<spdlog::logger> log;
  std::call_once(once, [] {
    log = std::make_shared<spdlog::logger>("runnel",
                                           std::make_shared<spdlog::sinks::stderr_sink_mt>());
    log->set_pattern("runnel: %v");
    log->set_level(spdlog::level::info);
    log->flush_on(spdlog::level::trace);  // a log line is seen at once
  });
  return *log;
}

// Text lines name the level only when it is not plain information.
void log_at(spdlog::level::level_enum level, std::string_view message) {
  auto& l = logger();
  if (!l.should_log(level)) return;
  if (g_format.load(std::memory_order_relaxed) == LogFormat::kText) {
    if (level >= spdlog::level::err) {
      l.log(level, "error: {}", message);
    } else if (level == spdlog::level::warn) {
      l.log(level, "warning: {}", message);
    } else {
      l.log(level, "{}", message);
    }
  } else {
    l.log(level, "{}", message);
  }
}

}  // namespace

void configure_logging(LogFormat format, std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  // from_str answers "off" for anything it does not know.
  if (lvl == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + std::string(level) +
                                "'; use trace, debug, info, warn, error, critical or off");
  }
  auto& l = logger();
  l.set_level(lvl);
  g_format.store(format);
  if (format == LogFormat::kText) {
    l.set_pattern("runnel: %v");
  } else {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<JsonEscapedMessage>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","logger":"runnel","thread":%t,"message":"%*"})");
    l.set_formatter(std::move(f));
  }
}

LogFormat log_format() { return g_format.load(); }

void log_debug(std::string_view m) { log_at(spdlog::level::debug, m); }
void log_info(std::string_view m) { log_at(spdlog::level::info, m); }
void log_warn(std::string_view m) { log_at(spdlog::level::warn, m); }
void log_error(std::string_view m) { log_at(spdlog::level::err, m); }

void log_syslog_level(int level, std::string_view m) {
  if (level <= 3) {
    log_error(m);
  } else if (level == 4) {
    log_warn(m);
  } else if (level <= 6) {
    log_info(m);
  } else {
    log_debug(m);
  }
}

}  // namespace runnel::ops

#include "core/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

namespace runnel {

namespace {

// The message as a JSON string's contents: quotes, backslashes and control
// characters escaped (a message may quote a malformed record).
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::string_view text(msg.payload.data(), msg.payload.size());
    for (std::size_t i = 0; i < text.size();) {
      auto c = static_cast<unsigned char>(text[i]);
      if (c >= 0x80) {
        // A message may quote a malformed record: bytes that are not UTF-8
        // become U+FFFD, so the line stays valid JSON.
        std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) {
          dest.append(std::string_view("\\ufffd"));
          ++i;
        } else {
          dest.append(text.data() + i, text.data() + i + n);
          i += n;
        }
        continue;
      }
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
            dest.push_back(static_cast<char>(c));
          }
      }
      ++i;
    }
  }
  // The length of the well-formed UTF-8 sequence at text[i] (a lead byte of
  // 0x80 or more), or 0 if it is not one.
  static std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + n > text.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
      auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    return n;
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

std::mutex g_problems_mu;
std::deque<LoggedProblem> g_problems;  // under g_problems_mu

void remember_problem(spdlog::level::level_enum level, std::string_view message) {
  LoggedProblem p;
  p.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  p.level = level >= spdlog::level::err ? "error" : "warn";
  p.message = std::string(message.substr(0, 2000));
  std::lock_guard lock(g_problems_mu);
  g_problems.push_back(std::move(p));
  if (g_problems.size() > 20) g_problems.pop_front();
}

// Text lines name the level only when it is not plain information.
void log_at(spdlog::level::level_enum level, std::string_view message) {
  auto& l = logger();
  // Remembered even when not logged: the page shows them whatever the level.
  if (level >= spdlog::level::warn) remember_problem(level, message);
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

std::vector<LoggedProblem> recent_problems() {
  std::lock_guard lock(g_problems_mu);
  return {g_problems.begin(), g_problems.end()};
}

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

}  // namespace runnel

// The job's log: JSON lines that parse whatever the message holds, levels
// that filter, and a clear error for an unknown level.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "core/log.hpp"

namespace {
using runnel::LogFormat;

// Restores the default (text, info) whatever a test did.
struct DefaultLogging {
  ~DefaultLogging() { runnel::configure_logging(LogFormat::kText, "info"); }
};

TEST(Logging, JsonLinesParseAndKeepTheMessage) {
  DefaultLogging restore;
  runnel::configure_logging(LogFormat::kJson, "debug");
  const std::string tricky = "rejected a.csv:3: \"bad\"\tvalue\\ \x01 end\nsecond line";
  testing::internal::CaptureStderr();
  runnel::log_warn(tricky);
  runnel::log_debug("details");
  runnel::log_info("\xff ok \xc3\xa9 \xe2\x82");  // not UTF-8, UTF-8, cut short
  const std::string out = testing::internal::GetCapturedStderr();
  std::istringstream lines(out);
  std::string line;
  std::vector<nlohmann::json> parsed;
  while (std::getline(lines, line)) parsed.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(parsed.size(), 3u) << out;
  EXPECT_EQ(parsed[0]["message"], tricky);
  EXPECT_EQ(parsed[0]["level"], "warning");
  EXPECT_EQ(parsed[0]["logger"], "runnel");
  EXPECT_TRUE(parsed[0]["time"].is_string());
  EXPECT_EQ(parsed[1]["level"], "debug");
  EXPECT_EQ(parsed[2]["message"], "\xef\xbf\xbd ok \xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Logging, TextLinesAndLevels) {
  DefaultLogging restore;
  runnel::configure_logging(LogFormat::kText, "warn");
  testing::internal::CaptureStderr();
  runnel::log_info("not shown");
  runnel::log_warn("shown");
  runnel::log_error("broken");
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "runnel: warning: shown\nrunnel: error: broken\n");
  EXPECT_THROW(runnel::configure_logging(LogFormat::kText, "loud"), std::invalid_argument);
}

}  // namespace

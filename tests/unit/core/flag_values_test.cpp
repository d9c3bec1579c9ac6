// The values of duration and size flags: what they mean, and clear errors
// for what they cannot mean (tests/fuzz/flags_fuzz runs them on any text).
#include "core/flag_values.hpp"

#include <gtest/gtest.h>

#include <string>

#include "runnel/error.hpp"

namespace runnel {
namespace {

TEST(FlagValues, DurationsAndSizesMeanWhatTheySay) {
  EXPECT_EQ(parse_duration("200ms", "--x").count(), 200);
  EXPECT_EQ(parse_duration("15", "--x").count(), 15);
  EXPECT_EQ(parse_duration("2min", "--x").count(), 120'000);
  EXPECT_EQ(parse_byte_size("512MiB", "--y"), std::size_t{512} << 20);
  EXPECT_THROW(parse_duration("0s", "--x"), UserError);
  EXPECT_THROW(parse_duration("1 s", "--x"), UserError);
}

// Found by tests/fuzz/flags_fuzz: "555455555555555m" was a negative time.
TEST(FlagValues, ADurationTooLongForMillisecondsIsRefused) {
  try {
    parse_duration("555455555555555m", "--checkpoint-interval");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--checkpoint-interval '555455555555555m' is too long"),
              std::string::npos);
  }
  EXPECT_EQ(parse_duration("9223372036854775807ms", "--x").count(), 9223372036854775807);
  EXPECT_THROW(parse_duration("9223372036854776s", "--x"), UserError);
}

}  // namespace
}  // namespace runnel

// The input watermark of a consumer from its channels: minimum, idle channels,
// ended channels, all idle, a channel that comes back.
#include "runtime/watermark_valve.hpp"

#include <gtest/gtest.h>

namespace runnel::runtime {
namespace {

TEST(WatermarkValve, StartsAtTheMinimumAndNotIdle) {
  WatermarkValve v(2);
  EXPECT_EQ(v.watermark(), kMinTimestamp);
  EXPECT_FALSE(v.idle());
  EXPECT_EQ(v.current(), kMinTimestamp);
}

TEST(WatermarkValve, IsTheMinimumOverActiveChannels) {
  WatermarkValve v(3);
  EXPECT_FALSE(v.on_watermark(0, 100));
  EXPECT_FALSE(v.on_watermark(1, 50));
  EXPECT_EQ(v.watermark(), kMinTimestamp);  // channel 2 has sent nothing yet
  EXPECT_TRUE(v.on_watermark(2, 70));
  EXPECT_EQ(v.watermark(), 50);
  EXPECT_TRUE(v.on_watermark(1, 200));
  EXPECT_EQ(v.watermark(), 70);
}

TEST(WatermarkValve, NeverGoesBack) {
  WatermarkValve v(1);
  EXPECT_TRUE(v.on_watermark(0, 100));
  EXPECT_FALSE(v.on_watermark(0, 40));
  EXPECT_EQ(v.watermark(), 100);
  EXPECT_FALSE(v.on_watermark(0, 100));
}

TEST(WatermarkValve, IdleChannelIsLeftOutOfTheMinimum) {
  WatermarkValve v(2);
  v.on_watermark(0, 10);
  v.on_watermark(1, 500);
  EXPECT_EQ(v.watermark(), 10);
  EXPECT_TRUE(v.on_watermark(0, kIdleWatermark));
  EXPECT_EQ(v.watermark(), 500);
  EXPECT_FALSE(v.idle());
  EXPECT_EQ(v.current(), 500);
}

TEST(WatermarkValve, AllChannelsIdleHoldTheHighestTheyReached) {
  WatermarkValve v(3);
  v.on_watermark(0, 10);
  v.on_watermark(1, 30);
  v.on_watermark(2, 20);
  EXPECT_EQ(v.watermark(), 10);
  v.on_watermark(0, kIdleWatermark);
  EXPECT_EQ(v.watermark(), 20);
  v.on_watermark(2, kIdleWatermark);
  EXPECT_EQ(v.watermark(), 30);
  EXPECT_FALSE(v.on_watermark(1, kIdleWatermark));  // 30 already: no rise
  EXPECT_TRUE(v.idle());
  EXPECT_EQ(v.watermark(), 30);
  EXPECT_EQ(v.current(), kIdleWatermark);
}

TEST(WatermarkValve, ChannelThatComesBackCountsAgain) {
  WatermarkValve v(2);
  v.on_watermark(0, 10);
  v.on_watermark(1, 100);
  v.on_watermark(0, kIdleWatermark);
  EXPECT_EQ(v.watermark(), 100);
  // Back with a watermark below the input's: it holds the input where it is
  // (no step back) until it passes it.
  EXPECT_FALSE(v.on_watermark(0, 60));
  EXPECT_EQ(v.watermark(), 100);
  EXPECT_FALSE(v.on_watermark(1, 300));
  EXPECT_EQ(v.watermark(), 100);
  EXPECT_TRUE(v.on_watermark(0, 150));
  EXPECT_EQ(v.watermark(), 150);
  EXPECT_FALSE(v.idle());
}

TEST(WatermarkValve, AllIdleThenOneComesBack) {
  WatermarkValve v(2);
  v.on_watermark(0, 10);
  v.on_watermark(1, 20);
  v.on_watermark(0, kIdleWatermark);
  v.on_watermark(1, kIdleWatermark);
  EXPECT_TRUE(v.idle());
  EXPECT_TRUE(v.on_watermark(1, 25));
  EXPECT_FALSE(v.idle());
  EXPECT_EQ(v.watermark(), 25);
  EXPECT_EQ(v.current(), 25);
}

TEST(WatermarkValve, EndedChannelHoldsNoOneBack) {
  WatermarkValve v(2);
  v.on_watermark(0, 10);
  v.on_watermark(1, 40);
  EXPECT_TRUE(v.on_channel_end(0));
  EXPECT_EQ(v.watermark(), 40);
  // An idle channel beside an ended one: the input is idle.
  v.on_watermark(1, kIdleWatermark);
  EXPECT_TRUE(v.idle());
  EXPECT_EQ(v.watermark(), 40);
}

TEST(WatermarkValve, EveryChannelEndedIsTheEndOfTime) {
  WatermarkValve v(2);
  v.on_watermark(0, kIdleWatermark);
  EXPECT_FALSE(v.on_channel_end(1));  // channel 0 is open, idle, and never sent a time
  EXPECT_TRUE(v.idle());
  EXPECT_TRUE(v.on_channel_end(0));
  EXPECT_EQ(v.watermark(), kMaxTimestamp);
  EXPECT_FALSE(v.idle());
}

TEST(WatermarkValve, NoChannelsIsTheEndOfTimeAtTheFirstEnd) {
  WatermarkValve v(1);
  EXPECT_TRUE(v.on_channel_end(0));
  EXPECT_EQ(v.watermark(), kMaxTimestamp);
}

TEST(WatermarkValve, UnknownChannelIsALogicErrorThatNamesIt) {
  WatermarkValve v(2);
  try {
    v.on_watermark(2, 5);
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "watermark on channel 2 of 2");
  }
}

}  // namespace
}  // namespace runnel::runtime

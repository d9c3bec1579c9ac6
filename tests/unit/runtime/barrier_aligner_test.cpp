// The alignment state machine: every event in every state.
#include "runtime/barrier_aligner.hpp"

#include <gtest/gtest.h>

#include <string>

namespace runnel::runtime {
namespace {

using A = BarrierAligner::Action;
using S = BarrierAligner::State;

TEST(BarrierAligner, IdleBarrierStartsAligningAndBlocksItsChannel) {
  BarrierAligner a(3);
  EXPECT_EQ(a.on_barrier(1, 5), A::kNone);
  EXPECT_EQ(a.state(), S::kAligning);
  EXPECT_EQ(a.checkpoint(), 5);
  EXPECT_TRUE(a.blocked(1));
  EXPECT_FALSE(a.blocked(0));
  EXPECT_FALSE(a.blocked(2));
}

TEST(BarrierAligner, LastBarrierCompletesAndUnblocksAll) {
  BarrierAligner a(3);
  EXPECT_EQ(a.on_barrier(0, 1), A::kNone);
  EXPECT_EQ(a.on_barrier(2, 1), A::kNone);
  EXPECT_TRUE(a.blocked(0));
  EXPECT_TRUE(a.blocked(2));
  EXPECT_EQ(a.on_barrier(1, 1), A::kSnapshot);
  EXPECT_EQ(a.state(), S::kIdle);
  EXPECT_EQ(a.checkpoint(), 1);
  for (int c = 0; c < 3; ++c) EXPECT_FALSE(a.blocked(c));
}

TEST(BarrierAligner, SingleChannelSnapshotsAtOnce) {
  BarrierAligner a(1);
  EXPECT_EQ(a.on_barrier(0, 7), A::kSnapshot);
  EXPECT_EQ(a.checkpoint(), 7);
  EXPECT_EQ(a.on_barrier(0, 8), A::kSnapshot);
  EXPECT_EQ(a.checkpoint(), 8);
}

TEST(BarrierAligner, IdleStaleBarrierIsIgnored) {
  BarrierAligner a(2);
  a.on_barrier(0, 3);
  ASSERT_EQ(a.on_barrier(1, 3), A::kSnapshot);
  EXPECT_EQ(a.on_barrier(0, 3), A::kNone);  // an id already taken
  EXPECT_EQ(a.on_barrier(1, 2), A::kNone);
  EXPECT_EQ(a.state(), S::kIdle);
}

TEST(BarrierAligner, IdleChannelEndIsRemembered) {
  BarrierAligner a(2);
  EXPECT_EQ(a.on_channel_end(0), A::kNone);
  EXPECT_EQ(a.state(), S::kIdle);
  // Only channel 1 is left: its barrier alone completes a checkpoint.
  EXPECT_EQ(a.on_barrier(1, 1), A::kSnapshot);
}

TEST(BarrierAligner, AligningChannelEndCountsAsArrived) {
  BarrierAligner a(3);
  a.on_barrier(0, 4);
  EXPECT_EQ(a.on_channel_end(1), A::kNone);
  EXPECT_EQ(a.state(), S::kAligning);
  EXPECT_EQ(a.on_channel_end(2), A::kSnapshot);
  EXPECT_EQ(a.checkpoint(), 4);
}

TEST(BarrierAligner, AligningStaleBarrierIsIgnored) {
  BarrierAligner a(2);
  a.on_barrier(0, 4);
  EXPECT_EQ(a.on_barrier(1, 3), A::kNone);
  EXPECT_EQ(a.state(), S::kAligning);
  EXPECT_FALSE(a.blocked(1));
}

TEST(BarrierAligner, AligningNewerBarrierIsALogicError) {
  BarrierAligner a(2);
  a.on_barrier(0, 4);
  EXPECT_THROW(a.on_barrier(1, 5), std::logic_error);
}

TEST(BarrierAligner, AligningSecondBarrierOnAChannelIsALogicError) {
  BarrierAligner a(2);
  a.on_barrier(0, 4);
  EXPECT_THROW(a.on_barrier(0, 4), std::logic_error);
}

TEST(BarrierAligner, BarrierAfterChannelEndIsALogicError) {
  BarrierAligner a(2);
  a.on_channel_end(0);
  EXPECT_THROW(a.on_barrier(0, 1), std::logic_error);
  BarrierAligner b(3);
  b.on_barrier(1, 1);
  b.on_channel_end(0);
  EXPECT_THROW(b.on_barrier(0, 1), std::logic_error);
}

TEST(BarrierAligner, ErrorsNameTheChannelAndTheCheckpoints) {
  BarrierAligner a(2);
  a.on_barrier(0, 4);
  try {
    a.on_barrier(1, 5);
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(),
                 "checkpoint barrier overtook the one being aligned on its channel: channel 1, "
                 "checkpoint 5 (aligning 4, last aligned 0)");
  }
  try {
    a.on_barrier(7, 4);
    FAIL() << "no error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("check failed: static_cast<std::size_t>(channel) < "
                                         "arrived_.size() (7 vs 2)"),
              std::string::npos)
        << e.what();
  }
}

TEST(BarrierAligner, ConsecutiveCheckpointsStartClean) {
  BarrierAligner a(2);
  a.on_barrier(1, 1);
  ASSERT_EQ(a.on_barrier(0, 1), A::kSnapshot);
  EXPECT_EQ(a.on_barrier(0, 2), A::kNone);
  EXPECT_TRUE(a.blocked(0));
  EXPECT_FALSE(a.blocked(1));  // its barrier 1 does not count for 2
  EXPECT_EQ(a.on_barrier(1, 2), A::kSnapshot);
}

}  // namespace
}  // namespace runnel::runtime

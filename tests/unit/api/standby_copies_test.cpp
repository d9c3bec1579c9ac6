#include "api/standby_copies.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <thread>

#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace runnel::api {
namespace {

TEST(StandbyShards, NoneWithoutReplicas) {
  EXPECT_TRUE(standby_shards({{"a", {0, 1}}, {"b", {}}}, "b", 0).empty());
}

// The members that run the fewest shards hold the copies: the group's
// assignor gives a dead member's shards to them.
TEST(StandbyShards, TheMembersWithTheFewestShardsHoldTheCopies) {
  const std::vector<MemberShards> live = {{"a", {0, 1}}, {"b", {2, 3}}, {"spare", {}}};
  EXPECT_EQ(standby_shards(live, "spare", 1), (std::set<int>{0, 1, 2, 3}));
  EXPECT_TRUE(standby_shards(live, "a", 1).empty());
  EXPECT_TRUE(standby_shards(live, "b", 1).empty());
  EXPECT_EQ(standby_shards(live, "a", 2), (std::set<int>{2, 3}));
  EXPECT_EQ(standby_shards(live, "b", 2), (std::set<int>{0, 1}));
  EXPECT_EQ(standby_shards(live, "spare", 5), (std::set<int>{0, 1, 2, 3}));
  // Alone, a member has no one to keep copies for.
  EXPECT_TRUE(standby_shards({{"a", {0, 1}}}, "a", 1).empty());
}

// Whatever the members and shards: every shard a member runs has
// min(replicas, members - 1) copies, none of them in its owner.
RC_GTEST_PROP(StandbyShards, EveryShardHasItsCopiesElsewhere, ()) {
  const int members = *rc::gen::inRange(1, 7);
  const int shards = *rc::gen::inRange(1, 17);
  const int replicas = *rc::gen::inRange(0, 4);
  std::vector<MemberShards> live;
  for (int m = 0; m < members; ++m) live.push_back({"m" + std::to_string(m), {}});
  for (int s = 0; s < shards; ++s) {
    const int owner = *rc::gen::inRange(0, members);
    live[static_cast<std::size_t>(owner)].shards.push_back(s);
  }
  std::map<int, int> copies;
  for (const auto& m : live) {
    for (int s : standby_shards(live, m.key, replicas)) {
      RC_ASSERT(std::find(m.shards.begin(), m.shards.end(), s) == m.shards.end());
      ++copies[s];
    }
  }
  for (int s = 0; s < shards; ++s) RC_ASSERT(copies[s] == std::min(replicas, members - 1));
}

bool eventually(const std::function<bool()>& ok) {
  for (int i = 0; i < 500 && !ok(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return ok();
}

state::CheckpointContent checkpoint(std::int64_t id) {
  state::CheckpointContent c;
  c.id = id;
  c.max_parallelism = 4;
  state::OperatorCheckpoint op;
  op.key = "1.0";
  op.uid = "counts";
  op.name = "count";
  OperatorSnapshot s;
  s.operator_state = "state " + std::to_string(id);
  op.instances.push_back(std::move(s));
  c.operators.push_back(std::move(op));
  return c;
}

// The copier keeps the shards it is asked for up to date, leaves one this
// member takes for its restore, drops the copies no longer wanted, and
// removes them all when the member ends.
TEST(StandbyCopies, KeepsCopiesOfTheShardsItIsAskedFor) {
  runnel::testing::ScratchDir dir;
  const auto ck = dir.path() / "ck";
  const auto copies = dir.path() / "copies";
  state::write_checkpoint(ck / "shard-00", checkpoint(1));
  state::write_checkpoint(ck / "shard-01", checkpoint(5));
  {
    StandbyCopies standby(ck, copies);
    standby.want({0, 1});
    ASSERT_TRUE(eventually([&] { return standby.held().size() == 2; }));
    EXPECT_EQ(standby.held().at(1), 5);
    state::write_checkpoint(ck / "shard-00", checkpoint(2));
    ASSERT_TRUE(eventually([&] { return standby.held().at(0) == 2; }));

    // This member takes shard 0 over: its copy stays until restored.
    const auto copy = standby.take(0);
    EXPECT_EQ(copy, copies / "shard-00");
    standby.want({1});
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    EXPECT_TRUE(std::filesystem::exists(copy / "chk-000000002"));
    standby.restored(0);
    ASSERT_TRUE(eventually([&] { return !std::filesystem::exists(copy); }));
    EXPECT_EQ(standby.held().count(0), 0u);
    EXPECT_EQ(standby.held().count(1), 1u);
  }
  EXPECT_FALSE(std::filesystem::exists(copies));
}

}  // namespace
}  // namespace runnel::api

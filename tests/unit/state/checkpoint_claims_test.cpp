#include "state/checkpoint_claims.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace runnel::state {
namespace {

CheckpointContent empty_checkpoint(std::int64_t id, std::int64_t claim) {
  CheckpointContent c;
  c.id = id;
  c.max_parallelism = 8;
  c.claim = claim;
  return c;
}

TEST(CheckpointClaims, EachClaimIsOnePastTheLastAndFencesTheOnesBefore) {
  runnel::testing::ScratchDir dir;
  const auto ck = dir.path() / "ck";  // created by the claim
  EXPECT_TRUE(read_claims(ck).empty());
  const std::int64_t first = claim_checkpoints(ck);
  EXPECT_EQ(first, 1);
  EXPECT_TRUE(newest_claim_is_this_process(ck));
  EXPECT_NO_THROW(check_claim(ck, first, "checkpoint 1"));
  write_checkpoint(ck, empty_checkpoint(7, first));
  const std::int64_t second = claim_checkpoints(ck);
  EXPECT_EQ(second, 2);
  const auto claims = read_claims(ck);
  ASSERT_EQ(claims.size(), 2u);
  EXPECT_EQ(claims[0].after_id, 0);
  EXPECT_EQ(claims[1].after_id, 7);  // the newest complete checkpoint when it claimed
  EXPECT_NE(claims[1].who.find("pid"), std::string::npos) << claims[1].who;
  EXPECT_NO_THROW(check_claim(ck, second, "checkpoint 8"));
  try {
    check_claim(ck, first, "checkpoint 8");
    FAIL() << "the first claim was not fenced";
  } catch (const FencedError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("fenced before checkpoint 8"), std::string::npos) << what;
    EXPECT_NE(what.find("claim 2"), std::string::npos) << what;
    EXPECT_NE(what.find(ck.string()), std::string::npos) << what;
  }
}

// Runs claiming at once each get a number of their own.
TEST(CheckpointClaims, ClaimsAtOnceGetDistinctNumbers) {
  runnel::testing::ScratchDir dir;
  std::vector<std::int64_t> got(8);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] { got[i] = claim_checkpoints(dir.path()); });
  for (auto& t : threads) t.join();
  const std::set<std::int64_t> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), got.size());
  EXPECT_EQ(*distinct.begin(), 1);
  EXPECT_EQ(*distinct.rbegin(), 8);
}

TEST(CheckpointClaims, ACheckpointFinishedAfterATakeoverIsTheFencedRunsOnly) {
  const std::vector<CheckpointClaim> claims = {{1, 0, 0, "a"}, {2, 10, 0, "b"}};
  EXPECT_FALSE(written_after_takeover(claims, 1, 10));  // complete when b claimed
  EXPECT_TRUE(written_after_takeover(claims, 1, 11));   // a finished it after
  EXPECT_FALSE(written_after_takeover(claims, 2, 11));  // b's own
  EXPECT_FALSE(written_after_takeover(claims, 0, 99));  // from before claims
}

// --restore latest passes over a checkpoint a fenced run finished after the
// takeover, saying why, and takes the one the new owner found; a fenced run
// never replaces the new owner's checkpoint of the same id.
TEST(CheckpointClaims, RestoreLatestSkipsWhatAFencedRunFinished) {
  runnel::testing::ScratchDir dir;
  const auto ck = dir.path();
  const std::int64_t a = claim_checkpoints(ck);
  write_checkpoint(ck, empty_checkpoint(1, a));
  write_checkpoint(ck, empty_checkpoint(2, a));
  const std::int64_t b = claim_checkpoints(ck);  // b takes over
  write_checkpoint(ck, empty_checkpoint(3, a));  // a, waking, checked just before
  std::vector<std::string> log;
  auto latest = load_latest(ck, log);
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->id, 2);
  EXPECT_EQ(latest->claim, a);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("had been taken over"), std::string::npos) << log[0];

  // Listed as not complete (runnel checkpoints, job status), not loadable.
  const auto listed = list_checkpoints(ck, true);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_FALSE(listed[2].valid);
  EXPECT_NE(listed[2].problem.find("had been taken over"), std::string::npos);
  EXPECT_THROW(load_checkpoint(ck / "chk-000000003"), std::runtime_error);

  write_checkpoint(ck, empty_checkpoint(4, b));
  EXPECT_THROW(write_checkpoint(ck, empty_checkpoint(4, a)), std::runtime_error);
  EXPECT_EQ(load_checkpoint(ck / "chk-000000004").claim, b);
  log.clear();
  EXPECT_EQ(load_latest(ck, log)->id, 4);
  // Retention keeps the usable ones only: the fenced run's 3 goes, 2 stays.
  retain_checkpoints(ck, 2);
  std::vector<std::int64_t> ids;
  for (const auto& c : list_checkpoints(ck, false)) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{2, 4}));
}

}  // namespace
}  // namespace runnel::state

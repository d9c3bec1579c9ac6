#include "runtime/exchange.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cstdint>
#include <set>

#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/partitioner.hpp"

namespace {
using namespace runnel;
using namespace runnel::runtime;

// Shares cut the key groups into ranges that cover each group once; within a
// share, instances cut its range the same way, and instance_of agrees with
// first_of/last_of.
RC_GTEST_PROP(KeyGroupRange, SharesAndInstancesCoverEveryKeyGroupOnce, ()) {
  const int max = *rc::gen::inRange(1, 300);
  const int shares = *rc::gen::inRange(1, max + 1);
  const int parallelism = *rc::gen::inRange(1, 9);
  std::vector<int> owners(static_cast<std::size_t>(max), 0);
  for (int s = 0; s < shares; ++s) {
    const KeyGroupRange share = KeyGroupRange::of_share(s, shares, max);
    RC_ASSERT(share.count >= 1);
    for (int i = 0; i < parallelism; ++i) {
      for (int kg = share.first_of(i, parallelism); kg <= share.last_of(i, parallelism); ++kg) {
        RC_ASSERT(share.contains(kg));
        RC_ASSERT(share.instance_of(kg, parallelism) == i);
        RC_ASSERT(instance_of_key_group(kg, shares, max) ==
                  s);  // where the shares' exchange sends it
        ++owners[static_cast<std::size_t>(kg)];
      }
    }
  }
  for (int n : owners) RC_ASSERT(n == 1);
}

Message pop_or_none(BatchQueue& q) {
  auto m = q.pop_until(std::chrono::steady_clock::now());
  return m ? std::move(*m) : Message{Message::Kind::kEndOfInput, 0, 0, nullptr};
}

// A member of a job spread over shares receives only its share's key groups;
// its keyed exchange spreads them over all of its instances (not over the
// few the whole job's spread would give them).
TEST(ExchangeOutput, SpreadsAShareOfTheKeyGroupsOverEveryTarget) {
  constexpr int kMax = 128, kTargets = 4;
  const KeyGroupRange share = KeyGroupRange::of_share(2, 3, kMax);
  std::vector<std::unique_ptr<BatchQueue>> queues;
  std::vector<BatchQueue*> targets;
  for (int i = 0; i < kTargets; ++i) {
    queues.push_back(std::make_unique<BatchQueue>(64));
    targets.push_back(queues.back().get());
  }
  auto key_of = [](const std::int64_t& v) -> const std::int64_t& { return v; };
  KeyPartitioner<std::int64_t, decltype(key_of)> partitioner(key_of);
  ExchangeOutput out(ExchangeKind::kHash, &partitioner, targets, 0, 0, 1 << 20, kMax, share);
  Batch<std::int64_t> in;
  std::int64_t sent = 0;
  for (std::int64_t k = 0; k < 20000; ++k) {
    if (!share.contains(key_group_of(Hash<std::int64_t>{}(k), kMax))) continue;
    in.values.push_back(k);
    ++sent;
  }
  out.push(in);
  out.finish();
  std::int64_t received = 0;
  for (int i = 0; i < kTargets; ++i) {
    std::set<std::int64_t> got;
    for (Message m = pop_or_none(*queues[i]); m.kind == Message::Kind::kData;
         m = pop_or_none(*queues[i])) {
      for (std::int64_t k : batch_cast<std::int64_t>(*m.batch).values) {
        EXPECT_EQ(share.instance_of(key_group_of(Hash<std::int64_t>{}(k), kMax), kTargets), i);
        got.insert(k);
      }
    }
    EXPECT_GT(got.size(), 0u) << "target " << i << " got nothing";
    received += static_cast<std::int64_t>(got.size());
  }
  EXPECT_EQ(received, sent);
}

}  // namespace

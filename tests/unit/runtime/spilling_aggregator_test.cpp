#include "runnel/detail/spilling_aggregator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "runnel/combiners.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;

template <class CF, class V>
std::map<std::string, typename CF::Accumulator> aggregate(
    const std::vector<std::pair<std::string, V>>& in, std::size_t budget, const std::string& dir,
    InstanceCounters* counters) {
  CF cf;
  detail::SpillingAggregator<std::string, CF> agg(cf, budget, dir, "t", 0, counters);
  std::size_t n = 0;
  for (const auto& [k, v] : in) {
    agg.add(
        k, [&] { return k; }, [&](auto& acc) { cf.add_input(acc, v); },
        combine_fn_accumulates_inputs<CF>() ? sizeof(V) + heap_bytes(v) : 0);
    if (++n % 64 == 0) agg.check_budget();
  }
  std::map<std::string, typename CF::Accumulator> out;
  agg.finish([&](std::string&& k, typename CF::Accumulator&& a) {
    EXPECT_TRUE(out.emplace(std::move(k), std::move(a)).second) << "a key was emitted twice";
  });
  return out;
}

std::vector<std::pair<std::string, int>> input(int n, int keys) {
  std::vector<std::pair<std::string, int>> in;
  for (int i = 0; i < n; ++i)
    in.emplace_back("key-with-some-length-" + std::to_string((i * 7919) % keys), i);
  return in;
}

TEST(SpillingAggregator, SpilledSumsEqualInMemorySums) {
  runnel::testing::ScratchDir dir;
  auto in = input(200000, 20000);
  InstanceCounters unlimited, tiny;
  auto want = aggregate<combiners::Sum<int>>(in, 0, dir.path().string(), &unlimited);
  auto got = aggregate<combiners::Sum<int>>(in, 64 << 10, dir.path().string(), &tiny);
  EXPECT_EQ(unlimited.spilled_bytes, 0u);
  EXPECT_GT(tiny.spilled_bytes, 0u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 20000u);
  // Spill files are removed once read back.
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(SpillingAggregator, GroupedListsSurviveRecursiveSpills) {
  runnel::testing::ScratchDir dir;
  auto in = input(100000, 3000);
  InstanceCounters counters;
  // A budget this small makes partitions spill again (recursion by more hash bits).
  auto got = aggregate<combiners::ToList<int>>(in, 8 << 10, dir.path().string(), &counters);
  EXPECT_GT(counters.spilled_bytes, 0u);
  std::map<std::string, std::vector<int>> want;
  for (const auto& [k, v] : in) want[k].push_back(v);
  ASSERT_EQ(got.size(), want.size());
  for (auto& [k, vs] : got) {
    std::sort(vs.begin(), vs.end());
    EXPECT_EQ(vs, want[k]) << k;
  }
}

}  // namespace

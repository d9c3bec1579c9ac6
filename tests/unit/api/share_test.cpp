// A job spread over members: each run reads its share of every input
// (PipelineOptions::share), and the shares of all runs together read each
// input record exactly once, whatever each run's parallelism.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <runnel/runnel.hpp>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace {
using namespace runnel;

// Runs `read` as share s of `shares` for every s (run s at parallelism
// 1 + s % 3) and returns what each run collected.
template <class Read>
std::vector<std::vector<std::string>> run_shares(int shares, Read read) {
  std::vector<std::vector<std::string>> out;
  for (int s = 0; s < shares; ++s) {
    PipelineOptions o;
    o.parallelism = 1 + s % 3;
    o.share = s;
    o.shares = shares;
    Pipeline p(o);
    auto got = read(p).collect();
    p.run();
    out.push_back(got.sorted());
  }
  return out;
}

// Every share's records together are `all`, each once.
void expect_partition(const std::vector<std::vector<std::string>>& per_share,
                      std::vector<std::string> all) {
  std::vector<std::string> together;
  for (const auto& v : per_share) together.insert(together.end(), v.begin(), v.end());
  std::sort(together.begin(), together.end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(together, all);
}

TEST(Share, CreateElementsAreSplitOverShares) {
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  std::vector<std::string> all;
  for (int x : in) all.push_back(std::to_string(x));
  for (int shares : {1, 3, 4}) {
    auto per = run_shares(shares, [&](Pipeline& p) {
      return p.create(in).map([](int x) { return std::to_string(x); });
    });
    expect_partition(per, all);
    if (shares > 1) {
      for (const auto& v : per) EXPECT_LT(v.size(), all.size());
    }
  }
}

TEST(Share, GeneratorShardsAreSplitOverShares) {
  io::GeneratorOptions g;
  g.events = 5000;
  auto read = [&](Pipeline& p) {
    return p
        .read(io::generator<std::int64_t>(
            g, +[](const io::GeneratedEvent& e) { return static_cast<std::int64_t>(e.index); }))
        .map([](std::int64_t i) { return std::to_string(i); });
  };
  std::vector<std::string> all;
  for (int i = 0; i < 5000; ++i) all.push_back(std::to_string(i));
  auto per = run_shares(3, read);
  expect_partition(per, all);
  for (const auto& v : per) EXPECT_GT(v.size(), 0u);
}

TEST(Share, FileSplitsAreSplitOverShares) {
  runnel::testing::ScratchDir dir;
  std::vector<std::string> all;
  // Files of 3 MiB and more: each is cut into several splits.
  for (int f = 0; f < 3; ++f) {
    std::string text;
    for (int i = 0; i < 150'000; ++i) {
      std::string line = "file " + std::to_string(f) + " line " + std::to_string(i);
      all.push_back(line);
      text += line + "\n";
    }
    runnel::testing::write_file(dir / ("in/f" + std::to_string(f) + ".txt"), text);
  }
  auto per = run_shares(4, [&](Pipeline& p) { return p.read(io::text(dir / "in")); });
  expect_partition(per, all);
  for (const auto& v : per) EXPECT_GT(v.size(), 0u);
}

TEST(Share, AKeyedExchangeIsRefusedWhileSpreadOverMembers) {
  PipelineOptions o;
  o.share = 1;
  o.shares = 2;
  Pipeline p(o);
  p.create(std::vector<std::string>{"a", "b", "a"}).count_per_element().collect();
  try {
    p.run();
    FAIL() << "a keyed exchange ran while spread over members";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("keyed exchange"), std::string::npos) << e.what();
  }
}

TEST(Share, AShareOutsideTheSharesIsAUserError) {
  PipelineOptions o;
  o.share = 2;
  o.shares = 2;
  Pipeline p(o);
  p.create(std::vector<int>{1}).collect();
  EXPECT_THROW(p.run(), UserError);
}

// Pipeline::request_stop stops that run and no other in the process.
TEST(Share, OneRunStopsAndAnotherGoesOn) {
  io::GeneratorOptions g;
  g.rate = 20'000;
  g.shards = 2;
  auto ticks = [&](std::uint64_t events) {
    io::GeneratorOptions o = g;
    o.events = events;
    return io::generator<std::int64_t>(
        o, +[](const io::GeneratedEvent& e) { return static_cast<std::int64_t>(e.index); });
  };
  PipelineOptions o;
  o.parallelism = 1;
  o.mode = ExecutionMode::kStreaming;
  Pipeline endless(o);
  auto a = endless.read(ticks(0)).collect();
  Pipeline bounded(o);
  auto b = bounded.read(ticks(8000)).collect();
  RunResult ra, rb;
  std::thread ta([&] { ra = endless.run(); });
  std::thread tb([&] { rb = bounded.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  endless.request_stop();
  ta.join();
  tb.join();
  EXPECT_TRUE(ra.stopped);
  EXPECT_FALSE(rb.stopped);
  EXPECT_EQ(b.size(), 8000u);  // ran to its end although the other was stopped
}

}  // namespace

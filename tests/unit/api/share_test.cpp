// A job spread over members: each run reads its share of every input
// (PipelineOptions::share), and the shares of all runs together read each
// input record exactly once, whatever each run's parallelism.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <runnel/runnel.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
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

TEST(Share, AKeyedStepNeedsTheJobsCluster) {
  PipelineOptions o;
  o.share = 1;
  o.shares = 2;
  Pipeline p(o);
  p.create(std::vector<std::string>{"a", "b", "a"}).count_per_element().collect();
  try {
    p.run();
    FAIL() << "a keyed exchange ran between shares without a cluster";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("job's id and Kafka cluster"), std::string::npos)
        << e.what();
  }
}

// Runs the pipelines at once, each on a thread, calls `meanwhile`, and
// returns each one's error ("" if none).
std::vector<std::string> run_together(std::vector<std::unique_ptr<Pipeline>>& pipelines,
                                      const std::function<void()>& meanwhile) {
  std::vector<std::thread> threads;
  std::vector<std::string> errors(pipelines.size());
  for (std::size_t s = 0; s < pipelines.size(); ++s) {
    threads.emplace_back([&, s] {
      try {
        pipelines[s]->run();
      } catch (const std::exception& e) {
        errors[s] = e.what();
      }
    });
  }
  meanwhile();
  for (auto& t : threads) t.join();
  return errors;
}

struct Reading {
  std::string key;
  Timestamp time = 0;
};
RUNNEL_FIELDS(Reading, key, time);

// Runs `build` as every share of `shares` at once (each reader waits for
// every shard's records), over repartition topics on a development cluster,
// and returns what all shares collected together, sorted; with `shares` 1,
// as one process. `build` returns a function that describes what its run
// collected.
template <class Build>
std::vector<std::string> run_spread(int shares, const std::string& job, Build build,
                                    ExecutionMode mode = ExecutionMode::kAuto) {
  io::KafkaDevCluster cluster;
  std::vector<std::unique_ptr<Pipeline>> pipelines;
  std::vector<std::function<std::vector<std::string>()>> got;
  for (int s = 0; s < shares; ++s) {
    PipelineOptions o;
    o.parallelism = 1 + s % 3;
    o.share = s;
    o.shares = shares;
    o.job_id = job;
    o.job_bootstrap = cluster.bootstrap();
    o.mode = mode;
    o.progress = false;
    pipelines.push_back(std::make_unique<Pipeline>(o));
    got.push_back(build(*pipelines.back()));
  }
  const auto errors = run_together(pipelines, [] {});
  std::vector<std::string> all;
  for (int s = 0; s < shares; ++s) {
    EXPECT_EQ(errors[static_cast<std::size_t>(s)], "") << "share " << s;
    auto v = got[static_cast<std::size_t>(s)]();
    all.insert(all.end(), v.begin(), v.end());
  }
  std::sort(all.begin(), all.end());
  return all;
}

// A keyed count whose keys are spread over every share: each key is
// counted once, in the share that owns its key group, as in one process.
TEST(Share, AKeyedCountAcrossSharesThroughKafkaMatchesOneProcess) {
  std::vector<std::string> in;
  for (int i = 0; i < 5000; ++i) in.push_back("k" + std::to_string(i % 97));
  auto build = [&](Pipeline& p) {
    auto c = p.create(in)
                 .count_per_element()
                 .map([](const std::pair<std::string, std::uint64_t>& kv) {
                   return kv.first + "=" + std::to_string(kv.second);
                 })
                 .collect();
    return [c] { return c.values(); };
  };
  const auto one = run_spread(1, "keyed-one", build);
  ASSERT_EQ(one.size(), 97u);
  EXPECT_EQ(run_spread(4, "keyed-four", build), one);
}

// Event-time windows in streaming mode: every share's watermark travels
// through the repartition topic, so each window fires once, complete.
TEST(Share, WindowsAcrossSharesThroughKafkaFireOnceCompleteInStreamingMode) {
  std::vector<Reading> in;
  for (int i = 0; i < 4000; ++i) in.push_back({"s" + std::to_string(i % 13), i});
  auto build = [&](Pipeline& p) {
    auto c = p.create(in)
                 .with_timestamps(&Reading::time)
                 .window_into(windows::fixed(std::chrono::milliseconds(100)))
                 .map([](const Reading& r) { return std::make_pair(r.key, 1); })
                 .count_per_key()
                 .collect();
    return [c] {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < c.values().size(); ++i)
        out.push_back(fmt::format("{}@{}={}", c.values()[i].first, c.windows()[i].start,
                                  c.values()[i].second));
      return out;
    };
  };
  const auto one = run_spread(1, "win-one", build, ExecutionMode::kStreaming);
  ASSERT_EQ(one.size(), 13u * 40u);
  EXPECT_EQ(run_spread(4, "win-four", build, ExecutionMode::kStreaming), one);
}

// Unbounded, with checkpoints: no shard ever ends, so what reaches the keyed
// step was released by Commit markers only (each shard's checkpoints). Every
// window that fired before the stop is complete and fired once (the files
// each shard's checkpoints committed).
TEST(Share, UnboundedWindowsAcrossSharesThroughKafkaFireCompleteOnCommits) {
  io::KafkaDevCluster cluster;
  runnel::testing::ScratchDir dir;
  constexpr int kShares = 4;
  // Each instance's shard sends a batch of 1024 about every 200 ms, so the
  // watermark moves several times a second.
  io::GeneratorOptions g;
  g.rate = 40'000;
  g.shards = 8;
  auto events = io::generator<std::uint64_t>(
      g, +[](const io::GeneratedEvent& e) { return static_cast<std::uint64_t>(e.index); });
  std::vector<std::unique_ptr<Pipeline>> pipelines;
  for (int s = 0; s < kShares; ++s) {
    PipelineOptions o;
    o.parallelism = 1 + s % 2;
    o.share = s;
    o.shares = kShares;
    o.job_id = "unbounded";
    o.job_bootstrap = cluster.bootstrap();
    o.checkpoint_dir = dir / ("ck-" + std::to_string(s));
    o.checkpoint_interval = std::chrono::milliseconds(200);
    o.progress = false;
    pipelines.push_back(std::make_unique<Pipeline>(o));
    // Event i at i ms; its key names its 100 ms window, so each key is
    // counted in one window only.
    pipelines.back()
        ->read(events)
        .with_timestamps(+[](const std::uint64_t& i) { return static_cast<Timestamp>(i); })
        .window_into(windows::fixed(std::chrono::milliseconds(100)))
        .map([](const std::uint64_t& i) {
          return std::make_pair(fmt::format("k{}@{}", i % 7, i / 100 * 100), 1);
        })
        .count_per_key()
        .map([](const auto& kv) { return fmt::format("{}={}", kv.first, kv.second); })
        .write(io::text(dir / ("out-" + std::to_string(s))));
  }
  const auto errors = run_together(pipelines, [&] {
    std::this_thread::sleep_for(std::chrono::seconds(4));
    for (auto& p : pipelines) p->request_stop();
  });
  std::set<std::string> seen;
  for (int s = 0; s < kShares; ++s) {
    EXPECT_EQ(errors[static_cast<std::size_t>(s)], "") << "share " << s;
    for (const auto& line : runnel::testing::read_part_lines(dir / ("out-" + std::to_string(s)))) {
      const auto at = line.find('@'), eq = line.find('=');
      ASSERT_NE(eq, std::string::npos) << line;
      EXPECT_TRUE(seen.insert(line.substr(0, eq)).second) << line << ": fired twice";
      const int key = std::stoi(line.substr(1, at - 1));
      const std::uint64_t start = std::stoull(line.substr(at + 1, eq - at - 1));
      std::uint64_t want = 0;
      for (std::uint64_t i = start; i < start + 100; ++i)
        want += i % 7 == static_cast<std::uint64_t>(key);
      EXPECT_EQ(std::stoull(line.substr(eq + 1)), want) << line;
    }
  }
  EXPECT_GT(seen.size(), 7u * 10u) << "windows fire only as commits release their records";
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

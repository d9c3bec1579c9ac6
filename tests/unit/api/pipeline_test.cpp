// The typed API, transform by transform, at parallelism 1 and 3.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <runnel/runnel.hpp>

#include "test_util.hpp"

namespace {
using namespace runnel;
using KV = std::pair<std::string, int>;

class PipelineTest : public ::testing::TestWithParam<int> {
 protected:
  PipelineOptions options() const {
    PipelineOptions o;
    o.parallelism = GetParam();
    return o;
  }
};

TEST_P(PipelineTest, MapFilterFlatMap) {
  Pipeline p(options());
  std::vector<int> in(1000);
  std::iota(in.begin(), in.end(), 0);
  auto out = p.create(in)
                 .map([](int x) { return x * 3; })
                 .filter([](const int& x) { return x % 2 == 0; })
                 .flat_map([](const int& x) {
                   return std::vector<std::string>(static_cast<std::size_t>(x % 3 == 0 ? 2 : 0),
                                                   std::to_string(x));
                 })
                 .collect();
  p.run();
  std::vector<std::string> expected;
  for (int x : in) {
    int y = x * 3;
    if (y % 2 == 0) {
      expected.push_back(std::to_string(y));
      expected.push_back(std::to_string(y));
    }
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(out.sorted(), expected);
}

TEST_P(PipelineTest, FlatMapWithEmitterDeducesTheOutputType) {
  Pipeline p(options());
  auto out = p.create(std::vector<std::string>{"a b", "c", ""})
                 .flat_map([](const std::string& s, Emitter<char>& e) {
                   for (char c : s) {
                     if (c != ' ') e.emit(c);
                   }
                 })
                 .collect();
  p.run();
  EXPECT_EQ(out.sorted(), (std::vector<char>{'a', 'b', 'c'}));
}

struct SplitParity : DoFn<int, int, std::string> {
  int setups = 0;
  void setup() { ++setups; }
  void process(const int& x, Emitters<int, std::string>& out) {
    if (x % 2 == 0) {
      out.emit<0>(x);
    } else {
      out.emit<1>("odd" + std::to_string(x));
    }
  }
};

TEST_P(PipelineTest, ParDoWithTaggedOutputs) {
  Pipeline p(options());
  auto [evens, odds] = p.create(std::vector<int>{1, 2, 3, 4, 5}).par_do(SplitParity{});
  auto e = evens.collect();
  auto o = odds.collect();
  p.run();
  EXPECT_EQ(e.sorted(), (std::vector<int>{2, 4}));
  EXPECT_EQ(o.sorted(), (std::vector<std::string>{"odd1", "odd3", "odd5"}));
}

// Takes its input by rvalue: moves the long strings out, to one output or the other.
struct MoveBySize : DoFn<std::string, std::string, std::string> {
  void process(std::string&& x, Emitters<std::string, std::string>& out) {
    if (x.size() > 3) {
      out.emit<0>(std::move(x));
    } else {
      out.emit<1>(std::move(x));
    }
  }
};

TEST_P(PipelineTest, ParDoMayMoveFromItsInputWithoutTouchingOtherReaders) {
  Pipeline p(options());
  // Long enough to live on the heap, so a move really takes the characters.
  std::vector<std::string> in = {std::string(40, 'a'), "b", std::string(50, 'c'), "dd"};
  auto words = p.create(in);
  auto [long_words, short_words] = words.par_do(MoveBySize{});
  auto l = long_words.collect();
  auto s = short_words.collect();
  auto all = words.collect();  // a second reader of the same collection
  p.run();
  EXPECT_EQ(l.sorted(), (std::vector<std::string>{std::string(40, 'a'), std::string(50, 'c')}));
  EXPECT_EQ(s.sorted(), (std::vector<std::string>{"b", "dd"}));
  std::sort(in.begin(), in.end());
  EXPECT_EQ(all.sorted(), in);
}

// Counts its lifecycle calls into a shared log, to check the hooks run.
struct Lifecycle : DoFn<int, std::string> {
  std::shared_ptr<std::atomic<int>> setups, teardowns, bundles;
  int in_bundle = 0;
  void setup() { ++*setups; }
  void start_bundle() { in_bundle = 0; }
  void process(const int&, Emitter<std::string>&) { ++in_bundle; }
  void finish_bundle(Emitter<std::string>& out) {
    ++*bundles;
    out.emit("bundle of " + std::to_string(in_bundle));
  }
  void teardown() { ++*teardowns; }
};

TEST_P(PipelineTest, DoFnLifecycle) {
  PipelineOptions o = options();
  o.batch_size = 10;
  Pipeline p(o);
  Lifecycle fn;
  fn.setups = std::make_shared<std::atomic<int>>(0);
  fn.teardowns = std::make_shared<std::atomic<int>>(0);
  fn.bundles = std::make_shared<std::atomic<int>>(0);
  std::vector<int> in(100, 1);
  auto out = p.create(in).par_do(fn).collect();
  p.run();
  EXPECT_EQ(*fn.setups, GetParam());
  EXPECT_EQ(*fn.teardowns, GetParam());
  EXPECT_EQ(static_cast<int>(out.size()), fn.bundles->load());
  int total = 0;
  for (const auto& s : out.values()) total += std::stoi(s.substr(10));
  EXPECT_EQ(total, 100);
}

TEST_P(PipelineTest, GroupByKeyAndCombiners) {
  Pipeline p(options());
  std::vector<KV> in;
  for (int i = 0; i < 5000; ++i) in.emplace_back("k" + std::to_string(i % 37), i);
  auto kvs = p.create(in);
  auto groups = kvs.group_by_key().collect();
  auto sums = kvs.sum_per_key().collect();
  auto mins = kvs.min_per_key().collect();
  auto maxs = kvs.max_per_key().collect();
  auto means = kvs.mean_per_key().collect();
  auto counts = kvs.count_per_key().collect();
  auto top = kvs.top_k_per_key(3).collect();
  p.run();

  std::map<std::string, std::vector<int>> ref;
  for (const auto& [k, v] : in) ref[k].push_back(v);
  ASSERT_EQ(groups.size(), ref.size());
  for (auto g : groups.values()) {
    std::sort(g.second.begin(), g.second.end());
    EXPECT_EQ(g.second, ref[g.first]) << g.first;
  }
  for (const auto& [k, s] : sums.values())
    EXPECT_EQ(s, std::accumulate(ref[k].begin(), ref[k].end(), 0));
  for (const auto& [k, m] : mins.values()) EXPECT_EQ(m, ref[k].front());
  for (const auto& [k, m] : maxs.values()) EXPECT_EQ(m, ref[k].back());
  for (const auto& [k, c] : counts.values()) EXPECT_EQ(c, ref[k].size());
  for (const auto& [k, m] : means.values()) {
    EXPECT_DOUBLE_EQ(
        m, std::accumulate(ref[k].begin(), ref[k].end(), 0.0) / static_cast<double>(ref[k].size()));
  }
  for (const auto& [k, t] : top.values()) {
    std::vector<int> want(ref[k].rbegin(), ref[k].rbegin() + 3);
    EXPECT_EQ(t, want);
  }
}

struct Avg {
  using Accumulator = std::pair<long, long>;
  Accumulator create_accumulator() const { return {0, 0}; }
  void add_input(Accumulator& a, const int& v) const {
    a.first += v;
    a.second += 1;
  }
  void merge_accumulators(Accumulator& a, Accumulator&& b) const {
    a.first += b.first;
    a.second += b.second;
  }
  long extract_output(Accumulator&& a) const { return a.second ? a.first / a.second : 0; }
};

TEST_P(PipelineTest, UserCombineFnAndGlobalCombines) {
  Pipeline p(options());
  std::vector<int> in(999);
  std::iota(in.begin(), in.end(), 1);
  auto c = p.create(in);
  auto avg = c.combine_globally(Avg{}).collect();
  auto sum = c.sum().collect();
  auto count = c.count().collect();
  auto top = c.top_k(2).collect();
  auto by_key = c.key_by([](int x) { return x % 2; })
                    .map([](std::pair<int, int>&& kv) { return kv; })
                    .combine_per_key(Avg{})
                    .collect();
  p.run();
  EXPECT_EQ(avg.values(), (std::vector<long>{500}));
  EXPECT_EQ(sum.values(), (std::vector<int>{999 * 1000 / 2}));
  EXPECT_EQ(count.values(), (std::vector<std::uint64_t>{999}));
  EXPECT_EQ(top.values(), (std::vector<std::vector<int>>{{999, 998}}));
  EXPECT_EQ(by_key.sorted(), (std::vector<std::pair<int, long>>{{0, 500}, {1, 500}}));
}

TEST_P(PipelineTest, CountPerElement) {
  Pipeline p(options());
  auto out = p.create(std::vector<std::string>{"a", "b", "a", "c", "a", "b"})
                 .count_per_element()
                 .collect();
  p.run();
  EXPECT_EQ(out.sorted(),
            (std::vector<std::pair<std::string, std::uint64_t>>{{"a", 3}, {"b", 2}, {"c", 1}}));
}

TEST_P(PipelineTest, FlattenCoGroupAndJoins) {
  Pipeline p(options());
  auto a = p.create(std::vector<KV>{{"x", 1}, {"y", 2}, {"x", 3}, {"z", 9}});
  auto b = p.create(std::vector<std::pair<std::string, std::string>>{
      {"x", "X"}, {"y", "Y1"}, {"y", "Y2"}, {"w", "W"}});
  auto flat = flatten(a, a.map([](KV kv) { return KV(kv.first, kv.second * 10); })).collect();
  auto inner = join_inner(a, b).collect();
  auto left = join_left(a, b).collect();
  auto cg = co_group_by_key(a, b).collect();
  p.run();
  EXPECT_EQ(flat.size(), 8u);
  using Inner = std::pair<std::string, std::pair<int, std::string>>;
  EXPECT_EQ(
      inner.sorted(),
      (std::vector<Inner>{{"x", {1, "X"}}, {"x", {3, "X"}}, {"y", {2, "Y1"}}, {"y", {2, "Y2"}}}));
  using Left = std::pair<std::string, std::pair<int, std::optional<std::string>>>;
  EXPECT_EQ(left.sorted(), (std::vector<Left>{{"x", {1, "X"}},
                                              {"x", {3, "X"}},
                                              {"y", {2, "Y1"}},
                                              {"y", {2, "Y2"}},
                                              {"z", {9, std::nullopt}}}));
  EXPECT_EQ(cg.size(), 4u);  // w, x, y, z
  for (const auto& [k, vs] : cg.values()) {
    if (k == "w") {
      EXPECT_TRUE(vs.first.empty() && vs.second.size() == 1);
    }
    if (k == "z") {
      EXPECT_TRUE(vs.first.size() == 1 && vs.second.empty());
    }
  }
}

struct AddOffsets : DoFn<int, int> {
  void process(const int& x, const std::vector<int>& side, Emitter<int>& out) {
    for (int s : side) out.emit(x + s);
  }
};

TEST_P(PipelineTest, SideInputIsBroadcastWhole) {
  Pipeline p(options());
  std::vector<int> main(200);
  std::iota(main.begin(), main.end(), 0);
  auto side = p.create(std::vector<int>{1000, 2000, 3000});
  auto out = p.create(main).par_do(AddOffsets{}, side).collect();
  p.run();
  std::vector<int> expected;
  for (int x : main) {
    for (int s : {1000, 2000, 3000}) expected.push_back(x + s);
  }
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(out.sorted(), expected);
}

struct Reading {
  std::string device;
  std::int64_t time_ms = 0;
  double celsius = 0;
  bool operator==(const Reading&) const = default;
  bool operator<(const Reading& o) const { return time_ms < o.time_ms; }
};
RUNNEL_FIELDS(Reading, device, time_ms, celsius);

TEST_P(PipelineTest, CsvReadWithDeadLetters) {
  runnel::testing::ScratchDir dir;
  runnel::testing::write_file(dir / "in/a.csv",
                              "device,time_ms,celsius\n"
                              "d1,1,20.5\n"
                              "d2,two,21\n"
                              "\"d,3\",3,22\n"
                              "d4,4\n"
                              "d5,5,23.5\r\n");
  Pipeline p(options());
  auto readings = p.read(io::csv<Reading>(dir / "in/*.csv").skip_header()).collect();
  auto rejected = p.dead_letters().collect();
  RunResult r = p.run();
  EXPECT_EQ(readings.sorted(),
            (std::vector<Reading>{{"d1", 1, 20.5}, {"d,3", 3, 22}, {"d5", 5, 23.5}}));
  ASSERT_EQ(rejected.size(), 2u);
  auto bad = rejected.values();
  std::sort(bad.begin(), bad.end(),
            [](const DeadLetter& a, const DeadLetter& b) { return a.line < b.line; });
  EXPECT_EQ(bad[0].line, 3u);
  EXPECT_NE(bad[0].reason.find("column 2"), std::string::npos) << bad[0].reason;
  EXPECT_EQ(bad[0].record, "d2,two,21");
  EXPECT_EQ(bad[1].line, 5u);
  EXPECT_NE(bad[1].reason.find("expected 3 columns, found 2"), std::string::npos) << bad[1].reason;
  EXPECT_NE(bad[1].source.find("a.csv"), std::string::npos);
  EXPECT_EQ(r.dead_letters, 2u);
}

TEST_P(PipelineTest, TextRoundTripThroughFiles) {
  runnel::testing::ScratchDir dir;
  std::string content;
  for (int i = 0; i < 3000; ++i) content += "line " + std::to_string(i) + "\n";
  runnel::testing::write_file(dir / "in/one.txt", content);
  runnel::testing::write_file(dir / "in/two.txt", "x\n\ny");
  Pipeline p(options());
  p.read(io::text(dir / "in")).write(io::text(dir / "out"));
  RunResult r = p.run();
  EXPECT_EQ(r.records_in, 3003u);
  EXPECT_EQ(r.records_out, 3003u);
  EXPECT_TRUE(std::filesystem::exists(dir / "out/_SUCCESS"));
  auto lines = runnel::testing::read_part_lines(dir / "out");
  EXPECT_EQ(lines.size(), 3003u);
}

TEST_P(PipelineTest, AFailingJobLeavesNoFinalOutput) {
  runnel::testing::ScratchDir dir;
  std::vector<int> in(10000);
  std::iota(in.begin(), in.end(), 0);
  Pipeline p(options());
  p.create(in)
      .map([](int x) {
        if (x == 9000) throw std::runtime_error("boom at 9000");
        return std::to_string(x);
      })
      .write(io::text(dir / "out"));
  try {
    p.run();
    FAIL() << "the job should fail";
  } catch (const std::runtime_error& e) {
    // The error names where it happened.
    EXPECT_NE(std::string(e.what()).find("boom at 9000 (in task 0 [create -> map -> write text"),
              std::string::npos)
        << e.what();
  }
  // The run made the directory, so it removes it again.
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST_P(PipelineTest, OverwriteKeepsTheOldOutputUntilTheNewRunSucceeds) {
  runnel::testing::ScratchDir dir;
  std::vector<int> in(100);
  std::iota(in.begin(), in.end(), 0);
  {
    Pipeline p(options());
    p.create(in).map([](int x) { return std::to_string(x); }).write(io::text(dir / "out"));
    p.run();
  }
  auto before = runnel::testing::read_part_lines(dir / "out");
  ASSERT_EQ(before.size(), 100u);
  {
    Pipeline p(options());
    p.create(in)
        .map([](int x) {
          if (x == 50) throw std::runtime_error("fails");
          return std::to_string(x);
        })
        .write(io::text(dir / "out").overwrite());
    EXPECT_THROW(p.run(), std::runtime_error);
  }
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"), before);
  EXPECT_TRUE(std::filesystem::exists(dir / "out/_SUCCESS"));
  {
    Pipeline p(options());
    p.create(std::vector<std::string>{"only"}).write(io::text(dir / "out").overwrite());
    p.run();
  }
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"), std::vector<std::string>{"only"});
}

TEST_P(PipelineTest, TwoSinksOnOneDirectoryIsAUserError) {
  runnel::testing::ScratchDir dir;
  Pipeline p(options());
  auto c = p.create(std::vector<std::string>{"a"});
  c.write(io::text(dir / "out"));
  c.write(io::csv(dir / "out"));
  EXPECT_THROW(p.run(), UserError);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST_P(PipelineTest, CollectionsOfAnotherPipelineAreRejected) {
  Pipeline p(options()), q(options());
  auto a = p.create(std::vector<int>{1});
  auto b = q.create(std::vector<int>{2});
  EXPECT_THROW(flatten(a, b), std::invalid_argument);
}

TEST_P(PipelineTest, MissingInputIsAUserError) {
  Pipeline p(options());
  p.read(io::text("/nonexistent/dir/*.txt")).collect();
  EXPECT_THROW(p.run(), UserError);
}

INSTANTIATE_TEST_SUITE_P(Parallelism, PipelineTest, ::testing::Values(1, 3));

}  // namespace

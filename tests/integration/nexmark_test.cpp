// Every Nexmark query against an independent reference (nexmark_reference.hpp:
// plain loops over the events), in batch mode at parallelism 1 and 2 and in
// streaming mode with out-of-order events; q12 (processing time) against its
// own invariants; and the CLI's generate/run round trip through files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "integration/cli_runner.hpp"
#include "integration/nexmark_reference.hpp"
#include "nexmark/query.hpp"

namespace runnel::nexmark {
using testing::run_cli;

namespace {

// 200k events at 1,000 a second span 200 s of event time: twenty 10 s
// windows, auctions lasting up to a few seconds.
GeneratorConfig test_config(Timestamp max_delay_ms) {
  GeneratorConfig c;
  c.events = 200'000;
  c.rate = 1'000;
  c.seed = 7;
  c.max_delay_ms = max_delay_ms;
  return c;
}

const std::vector<Event>& events_of(Timestamp max_delay_ms) {
  static std::map<Timestamp, std::vector<Event>> cache;
  auto& v = cache[max_delay_ms];
  if (v.empty()) {
    GeneratorConfig c = test_config(max_delay_ms);
    for (std::uint64_t n = 0; n < c.events; ++n) v.push_back(event_at(c, n));
  }
  return v;
}

// Streaming results of unwindowed aggregations are upserts: the last row of
// each group is its final value.
std::vector<std::string> final_rows(const std::string& query,
                                    const std::vector<std::string>& rows) {
  const auto keys = reference::key_columns(query);
  if (keys.empty()) return rows;
  std::map<std::string, std::string> last;
  json::Document doc;
  for (const auto& row : rows) {
    EXPECT_EQ(doc.parse(row), "");
    std::string key;
    for (const auto& k : keys) {
      const auto* e = doc.find(k);
      EXPECT_NE(e, nullptr) << k << " in " << row;
      if (e != nullptr) key += e->text + '\x1f';
    }
    last[key] = row;
  }
  std::vector<std::string> out;
  for (auto& [k, row] : last) out.push_back(std::move(row));
  return out;
}

struct Run {
  ExecutionMode mode;
  int parallelism;
  Timestamp max_delay_ms;
  StateBackend backend = StateBackend::kMemory;
};

std::vector<std::string> run_query(const Query& q, const Run& r) {
  PipelineOptions o;
  o.mode = r.mode;
  o.parallelism = r.parallelism;
  o.state_backend = r.backend;
  Pipeline p(o);
  QueryContext ctx;
  ctx.update_interval = std::chrono::milliseconds(20);
  const auto delay = std::chrono::milliseconds(r.max_delay_ms);
  auto events = p.read(io::nexmark(test_config(r.max_delay_ms)))
                    .with_timestamps(event_time, delay.count() > 0
                                                     ? watermarks::bounded_out_of_orderness(delay)
                                                     : watermarks::ascending());
  Sink sink;
  sink.kind = Sink::Kind::kCollect;
  sink.collected = std::make_shared<std::optional<Collected<std::string>>>();
  q.build(events, ctx, sink);
  RunResult result = p.run();
  EXPECT_EQ(result.late_records, 0u);
  auto rows = final_rows(q.name, (*sink.collected)->values());
  std::sort(rows.begin(), rows.end());
  return rows;
}

class NexmarkQuery : public ::testing::TestWithParam<std::string> {};

TEST_P(NexmarkQuery, MatchesTheReferenceInBatchAndStreaming) {
  const Query* q = find_query(GetParam());
  ASSERT_NE(q, nullptr);
  const auto expected = reference::run(q->name, events_of(0));
  ASSERT_FALSE(expected.empty()) << "the reference finds nothing: a weak test";
  auto batch1 = run_query(*q, {ExecutionMode::kBatch, 1, 0});
  EXPECT_EQ(batch1.size(), expected.size());
  EXPECT_TRUE(batch1 == expected) << "batch p=1 differs; first rows: "
                                  << (batch1.empty() ? "" : batch1[0]) << " vs " << expected[0];
  auto batch2 = run_query(*q, {ExecutionMode::kBatch, 2, 0});
  EXPECT_TRUE(batch2 == expected) << "batch p=2 differs";
  auto streaming = run_query(*q, {ExecutionMode::kStreaming, 2, 0});
  EXPECT_TRUE(streaming == expected) << "streaming p=2 differs";
  // Out of order by up to 2 s (other event times, so another reference).
  const auto expected_ooo = reference::run(q->name, events_of(2000));
  auto streaming_ooo = run_query(*q, {ExecutionMode::kStreaming, 2, 2000});
  EXPECT_TRUE(streaming_ooo == expected_ooo) << "streaming out of order differs";
  // The same on RocksDB: keyed state (windows, sessions, DoFn rows) as rows
  // of each instance's database.
  auto rocksdb_ooo = run_query(*q, {ExecutionMode::kStreaming, 2, 2000, StateBackend::kRocksDB});
  EXPECT_TRUE(rocksdb_ooo == expected_ooo) << "streaming out of order on RocksDB differs";
  auto batch_ooo = run_query(*q, {ExecutionMode::kBatch, 2, 2000});
  EXPECT_TRUE(batch_ooo == expected_ooo) << "batch out of order differs";
}

INSTANTIATE_TEST_SUITE_P(AllButQ12, NexmarkQuery,
                         ::testing::Values("q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8",
                                           "q9", "q10", "q11", "q13", "q14", "q15", "q16", "q17",
                                           "q18", "q19", "q20", "q21", "q22"),
                         [](const auto& info) { return info.param; });

// Processing-time windows differ from run to run; what holds: every bid is
// counted once, windows are 10 s and aligned, one row per bidder and window.
TEST(NexmarkQ12, CountsEveryBidOnceInAlignedProcessingTimeWindows) {
  for (auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    auto rows = run_query(*find_query("q12"), {mode, 2, 0});
    std::int64_t bids = 0;
    for (const auto& e : events_of(0)) bids += is_bid(e) ? 1 : 0;
    std::int64_t counted = 0;
    std::set<std::pair<std::int64_t, std::int64_t>> seen;
    for (const auto& line : rows) {
      BidCountRow r;
      ASSERT_EQ(json::from_json(line, r), "");
      counted += r.bid_count;
      EXPECT_EQ(r.starttime % 10'000, 0);
      EXPECT_EQ(r.endtime - r.starttime, 10'000);
      EXPECT_TRUE(seen.insert({r.bidder, r.starttime}).second) << line;
    }
    EXPECT_EQ(counted, bids);
  }
}

// The generator: the reference's mix and ids, the same events from any
// number of shards, and its text forms read back.
TEST(NexmarkGenerator, FollowsTheReferenceMixAndIds) {
  const auto& events = events_of(0);
  std::int64_t people = 0, auctions = 0, bids = 0;
  for (std::size_t n = 0; n < events.size(); ++n) {
    const Event& e = events[n];
    switch (e.type()) {
      case EventType::kPerson:
        EXPECT_EQ(e.person().id, 1000 + static_cast<std::int64_t>(n / 50));
        ++people;
        break;
      case EventType::kAuction:
        EXPECT_GE(e.auction().category, 10);
        EXPECT_LE(e.auction().category, 14);
        EXPECT_GT(e.auction().expires, e.auction().dateTime);
        EXPECT_GE(e.auction().id, 1000);
        ++auctions;
        break;
      case EventType::kBid:
        EXPECT_GE(e.bid().auction, 1000);
        EXPECT_GE(e.bid().bidder, 1000);
        EXPECT_FALSE(e.bid().url.empty());
        ++bids;
        break;
    }
    EXPECT_EQ(e.time(), 1'700'000'000'000 + static_cast<Timestamp>(n));  // 1,000 a second
  }
  EXPECT_EQ(people * 50, static_cast<std::int64_t>(events.size()));
  EXPECT_EQ(auctions, people * 3);
  EXPECT_EQ(bids, people * 46);
}

TEST(NexmarkGenerator, ShardsTogetherGiveTheSameEvents) {
  auto all = [](int parallelism) {
    PipelineOptions o;
    o.parallelism = parallelism;
    o.mode = ExecutionMode::kBatch;
    Pipeline p(o);
    GeneratorConfig c = test_config(0);
    c.events = 20'000;
    auto lines = p.read(io::nexmark(c))
                     .map([](const Event& e) {
                       std::string s;
                       append_json(s, e);
                       return s;
                     })
                     .collect();
    p.run();
    return lines.sorted();
  };
  EXPECT_EQ(all(1), all(3));
}

TEST(NexmarkGenerator, JsonAndCsvReadBack) {
  for (std::size_t n = 0; n < 200; ++n) {
    const Event& e = events_of(0)[n];
    std::string line;
    append_json(line, e);
    Event back;
    ASSERT_EQ(parse_json(line, back), "") << line;
    std::string again;
    append_json(again, back);
    EXPECT_EQ(again, line);
    std::string csv_line;
    append_csv(csv_line, e);
    Event from_csv;
    ASSERT_EQ(parse_csv(csv_line, from_csv), "") << csv_line;
    std::string json_of_csv;
    append_json(json_of_csv, from_csv);
    EXPECT_EQ(json_of_csv, line);
  }
  Event e;
  EXPECT_NE(parse_json(R"({"event_type":7,"bid":{}})", e), "");
  EXPECT_NE(parse_json(R"({"event_type":2,"bid":{"auction":"x"}})", e), "");
  EXPECT_NE(parse_csv("2,1,2", e), "");
}

// The CLI: events written by `nexmark generate` and read back by `nexmark run
// --source file` give what the generator inside the job gives; a bad line is
// rejected with its reason, not dropped.
TEST(NexmarkCli, GenerateThenRunFromFilesMatchesTheGenerator) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "runnel_nexmark_cli";
  fs::remove_all(dir);
  const std::string gen = "--events 20000 --rate 1000 --seed 3";
  auto g = run_cli("nexmark generate " + gen + " --output " + (dir / "events").string());
  ASSERT_EQ(g.exit_code, 0) << g.output;
  {
    std::ofstream bad(dir / "events" / "part-bad.txt");
    bad << "{\"event_type\":2,\"bid\":{\"auction\":\"not a number\"}}\n";
  }
  auto from_files = run_cli("nexmark run --query q7 --no-progress -p 2 --source file --input '" +
                            (dir / "events" / "part-*.txt").string() + "' --sink file --output " +
                            (dir / "from_files").string());
  ASSERT_EQ(from_files.exit_code, 0) << from_files.output;
  auto generated = run_cli("nexmark run --query q7 --no-progress -p 2 " + gen +
                           " --sink file --output " + (dir / "generated").string());
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  auto lines_in = [](const fs::path& d) {
    std::vector<std::string> lines;
    for (const auto& f : fs::directory_iterator(d)) {
      if (f.path().filename().string().rfind("part-", 0) != 0) continue;
      std::ifstream in(f.path());
      for (std::string l; std::getline(in, l);) lines.push_back(l);
    }
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  auto a = lines_in(dir / "from_files");
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(a, lines_in(dir / "generated"));
  // The bad line is in _rejected with its reason.
  std::string rejected;
  for (const auto& f : fs::directory_iterator(dir / "from_files" / "_rejected")) {
    std::ifstream in(f.path());
    rejected += std::string(std::istreambuf_iterator<char>(in), {});
  }
  EXPECT_NE(rejected.find("bid.auction"), std::string::npos) << rejected;

  auto unknown = run_cli("nexmark run --query q99 --events 10");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("q99"), std::string::npos) << unknown.output;
  fs::remove_all(dir);
}

TEST(NexmarkLatency, QuantilesOfTheRecordedRows) {
  // 1000 events/s of event time from t=1000, paced at 100 events/s of wall time.
  LatencyRecorder r(1000, 1000, 100.0, 2000);
  r.start();
  EXPECT_EQ(r.latency_ms(999, LatencyRecorder::now_ms()), -1);   // before the span
  EXPECT_EQ(r.latency_ms(2001, LatencyRecorder::now_ms()), -1);  // after it
  // Event time 1500 is event 500, due 5 s after the start.
  double started = LatencyRecorder::now_ms() - r.latency_ms(1000, LatencyRecorder::now_ms());
  EXPECT_NEAR(static_cast<double>(r.latency_ms(1500, started + 5'250)), 250, 2);
  EXPECT_EQ(r.latency_ms(1500, started + 4'000), 0);  // early (an end-of-input result)
  std::vector<std::int64_t> ms;
  for (int i = 1; i <= 100; ++i) ms.push_back(i);
  ms.push_back(90'000);  // past the histogram: counted in its last bucket
  r.merge(ms);
  EXPECT_EQ(r.summary(), "p50 51 ms, p99 100 ms, max 60000 ms over 101 rows");
}

TEST(NexmarkLatency, PacedStreamingRunPrintsIt) {
  auto paced = run_cli(
      "nexmark run --query q1 --events 20000 --rate 20000 --pace 20000 --mode streaming -p 1 "
      "--no-progress");
  ASSERT_EQ(paced.exit_code, 0) << paced.output;
  EXPECT_NE(paced.output.find("q1 latency"), std::string::npos) << paced.output;
  EXPECT_NE(paced.output.find("over 18400 rows"), std::string::npos) << paced.output;
  auto unpaced =
      run_cli("nexmark run --query q1 --events 2000 --mode streaming -p 1 --no-progress");
  ASSERT_EQ(unpaced.exit_code, 0) << unpaced.output;
  EXPECT_NE(unpaced.output.find("give --pace"), std::string::npos) << unpaced.output;
}

}  // namespace
}  // namespace runnel::nexmark

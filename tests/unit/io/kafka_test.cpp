// The Kafka source and sink against the development cluster (librdkafka's
// mock cluster on loopback), through real clients: runnel's own producer and
// consumer here; kcat, a client no one here wrote, in the CLI tests.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <map>
#include <runnel/runnel.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "checkpoint_saboteur.hpp"
#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;

struct Line {
  std::string text;
  Timestamp time = 0;
};
RUNNEL_FIELDS(Line, text, time);

// n lines "k<i % 13> <time>", written to `topic` by a runnel pipeline (the
// sink under test), keyed by their number so that they spread over the
// partitions by hash. (Parallelism 1: each partition gets its records in time order.)
std::vector<std::string> produce_lines(const std::string& bootstrap, const std::string& topic,
                                       int n, int parallelism = 2) {
  std::vector<std::pair<std::string, std::string>> records;
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back("k" + std::to_string(i % 13) + " " + std::to_string(1'000'000 + i * 7));
    records.emplace_back(std::to_string(i), lines.back());
  }
  PipelineOptions o;
  o.parallelism = parallelism;
  o.progress = false;
  Pipeline p(o);
  p.create(records).write(io::kafka(bootstrap, topic));
  p.run();
  std::sort(lines.begin(), lines.end());
  return lines;
}

PipelineOptions options(int parallelism, ExecutionMode mode) {
  PipelineOptions o;
  o.parallelism = parallelism;
  o.mode = mode;
  o.progress = false;
  return o;
}

TEST(Kafka, BoundedReadEqualsWhatWasProduced) {
  io::KafkaDevCluster cluster(3);
  cluster.create_topic("lines", 4);
  const auto lines = produce_lines(cluster.bootstrap(), "lines", 20'000);
  for (int parallelism : {1, 3}) {
    Pipeline p(options(parallelism, ExecutionMode::kAuto));
    auto records = p.read(io::kafka(cluster.bootstrap(), "lines").bounded()).collect();
    RunResult r = p.run();
    EXPECT_FALSE(r.streaming);  // bounded: batch mode by default
    std::vector<std::string> got;
    std::map<int, std::vector<std::int64_t>> offsets;
    for (const auto& rec : records.values()) {
      got.push_back(rec.value);
      offsets[rec.partition].push_back(rec.offset);
      EXPECT_EQ(rec.topic, "lines");
      EXPECT_GT(rec.timestamp, 0);
    }
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, lines) << "parallelism " << parallelism;
    EXPECT_EQ(offsets.size(), 4u);  // keyed records spread over the partitions
    for (auto& [partition, list] : offsets) {
      std::sort(list.begin(), list.end());
      for (std::size_t i = 0; i < list.size(); ++i)
        ASSERT_EQ(list[i], static_cast<std::int64_t>(i)) << "partition " << partition;
    }
  }
}

TEST(Kafka, OnlyNamedPartitionsAreRead) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 3);
  produce_lines(cluster.bootstrap(), "lines", 3000);
  // The producer spreads records by its sticky partitioner: find a partition that has some.
  std::map<std::int32_t, std::vector<std::string>> by_partition;
  {
    Pipeline p(options(1, ExecutionMode::kBatch));
    auto all = p.read(io::kafka(cluster.bootstrap(), "lines").bounded()).collect();
    p.run();
    for (const auto& r : all.values()) by_partition[r.partition].push_back(r.value);
  }
  ASSERT_FALSE(by_partition.empty());
  auto& [chosen, want] = *by_partition.rbegin();
  std::sort(want.begin(), want.end());
  Pipeline p(options(2, ExecutionMode::kBatch));
  auto records =
      p.read(io::kafka(cluster.bootstrap(), "lines").bounded().only_partitions({chosen})).collect();
  p.run();
  std::vector<std::string> got;
  for (const auto& r : records.values()) {
    EXPECT_EQ(r.partition, chosen);
    got.push_back(r.value);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
}

// Event time from the record: windowed counts over the topic in streaming
// mode (a watermark per partition) equal batch mode's.
TEST(Kafka, StreamingWindowsOverTheTopicEqualBatch) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 3);
  produce_lines(cluster.bootstrap(), "lines", 6000, 1);
  auto run = [&](ExecutionMode mode) {
    Pipeline p(options(2, mode));
    auto counts =
        p.read(io::kafka(cluster.bootstrap(), "lines").bounded())
            .map([](const io::KafkaRecord& r) {
              auto space = r.value.find(' ');
              return Line{r.value.substr(0, space), std::stoll(r.value.substr(space + 1))};
            })
            .with_timestamps(&Line::time, watermarks::bounded_out_of_orderness(0ms))
            .window_into(windows::fixed(1s))
            .map([](const Line& l) { return l.text; })
            .count_per_element()
            .collect();
    RunResult r = p.run();
    EXPECT_EQ(r.streaming, mode == ExecutionMode::kStreaming);
    EXPECT_EQ(r.late_records, 0u);
    std::map<std::pair<Timestamp, std::string>, std::uint64_t> got;
    for (std::size_t i = 0; i < counts.size(); ++i)
      got[{counts.windows()[i].start, counts.values()[i].first}] += counts.values()[i].second;
    return got;
  };
  auto batch = run(ExecutionMode::kBatch);
  EXPECT_EQ(batch.size(), 13u * 42);  // 6000 records 7 ms apart: 42 one-second windows
  EXPECT_EQ(run(ExecutionMode::kStreaming), batch);
}

// Offsets are part of checkpoints: a restore (here of a middle checkpoint,
// at another parallelism) reads on from them, and the file sink's output
// holds every record once.
TEST(Kafka, RestoreResumesAtTheCheckpointedOffsets) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 4);
  const auto lines = produce_lines(cluster.bootstrap(), "lines", 8000);
  runnel::testing::ScratchDir dir;
  auto job = [&](int parallelism, const std::string& restore) {
    PipelineOptions o = options(parallelism, ExecutionMode::kStreaming);
    o.checkpoint_dir = dir / "ck";
    o.checkpoint_interval = 40ms;
    o.checkpoints_kept = 100;
    o.restore = restore;
    Pipeline p(o);
    p.read(io::kafka(cluster.bootstrap(), "lines").bounded())
        .map([](const io::KafkaRecord& r) {
          static std::atomic<int> n{0};
          if (++n % 10 == 0) std::this_thread::sleep_for(2ms);  // several checkpoints on the way
          return r.value;
        })
        .write(io::text(dir / "out"));
    return p.run();
  };
  RunResult first = job(2, "");
  // Not a speed check: a slow disk (fsync) makes checkpoints few; two are enough.
  EXPECT_GE(first.checkpoints, 2u);
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"), lines);
  {
    // The offsets of completed checkpoints went to the group runnel-lines (for lag monitoring).
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstrap().c_str(), err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "runnel-lines", err, sizeof err);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    ASSERT_NE(rk, nullptr) << err;
    rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; ++p) rd_kafka_topic_partition_list_add(l, "lines", p);
    ASSERT_EQ(rd_kafka_committed(rk, l, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    std::int64_t committed = 0;
    for (int p = 0; p < l->cnt; ++p) {
      std::int64_t low = 0, high = 0;
      rd_kafka_query_watermark_offsets(rk, "lines", p, &low, &high, 10000);
      EXPECT_LE(l->elems[p].offset, high);
      committed += std::max<std::int64_t>(0, l->elems[p].offset);
    }
    EXPECT_GT(committed, 0);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
  }
  auto all = state::list_checkpoints(dir.path() / "ck", true);
  ASSERT_GE(all.size(), 2u);
  const auto& chosen = all[(all.size() - 1) / 2];  // not the newest
  RunResult again = job(3, chosen.path.string());
  EXPECT_EQ(again.restored_checkpoint, chosen.id);
  EXPECT_LT(again.records_in, first.records_in);  // resumed, not started over
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"), lines);
}

// The same pipeline over the topic unbounded (streaming, ended once the
// topic is idle) and bounded (batch) gives the same results.
TEST(Kafka, UnboundedUntilIdleEqualsBounded) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 3);
  produce_lines(cluster.bootstrap(), "lines", 5000);
  auto run = [&](io::KafkaIO in, ExecutionMode mode) {
    Pipeline p(options(2, mode));
    auto counts =
        p.read(in)
            .map([](const io::KafkaRecord& r) { return r.value.substr(0, r.value.find(' ')); })
            .count_per_element()
            .collect();
    RunResult r = p.run();
    EXPECT_EQ(r.streaming, !in.bounded_read);  // auto mode: streaming if unbounded
    return counts.sorted();
  };
  auto bounded = run(io::kafka(cluster.bootstrap(), "lines").bounded(), ExecutionMode::kAuto);
  ASSERT_EQ(bounded.size(), 13u);
  EXPECT_EQ(
      run(io::kafka(cluster.bootstrap(), "lines").stop_when_idle(1500ms), ExecutionMode::kAuto),
      bounded);
}

// Partition watermarks with idleness: a partition that never gets a record
// does not hold the watermark back, so a window fires while the job runs,
// not only when the input ends.
TEST(Kafka, AnIdlePartitionDoesNotHoldTheWatermarkBack) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("events", 2);
  auto produce = [&](Timestamp from, Timestamp to) {
    std::vector<std::pair<std::string, std::string>> records;
    for (Timestamp t = from; t < to; t += 10) records.emplace_back("same-key", std::to_string(t));
    PipelineOptions o = options(1, ExecutionMode::kBatch);
    Pipeline p(o);
    p.create(records).write(io::kafka(cluster.bootstrap(), "events"));
    p.run();
  };
  produce(0, 1000);  // window [0, 1000), all in one partition (one key)
  static std::atomic<std::int64_t> fired_ms{-1};
  fired_ms = -1;
  const auto start = std::chrono::steady_clock::now();
  std::thread later([&] {
    std::this_thread::sleep_for(300ms);
    produce(2000, 2100);  // moves that partition's watermark past the first window
  });
  Pipeline p(options(1, ExecutionMode::kStreaming));
  p.read(io::kafka(cluster.bootstrap(), "events").stop_when_idle(2s))
      .map([](const io::KafkaRecord& r) { return std::stoll(r.value); })
      .with_timestamps([](const long long& t) { return static_cast<Timestamp>(t); },
                       watermarks::bounded_out_of_orderness(0ms).with_idleness(200ms))
      .window_into(windows::fixed(1s))
      .map([](const long long&) { return std::string("n"); })
      .count_per_element()
      .map([start](const std::pair<std::string, std::uint64_t>& kv) {
        if (kv.second == 100 && fired_ms < 0)
          fired_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
        return kv.second;
      })
      .collect();
  RunResult r = p.run();
  later.join();
  const auto ended_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
  ASSERT_GE(fired_ms.load(), 0);
  EXPECT_GE(ended_ms, 2000);  // the source waited 2 s for more records
  EXPECT_LT(fired_ms.load(), ended_ms - 1000) << "the first window fired only at the end";
  EXPECT_EQ(r.late_records, 0u);
}

TEST(Kafka, BoundedUntilATimeOrAtOffsets) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("t", 1);
  auto produce = [&](int from, int to) {
    std::vector<std::string> v;
    for (int i = from; i < to; ++i) v.push_back(std::to_string(i));
    Pipeline p(options(1, ExecutionMode::kBatch));
    p.create(v).write(io::kafka(cluster.bootstrap(), "t"));
    p.run();
  };
  produce(0, 100);
  std::this_thread::sleep_for(20ms);
  const Timestamp cut = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  std::this_thread::sleep_for(20ms);
  produce(100, 150);
  auto count = [&](io::KafkaIO in) {
    Pipeline p(options(1, ExecutionMode::kBatch));
    auto c = p.read(in).collect();
    p.run();
    return c.size();
  };
  EXPECT_EQ(count(io::kafka(cluster.bootstrap(), "t").bounded_until(cut)), 100u);
  EXPECT_EQ(count(io::kafka(cluster.bootstrap(), "t").bounded_at({{0, 42}})), 42u);
  EXPECT_EQ(count(io::kafka(cluster.bootstrap(), "t").bounded()), 150u);
}

TEST(Kafka, AMissingClusterOrABadUrlIsAUserError) {
  EXPECT_THROW(io::parse_kafka_url("kafka://127.0.0.1:9092"), UserError);
  EXPECT_THROW(io::parse_kafka_url("kafka:///topic"), UserError);
  auto ok = io::parse_kafka_url("kafka://127.0.0.1:9092,127.0.0.1:9093/t");
  EXPECT_EQ(ok.bootstrap, "127.0.0.1:9092,127.0.0.1:9093");
  EXPECT_EQ(ok.topic, "t");
  Pipeline p(options(1, ExecutionMode::kBatch));
  // Nothing listens on port 1: the metadata request times out with a message.
  p.read(io::kafka("127.0.0.1:1", "t").bounded().metadata_timeout(300ms)).collect();
  try {
    p.run();
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:1"), std::string::npos) << e.what();
  }
}
}  // namespace

namespace {
using namespace runnel;
using namespace std::chrono_literals;

std::map<std::string, std::string> header_map(const io::KafkaRecord& r) {
  std::map<std::string, std::string> h;
  for (const auto& [k, v] : r.headers) h[k] = v;
  return h;
}

// A record larger than the producer allows fails the job with its size and
// the setting that allows it, at least once and exactly once; with the
// setting raised it is written whole.
TEST(Kafka, ARecordLargerThanTheProducerAllowsSaysWhichSetting) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("big", 1);
  const std::string value(1'500'000, 'x');
  for (bool exactly_once : {false, true}) {
    SCOPED_TRACE(exactly_once ? "exactly once" : "at least once");
    Pipeline p(options(1, ExecutionMode::kBatch));
    auto sink = io::kafka(cluster.bootstrap(), "big");
    if (exactly_once) sink.exactly_once();
    p.create(std::vector<std::string>{"small", value}).write(sink);
    try {
      p.run();
      FAIL() << "a record over message.max.bytes was sent";
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find("a record of 1500000 bytes"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("--kafka-property message.max.bytes="),
                std::string::npos)
          << e.what();
    }
  }
  Pipeline p(options(1, ExecutionMode::kBatch));
  p.create(std::vector<std::string>{value})
      .write(io::kafka(cluster.bootstrap(), "big").property("message.max.bytes", "2000000"));
  p.run();
  Pipeline read(options(1, ExecutionMode::kBatch));
  auto got = read.read(io::kafka(cluster.bootstrap(), "big").bounded()).collect();
  read.run();
  std::size_t whole = 0;
  for (const auto& r : got.values()) whole += r.value == value ? 1 : 0;
  EXPECT_EQ(whole, 1u);
}

// Exactly once: a transaction per checkpoint, each record labelled with its
// sink instance, run and checkpoint; the log lists the commits.
TEST(KafkaExactlyOnce, ATransactionPerCheckpointAndTheLogOfCommits) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 4);
  cluster.create_topic("out", 2);
  const auto lines = produce_lines(cluster.bootstrap(), "lines", 8000);
  runnel::testing::ScratchDir dir;
  {
    PipelineOptions o = options(2, ExecutionMode::kStreaming);
    o.checkpoint_dir = dir / "ck";
    o.checkpoint_interval = 20ms;
    Pipeline p(o);
    p.read(io::kafka(cluster.bootstrap(), "lines").bounded())
        .map([](const io::KafkaRecord& r) {
          static std::atomic<int> n{0};
          if (++n % 10 == 0) std::this_thread::sleep_for(2ms);
          return r.value;
        })
        .write(io::kafka(cluster.bootstrap(), "out").exactly_once());
    RunResult r = p.run();
    EXPECT_GE(r.checkpoints, 2u);
  }
  Pipeline p(options(1, ExecutionMode::kBatch));
  auto out = p.read(io::kafka(cluster.bootstrap(), "out").bounded()).collect();
  p.run();
  std::vector<std::string> got;
  std::set<std::string> labels, sinks;
  for (const auto& r : out.values()) {
    got.push_back(r.value);
    auto h = header_map(r);
    EXPECT_EQ(h.count("runnel.sink"), 1u);
    EXPECT_EQ(h["runnel.epoch"], "1");
    labels.insert(h["runnel.checkpoint"]);
    sinks.insert(h["runnel.sink"]);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, lines);
  EXPECT_GE(labels.size(), 2u);  // records of several checkpoints' transactions
  EXPECT_EQ(sinks.size(), 2u);   // two instances, two producers
  std::ifstream log(dir / "ck/_kafka_transactions.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_EQ(text.rfind("run 1\n", 0), 0u) << text;
  for (const auto& label : labels)
    EXPECT_NE(text.find(" " + label + " 1\n"), std::string::npos) << label << " in\n" << text;
}

// An exactly-once sink's transaction waits for its checkpoint: a checkpoint
// that cannot be written fails the job at once, whatever failures are
// tolerated, and says why (rather than the sink waiting until it times out).
TEST(KafkaExactlyOnce, AFailedCheckpointFailsTheJobWhateverIsTolerated) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("out", 2);
  runnel::testing::ScratchDir dir;
  // Moved once the sink logged its first commit there (a move before would
  // fail the log's write instead), well before the next checkpoint.
  const std::string log = dir / "ck/_kafka_transactions.log";
  runnel::testing::CheckpointSaboteur saboteur(dir.path() / "ck", dir.path() / "saved", [&] {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.find("\ncommit ") != std::string::npos;
  });
  PipelineOptions o = options(1, ExecutionMode::kStreaming);
  o.checkpoint_dir = dir / "ck";
  o.checkpoint_interval = 200ms;
  o.tolerable_checkpoint_failures = 1000;
  Pipeline p(o);
  // Records keep coming (unbounded): after the failed checkpoint's barrier
  // the sink waits in send() for a commit that will not come, and the
  // failure has to wake it.
  p.read(io::generator<std::string>({}, [](const io::GeneratedEvent& e) {
     return std::to_string(e.index);
   })).write(io::kafka(cluster.bootstrap(), "out").exactly_once());
  const auto started = std::chrono::steady_clock::now();
  try {
    p.run();
    FAIL() << "expected the job to fail";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("failed: checkpoint: cannot"), std::string::npos) << what;
    EXPECT_NE(what.find("cannot go on past a failed checkpoint"), std::string::npos) << what;
  }
  // Not a speed check: a sink left waiting holds the job for its whole
  // wait, 60 s (the transaction timeout), where a woken one ends it at once.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 45s) << "the sink was not woken";
}

// A job whose checkpoint completed stopped between the commits of its sink
// instances: instance 0's transaction committed, instance 1's not. Restoring
// the checkpoint before would produce instance 0's records twice; the restore
// of the completed one produces instance 1's records again (kept in the
// checkpoint) in a transaction of the new run, and nothing else. What a
// read_committed consumer sees is judged as tests/fault/kafka_committed does:
// by the log (the development cluster does not enforce read_committed), so
// the stop is made by leaving instance 1's commit out of the log.
TEST(KafkaExactlyOnce, ARestoreProducesAgainOnlyTheTransactionsNotCommitted) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("out", 2);
  runnel::testing::ScratchDir dir;
  SharedStateContext ctx;
  ctx.parallelism = 2;
  ctx.checkpointing = true;
  ctx.checkpoint_dir = dir / "ck";
  ctx.checkpoint_interval = 100ms;
  ctx.checkpoints_kept = 3;
  ctx.uid = "sink";
  const io::KafkaIO io = io::kafka(cluster.bootstrap(), "out").exactly_once();
  std::vector<std::string> states;
  {
    detail::KafkaTransactions run1(io, ctx);
    for (int i = 0; i < 2; ++i) {
      run1.open(i, 1);
      for (int n = 0; n < 50; ++n)
        run1.send(i, "k" + std::to_string(n), fmt::format("{}-{}", i, n), 1000 + n);
      states.push_back(run1.prepare(i, 1));
    }
    run1.commit(1);  // both commit in Kafka; the log then loses instance 1's line
    run1.abort_all();
  }
  const auto log = dir / "ck/_kafka_transactions.log";
  std::string text;
  {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);)
      if (line != "commit sink 1 1 1") text += line + "\n";
  }
  ASSERT_NE(text.find("commit sink 0 1 1\n"), std::string::npos) << text;
  std::ofstream(log, std::ios::trunc) << text;

  {
    detail::KafkaTransactions run2(io, ctx);
    EXPECT_EQ(run2.restore_problem(1, states), "");
    run2.recover(1, states);
    run2.recover(1, states);  // a second restore of the same checkpoint redoes nothing
  }
  std::set<std::tuple<std::string, std::string, std::string>> committed;
  {
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string verb, uid, instance, label, epoch;
      if (words >> verb >> uid >> instance >> label >> epoch && verb == "commit")
        committed.emplace(uid + "/" + instance, epoch, label);
    }
  }
  Pipeline p(options(1, ExecutionMode::kBatch));
  auto out = p.read(io::kafka(cluster.bootstrap(), "out").bounded()).collect();
  p.run();
  std::vector<std::string> seen, expected;
  for (const auto& r : out.values()) {
    auto h = header_map(r);
    if (committed.count({h["runnel.sink"], h["runnel.epoch"], h["runnel.checkpoint"]}) > 0) {
      seen.push_back(r.value);
      if (r.value.rfind("1-", 0) == 0) {
        EXPECT_EQ(h["runnel.epoch"], "2") << r.value;
      }
    }
  }
  for (int i = 0; i < 2; ++i)
    for (int n = 0; n < 50; ++n) expected.push_back(fmt::format("{}-{}", i, n));
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(out.size(), 150u);  // the first run's 100 and instance 1's 50 again
}

// A checkpoint of a runnel that did not keep a transaction's records cannot
// produce them again: its restore says so, and --restore latest takes the one before.
TEST(KafkaExactlyOnce, AnOldCheckpointWithoutRecordsIsNotRestoredOverAMissingCommit) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("out", 1);
  runnel::testing::ScratchDir dir;
  SharedStateContext ctx;
  ctx.checkpointing = true;
  ctx.checkpoint_dir = dir / "ck";
  ctx.checkpoint_interval = 100ms;
  ctx.checkpoints_kept = 3;
  ctx.uid = "sink";
  detail::KafkaTransactions tx(io::kafka(cluster.bootstrap(), "out").exactly_once(), ctx);
  std::string old_state;
  ByteWriter w(old_state);
  for (std::uint64_t v : {0, 7, 1}) w.put_varint(v);  // instance 0, checkpoint 7, run 1
  EXPECT_NE(tx.restore_problem(7, {old_state}).find("does not keep its records"),
            std::string::npos);
}

TEST(KafkaExactlyOnce, WithoutCheckpointsOneTransactionPerRun) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("out", 1);
  std::vector<std::string> lines{"a", "b", "c"};
  {
    Pipeline p(options(1, ExecutionMode::kBatch));
    p.create(lines).write(io::kafka(cluster.bootstrap(), "out").exactly_once());
    p.run();
  }
  Pipeline p(options(1, ExecutionMode::kBatch));
  auto out = p.read(io::kafka(cluster.bootstrap(), "out").bounded()).collect();
  p.run();
  ASSERT_EQ(out.size(), 3u);
  for (const auto& r : out.values()) EXPECT_EQ(header_map(r)["runnel.checkpoint"], "0");
}

TEST(KafkaExactlyOnce, ATransactionTimeoutShorterThanTheCheckpointsIsAUserError) {
  io::KafkaDevCluster cluster;
  runnel::testing::ScratchDir dir;
  for (int kept : {3, 1}) {
    PipelineOptions o = options(1, ExecutionMode::kStreaming);
    o.checkpoint_dir = dir / "ck";
    o.checkpoint_interval = 1s;
    o.checkpoints_kept = kept;
    Pipeline p(o);
    auto sink = io::kafka(cluster.bootstrap(), "out").exactly_once();
    if (kept == 3) sink.property("transaction.timeout.ms", "2000");
    p.create(std::vector<std::string>{"a"}).write(sink);
    try {
      p.run();
      FAIL() << "expected a UserError";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(kept == 3 ? "transaction.timeout.ms" : "at least 2"),
                std::string::npos)
          << e.what();
    }
  }
}

struct Click {
  std::string user;
  Timestamp time = 0;
  double amount = 0;
  bool operator==(const Click&) const = default;
  bool operator<(const Click& o) const { return time < o.time; }
};
RUNNEL_FIELDS(Click, user, time, amount);

// Typed values: written as JSON, CSV or runnel's coder and read back the
// same; values that do not decode are dead letters naming topic-partition,
// offset and reason, and the run counts them.
TEST(Kafka, TypedValuesAndDeadLetters) {
  io::KafkaDevCluster cluster;
  for (const char* t : {"json", "csv", "coded"}) cluster.create_topic(t, 2);
  std::vector<Click> clicks;
  for (int i = 0; i < 3000; ++i)
    clicks.push_back({"u" + std::to_string(i % 7), 1'000'000 + i, i * 0.5});
  {
    Pipeline p(options(2, ExecutionMode::kBatch));
    auto c = p.create(clicks);
    c.write(io::kafka(cluster.bootstrap(), "json").json<Click>());
    c.write(io::kafka(cluster.bootstrap(), "csv").csv<Click>());
    c.write(io::kafka(cluster.bootstrap(), "coded").coded<Click>());
    p.run();
  }
  // Bad values, as another producer might write them.
  {
    Pipeline p(options(1, ExecutionMode::kBatch));
    p.create(std::vector<std::string>{R"({"user":"x","time":"soon","amount":1})", "not json"})
        .write(io::kafka(cluster.bootstrap(), "json"));
    p.create(std::vector<std::string>{"x,1"}).write(io::kafka(cluster.bootstrap(), "csv"));
    p.create(std::vector<std::string>{"\x01"}).write(io::kafka(cluster.bootstrap(), "coded"));
    p.run();
  }
  auto sorted = [](std::vector<Click> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  Pipeline p(options(2, ExecutionMode::kBatch));
  auto bounded = [&](const char* t) { return io::kafka(cluster.bootstrap(), t).bounded(); };
  auto from_json = p.read(bounded("json").json<Click>()).collect();
  auto from_csv = p.read(bounded("csv").csv<Click>()).collect();
  auto from_coded = p.read(bounded("coded").coded<Click>()).collect();
  auto dead = p.dead_letters().collect();
  RunResult r = p.run();
  EXPECT_EQ(sorted(from_json.values()), clicks);
  EXPECT_EQ(sorted(from_csv.values()), clicks);
  EXPECT_EQ(sorted(from_coded.values()), clicks);
  EXPECT_EQ(r.dead_letters, 4u);
  std::map<std::string, std::string> reasons;
  for (const auto& d : dead.values()) {
    EXPECT_TRUE(d.source.rfind(d.source.substr(0, d.source.find('-')) + "-", 0) == 0);
    EXPECT_GE(d.line, 0u);
    reasons[d.record] = d.reason;
    // The dead letter points at the record: read it back at that partition and offset.
    const std::string topic = d.source.substr(0, d.source.rfind('-'));
    const int partition = std::stoi(d.source.substr(d.source.rfind('-') + 1));
    Pipeline q(options(1, ExecutionMode::kBatch));
    auto at = q.read(io::kafka(cluster.bootstrap(), topic)
                         .only_partitions({partition})
                         .bounded_at({{partition, static_cast<std::int64_t>(d.line) + 1}}))
                  .collect();
    q.run();
    ASSERT_FALSE(at.values().empty());
    EXPECT_EQ(at.values().back().offset, static_cast<std::int64_t>(d.line));
    EXPECT_EQ(at.values().back().value, d.record);
  }
  ASSERT_EQ(reasons.size(), 4u);
  EXPECT_EQ(reasons[R"({"user":"x","time":"soon","amount":1})"],
            "field 'time': 'soon' is not an integer");
  EXPECT_NE(reasons["not json"].find("not JSON"), std::string::npos);
  EXPECT_NE(reasons["x,1"].find("column"), std::string::npos) << reasons["x,1"];
  EXPECT_NE(reasons["\x01"].find("not a coded value"), std::string::npos);
}

// "window_start,key,count"
struct WindowLine : DoFn<std::pair<std::string, std::uint64_t>, std::string> {
  void process(const std::pair<std::string, std::uint64_t>& kv, const ElementContext& c,
               Emitter<std::string>& out) {
    out.emit(std::to_string(c.window.start) + "," + kv.first + "," + std::to_string(kv.second));
  }
};

// History, then live: CSV files hold events 0..3999, the topic 3000..5999
// (they overlap); switching at event 3500's time, every event is read once,
// windows in streaming mode equal the plain count (the watermark carried
// across the switch: nothing late), and restores from checkpoints taken in
// the history and in the live part, at another parallelism, end with the
// same output.
TEST(Kafka, HistoryThenLiveReadsEachEventOnce) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("live", 3);
  runnel::testing::ScratchDir dir;
  const Timestamp t0 = 1'700'000'000'000;
  auto event = [&](int i) { return Click{"u" + std::to_string(i % 7), t0 + i * 10, i * 1.0}; };
  std::string a, b;
  for (int i = 0; i < 4000; ++i) {
    std::string& file = i < 2000 ? a : b;
    csv::append_record(file, event(i));
    file += '\n';
  }
  runnel::testing::write_file(dir / "history/a.csv", a);
  runnel::testing::write_file(dir / "history/b.csv", b);
  {
    std::vector<Click> live;
    for (int i = 3000; i < 6000; ++i) live.push_back(event(i));
    Pipeline p(options(1, ExecutionMode::kStreaming));
    p.create(live)
        .with_timestamps(&Click::time, watermarks::bounded_out_of_orderness(0ms))
        .map([](const Click& c) { return std::make_pair(c.user, json::to_json(c)); })
        .write(io::kafka(cluster.bootstrap(), "live"));  // record timestamps = event times
    p.run();
  }
  std::map<std::pair<Timestamp, std::string>, std::uint64_t> want;
  for (int i = 0; i < 6000; ++i) want[{(t0 + i * 10) / 1000 * 1000, event(i).user}]++;
  auto job = [&](int parallelism, const std::string& restore, bool slow,
                 const std::string& ck = "ck") {
    PipelineOptions o = options(parallelism, ExecutionMode::kStreaming);
    o.checkpoint_dir = dir / ck;
    o.checkpoint_interval = 30ms;
    o.checkpoints_kept = 1000;
    o.restore = restore;
    o.batch_size = 100;
    Pipeline p(o);
    p.read(io::history_then_live(
               io::csv<Click>(dir / "history/*.csv"),
               io::kafka(cluster.bootstrap(), "live").stop_when_idle(1500ms).json<Click>(),
               &Click::time, t0 + 3500 * 10))
        .map([slow](Click c) {
          if (slow && c.time % 200 == 0) std::this_thread::sleep_for(1ms);
          return c;
        })
        .with_timestamps(&Click::time, watermarks::bounded_out_of_orderness(100ms))
        .window_into(windows::fixed(1s))
        .map([](const Click& c) { return c.user; })
        .count_per_element()
        .par_do(WindowLine{})
        .write(io::text(dir / "out"));
    return p.run();
  };
  auto output = [&] {
    std::map<std::pair<Timestamp, std::string>, std::uint64_t> got;
    for (const auto& line : runnel::testing::read_part_lines(dir / "out")) {
      auto c1 = line.find(','), c2 = line.rfind(',');
      got[{std::stoll(line.substr(0, c1)), line.substr(c1 + 1, c2 - c1 - 1)}] +=
          std::stoull(line.substr(c2 + 1));
    }
    return got;
  };
  RunResult first = job(2, "", true);
  EXPECT_EQ(first.late_records, 0u);
  EXPECT_EQ(first.dead_letters, 0u);
  EXPECT_EQ(first.records_in, 4000u + 2500u);  // the history's 4000 read, 3500 kept
  auto diff = [&](const std::map<std::pair<Timestamp, std::string>, std::uint64_t>& got) {
    std::string d;
    for (const auto& [k, n] : want)
      if (auto it = got.find(k); it == got.end() || it->second != n)
        d += fmt::format("{} {}: want {} got {}\n", k.first - t0, k.second, n,
                         it == got.end() ? 0 : it->second);
    for (const auto& [k, n] : got)
      if (!want.count(k)) d += fmt::format("{} {}: extra {}\n", k.first - t0, k.second, n);
    return d;
  };
  EXPECT_EQ(diff(output()), "");
  // Restore from checkpoints in the history and in the live part (each from
  // copies of the first run's checkpoints and output: a restored run writes
  // checkpoints after the one it restored, and its own output).
  auto all = state::list_checkpoints(dir.path() / "ck", true);
  ASSERT_GE(all.size(), 4u);
  const auto recursive = std::filesystem::copy_options::recursive;
  std::filesystem::copy(dir / "out", dir / "out-first", recursive);
  for (std::size_t k : {all.size() / 4, all.size() * 3 / 4}) {
    const std::string ck = "ck-" + std::to_string(k);
    std::filesystem::copy(dir / "ck", dir / ck, recursive);
    std::filesystem::remove_all(dir / "out");
    std::filesystem::copy(dir / "out-first", dir / "out", recursive);
    RunResult again = job(k == all.size() / 4 ? 3 : 1,
                          (dir.path() / ck / all[k].path.filename()).string(), false, ck);
    EXPECT_EQ(again.restored_checkpoint, all[k].id);
    EXPECT_LT(again.records_in, first.records_in);
    EXPECT_EQ(diff(output()), "") << "restored checkpoint " << all[k].id << " records_in "
                                  << again.records_in << " late " << again.late_records;
  }
}

// Two jobs (as two processes would) subscribe with the same consumer group:
// the group splits the partitions between them, the second's arrival moves
// partitions (positions committed on the way), and together they read every
// record. At least once: a member that loses its place in the group (a
// session timeout on a loaded machine) cannot commit, so its partitions are
// read again from the last commit; in a clean rebalance nothing is read twice,
// which the test reports. (The development cluster's group join takes about 3 s.)
TEST(Kafka, AConsumerGroupSharesThePartitionsBetweenJobs) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 4);
  const auto lines = produce_lines(cluster.bootstrap(), "lines", 3000);
  std::vector<std::string> got[2];
  std::atomic<std::size_t> read_by_first{0};
  auto job = [&](int j) {
    Pipeline p(options(1, ExecutionMode::kStreaming));
    auto values = p.read(io::kafka(cluster.bootstrap(), "lines")
                             .subscribe()
                             .group_id("sharing")
                             .property("session.timeout.ms", "6000")
                             .property("heartbeat.interval.ms", "500")
                             .stop_when_idle(4s))
                      .map([&read_by_first, j](const io::KafkaRecord& r) {
                        if (j == 0) ++read_by_first;
                        std::this_thread::sleep_for(3ms);  // slow: both get to read
                        return r.value;
                      })
                      .collect();
    p.run();
    got[j] = values.values();
  };
  // The second arrives once the first reads (a join's time varies with the
  // machine's load): it takes partitions from a member that is reading.
  std::thread first(job, 0);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (read_by_first == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  std::thread second(job, 1);
  first.join();
  second.join();
  EXPECT_GT(got[0].size(), 0u);
  EXPECT_GT(got[1].size(), 0u);
  std::vector<std::string> all = got[0];
  all.insert(all.end(), got[1].begin(), got[1].end());
  std::sort(all.begin(), all.end());
  std::vector<std::string> distinct = all;
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  EXPECT_EQ(distinct, lines);  // every record, at least once
  if (all.size() != lines.size())
    std::printf("consumer group: %zu records read twice after a member lost its place\n",
                all.size() - lines.size());
}

}  // namespace

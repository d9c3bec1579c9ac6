// A repartition topic's protocol (RepartitionInbox) against a model of
// producers that fail and restore, and its writer and reader over the
// development cluster through real clients.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <runnel/runnel.hpp>
#include <string>
#include <vector>

#include "io/kafka/repartition_topic.hpp"

namespace {
using runnel::io::RepartitionHeader;
using runnel::io::RepartitionInbox;
using runnel::io::RepartitionKind;
using Item = RepartitionInbox::Item;

struct Record {
  std::string key, payload;
};

// One producer's life: runs that crash, restore the latest completed
// checkpoint, and in the end one that ends (and maybe a rerun after it).
// Returns its records in send order; `expected` gets what a reader must take
// of them, in order ("d:<payload>" and "w:<time>").
std::vector<Record> live(std::uint32_t producer, const std::vector<int>& script,
                         std::vector<std::string>& expected) {
  std::vector<Record> out;
  std::uint64_t run = 0;
  std::int64_t epoch = 1, next_id = 1, completed = 0, time = 0;
  std::vector<std::int64_t> taken;                         // checkpoints not completed yet
  std::vector<std::pair<std::int64_t, std::string>> sent;  // this run's (epoch, expected)
  bool ended = false, rerun = false;
  auto header = [&](RepartitionKind kind, std::int64_t value) {
    return RepartitionHeader{kind, producer, run, epoch, value}.encode();
  };
  auto start = [&] {
    run = run + 1000 + producer;  // distinct per producer and run
    epoch = next_id;
    sent.clear();
    taken.clear();
    out.push_back({header(RepartitionKind::kRun, completed), ""});
  };
  auto settle = [&](std::int64_t cut) {
    for (const auto& [e, what] : sent)
      if (e <= cut) expected.push_back(what);
  };
  start();
  int n = 0;
  for (int op : script) {
    if (ended) {  // a rerun after the end (the shard failed after it): all of it ignored
      if (!rerun || op % 3 == 0) {
        rerun = true;
        run += 1000;
        out.push_back({header(RepartitionKind::kRun, completed), ""});
      }
      out.push_back({header(RepartitionKind::kData, 0), "late"});
      continue;
    }
    switch (op % 7) {
      case 0:
      case 1: {
        const std::string p = fmt::format("p{}-{}", producer, n++);
        out.push_back({header(RepartitionKind::kData, 0), p});
        sent.emplace_back(epoch, "d:" + p);
        break;
      }
      case 2:
        time += 10;
        out.push_back({header(RepartitionKind::kWatermark, time), ""});
        sent.emplace_back(epoch, fmt::format("w:{}", time));
        break;
      case 3:  // a barrier
        taken.push_back(next_id);
        epoch = next_id + 1;
        ++next_id;
        break;
      case 4:  // the oldest taken checkpoint completes; its marker may be lost in a crash
        if (!taken.empty()) {
          completed = taken.front();
          taken.erase(taken.begin());
          if (op % 2 == 0) out.push_back({header(RepartitionKind::kCommit, completed), ""});
        }
        break;
      case 5: {  // a crash: the next run restores the latest completed checkpoint
        settle(completed);
        const std::string zombie = header(RepartitionKind::kData, 0);
        start();
        // A run cut off but alive may still write after its successor began.
        if (op % 2 == 1) out.push_back({zombie, "zombie"});
        break;
      }
      case 6:
        if (op % 5 == 0) {  // the input ends
          out.push_back({header(RepartitionKind::kEnd, 0), ""});
          settle(std::numeric_limits<std::int64_t>::max());
          ended = true;
        }
        break;
    }
  }
  if (!ended) {
    out.push_back({header(RepartitionKind::kEnd, 0), ""});
    settle(std::numeric_limits<std::int64_t>::max());
  }
  return out;
}

std::string describe(const Item& it) {
  return it.kind == RepartitionKind::kData ? "d:" + it.payload : fmt::format("w:{}", it.watermark);
}

// Feeds `log` to an inbox as a consumer would (reading again from where it
// asks), snapshotting and restoring into a new inbox after `restore_at` takes.
// Pops only every `pop_every` takes, so a snapshot may fall on records
// decided but not popped.
std::map<std::uint32_t, std::vector<std::string>> read_all(const std::vector<Record>& log,
                                                           int producers, std::size_t buffer,
                                                           std::size_t runs_kept, int pop_every,
                                                           int restore_at, bool& ended) {
  std::map<std::uint32_t, std::vector<std::string>> got;
  auto inbox = std::make_unique<RepartitionInbox>(producers, buffer, runs_kept);
  auto pop_all = [&] {
    Item it;
    while (inbox->pop(it))
      if (it.kind != RepartitionKind::kEnd) got[it.producer].push_back(describe(it));
  };
  int takes = 0;
  std::int64_t at = inbox->read_from();
  while (at < static_cast<std::int64_t>(log.size())) {
    inbox->take(at, log[at].key, log[at].payload);
    if (++takes % pop_every == 0) pop_all();
    if (takes == restore_at) {
      const std::string snap = inbox->snapshot();
      inbox = std::make_unique<RepartitionInbox>(producers, buffer, runs_kept);
      inbox->restore(snap);
    }
    at = std::min(at + 1, inbox->read_from());
    if (inbox->read_from() > at) at = inbox->read_from();
  }
  pop_all();
  ended = inbox->ended();
  return got;
}

RC_GTEST_PROP(RepartitionInbox, TakesEachCommittedRecordOnceInOrder, ()) {
  const int producers = *rc::gen::inRange(1, 4);
  std::vector<std::vector<Record>> logs(producers);
  std::map<std::uint32_t, std::vector<std::string>> expected;
  for (int p = 0; p < producers; ++p) {
    const auto script = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 70));
    logs[p] = live(static_cast<std::uint32_t>(p), script, expected[p]);
  }
  // The producers' records interleave in the partition, each in its order.
  std::vector<Record> log;
  std::vector<std::size_t> next(producers, 0);
  while (true) {
    std::vector<int> left;
    for (int p = 0; p < producers; ++p)
      if (next[p] < logs[p].size()) left.push_back(p);
    if (left.empty()) break;
    const int p = left[*rc::gen::inRange<std::size_t>(0, left.size())];
    log.push_back(logs[p][next[p]++]);
  }
  const std::size_t buffer = *rc::gen::element<std::size_t>(0, 8, 40, 1 << 20);
  const int restore_at = *rc::gen::inRange(0, static_cast<int>(log.size()) + 2);
  const std::size_t runs_kept = *rc::gen::element<std::size_t>(1, 2, 16);
  const int pop_every = *rc::gen::inRange(1, 6);
  bool ended = false;
  auto got = read_all(log, producers, buffer, runs_kept, pop_every, restore_at, ended);
  for (int p = 0; p < producers; ++p) {
    RC_ASSERT(got[p] == expected[p]);
  }
  RC_ASSERT(ended);
}

TEST(RepartitionInbox, HoldsRecordsUntilCommittedAndWatermarkIsTheLowest) {
  RepartitionInbox inbox(2, 1 << 20);
  auto key = [](RepartitionKind k, std::uint32_t p, std::int64_t epoch, std::int64_t v) {
    return RepartitionHeader{k, p, 7 + p, epoch, v}.encode();
  };
  std::int64_t o = 0;
  inbox.take(o++, key(RepartitionKind::kRun, 0, 1, 0), "");
  inbox.take(o++, key(RepartitionKind::kRun, 1, 1, 0), "");
  inbox.take(o++, key(RepartitionKind::kData, 0, 1, 0), "a");
  inbox.take(o++, key(RepartitionKind::kWatermark, 1, 1, 50), "");
  inbox.take(o++, key(RepartitionKind::kWatermark, 0, 1, 40), "");
  Item it;
  EXPECT_FALSE(inbox.pop(it)) << "nothing is committed yet";
  EXPECT_EQ(inbox.snapshot().size(), RepartitionInbox(2, 1).snapshot().size() + 2 * 33);
  inbox.take(o++, key(RepartitionKind::kCommit, 0, 0, 1), "");
  ASSERT_TRUE(inbox.pop(it));
  EXPECT_EQ(it.payload, "a");
  EXPECT_FALSE(inbox.pop(it)) << "producer 1's watermark holds the rest";
  inbox.take(o++, key(RepartitionKind::kCommit, 1, 0, 1), "");
  while (inbox.pop(it)) {
  }
  EXPECT_EQ(inbox.watermark(), 40);
  EXPECT_FALSE(inbox.ended());
  inbox.take(o++, "not a header", "x");
  EXPECT_EQ(inbox.bad_headers(), 1u);
}

TEST(RepartitionHeader, RoundTripsAndRefusesOtherBytes) {
  RepartitionHeader h{RepartitionKind::kCommit, 3, 0xfeedbeefcafeull, -5, 1234567890123};
  const auto back = RepartitionHeader::decode(h.encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, h.kind);
  EXPECT_EQ(back->producer, 3u);
  EXPECT_EQ(back->run, h.run);
  EXPECT_EQ(back->epoch, -5);
  EXPECT_EQ(back->value, h.value);
  EXPECT_FALSE(RepartitionHeader::decode("R"));
  std::string bad = h.encode();
  bad[1] = 9;
  EXPECT_FALSE(RepartitionHeader::decode(bad));
}

// Two producing shards and a reader of each partition, over real clients:
// shard 0 fails after a checkpoint and its new run restores it; what it sent
// after that checkpoint is read once (from the new run), nothing twice.
TEST(RepartitionKafkaTopic, ReadersTakeCommittedRecordsOnceAcrossAFailure) {
  using namespace std::chrono_literals;
  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("rp", 2);
  runnel::io::KafkaIO topic;
  topic.bootstrap = cluster.bootstrap();
  topic.topic = "rp";
  std::vector<std::string> want[2];
  {
    runnel::io::RepartitionWriter w0(topic, 0, 2, 0), w1(topic, 1, 2, 0);
    for (int i = 0; i < 20; ++i) {
      w0.send(i % 2, 1, fmt::format("s0-{}", i));
      want[i % 2].push_back(fmt::format("s0-{}", i));
      w1.send(i % 2, 1, fmt::format("s1-{}", i));
      want[i % 2].push_back(fmt::format("s1-{}", i));
    }
    w0.watermark(1, 100);
    w1.watermark(1, 90);
    w0.flush();  // the barrier of checkpoint 1
    w1.flush();
    w0.committed(1);
    w1.committed(1);
    for (int i = 0; i < 10; ++i) w0.send(i % 2, 2, fmt::format("lost-{}", i));  // never committed
    w0.flush();  // shard 0 dies here: checkpoint 2 never completes
    runnel::io::RepartitionWriter again(topic, 0, 2, 1);
    for (int i = 0; i < 10; ++i) {
      again.send(i % 2, 2, fmt::format("again-{}", i));
      want[i % 2].push_back(fmt::format("again-{}", i));
    }
    again.watermark(2, 200);
    again.end();
    w1.watermark(2, 300);
    w1.end();
  }
  for (int part = 0; part < 2; ++part) {
    for (std::size_t buffer : {std::size_t{64} << 20, std::size_t{16}}) {
      std::vector<std::string> got, wms;
      std::string snap;
      {
        runnel::io::RepartitionReader r(topic, part, 2, buffer);
        const auto until = std::chrono::steady_clock::now() + 20s;
        while (got.size() < 15 && std::chrono::steady_clock::now() < until) {
          r.poll(50ms);
          Item it;
          while (got.size() < 15 && r.pop(it))
            if (it.kind == RepartitionKind::kData) got.push_back(it.payload);
        }
        snap = r.snapshot();  // a restore resumes after what was taken
      }
      runnel::io::RepartitionReader r(topic, part, 2, buffer);
      r.restore(snap);
      const auto until = std::chrono::steady_clock::now() + 20s;
      while (!r.ended() && std::chrono::steady_clock::now() < until) {
        r.poll(50ms);
        Item it;
        while (r.pop(it)) {
          if (it.kind == RepartitionKind::kData) got.push_back(it.payload);
          if (it.kind == RepartitionKind::kWatermark) wms.push_back(std::to_string(r.watermark()));
        }
      }
      EXPECT_TRUE(r.ended()) << "partition " << part << " buffer " << buffer;
      std::vector<std::string> sorted_got = got, sorted_want = want[part];
      std::sort(sorted_got.begin(), sorted_got.end());
      std::sort(sorted_want.begin(), sorted_want.end());
      EXPECT_EQ(sorted_got, sorted_want) << "partition " << part << " buffer " << buffer;
      EXPECT_EQ(r.watermark(), std::numeric_limits<std::int64_t>::max());
    }
  }
}

}  // namespace

// KeyedTimers against an ordered set of (time, window, key): the same timers
// set, deleted and fired (earliest first, those a firing sets included),
// whatever the order of operations, in memory and in a RocksDB database
// (with two timers cached per key group, so caches empty and refill, and
// the database snapshotted and restored between operations); and a memory
// snapshot read back, each timer in its key's key group.
#include "runnel/detail/keyed_timers.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/kv_store.hpp"
#include "runnel/hash.hpp"
#include "test_util.hpp"

namespace runnel::detail {
namespace {

using Timers = KeyedTimers<Window, std::string>;
using Model = std::set<std::tuple<Timestamp, Window, std::string>>;

Window window_of(int w) { return w == 0 ? kGlobalWindow : Window{w * 10, w * 10 + 10}; }
std::string key_of(int k) { return "key-" + std::to_string(k); }

// Fires timers of `timers` and `model` up to `limit`; a fired timer at an
// odd time sets one more, later (so some fire in the same call), one at a
// multiple of 3 deletes the key's timer 1 ms later, if set. Returns
// what fired, in order, and checks the model fired the same timers.
std::vector<Timestamp> fire(Timers& timers, Model& model, Timestamp limit) {
  std::vector<Timestamp> times;
  Model fired;
  timers.fire(limit, [&](const Timers::Timer& t) {
    times.push_back(t.time);
    RC_ASSERT(fired.emplace(t.time, t.ns, t.key).second);
    if (t.time % 2 != 0) timers.set(t.time + 3, t.ns, t.key);
    if (t.time % 3 == 0) timers.erase(t.time + 1, t.ns, t.key);  // as delete_timer in on_timer
  });
  Model expected;
  while (!model.empty() && std::get<0>(*model.begin()) <= limit) {
    auto [t, w, k] = *model.begin();
    model.erase(model.begin());
    expected.emplace(t, w, k);
    if (t % 2 != 0) model.emplace(t + 3, w, k);
    if (t % 3 == 0) model.erase({t + 1, w, k});
  }
  RC_ASSERT(fired == expected);
  return times;
}

struct Op {
  int kind;  // 0, 1: set; 2: erase; 3: fire up to time; 4: add (stored: snapshot and restore)
  Timestamp time;
  int window;
  int key;
};

// The timers under test: in memory, or in a KvStore that a snapshot and
// restore replaces (restore()).
class TimersUnderTest {
 public:
  // write_bytes: how soon the stored timers' gathered writes are written.
  TimersUnderTest(bool stored, std::size_t write_bytes)
      : stored_(stored), write_bytes_(write_bytes) {
    open(nullptr);
  }
  Timers& operator*() { return *timers_; }
  Timers* operator->() { return timers_.get(); }
  bool stored() const { return stored_; }

  // Snapshots the database and goes on with a restored copy of it.
  void restore() {
    timers_->flush();
    const auto snap = dir_.path() / ("snap-" + std::to_string(generation_));
    store_->checkpoint(snap);
    open(&snap);
  }

 private:
  static constexpr int kMaxParallelism = 4;
  void open(const std::filesystem::path* snapshot) {
    timers_ = std::make_unique<Timers>();
    if (!stored_) return;
    store_ = std::make_unique<KvStore>(dir_.path() / ("db-" + std::to_string(++generation_)));
    if (snapshot != nullptr) store_->adopt(*snapshot);
    timers_->store_in(*store_, 3, 0, kMaxParallelism - 1, kMaxParallelism, 2, write_bytes_);
    if (snapshot != nullptr)
      timers_->restore_stored(RestoredState{}, 3, 0, 1, KeyGroupRange::all(kMaxParallelism));
  }
  bool stored_;
  std::size_t write_bytes_;
  runnel::testing::ScratchDir dir_;
  int generation_ = 0;
  std::unique_ptr<KvStore> store_;
  std::unique_ptr<Timers> timers_;
};

void act_like_an_ordered_set(bool stored) {
  const auto ops = *rc::gen::container<std::vector<Op>>(
      rc::gen::build<Op>(rc::gen::set(&Op::kind, rc::gen::inRange(0, 5)),
                         rc::gen::set(&Op::time, rc::gen::inRange<Timestamp>(-5, 60)),
                         rc::gen::set(&Op::window, rc::gen::inRange(0, 3)),
                         rc::gen::set(&Op::key, rc::gen::inRange(0, 6))));
  // Stored: gathered writes written at once, after a few, or at the end only.
  const std::size_t write_bytes =
      stored ? *rc::gen::element<std::size_t>(1, 40, TimerStore::kWriteBytes) : 0;
  TimersUnderTest timers(stored, write_bytes);
  Model model;
  for (const Op& op : ops) {
    const Window w = window_of(op.window);
    const std::string k = key_of(op.key);
    if (op.kind <= 1) {
      RC_ASSERT(timers->set(op.time, w, k) == model.emplace(op.time, w, k).second);
    } else if (op.kind == 2) {
      RC_ASSERT(timers->erase(op.time, w, k) == (model.erase({op.time, w, k}) == 1));
    } else if (op.kind == 3) {
      const auto times = fire(*timers, model, op.time);
      RC_ASSERT(std::is_sorted(times.begin(), times.end()));
    } else if (stored) {
      timers.restore();
    } else {
      timers->add(op.time, w, k);
      model.emplace(op.time, w, k);
    }
    if (!stored) RC_ASSERT(timers->size() == model.size());
    RC_ASSERT(timers->next() == (model.empty() ? kMaxTimestamp : std::get<0>(*model.begin())));
  }
  fire(*timers, model, kMaxTimestamp);
  RC_ASSERT(timers->empty());
  RC_ASSERT(model.empty());
}

RC_GTEST_PROP(KeyedTimers, ActLikeAnOrderedSetOfTimers, ()) { act_like_an_ordered_set(false); }

RC_GTEST_PROP(KeyedTimers, StoredInRocksDBActLikeAnOrderedSetOfTimers, ()) {
  act_like_an_ordered_set(true);
}

// Key groups with nothing cached rank after every time, the end of time
// included: a timer at kMaxTimestamp among empty key groups fires.
TEST(KeyedTimers, StoredTimersAtTheEndOfTimeFire) {
  for (bool stored : {false, true}) {
    TimersUnderTest timers(stored, TimerStore::kWriteBytes);
    for (int k = 0; k < 6; ++k) {
      timers->set(kMaxTimestamp, kGlobalWindow, key_of(k));
      EXPECT_FALSE(timers->empty());
      EXPECT_EQ(timers->next(), kMaxTimestamp);
    }
    timers->set(5, kGlobalWindow, key_of(1));
    EXPECT_EQ(timers->next(), 5);
    std::vector<Timestamp> fired;
    timers->fire(kMaxTimestamp, [&](const Timers::Timer& t) { fired.push_back(t.time); });
    EXPECT_EQ(fired.size(), 7u) << (stored ? "stored" : "memory");
    EXPECT_TRUE(timers->empty());
  }
}

TEST(KeyedTimers, ASnapshotPutsEachTimerInItsKeysKeyGroup) {
  constexpr int kMaxParallelism = 8;
  Timers timers;
  Model model;
  for (int i = 0; i < 40; ++i) {
    timers.set(-i * 7, window_of(i % 3), key_of(i % 11));
    model.emplace(-i * 7, window_of(i % 3), key_of(i % 11));
  }
  OperatorSnapshot out;
  timers.snapshot(out, kMaxParallelism, [](ByteWriter& w) { w.put_varint(7); });
  Model read;
  for (std::size_t kg = 0; kg < out.key_groups.size(); ++kg) {
    ByteReader r(out.key_groups[kg]);
    while (!r.empty()) {
      ASSERT_EQ(r.get_varint(), 7u);
      const Timers::Timer t = Timers::read(r);
      EXPECT_EQ(key_group_of(Hash<std::string>{}(t.key), kMaxParallelism), static_cast<int>(kg));
      read.emplace(t.time, t.ns, t.key);
    }
  }
  EXPECT_EQ(read, model);
}

}  // namespace
}  // namespace runnel::detail

namespace runnel::detail {
namespace {

// The writes a TimerStore gathers stay bounded whether timers are set or
// only fire (the end of input fires every timer with nothing set after): a
// pop gathers a delete, and those are written once they add up too.
TEST(TimerStore, GatheredWritesStayBoundedWhileTimersOnlyFire) {
  runnel::testing::ScratchDir dir;
  KvStore store(dir.path() / "db");
  TimerStore timers(store, 3, 0, 3);
  constexpr int kTimers = 400'000;  // some 8 MB of keys: twice what is gathered
  std::string entry;
  std::size_t most = 0;
  for (int i = 0; i < kTimers; ++i) {
    entry.clear();
    TimerStore::encode_time(i, entry);
    entry += "key";
    timers.add(i % 4, entry, false);
    most = std::max(most, timers.gathered_bytes());
  }
  timers.write();  // every timer stored: each pop below gathers a delete
  int fired = 0;
  while (timers.pop(kMaxTimestamp, entry)) {
    EXPECT_EQ(TimerStore::decode_time(entry), fired);
    ++fired;
    most = std::max(most, timers.gathered_bytes());
  }
  EXPECT_EQ(fired, kTimers);
  EXPECT_LE(most, TimerStore::kWriteBytes + 64);
  timers.write();
  EXPECT_FALSE(store.cursor(std::string_view(), "\xff\xff").valid());  // every timer deleted
}

}  // namespace
}  // namespace runnel::detail

// KeyedRows on both backends: the same rows whatever the cache does
// (evictions, write-backs) and whatever rows come and go in a namespace's
// table, and checkpoints restored at the same and at another parallelism, on
// either backend.
#include "runnel/detail/keyed_rows.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/hash.hpp"
#include "test_util.hpp"

namespace runnel::detail {
namespace {

constexpr int kMaxParallelism = 16;

struct Row {
  std::int64_t value = 0;
  std::string payload;  // gives rows a size of their own
};

// Rows live in namespace ns_of(key) unless a test says otherwise.
int ns_of(std::int64_t key) { return static_cast<int>(key % 3); }

struct Codec {
  static std::uint64_t hash(std::int64_t k) { return Hash<std::int64_t>{}(k); }
  static void encode_key(int ns, std::int64_t k, int max_parallelism, std::string& out) {
    out.clear();
    append_kv_prefix(out, key_group_of(hash(k), max_parallelism), hash_combine(hash(k), ns));
    ByteWriter w(out);
    w.put_varint(static_cast<std::uint64_t>(ns));
    Coder<std::int64_t>::encode(k, w);
  }
  static std::pair<int, std::int64_t> decode_key(std::string_view bytes) {
    ByteReader r(bytes.substr(kKvPrefixBytes));
    const int ns = static_cast<int>(r.get_varint());
    return {ns, Coder<std::int64_t>::decode(r)};
  }
  static void encode_row(int, const Row& row, std::string& out) {
    out.clear();
    ByteWriter w(out);
    Coder<std::int64_t>::encode(row.value, w);
    Coder<std::string>::encode(row.payload, w);
  }
  static void decode_row(int, std::string_view bytes, Row& row) {
    ByteReader r(bytes);
    row.value = Coder<std::int64_t>::decode(r);
    row.payload = Coder<std::string>::decode(r);
  }
};

using Rows = KeyedRows<int, std::int64_t, Row, Codec>;

InstanceContext context(StateBackend backend, const std::filesystem::path& dir, int instance = 0,
                        int parallelism = 1, std::size_t cache_bytes = 0) {
  InstanceContext ctx;
  ctx.instance = instance;
  ctx.parallelism = parallelism;
  ctx.max_parallelism = kMaxParallelism;
  ctx.memory_budget = cache_bytes;
  ctx.state_backend = backend;
  ctx.state_dir = dir;
  ctx.uid = "op";
  return ctx;
}

void put(Rows& rows, std::int64_t key, std::int64_t value, std::size_t payload = 0) {
  bool created = false;
  Row& row = rows.acquire(ns_of(key), key, created);
  row.value = value;
  row.payload.assign(payload != 0 ? payload : static_cast<std::size_t>(key % 50), 'x');
  rows.store();
}

std::map<std::int64_t, std::int64_t> read_all(Rows& rows, std::int64_t max_key) {
  std::map<std::int64_t, std::int64_t> seen;
  for (std::int64_t k = 0; k <= max_key; ++k) {
    if (Row* row = rows.find(ns_of(k), k)) {
      EXPECT_EQ(row->payload.size(), static_cast<std::size_t>(k % 50)) << "key " << k;
      seen[k] = row->value;
    }
  }
  return seen;
}

const StateBackend kBackends[] = {StateBackend::kMemory, StateBackend::kRocksDB};

// Puts, drops and reads in any order, in any namespace, keep the rows a map
// would keep: on the memory backend (rows erased from a table move others;
// a namespace's table goes with its last row) and on a RocksDB cache small
// enough to be emptied many times.
RC_GTEST_PROP(KeyedRowsProperty, RowsAreWhatAMapHolds, ()) {
  const auto ops = *rc::gen::container<std::vector<std::tuple<int, int, int>>>(
      rc::gen::tuple(rc::gen::inRange(0, 3), rc::gen::inRange(0, 4), rc::gen::inRange(0, 400)));
  for (StateBackend backend : kBackends) {
    testing::ScratchDir dir;
    Rows rows(context(backend, dir.path(), 0, 1, /*cache_bytes=*/4096));
    std::map<std::pair<int, std::int64_t>, std::int64_t> model;
    std::int64_t n = 0;
    for (const auto& [op, ns, key] : ops) {
      if (op == 0) {
        bool created = false;
        Row& row = rows.acquire(ns, key, created);
        RC_ASSERT(created == (model.count({ns, key}) == 0));
        RC_ASSERT(rows.key() == key);
        RC_ASSERT(rows.ns() == ns);
        row.value = ++n;
        row.payload.assign(static_cast<std::size_t>(key % 50), 'x');
        rows.store();
        model[{ns, key}] = n;
      } else if (op == 1) {
        if (rows.find(ns, key) != nullptr) rows.drop();
        model.erase({ns, key});
      } else {
        Row* row = rows.find(ns, key);
        RC_ASSERT((row != nullptr) == (model.count({ns, key}) == 1));
        if (row != nullptr) RC_ASSERT(row->value == (model[{ns, key}]));
      }
    }
    rows.flush();
    std::map<std::pair<int, std::int64_t>, std::int64_t> seen;
    for (int ns = 0; ns < 4; ++ns) {
      for (std::int64_t k = 0; k < 400; ++k) {
        if (Row* row = rows.find(ns, k)) seen[{ns, k}] = row->value;
      }
    }
    RC_ASSERT(seen == model);
    std::size_t visited = 0;
    rows.for_each([&](int ns, std::int64_t k, Row& row, std::uint64_t hash) {
      ++visited;
      RC_ASSERT(hash == Codec::hash(k));
      RC_ASSERT(model.count({ns, k}) == 1);
      RC_ASSERT(row.value == (model[{ns, k}]));
    });
    RC_ASSERT(visited == model.size());
    if (!rows.native()) RC_ASSERT(rows.rows_in_memory() == model.size());
    // An update of namespaces 1 and 2 (3 is after them: the visit stops):
    // even keys go, odd ones grow by 1000, and some are left as they are.
    rows.update(
        [](int ns) {
          return ns == 0 ? Rows::Visit::kSkip : ns == 3 ? Rows::Visit::kStop : Rows::Visit::kVisit;
        },
        [&](int ns, std::int64_t& k, Row& row) {
          RC_ASSERT(ns == 1 || ns == 2);
          if (k % 2 == 0) {
            model.erase({ns, k});
            return Rows::Change::kDropped;
          }
          if (k % 3 == 0) return Rows::Change::kUnchanged;
          row.value += 1000;
          model[{ns, k}] = row.value;
          return Rows::Change::kChanged;
        });
    seen.clear();
    for (int ns = 0; ns < 4; ++ns) {
      for (std::int64_t k = 0; k < 400; ++k) {
        if (Row* row = rows.find(ns, k)) seen[{ns, k}] = row->value;
      }
    }
    RC_ASSERT(seen == model);
  }
}

// The memory backend's incremental checkpoints: after any puts, drops,
// updates and namespaces dropped between checkpoints (some of which do not
// complete, so the next is full), restoring the last checkpoint's chain of
// row logs gives the rows a map holds, on either backend, at another
// parallelism too.
RC_GTEST_PROP(KeyedRowsProperty, IncrementalMemoryCheckpointsRestoreWhatAMapHolds, ()) {
  const auto ops = *rc::gen::container<std::vector<std::tuple<int, int, int>>>(
      rc::gen::tuple(rc::gen::inRange(0, 21), rc::gen::inRange(0, 4), rc::gen::inRange(0, 300)));
  testing::ScratchDir dir;
  std::atomic<std::int64_t> completed{0};
  InstanceContext ctx = context(StateBackend::kMemory, dir.path());
  ctx.checkpointing = true;
  ctx.completed_checkpoint = &completed;
  ctx.checkpoint_full_every = *rc::gen::inRange(1, 6);
  Rows rows(ctx);
  RC_ASSERT(rows.native());
  std::map<std::pair<int, std::int64_t>, std::int64_t> model;
  std::int64_t n = 0, id = 0;
  RestoredState last;
  OperatorSnapshot out;  // the last: its log is written while the rows change on
  auto snapshot = [&] {
    out = OperatorSnapshot{};
    rows.snapshot_native(++id, out);
    last = RestoredState{};
    last.native_dirs.push_back(out.native_dir);
    if (id % 4 != 3) completed = id;  // every fourth fails: the next log is full
  };
  for (const auto& [op, ns, key] : ops) {
    if (op < 10) {
      bool created = false;
      Row& row = rows.acquire(ns, key, created);
      row.value = ++n;
      row.payload.assign(static_cast<std::size_t>(key % 50), 'x');
      rows.store();
      model[{ns, key}] = n;
    } else if (op < 15) {
      if (rows.find(ns, key) != nullptr) rows.drop();
      model.erase({ns, key});
    } else if (op == 15) {  // in namespace ns: keys divisible by 5 go, by 7 change
      rows.update([&](int v) { return v == ns ? Rows::Visit::kVisit : Rows::Visit::kSkip; },
                  [&](int v, std::int64_t& k, Row& row) {
                    if (k % 5 == 0) {
                      model.erase({v, k});
                      k = -1;  // a dropped row's key may be moved from
                      return Rows::Change::kDropped;
                    }
                    if (k % 7 != 0) return Rows::Change::kUnchanged;
                    row.value = ++n;
                    model[{v, k}] = n;
                    return Rows::Change::kChanged;
                  });
    } else if (op == 16) {
      rows.drop_namespaces([&](int v) { return v == ns; });
      std::erase_if(model, [&](const auto& e) { return e.first.first == ns; });
    } else if (op == 17) {  // state read, nothing written: a new row goes again
      bool created = false;
      rows.acquire(ns, key, created);
      if (created) rows.drop();
    } else {
      snapshot();
    }
  }
  snapshot();
  out.wait_written();
  for (StateBackend backend : kBackends) {
    for (int parallelism : {1, 2}) {
      std::map<std::pair<int, std::int64_t>, std::int64_t> seen;
      for (int i = 0; i < parallelism; ++i) {
        testing::ScratchDir to;
        Rows restored(context(backend, to.path(), i, parallelism));
        RC_ASSERT(restored.restore_native(last, false, [](int, std::int64_t) {}));
        for (int ns = 0; ns < 4; ++ns) {
          for (std::int64_t k = 0; k < 300; ++k) {
            if (Row* row = restored.find(ns, k)) {
              RC_ASSERT(row->payload.size() == static_cast<std::size_t>(k % 50));
              seen[{ns, k}] = row->value;
            }
          }
        }
      }
      RC_ASSERT(seen == model);
    }
  }
}

// A row made and dropped again between two checkpoints without being
// stored (a DoFn that read state and wrote none) is not in the next log: a
// delta holds what changed, not what was looked at.
TEST(KeyedRows, RowsMadeAndDroppedUnstoredAreNotLogged) {
  testing::ScratchDir dir;
  std::atomic<std::int64_t> completed{0};
  InstanceContext ctx = context(StateBackend::kMemory, dir.path());
  ctx.checkpointing = true;
  ctx.completed_checkpoint = &completed;
  Rows rows(ctx);
  put(rows, 1, 10);
  OperatorSnapshot first;
  rows.snapshot_native(1, first);
  completed = 1;
  for (std::int64_t k = 100; k < 1100; ++k) {
    bool created = false;
    rows.acquire(ns_of(k), k, created);
    ASSERT_TRUE(created);
    rows.drop();
  }
  OperatorSnapshot second;
  rows.snapshot_native(2, second);
  second.wait_written();
  std::vector<std::filesystem::path> logs;
  for (const auto& e : std::filesystem::directory_iterator(second.native_dir))
    logs.push_back(e.path());
  std::sort(logs.begin(), logs.end());
  ASSERT_EQ(logs.size(), 2u);  // the full log of checkpoint 1, then the delta
  EXPECT_EQ(std::filesystem::file_size(logs[1]), std::string_view("runnel-rows 1\n").size());
}

// A memory checkpoint's log is written off the task thread while the rows
// change on: what it holds is the rows at the barrier, not what they became.
// Enough rows that the log is still being written as every row is changed,
// half of them dropped and new ones made (the tables copy the chunks the
// log reads before they change them).
TEST(KeyedRows, AMemoryCheckpointHoldsTheRowsAsTheyWereAtTheBarrier) {
  testing::ScratchDir dir;
  std::atomic<std::int64_t> completed{0};
  InstanceContext ctx = context(StateBackend::kMemory, dir.path());
  ctx.checkpointing = true;
  ctx.completed_checkpoint = &completed;
  ctx.checkpoint_full_every = 2;
  Rows rows(ctx);
  constexpr std::int64_t kKeys = 200000;
  std::map<std::pair<int, std::int64_t>, std::int64_t> at_barrier;
  for (std::int64_t k = 0; k < kKeys; ++k) {
    put(rows, k, k, 24);
    at_barrier[{ns_of(k), k}] = k;
  }
  // The first checkpoint is full, the second a delta: both are written as
  // the rows change.
  for (std::int64_t id = 1; id <= 2; ++id) {
    OperatorSnapshot out;
    rows.snapshot_native(id, out);
    // The rows the last round made: even ones go, odd ones change; and new ones.
    const std::int64_t base = (id - 1) * kKeys;
    for (std::int64_t k = base; k < base + kKeys; ++k) {
      if (k % 2 == 0) {
        ASSERT_NE(rows.find(ns_of(k), k), nullptr);
        rows.drop();
      } else {
        put(rows, k, -k, 24);
      }
      put(rows, kKeys + k, k, 24);
    }
    out.wait_written();
    completed = id;
    RestoredState in;
    in.native_dirs.push_back(out.native_dir);
    testing::ScratchDir to;
    Rows restored(context(StateBackend::kMemory, to.path()));
    ASSERT_TRUE(restored.restore_native(in, false, [](int, std::int64_t) {}));
    std::map<std::pair<int, std::int64_t>, std::int64_t> seen;
    restored.for_each([&](int ns, std::int64_t k, Row& row, std::uint64_t) {
      EXPECT_EQ(row.payload.size(), 24u);
      seen[{ns, k}] = row.value;
    });
    ASSERT_EQ(seen.size(), at_barrier.size()) << "checkpoint " << id;
    EXPECT_TRUE(seen == at_barrier) << "checkpoint " << id;
    // What the rows are now is what the next checkpoint must hold.
    at_barrier.clear();
    rows.for_each([&](int ns, std::int64_t k, Row& row, std::uint64_t) {
      at_barrier[{ns, k}] = row.value;
    });
  }
}

// Erasing from a FlatTable keeps every other key findable, whichever slot
// the erased one held in a run of probes (slots shift back, no tombstones).
RC_GTEST_PROP(FlatTableProperty, EraseKeepsTheOthersFindable, ()) {
  const auto ops = *rc::gen::container<std::vector<std::pair<bool, int>>>(
      rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::inRange(0, 200)));
  FlatTable<int, int> table;
  std::map<int, int> model;
  // A weak hash puts many keys in one run of slots.
  auto hash = [](int k) { return static_cast<std::uint64_t>(k % 7); };
  for (const auto& [insert, key] : ops) {
    if (insert) {
      table.find_or_insert(
          key, hash(key), [&] { return key; }, [&] { return key * 2; });
      model[key] = key * 2;
    } else if (auto* e = table.find(key, hash(key))) {
      table.erase(static_cast<std::size_t>(e - table.entries().data()));
      model.erase(key);
    }
    RC_ASSERT(table.size() == model.size());
  }
  for (int k = 0; k < 200; ++k) {
    auto* e = table.find(k, hash(k));
    RC_ASSERT((e != nullptr) == (model.count(k) == 1));
    if (e != nullptr) RC_ASSERT(e->value == model[k]);
  }
}

TEST(KeyedRows, AcquireSaysWhetherTheRowIsNew) {
  for (StateBackend backend : kBackends) {
    testing::ScratchDir dir;
    Rows rows(context(backend, dir.path()));
    bool created = false;
    rows.acquire(1, 7, created);
    EXPECT_TRUE(created);
    rows.store();
    rows.acquire(1, 7, created);
    EXPECT_FALSE(created);
    EXPECT_EQ(rows.key(), 7);
    EXPECT_EQ(rows.ns(), 1);
    rows.acquire(2, 7, created);
    EXPECT_TRUE(created) << "another namespace's row";
    rows.store();
    rows.find(1, 7);
    rows.drop();
    rows.acquire(1, 7, created);
    EXPECT_TRUE(created) << "a dropped row is new again";
  }
}

// An expiry (here a row with a negative value has expired) drops rows on
// the memory backend when expire() runs and on RocksDB as it compacts
// (filtering every stored row); the others stay.
TEST(KeyedRows, ExpiredRowsGoAtExpireOnMemoryAndAsRocksDBCompacts) {
  for (StateBackend backend : kBackends) {
    testing::ScratchDir dir;
    Rows rows(context(backend, dir.path()), [](Row& row, Timestamp) {
      if (row.value >= 0) return false;
      row = Row{};
      return true;
    });
    std::map<std::int64_t, std::int64_t> kept;
    for (std::int64_t k = 0; k < 1000; ++k) {
      const std::int64_t v = k % 3 == 0 ? -k - 1 : k;
      put(rows, k, v);
      if (v >= 0) kept[k] = v;
    }
    rows.expire(wall_clock_ms());
    rows.compact();
    std::map<std::int64_t, std::int64_t> stored;
    rows.for_each([&](int, std::int64_t key, Row& row, std::uint64_t) { stored[key] = row.value; });
    EXPECT_EQ(stored, kept) << (backend == StateBackend::kRocksDB ? "RocksDB" : "memory");
  }
}

TEST(KeyedRows, RocksDBCacheStaysWithinItsBudget) {
  testing::ScratchDir dir;
  Rows rows(context(StateBackend::kRocksDB, dir.path(), 0, 1, /*cache_bytes=*/64 << 10));
  for (std::int64_t k = 0; k < 20000; ++k) put(rows, k, k * 3);
  EXPECT_LT(rows.rows_in_memory(), 2000u) << "the cache was never emptied";
  auto seen = read_all(rows, 20000);
  ASSERT_EQ(seen.size(), 20000u);
  for (const auto& [k, v] : seen) ASSERT_EQ(v, k * 3);
}

// Rows fill up after they enter the cache (as a DoFn writes its state): the
// budget counts what they grew to, not what they held when they entered.
TEST(KeyedRows, RocksDBCacheCountsWhatRowsGrewTo) {
  testing::ScratchDir dir;
  constexpr std::size_t kBudget = 64 << 10, kPayload = 4000;
  Rows rows(context(StateBackend::kRocksDB, dir.path(), 0, 1, kBudget));
  std::size_t most = 0;
  for (std::int64_t k = 0; k < 2000; ++k) {
    put(rows, k, k, kPayload);
    if (k >= 100) most = std::max(most, rows.rows_in_memory());
  }
  // 64 KiB holds 16 rows of 4 KB. Rows are measured as they are stored (at
  // their first store, then every 32), not when they are written back: the first fill holds no
  // more than the rest (it held about 700 when rows were counted at the
  // size the last write-back saw, and none had been written back yet).
  EXPECT_LE(most, 2 * kBudget / kPayload);
  for (std::int64_t k = 0; k < 2000; k += 97) {
    Row* row = rows.find(ns_of(k), k);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->payload.size(), kPayload);
  }
}

// Each cached row counts at its own size: a few large rows stored often
// (q16's hot channels) do not make the many small ones beside them count
// as large, and a small row that grows is counted at what it grew to.
TEST(KeyedRows, RocksDBCacheCountsEachRowAtItsOwnSize) {
  testing::ScratchDir dir;
  constexpr std::size_t kBudget = 4 << 20, kLarge = 1 << 20;
  Rows rows(context(StateBackend::kRocksDB, dir.path(), 0, 1, kBudget));
  for (int i = 0; i < 64; ++i) {
    put(rows, 0, i, kLarge);
    put(rows, 1, i, kLarge);
  }
  // 2 MiB of large rows and 1,000 rows of 100 bytes fit in 4 MiB: nothing is
  // evicted (counted at the large rows' size, the small ones overflow it).
  for (std::int64_t k = 2; k < 1002; ++k) put(rows, k, k, 100);
  EXPECT_EQ(rows.rows_in_memory(), 1002u);
  // Small rows that grow to 8 KB each, stored 40 times: measured again, they
  // outgrow the budget, and the next row that enters empties the cache.
  for (int round = 0; round < 40; ++round) {
    for (std::int64_t k = 2; k < 402; ++k) put(rows, k, k, 8000);
  }
  put(rows, 5000, 1, 100);
  EXPECT_LT(rows.rows_in_memory(), 400u);
  for (std::int64_t k = 2; k < 402; k += 37) {
    Row* row = rows.find(ns_of(k), k);
    ASSERT_NE(row, nullptr);
    EXPECT_EQ(row->payload.size(), 8000u);
  }
}

// What a checkpoint of `parallelism` instances on `backend` holds: rows
// 0..keys-1 spread over the instances by key group.
struct Checkpoint {
  std::vector<std::unique_ptr<testing::ScratchDir>> dirs;
  std::vector<std::unique_ptr<Rows>> instances;  // alive: their snapshots stay
  RestoredState restored;
};

// Of a run that owns the key groups `owned`, only the keys in them are put.
Checkpoint checkpoint(StateBackend backend, int parallelism, std::int64_t keys,
                      KeyGroupRange owned = KeyGroupRange::all(kMaxParallelism)) {
  Checkpoint c;
  for (int i = 0; i < parallelism; ++i) {
    c.dirs.push_back(std::make_unique<testing::ScratchDir>());
    InstanceContext ctx = context(backend, c.dirs.back()->path(), i, parallelism, 8 << 10);
    ctx.key_groups = owned;
    c.instances.push_back(std::make_unique<Rows>(ctx));
  }
  for (std::int64_t k = 0; k < keys; ++k) {
    const int kg = key_group_of(Codec::hash(k), kMaxParallelism);
    if (!owned.contains(kg)) continue;
    put(*c.instances[static_cast<std::size_t>(owned.instance_of(kg, parallelism))], k, k + 1000);
  }
  c.restored.saved_key_groups = owned;
  for (auto& rows : c.instances) {
    OperatorSnapshot out;
    if (rows->native()) rows->snapshot_native(1, out);
    out.wait_written();
    c.restored.operator_states.emplace_back();
    c.restored.native_dirs.push_back(out.native_dir);
  }
  return c;
}

// On RocksDB at another parallelism, an instance takes over one old
// snapshot and deletes what it does not own by range, and ingests the rest:
// no key of another instance may show, and none may be missing. Rows are
// visited always on the memory backend, on RocksDB only when asked.
TEST(KeyedRows, NativeCheckpointRestoresAtAnyParallelismOnEitherBackend) {
  constexpr std::int64_t kKeys = 3000;
  for (int before : {1, 2, 3}) {
    Checkpoint c = checkpoint(StateBackend::kRocksDB, before, kKeys);
    for (StateBackend backend : kBackends) {
      for (int after : {1, 2, 3, 5}) {
        for (bool visit : {true, false}) {
          std::map<std::int64_t, std::int64_t> all;
          for (int i = 0; i < after; ++i) {
            testing::ScratchDir dir;
            Rows rows(context(backend, dir.path(), i, after));
            std::size_t visited = 0;
            EXPECT_TRUE(rows.restore_native(c.restored, visit, [&](int ns, std::int64_t k) {
              ++visited;
              EXPECT_EQ(ns, ns_of(k));
              EXPECT_EQ(instance_of_key_group(key_group_of(Codec::hash(k), kMaxParallelism), after,
                                              kMaxParallelism),
                        i);
            }));
            auto seen = read_all(rows, kKeys);
            const bool visits = visit || backend == StateBackend::kMemory;
            EXPECT_EQ(visited, visits ? seen.size() : 0u);
            for (const auto& [k, v] : seen) {
              ASSERT_EQ(instance_of_key_group(key_group_of(Codec::hash(k), kMaxParallelism), after,
                                              kMaxParallelism),
                        i)
                  << "key " << k << " of another instance";
            }
            all.insert(seen.begin(), seen.end());
          }
          ASSERT_EQ(all.size(), static_cast<std::size_t>(kKeys))
              << before << " -> " << after << " instances, backend " << static_cast<int>(backend);
          for (const auto& [k, v] : all) ASSERT_EQ(v, k + 1000);
        }
      }
    }
  }
}

// A member of a job spread over shares owns a range of the key groups and
// spreads that range (not all of them) over its instances: each instance gets
// a part of it, and a checkpoint of the share restores at another
// parallelism within the same range, every key once, on either backend.
TEST(KeyedRows, AShareSpreadsItsKeyGroupsOverEveryInstanceAndRestoresAtAnyParallelism) {
  constexpr std::int64_t kKeys = 3000;
  const KeyGroupRange share = KeyGroupRange::of_share(1, 3, kMaxParallelism);
  ASSERT_GE(share.count, 3);
  std::int64_t in_share = 0;
  for (std::int64_t k = 0; k < kKeys; ++k)
    in_share += share.contains(key_group_of(Codec::hash(k), kMaxParallelism)) ? 1 : 0;
  for (int before : {1, 3}) {
    Checkpoint c = checkpoint(StateBackend::kRocksDB, before, kKeys, share);
    for (StateBackend backend : kBackends) {
      for (int after : {1, 2, 3}) {
        std::map<std::int64_t, std::int64_t> all;
        for (int i = 0; i < after; ++i) {
          testing::ScratchDir dir;
          InstanceContext ctx = context(backend, dir.path(), i, after);
          ctx.key_groups = share;
          Rows rows(ctx);
          rows.restore_native(c.restored, false, [](int, std::int64_t) {});
          auto seen = read_all(rows, kKeys);
          EXPECT_FALSE(seen.empty()) << "instance " << i << " of " << after << " got no key";
          for (const auto& [k, v] : seen) {
            ASSERT_EQ(share.instance_of(key_group_of(Codec::hash(k), kMaxParallelism), after), i)
                << "key " << k << " of another instance";
          }
          all.insert(seen.begin(), seen.end());
        }
        ASSERT_EQ(all.size(), static_cast<std::size_t>(in_share))
            << before << " -> " << after << " instances, backend " << static_cast<int>(backend);
        for (const auto& [k, v] : all) ASSERT_EQ(v, k + 1000);
      }
    }
  }
}

TEST(KeyedRows, NoNativeSnapshotRestoresNothing) {
  Checkpoint c = checkpoint(StateBackend::kMemory, 2, 100);
  testing::ScratchDir dir;
  Rows rows(context(StateBackend::kRocksDB, dir.path()));
  EXPECT_FALSE(rows.restore_native(c.restored, true, [](int, std::int64_t) { FAIL(); }));
}

TEST(RestoredWatermark, OwnAtTheSameParallelismElseTheLowest) {
  auto state = [](Timestamp t) {
    std::string s;
    ByteWriter w(s);
    w.put_varint(static_cast<std::uint64_t>(t));
    return s;
  };
  RestoredState in;
  in.operator_states = {state(300), state(100), state(200)};
  EXPECT_EQ(restored_watermark(in, 0, 3), 300);
  EXPECT_EQ(restored_watermark(in, 2, 3), 200);
  EXPECT_EQ(restored_watermark(in, 0, 2), 100);
  in.operator_states[1].clear();  // an instance that saved none
  EXPECT_EQ(restored_watermark(in, 1, 3), std::nullopt);
  EXPECT_EQ(restored_watermark(in, 0, 1), 200);
  EXPECT_EQ(restored_watermark(RestoredState{}, 0, 1), std::nullopt);
  in.operator_states = {state(kMaxTimestamp), state(100)};  // instance 0 had ended
  EXPECT_EQ(restored_watermark(in, 0, 2), std::nullopt);
  EXPECT_EQ(restored_watermark(in, 0, 1), 100);
}

TEST(SortedWrites, RowsGatheredInAnyOrderAreWrittenAndRemoved) {
  testing::ScratchDir dir;
  KvStore store(dir.path() / "db");
  SortedWrites writes;
  std::string key;
  for (std::int64_t k : {5, 1, 9, 3}) {
    Codec::encode_key(0, k, kMaxParallelism, key);
    writes.put(key, "v" + std::to_string(k));
  }
  writes.write_to(store, 0);
  EXPECT_TRUE(writes.empty());
  Codec::encode_key(0, 9, kMaxParallelism, key);
  writes.remove(key);
  writes.write_to(store, 0);
  std::map<std::int64_t, std::string> seen;
  for (KvCursor c = store.cursor(0, kMaxParallelism - 1); c.valid(); c.next())
    seen[Codec::decode_key(c.key()).second] = std::string(c.value());
  EXPECT_EQ(seen, (std::map<std::int64_t, std::string>{{1, "v1"}, {3, "v3"}, {5, "v5"}}));
}

// Of the writes of one key only the last is written, and a key put as new
// then removed is not written at all: here the caller's promise that a key
// was new is false on purpose, so the row it did hold stays.
TEST(SortedWrites, OnlyTheLastWriteOfAKeyIsWrittenAndANewKeyRemovedIsNot) {
  testing::ScratchDir dir;
  KvStore store(dir.path() / "db");
  SortedWrites writes;
  std::string key;
  auto key_of = [&](std::int64_t k) -> const std::string& {
    Codec::encode_key(0, k, kMaxParallelism, key);
    return key;
  };
  for (std::int64_t k : {1, 2, 3}) writes.put(key_of(k), "old");
  writes.write_to(store, 0);
  writes.put(key_of(1), "a");
  writes.put(key_of(1), "b");
  writes.remove(key_of(2));
  writes.put(key_of(2), "c");
  writes.put(key_of(3), "new?", true);  // not new: the store holds 3
  writes.remove(key_of(3));
  writes.put(key_of(4), "d", true);
  writes.remove(key_of(4));
  writes.put(key_of(5), "e");
  writes.remove(key_of(5));
  // A fresh put after a pending remove of a stored key: the remove stays.
  writes.put(key_of(6), "f");
  writes.write_to(store, 0);
  writes.remove(key_of(6));
  writes.put(key_of(6), "g", true);
  writes.remove(key_of(6));
  writes.write_to(store, 0);
  std::map<std::int64_t, std::string> seen;
  for (KvCursor c = store.cursor(0, kMaxParallelism - 1); c.valid(); c.next())
    seen[Codec::decode_key(c.key()).second] = std::string(c.value());
  EXPECT_EQ(seen, (std::map<std::int64_t, std::string>{{1, "b"}, {2, "c"}, {3, "old"}}));
}

// Writes that settle() cancels out (fresh puts removed) leave no rows, and
// their buffers give back what they grew to: a key group's buffer that only
// settles, never writes, must not keep its busiest moment's memory.
TEST(SortedWrites, BuffersThatSettleEmptyGiveTheirMemoryBack) {
  SortedWrites writes;
  const std::string value(1000, 'v');
  for (int k = 0; k < 1000; ++k) writes.put("k" + std::to_string(k), value, true);
  for (int k = 0; k < 1000; ++k) writes.remove("k" + std::to_string(k));
  ASSERT_GT(writes.held_bytes(), std::size_t{1} << 20);
  EXPECT_EQ(writes.settle(), 0u);
  EXPECT_TRUE(writes.empty());
  writes.release_if_empty(std::size_t{64} << 10);  // each of its two buffers keeps up to this
  EXPECT_LE(writes.held_bytes(), std::size_t{128} << 10);
}

// settle() shows the store as it will be once the writes are written: each
// key once, in key order, its last write; a key first put as new (the caller
// says so whenever it is true) and then removed is not there at all.
RC_GTEST_PROP(SortedWritesProperty, SettledWritesOverTheStoreAreWhatAMapHolds, ()) {
  const auto ops = *rc::gen::container<std::vector<std::pair<int, int>>>(
      rc::gen::pair(rc::gen::inRange(0, 5), rc::gen::inRange(0, 12)));
  testing::ScratchDir dir;
  KvStore store(dir.path() / "db");
  SortedWrites writes;
  std::map<std::string, std::string> stored, view;  // the store's rows; with the writes
  auto key_of = [](int k) { return std::string(1, 'k') + static_cast<char>('a' + k); };
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const auto [kind, k] = ops[i];
    const std::string key = key_of(k);
    if (kind <= 1) {
      const std::string value = std::to_string(i);
      writes.put(key, value, !view.contains(key));
      view[key] = value;
    } else if (kind == 2) {
      if (view.erase(key) == 1) writes.remove(key);
    } else if (kind == 3) {
      writes.write_to(store, 0);
      stored = view;
    } else {
      std::map<std::string, std::string> seen = stored;
      std::string last;
      const std::size_t n = writes.settle();
      for (std::size_t w = 0; w < n; ++w) {
        RC_ASSERT(std::string(writes.key(w)) > last);
        last = std::string(writes.key(w));
        if (writes.is_put(w)) {
          seen[last];
        } else {
          RC_ASSERT(stored.contains(last));  // a remove only of what the store holds
          seen.erase(last);
        }
        RC_ASSERT(writes.lower_bound(last) == w);
      }
      for (auto& [key, value] : seen) value = view.contains(key) ? view[key] : "";
      RC_ASSERT(seen == view);
    }
  }
  writes.write_to(store, 0);
  std::map<std::string, std::string> written;
  for (KvCursor c = store.cursor("", "z"); c.valid(); c.next())
    written[std::string(c.key())] = std::string(c.value());
  RC_ASSERT(written == view);
}

}  // namespace
}  // namespace runnel::detail

// KvStore's shared memory (KvMemory): what a job's RocksDB databases hold is
// charged to one cache, memtables included; a rescaled restore's pieces:
// a snapshot taken over with the key groups outside a range deleted, and
// another snapshot's range ingested.
#include "runnel/detail/kv_store.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "test_util.hpp"

namespace runnel::detail {
namespace {

void fill(KvStore& store, int rows, char tag) {
  std::string key, value(1000, tag);
  for (int i = 0; i < rows; ++i) {
    key.clear();
    append_kv_prefix(key, i % 16, static_cast<std::uint64_t>(i));
    key.push_back(tag);
    store.batch_put(key, value);
    if (i % 1000 == 999) store.write_batch();
  }
  store.write_batch();
}

TEST(KvMemory, DatabasesChargeTheirMemtablesToTheSharedCache) {
  testing::ScratchDir dir;
  auto memory = std::make_shared<KvMemory>(std::size_t{256} << 20);
  EXPECT_LT(memory->used(), std::size_t{1} << 20) << "an empty cache";
  {
    KvStore a(dir.path() / "a", {}, memory);
    KvStore b(dir.path() / "b", {}, memory);
    fill(a, 8000, 'a');  // about 8 MB each, all in memtables (no flush yet)
    fill(b, 8000, 'b');
    // The write-buffer manager charges memtables to the cache as they grow.
    EXPECT_GE(memory->used(), std::size_t{12} << 20);
    EXPECT_LE(memory->used(), memory->bytes());
    std::string value;
    std::string key;
    append_kv_prefix(key, 5, 5);
    key.push_back('b');
    ASSERT_TRUE(b.get(key, value));
    EXPECT_EQ(value, std::string(1000, 'b'));
  }
  // Closed databases release their memtables' charge.
  EXPECT_LT(memory->used(), std::size_t{4} << 20);
}

// Every row of a store, by key: the key group (first two bytes) and the tag.
std::map<std::string, std::string> rows_of(KvStore& store) {
  std::map<std::string, std::string> rows;
  for (KvCursor c = store.cursor(0, kMaxKeyGroups - 1); c.valid(); c.next())
    rows.emplace(c.key(), c.value());
  return rows;
}

int key_group(const std::string& key) {
  return (static_cast<unsigned char>(key[0]) << 8) | static_cast<unsigned char>(key[1]);
}

TEST(KvStore, TakesOverARangeOfASnapshotAndIngestsAnother) {
  testing::ScratchDir dir;
  // Two "old instances" holding the same 16 key groups, told apart by tag.
  KvStore a(dir.path() / "a");
  KvStore b(dir.path() / "b");
  fill(a, 1600, 'a');
  fill(b, 1600, 'b');
  a.checkpoint(dir.path() / "a.snap");
  b.checkpoint(dir.path() / "b.snap");

  KvStore restored(dir.path() / "restored");
  restored.adopt(dir.path() / "a.snap", 4, 9);
  std::size_t visited = 0;
  restored.ingest(dir.path() / "b.snap", 10, 12, [&](std::string_view key, std::string_view) {
    ++visited;
    EXPECT_EQ(key.back(), 'b');
  });
  EXPECT_EQ(visited, 300u);                        // 100 rows in each of 3 key groups
  restored.ingest(dir.path() / "b.snap", 14, 13);  // an empty range: nothing, no error

  auto check = [](const std::map<std::string, std::string>& rows) {
    EXPECT_EQ(rows.size(), 900u);
    for (const auto& [key, value] : rows) {
      const int kg = key_group(key);
      ASSERT_GE(kg, 4);
      ASSERT_LE(kg, 12);
      EXPECT_EQ(key.back(), kg <= 9 ? 'a' : 'b');
      EXPECT_EQ(value, std::string(1000, key.back()));
    }
  };
  check(rows_of(restored));
  std::string value, key;
  append_kv_prefix(key, 2, 2);
  key.push_back('a');
  EXPECT_FALSE(restored.get(key, value)) << "a key group deleted by range";

  // The deletions hold in the store's own snapshots and across compaction.
  restored.checkpoint(dir.path() / "restored.snap");
  std::map<std::string, std::string> again;
  scan_kv_snapshot(dir.path() / "restored.snap", 0, kMaxKeyGroups - 1,
                   [&](std::string_view k, std::string_view v) { again.emplace(k, v); });
  check(again);
  restored.compact();
  check(rows_of(restored));
}

}  // namespace
}  // namespace runnel::detail

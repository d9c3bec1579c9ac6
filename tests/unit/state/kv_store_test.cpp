// KvStore's shared memory (KvMemory): what a job's RocksDB databases hold is
// charged to one cache, memtables included.
#include "runnel/detail/kv_store.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace runnel::detail

// KvStore over RocksDB (see include/runnel/detail/kv_store.hpp).
#include "runnel/detail/kv_store.hpp"

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <stdexcept>

namespace runnel::detail {
namespace fs = std::filesystem;

namespace {

void check(const rocksdb::Status& s, std::string_view what, const fs::path& where) {
  if (!s.ok())
    throw std::runtime_error(
        fmt::format("RocksDB state backend: {} '{}': {}", what, where.string(), s.ToString()));
}

rocksdb::Slice slice(std::string_view v) { return {v.data(), v.size()}; }

std::string range_bound(int key_group) {
  std::string k;
  k.push_back(static_cast<char>((key_group >> 8) & 0xff));
  k.push_back(static_cast<char>(key_group & 0xff));
  return k;
}

// Opens a native snapshot read-only and iterates key groups [first, last].
void scan(const fs::path& snapshot, int first, int last,
          const std::function<void(std::string_view, std::string_view)>& fn) {
  rocksdb::Options options;
  options.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  check(rocksdb::DB::OpenForReadOnly(options, snapshot.string(), &raw), "cannot open snapshot",
        snapshot);
  std::unique_ptr<rocksdb::DB> db(raw);
  const std::string lower = range_bound(first);
  const std::string upper = range_bound(last + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  ro.fill_cache = false;
  ro.total_order_seek = true;  // across prefixes
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    fn(std::string_view(it->key().data(), it->key().size()),
       std::string_view(it->value().data(), it->value().size()));
  }
  check(it->status(), "cannot read snapshot", snapshot);
}

}  // namespace

namespace {
// Drops the rows KvStore::RowExpired says expired. A row it cannot read is kept.
class ExpiredRows final : public rocksdb::CompactionFilter {
 public:
  explicit ExpiredRows(KvStore::RowExpired expired) : expired_(std::move(expired)) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    try {
      return expired_(std::string_view(key.data(), key.size()),
                      std::string_view(value.data(), value.size()));
    } catch (...) {  // a user's coder may throw anything; this thread is RocksDB's
      return false;
    }
  }
  const char* Name() const override { return "runnel.ExpiredRows"; }

 private:
  KvStore::RowExpired expired_;
};
}  // namespace

struct KvMemory::Impl {
  std::shared_ptr<rocksdb::Cache> cache;
  std::shared_ptr<rocksdb::WriteBufferManager> write_buffers;
};

KvMemory::KvMemory(std::size_t bytes) : impl_(std::make_unique<Impl>()), bytes_(bytes) {
  // Flink's split (RocksDBMemoryConfiguration, write-buffer ratio r = 0.5):
  // memtables may take 2rT/3 of the cache's share, and a memtable can pass
  // its manager's limit by half before a flush begins, so the cache itself
  // is (3 - r)T/3 and the whole stays within T. A tenth of the cache is for
  // index and filter blocks first (high priority): every read needs them.
  constexpr double kWriteBufferRatio = 0.5;
  const auto t = static_cast<double>(bytes);
  rocksdb::LRUCacheOptions cache;
  cache.capacity = static_cast<std::size_t>((3 - kWriteBufferRatio) * t / 3);
  cache.num_shard_bits = -1;  // RocksDB's choice by capacity
  cache.strict_capacity_limit = false;
  cache.high_pri_pool_ratio = 0.1;
  impl_->cache = rocksdb::NewLRUCache(cache);
  impl_->write_buffers = std::make_shared<rocksdb::WriteBufferManager>(
      static_cast<std::size_t>(2 * kWriteBufferRatio * t / 3), impl_->cache);
}

KvMemory::~KvMemory() = default;

std::size_t KvMemory::used() const { return impl_->cache->GetUsage(); }

struct KvStore::Impl {
  std::shared_ptr<KvMemory> memory;                    // outlives db (declared first)
  std::unique_ptr<rocksdb::CompactionFilter> expired;  // outlives db (declared first)
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::Options options;  // db's
  rocksdb::ReadOptions read;
  rocksdb::WriteOptions write;
  rocksdb::WriteBatch batch;
};

namespace {
// cache and write_buffers: the job's KvMemory, or null (see KvStore's constructor).
rocksdb::Options store_options(const rocksdb::CompactionFilter* filter,
                               std::shared_ptr<rocksdb::Cache> cache,
                               std::shared_ptr<rocksdb::WriteBufferManager> write_buffers) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compaction_filter = filter;
  // One database per operator instance, each owned by one thread: keep the
  // background work small (two cores serve the whole job).
  options.max_background_jobs = 1;
  options.OptimizeLevelStyleCompaction(64 << 20);
  // RocksDB's own info LOG grew 350 KB a minute per database in a 10-minute
  // run (bench/long_run: 7 -> 17 MB for q5's four databases, none of it
  // state). Warnings and errors only, in a file kept small (as Flink's
  // default log level for RocksDB, HEADER).
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.max_log_file_size = 1 << 20;
  options.keep_log_file_num = 2;
  // Every access is a point lookup: bloom filters on the key's prefix (key
  // group and hash) in the memtable and the tables, and a block cache shared
  // by the process's databases; no compression above the last level. A
  // 32 MiB memtable rather than 4: with many keys (Nexmark q18, 3M events)
  // flushes and compactions of small memtables cost more than the deeper
  // skip list (31.2 -> 24.8 CPU s).
  options.write_buffer_size = 32 << 20;
  options.max_write_buffer_number = 3;
  // Level 0 compacts into level 1 after 8 flushed tables, not 2, into a
  // 512 MiB level 1 of 64 MiB tables: a checkpoint links the tables, and
  // with a small level 1 that every flush rewrote, each one's new files were
  // 4-5x what had changed (q18, 30M events, a checkpoint every 5 s: a median
  // 101 MB new per checkpoint, was 524 MB; CPU 265 s, was 274 s).
  options.level0_file_num_compaction_trigger = 8;
  options.max_bytes_for_level_base = 512 << 20;
  options.target_file_size_base = 64 << 20;
  options.compression_per_level.clear();  // set by OptimizeLevelStyleCompaction
  options.compression = rocksdb::kNoCompression;
  options.bottommost_compression = rocksdb::kLZ4Compression;
  rocksdb::BlockBasedTableOptions table;
  if (cache) {
    table.block_cache = std::move(cache);
    options.write_buffer_manager = std::move(write_buffers);
    // Index and filter blocks count in the cache too; those of level 0
    // (new tables, read most) and the top level of partitioned ones stay.
    table.cache_index_and_filter_blocks = true;
    table.cache_index_and_filter_blocks_with_high_priority = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    table.pin_top_level_index_and_filter = true;
  } else {
    static const std::shared_ptr<rocksdb::Cache> shared =
        rocksdb::NewLRUCache(KvStore::kDefaultCacheBytes);
    table.block_cache = shared;
  }
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.whole_key_filtering = true;
  // Filters and indexes in 4 KiB partitions under a small top level: a
  // read loads one partition, not a table's whole filter. (Whole filters,
  // a megabyte per million keys, did not stay in a small budget's cache:
  // every read of a missing key loaded one again, and a DoFn over 1M new
  // keys at a 256 MiB budget spent 63% of its time there.)
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(kKvPrefixBytes));
  options.memtable_prefix_bloom_size_ratio = 0.1;
  return options;
}
}  // namespace

KvStore::KvStore(const fs::path& dir, RowExpired expired, std::shared_ptr<KvMemory> memory)
    : impl_(std::make_unique<Impl>()), dir_(dir) {
  impl_->memory = std::move(memory);
  if (expired) impl_->expired = std::make_unique<ExpiredRows>(std::move(expired));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir.parent_path(), ec);
  open();
}

void KvStore::open() {
  rocksdb::DB* raw = nullptr;
  const KvMemory* memory = impl_->memory.get();
  impl_->options = store_options(impl_->expired.get(), memory ? memory->impl_->cache : nullptr,
                                 memory ? memory->impl_->write_buffers : nullptr);
  check(rocksdb::DB::Open(impl_->options, dir_.string(), &raw), "cannot open", dir_);
  impl_->db.reset(raw);
  // The checkpoint is what makes state durable (as in Flink): no write-ahead log.
  impl_->write.disableWAL = true;
}

void KvStore::adopt(const fs::path& snapshot, int first, int last) {
  check(impl_->db->Close(), "cannot close", dir_);
  impl_->db.reset();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  fs::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("RocksDB state backend: cannot create '" + dir_.string() + "'");
  // Table files never change once written: they are linked. The rest (the
  // manifest, CURRENT, OPTIONS) RocksDB rewrites: those are copied.
  for (const auto& e : fs::directory_iterator(snapshot)) {
    const fs::path to = dir_ / e.path().filename();
    if (e.path().extension() == ".sst") {
      fs::create_hard_link(e.path(), to, ec);
      if (!ec) continue;
      ec.clear();
    }
    fs::copy_file(e.path(), to, ec);
    if (ec)
      throw std::runtime_error(fmt::format("RocksDB state backend: cannot copy '{}' to '{}': {}",
                                           e.path().string(), to.string(), ec.message()));
  }
  open();
  // A range deletion is one tombstone: the rows stay in the linked tables
  // (shared with the checkpoint) until compaction drops them.
  auto* cf = impl_->db->DefaultColumnFamily();
  if (first > 0)
    check(impl_->db->DeleteRange(impl_->write, cf, range_bound(0), range_bound(first)),
          "cannot delete key groups from", dir_);
  if (last < kMaxKeyGroups - 1)
    check(
        impl_->db->DeleteRange(impl_->write, cf, range_bound(last + 1), range_bound(kMaxKeyGroups)),
        "cannot delete key groups from", dir_);
}

void KvStore::ingest(const fs::path& snapshot, int first, int last,
                     const std::function<void(std::string_view, std::string_view)>& fn) {
  const fs::path file = dir_ / fmt::format("ingest-{}-{}.sst", first, last);
  std::size_t rows = 0;
  {
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), impl_->options);
    check(writer.Open(file.string()), "cannot write", file);
    // The snapshot's rows come in key order, as a table file wants them.
    scan(snapshot, first, last, [&](std::string_view key, std::string_view value) {
      check(writer.Put(slice(key), slice(value)), "cannot write", file);
      if (fn) fn(key, value);
      ++rows;
    });
    // RocksDB refuses to finish a table without rows; unfinished, it is abandoned.
    if (rows > 0) check(writer.Finish(), "cannot write", file);
  }
  if (rows == 0) {
    std::error_code ec;
    fs::remove(file, ec);
    return;
  }
  rocksdb::IngestExternalFileOptions how;
  how.move_files = true;  // written here, for this database: linked in, not copied
  check(impl_->db->IngestExternalFile({file.string()}, how), "cannot ingest", file);
}

KvStore::~KvStore() {
  if (impl_->db) {
    impl_->db->Close().PermitUncheckedError();
    impl_->db.reset();
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

bool KvStore::get(std::string_view key, std::string& value) {
  rocksdb::Status s =
      impl_->db->Get(impl_->read, impl_->db->DefaultColumnFamily(), slice(key), &value);
  if (s.IsNotFound()) return false;
  check(s, "cannot read from", dir_);
  return true;
}

void KvStore::batch_put(std::string_view key, std::string_view value) {
  check(impl_->batch.Put(slice(key), slice(value)), "cannot write to", dir_);
}

void KvStore::batch_remove(std::string_view key) {
  check(impl_->batch.Delete(slice(key)), "cannot delete from", dir_);
}

void KvStore::write_batch() {
  if (impl_->batch.Count() == 0) return;
  check(impl_->db->Write(impl_->write, &impl_->batch), "cannot write to", dir_);
  impl_->batch.Clear();
}

void KvStore::checkpoint(const fs::path& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  check(rocksdb::Checkpoint::Create(impl_->db.get(), &raw), "cannot make a checkpoint of", dir_);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // Without a write-ahead log the memtable must be flushed into SST files:
  // log_size_for_flush 0 makes RocksDB flush before it links them.
  check(cp->CreateCheckpoint(dir.string(), 0), "cannot write checkpoint", dir);
}

void KvStore::compact() {
  check(impl_->db->Flush(rocksdb::FlushOptions{}), "cannot flush", dir_);
  rocksdb::CompactRangeOptions all;
  all.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  check(impl_->db->CompactRange(all, nullptr, nullptr), "cannot compact", dir_);
}

struct KvCursor::Impl {
  std::string upper;
  rocksdb::Slice upper_slice;
  std::unique_ptr<rocksdb::Iterator> it;
  fs::path dir;
};

KvCursor::KvCursor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KvCursor::KvCursor(KvCursor&&) noexcept = default;
KvCursor::~KvCursor() = default;
bool KvCursor::valid() const { return impl_->it->Valid(); }
void KvCursor::next() {
  impl_->it->Next();
  if (!impl_->it->Valid()) check(impl_->it->status(), "cannot read from", impl_->dir);
}
std::string_view KvCursor::key() const {
  return {impl_->it->key().data(), impl_->it->key().size()};
}
std::string_view KvCursor::value() const {
  return {impl_->it->value().data(), impl_->it->value().size()};
}

KvCursor KvStore::cursor(int first, int last) {
  return cursor(range_bound(first), range_bound(last + 1));
}

KvCursor KvStore::cursor(std::string_view from, std::string_view upper) {
  auto c = std::make_unique<KvCursor::Impl>();
  c->upper = upper;
  c->upper_slice = rocksdb::Slice(c->upper);
  c->dir = dir_;
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &c->upper_slice;
  ro.fill_cache = false;
  ro.total_order_seek = true;  // across prefixes
  c->it.reset(impl_->db->NewIterator(ro));
  c->it->Seek(slice(from));
  if (!c->it->Valid()) check(c->it->status(), "cannot read from", dir_);
  return KvCursor(std::move(c));
}

void KvStore::remove_range(std::string_view from, std::string_view upper) {
  check(impl_->db->DeleteRange(impl_->write, impl_->db->DefaultColumnFamily(), slice(from),
                               slice(upper)),
        "cannot delete from", dir_);
}

void KvStore::remove_timers(int first, int last) {
  for (int kg = first; kg <= last; ++kg) {
    std::string from;
    append_timer_prefix(from, kg, 0);
    remove_range(from, range_bound(kg + 1));
  }
}

void scan_kv_snapshot(const fs::path& snapshot, int first, int last,
                      const std::function<void(std::string_view, std::string_view)>& fn) {
  scan(snapshot, first, last, fn);
}

}  // namespace runnel::detail

#pragma once
// The keyed state of one operator instance as rows (one per key, or per key
// and window), on the backend the job chose, written once for the operators
// that keep a row per key (stateful DoFns today; see docs/architecture.md):
//
// - memory: decoded rows in a hash map (a node per row, for now: the
//   compact table is the keyed-state issue's first item, made here once);
// - RocksDB: rows encoded in the instance's KvStore, behind a write-back
//   cache of decoded rows (as Kafka Streams' record cache): a hot key costs a
//   hash lookup, not a read and a write. The rows that changed are listed, so
//   writing them back reads no other row: when they reach kWriteBackBytes,
//   before a checkpoint, and when the cache outgrows its budget (it is then
//   emptied). Written in key order (SortedWrites).
//
// A row is used in three steps: acquire (or find) makes it current, the
// caller changes it, then store() keeps it or drop() removes it. Only the
// current row may be held: acquiring another may move rows.
//
// Codec says how a row is hashed and stored:
//   static std::uint64_t hash(const RowKey&);            // the row's hash
//   static void encode_key(const RowKey&, int max_parallelism, std::string&);
//                                                         // key-group prefix first
//   static RowKey decode_key(std::string_view);
//   static void encode_row(const Row&, std::string&);
//   static void decode_row(std::string_view, Row&);
//
// The per-row paths are plain member calls, no virtual call: the backend is
// a branch on a pointer, the same way for every row of an instance.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/native_snapshots.hpp"
#include "runnel/detail/sorted_writes.hpp"
#include "runnel/key_groups.hpp"
#include "runnel/operator.hpp"

namespace runnel::detail {

template <class RowKey, class Row, class Codec>
class KeyedRows {
 public:
  // Changed rows are written back once they hold about this much.
  static constexpr std::size_t kWriteBackBytes = std::size_t{32} << 20;
  // What the RocksDB backend's cache of decoded rows holds at most when the
  // instance has no memory budget of its own.
  static constexpr std::size_t kDefaultCacheBytes = std::size_t{16} << 20;

  explicit KeyedRows(const InstanceContext& ctx)
      : max_parallelism_(ctx.max_parallelism),
        instance_(ctx.instance),
        parallelism_(ctx.parallelism),
        cache_limit_(ctx.memory_budget != 0 ? ctx.memory_budget : kDefaultCacheBytes) {
    if (ctx.state_backend == StateBackend::kRocksDB) {
      kv_ =
          std::make_unique<KvStore>(ctx.state_dir / (ctx.uid + "-" + std::to_string(ctx.instance)));
      snapshots_ = std::make_unique<NativeSnapshots>(ctx);
    }
  }

  // Whether rows live in RocksDB (checkpoints are its native snapshots).
  bool native() const { return kv_ != nullptr; }

  // The row of `rk`, made current; created: it did not exist (it is empty).
  Row& acquire(const RowKey& rk, bool& created) {
    if (!kv_) {
      auto [it, inserted] = rows_.try_emplace(rk);
      created = inserted;
      current_ = it;
      return it->second;
    }
    Cached& c = lookup(rk, Codec::hash(rk));
    created = !c.present;
    return c.row;
  }
  // The row of `rk` made current, or nullptr if there is none.
  Row* find(const RowKey& rk) {
    if (!kv_) {
      auto it = rows_.find(rk);
      if (it == rows_.end()) return nullptr;
      current_ = it;
      return &it->second;
    }
    Cached& c = lookup(rk, Codec::hash(rk));
    return c.present ? &c.row : nullptr;
  }
  const RowKey& key() const { return kv_ ? cached_->key : current_->first; }

  // Keeps what the caller did to the current row.
  void store() {
    if (kv_) mark_dirty(true);
  }
  // Removes the current row.
  void drop() {
    if (!kv_) {
      rows_.erase(current_);
      return;
    }
    cached_->value.row = Row{};
    mark_dirty(false);
  }

  // Memory backend: f(key, row) for every row (a checkpoint encodes them).
  template <class F>
  void for_each(F&& f) {
    for (auto& [rk, row] : rows_) f(rk, row);
  }

  // RocksDB backend: writes the changed rows, then snapshots the database
  // for checkpoint `id` into out.native_dir.
  void snapshot_native(std::int64_t id, OperatorSnapshot& out) {
    flush();
    snapshots_->take(*kv_, id, out);
  }

  // Restores the rows of the native snapshots in `in` (either backend): the
  // RocksDB backend takes over its own old instance's snapshot when the
  // parallelism is unchanged, and otherwise (or on the memory backend)
  // copies the rows of its key groups. on_row(key) is called for each row
  // restored (on a snapshot taken over, only if visit_adopted: reading its
  // keys is then a scan). Returns whether `in` held native snapshots.
  template <class OnRow>
  bool restore_native(const RestoredState& in, bool visit_adopted, OnRow&& on_row) {
    auto visit_key = [&](std::string_view key, std::string_view) {
      on_row(Codec::decode_key(key));
    };
    if (kv_) {
      if (const std::string* dir = adoptable_native_dir(in, instance_, parallelism_)) {
        kv_->adopt(*dir);
        if (visit_adopted) {
          scan_kv_snapshot(*dir, first_key_group(instance_, parallelism_, max_parallelism_),
                           last_key_group(instance_, parallelism_, max_parallelism_), visit_key);
        }
        return true;
      }
      // Rows of other instances' snapshots are copied as they are: the same
      // codec wrote them, so their keys and values need no decoding.
      const bool any = scan_native_rows(in, instance_, parallelism_, max_parallelism_,
                                        [&](std::string_view key, std::string_view value) {
                                          writes_.put(key, value);
                                          visit_key(key, value);
                                          if (writes_.bytes() >= kWriteBackBytes)
                                            writes_.write_to(*kv_, 2 * kWriteBackBytes);
                                        });
      writes_.write_to(*kv_, 2 * kWriteBackBytes);
      return any;
    }
    return scan_native_rows(in, instance_, parallelism_, max_parallelism_,
                            [&](std::string_view bytes, std::string_view value) {
                              bool created = false;
                              Row& row = acquire(Codec::decode_key(bytes), created);
                              Codec::decode_row(value, row);
                              on_row(key());
                            });
  }

  // RocksDB backend: writes every changed row back (before a checkpoint).
  void flush() {
    if (!kv_) return;
    std::size_t encoded = 0, rows = 0;
    for (const std::size_t index : dirty_) {
      auto& e = cache_.entries()[index];
      Cached& c = e.value;
      c.dirty = false;
      if (!c.present && !c.stored) continue;  // made and dropped between two flushes
      Codec::encode_key(e.key, max_parallelism_, key_bytes_);
      if (c.present) {
        Codec::encode_row(c.row, value_);
        writes_.put(key_bytes_, value_);
        encoded += key_bytes_.size() + value_.size();
        ++rows;
      } else {
        writes_.remove(key_bytes_);
      }
      c.stored = c.present;
    }
    dirty_.clear();
    writes_.write_to(*kv_, 2 * kWriteBackBytes);
    // New rows enter the cache empty; what rows grew to shows here, and the
    // estimate of every cached row follows it.
    if (rows != 0) {
      row_bytes_ = std::max<std::size_t>(encoded / rows, 16);
      cached_bytes_ = cache_.size() * (kEntryBytes + row_bytes_);
    }
  }

  // Rows held in memory: all of them (memory), the cached ones (RocksDB).
  std::size_t rows_in_memory() const { return kv_ ? cache_.size() : rows_.size(); }

 private:
  struct Cached {
    Row row;
    bool present = false;  // false: no row (never was, or dropped)
    bool dirty = false;    // differs from the store
    bool stored = false;   // the store holds a row for it
  };
  using Cache = FlatTable<RowKey, Cached>;
  // A cached row's entry, hash and slots.
  static constexpr std::size_t kEntryBytes =
      sizeof(typename Cache::Entry) + 2 * sizeof(std::uint64_t);

  // The cached row of rk (hash h), read from the store if not cached, made current.
  Cached& lookup(const RowKey& rk, std::uint64_t h) {
    if (auto* e = cache_.find(rk, h)) {
      cached_ = e;
      return e->value;
    }
    if (cached_bytes_ >= cache_limit_) {
      evict();
    } else if (dirty_.size() * row_bytes_ >= kWriteBackBytes) {
      flush();
    }
    auto [e, inserted] = cache_.find_or_insert_entry(
        rk, h, [&] { return rk; }, [] { return Cached{}; });
    cached_ = e;
    Codec::encode_key(rk, max_parallelism_, key_bytes_);
    // What the row holds: a stored row's size is known; a new one is
    // counted at the average size of the rows the last flush wrote (it is
    // usually filled after it enters).
    std::size_t bytes = row_bytes_;
    if (kv_->get(key_bytes_, value_)) {
      Codec::decode_row(value_, e->value.row);
      e->value.present = e->value.stored = true;
      bytes = key_bytes_.size() + value_.size();
    }
    cached_bytes_ += kEntryBytes + bytes;
    return e->value;
  }

  void mark_dirty(bool present) {
    Cached& c = cached_->value;
    c.present = present;
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(static_cast<std::size_t>(cached_ - cache_.entries().data()));
  }

  // The cache is full: its changes go to the store, and it starts empty.
  void evict() {
    flush();
    cache_.clear_and_release();
    cached_ = nullptr;
    cached_bytes_ = 0;
  }

  int max_parallelism_, instance_, parallelism_;
  // Memory backend.
  struct Hasher {
    std::size_t operator()(const RowKey& rk) const { return Codec::hash(rk); }
  };
  using Map = std::unordered_map<RowKey, Row, Hasher>;
  Map rows_;
  typename Map::iterator current_{};
  // RocksDB backend.
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<NativeSnapshots> snapshots_;
  Cache cache_;
  typename Cache::Entry* cached_ = nullptr;
  std::vector<std::size_t> dirty_;  // cache entries changed since the last flush
  std::size_t cache_limit_, cached_bytes_ = 0;
  std::size_t row_bytes_ =
      16;  // a row's encoded size (key and value), as the last flush wrote them
  SortedWrites writes_;
  std::string key_bytes_, value_;
};

}  // namespace runnel::detail

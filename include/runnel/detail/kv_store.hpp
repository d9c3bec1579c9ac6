#pragma once
// The RocksDB state backend's storage: one RocksDB database per operator
// instance, holding byte keys that start with their key group, so one key
// group is one contiguous range (see append_kv_prefix). Keyed operators
// encode their rows into it; this class only moves bytes, and keeps RocksDB's
// headers out of the operators' (RocksDB is an implementation detail).
//
// Calls are plain member calls into RocksDB: the operator is specialised for
// its backend when it is instantiated, so there is no virtual call per record.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runnel/detail/key_groups.hpp"
#include "runnel/hash.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

// Reads the rows of a range of key groups in key order, from a consistent
// view taken when it was made (writes made meanwhile are not seen).
class KvCursor {
 public:
  KvCursor(KvCursor&&) noexcept;
  ~KvCursor();
  bool valid() const;
  void next();
  std::string_view key() const;
  std::string_view value() const;

 private:
  friend class KvStore;
  struct Impl;
  explicit KvCursor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The memory every RocksDB database of a job shares, as Flink's managed
// memory for RocksDB: one block cache, which also holds the tables' index
// and filter blocks, with the memtables charged to it by a write-buffer
// manager. What the databases hold stays near `bytes` however many the job
// opens (without it, each had its own memtables and the cache left index
// and filter blocks outside).
class KvMemory {
 public:
  explicit KvMemory(std::size_t bytes);
  ~KvMemory();
  KvMemory(const KvMemory&) = delete;
  KvMemory& operator=(const KvMemory&) = delete;
  std::size_t bytes() const { return bytes_; }
  // What the block cache holds now, memtables included.
  std::size_t used() const;

 private:
  friend class KvStore;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::size_t bytes_;
};

class KvStore {
 public:
  static constexpr std::size_t kDefaultCacheBytes = std::size_t{256} << 20;
  // Whether a stored row's time to live has passed: RocksDB drops such rows
  // as it compacts (as Flink's TTL compaction filter). Called on RocksDB's
  // background threads: it must look at nothing but its arguments.
  using RowExpired = std::function<bool(std::string_view key, std::string_view value)>;

  // Opens a new, empty database at `dir` (what is there is removed first:
  // a working copy never outlives its run); `expired`, if given, filters
  // rows at every compaction. `memory`, if given, is what it shares with
  // the job's other databases; else a cache of kDefaultCacheBytes shared by
  // the process's databases, memtables apart.
  explicit KvStore(const std::filesystem::path& dir, RowExpired expired = {},
                   std::shared_ptr<KvMemory> memory = nullptr);
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // Reads `key` into `value`; false if absent.
  bool get(std::string_view key, std::string& value);
  // Writes and deletes gathered, then applied together by write_batch.
  void batch_put(std::string_view key, std::string_view value);
  void batch_remove(std::string_view key);
  void write_batch();

  // The rows of key groups [first, last] (batched writes not yet written are not seen).
  KvCursor cursor(int first, int last);
  // The keys in [from, upper), as cursor(first, last).
  KvCursor cursor(std::string_view from, std::string_view upper);
  // Deletes every key in [from, upper) (one range tombstone).
  void remove_range(std::string_view from, std::string_view upper);
  // Deletes the timers of every set in key groups [first, last] (one range
  // tombstone per key group).
  void remove_timers(int first, int last);

  // Replaces this database by a copy of a native snapshot (table files
  // hard-linked), then deletes by range every key group outside [first,
  // last]: a restore without reading a row. At another parallelism an
  // instance takes over the old instance's snapshot that shares most key
  // groups with it (as Flink's RocksDB restore does) and ingests the rest.
  void adopt(const std::filesystem::path& snapshot, int first = 0, int last = kMaxKeyGroups - 1);

  // Adds the rows of key groups [first, last] of a native snapshot as one
  // table file, written in key order and ingested (not through the memtable,
  // so not compacted again on the way in); `fn`, if given, is called for
  // each row. This database must hold no row of those key groups.
  void ingest(const std::filesystem::path& snapshot, int first, int last,
              const std::function<void(std::string_view key, std::string_view value)>& fn = {});

  // A native snapshot: RocksDB's checkpoint of the database into `dir`
  // (which must not exist): its SST files hard-linked, not copied, when
  // `dir` is on the same file system; the memtable is flushed first.
  void checkpoint(const std::filesystem::path& dir);

  // Writes the memtable out and compacts every table (expired rows go).
  void compact();

 private:
  void open();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::filesystem::path dir_;
};

// The entries of key groups [first, last] in a native snapshot, read-only.
void scan_kv_snapshot(const std::filesystem::path& snapshot, int first, int last,
                      const std::function<void(std::string_view key, std::string_view value)>& fn);

// Every key starts with a fixed-length prefix: its key group (two bytes,
// big-endian, so a key group is one range) and the 64-bit hash of what
// follows. RocksDB's prefix bloom filters (memtable and tables) use it; the
// memtable is one skip list, so writers that can order their keys do.
constexpr std::size_t kKvPrefixBytes = 10;
inline void append_prefix_bytes(std::string& key, int key_group, std::uint64_t hash) {
  key.push_back(static_cast<char>((key_group >> 8) & 0xff));
  key.push_back(static_cast<char>(key_group & 0xff));
  for (int shift = 56; shift >= 0; shift -= 8)
    key.push_back(static_cast<char>((hash >> shift) & 0xff));
}
// Prefix hashes from here up are not a row's: they hold timers (KeyedTimers
// stored in RocksDB, one value per timer set), at the end of each key group.
constexpr std::uint64_t kTimerHashes = 0xffffffffffffff00ULL;
inline void append_kv_prefix(std::string& key, int key_group, std::uint64_t hash) {
  // A row whose hash fell among the timers' (one in 2^56) moves below them.
  if (hash >= kTimerHashes) hash -= 0x100;
  append_prefix_bytes(key, key_group, hash);
}
// The prefix of the timers of set `tag` in key group key_group.
inline void append_timer_prefix(std::string& key, int key_group, std::uint8_t tag) {
  append_prefix_bytes(key, key_group, kTimerHashes | tag);
}
// Whether a stored key is a timer's, not a row's.
inline bool is_timer_key(std::string_view key) {
  if (key.size() < kKvPrefixBytes) return false;
  for (std::size_t i = 2; i < 9; ++i)
    if (static_cast<unsigned char>(key[i]) != 0xff) return false;
  return true;
}
// The prefix hash of a row of window w and a key with hash key_hash (part
// of stored keys: changing it would strand the rows of older checkpoints).
inline std::uint64_t window_row_hash(std::uint64_t key_hash, const Window& w) {
  return hash_combine(key_hash, hash_mix(static_cast<std::uint64_t>(w.start) * 31 +
                                         static_cast<std::uint64_t>(w.end)));
}

}  // namespace runnel::detail

#pragma once
// The keyed state of one operator instance as rows, one per namespace and
// key (as Flink's: the namespace is the window, or one value for state that
// is not per window), on the backend the job chose, written once for the
// operators that keep rows per key (stateful DoFns and distinct() today; see
// docs/architecture.md):
//
// - memory: decoded rows in one open-addressing table per namespace
//   (RowTable: entries stored densely in chunks, 4-byte slots, no node and
//   no hash per row; the namespace is stored once per table, not per row).
//   With checkpoints (and a state directory), rows that change are marked
//   and the keys of rows that go are kept, so that a checkpoint writes what
//   changed since the last one (RowLog). A checkpoint is asynchronous: the
//   task thread freezes the tables (RowTable::freeze) and goes on, and a
//   thread of the snapshot's own encodes and writes the log;
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
//   static std::uint64_t hash(const Key&);                // the key's hash
//   static void encode_key(const Ns&, const Key&, int max_parallelism, std::string&);
//                                                         // key-group prefix first
//   static std::pair<Ns, Key> decode_key(std::string_view);
//   static void encode_row(const Ns&, const Row&, std::string&);
//   static void decode_row(const Ns&, std::string_view, Row&);
//   (the namespace may say what kind of row it is)
// Namespaces are ordered by NsLess (windows: by end, so rows of the windows a
// watermark completes come first).
//
// The per-row paths are plain member calls, no virtual call: the backend is
// a branch on a pointer, the same way for every row of an instance.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/memory_size.hpp"
#include "runnel/detail/native_snapshots.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/row_log.hpp"
#include "runnel/detail/row_table.hpp"
#include "runnel/detail/sorted_writes.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

template <class Ns, class Key, class Row, class Codec, class NsLess = std::less<Ns>>
class KeyedRows {
 public:
  // Changed rows are written back once they hold about this much.
  static constexpr std::size_t kWriteBackBytes = std::size_t{32} << 20;
  // What the RocksDB backend's cache of decoded rows holds at most when the
  // instance has no memory budget of its own.
  static constexpr std::size_t kDefaultCacheBytes = std::size_t{16} << 20;

  // What a visit does with a namespace (update): kStop says no namespace
  // after it in NsLess order is wanted either (the memory backend stops; the
  // RocksDB backend's scan, in key order, skips it).
  enum class Visit { kSkip, kVisit, kStop };
  // What a visit did to a row.
  enum class Change { kUnchanged, kChanged, kDropped };
  // A row's time to live: clears what expired in the row at `now` and says
  // whether the row then holds nothing (it goes). Runs on the task thread
  // (memory) and on RocksDB's compaction threads: it must touch nothing but
  // the row. `now` is the operator's processing time (advance_time), never
  // the wall clock: a batch job's state does not expire on one backend
  // and live on the other.
  using Expiry = std::function<bool(Row&, Timestamp now)>;

  // The RocksDB backend's cache holds up to cache_bytes (by default the
  // instance's memory budget, else kDefaultCacheBytes); changed rows are
  // written back when they reach write_back_bytes.
  // Rows with a time to live say so by an expiry.
  explicit KeyedRows(const InstanceContext& ctx, Expiry expiry = {})
      : KeyedRows(ctx, default_cache_bytes(ctx), kWriteBackBytes, std::move(expiry)) {}
  KeyedRows(const InstanceContext& ctx, std::size_t cache_bytes,
            std::size_t write_back_bytes = kWriteBackBytes, Expiry expiry = {})
      : max_parallelism_(ctx.max_parallelism),
        instance_(ctx.instance),
        parallelism_(ctx.parallelism),
        owned_(ctx.owned_key_groups()),
        timers_in_kv_(ctx.rocksdb_timers == RocksDbTimers::kRocksDB),
        cache_limit_(cache_bytes),
        write_back_bytes_(write_back_bytes),
        expiry_(std::move(expiry)),
        clock_(expiry_ ? std::make_shared<std::atomic<Timestamp>>(kMinTimestamp) : nullptr) {
    if (ctx.state_backend == StateBackend::kRocksDB) {
      kv_ =
          std::make_unique<KvStore>(ctx.state_dir / (ctx.uid + "-" + std::to_string(ctx.instance)),
                                    stored_row_expired(), ctx.kv_memory);
      snapshots_ = std::make_unique<NativeSnapshots>(ctx);
    } else if (ctx.checkpointing && !ctx.state_dir.empty()) {
      log_ = std::make_unique<RowLog>(ctx);
    }
  }

  KeyedRows(const KeyedRows&) = delete;
  KeyedRows& operator=(const KeyedRows&) = delete;
  // A log still being written reads the tables and the log.
  ~KeyedRows() { wait_for_log(); }

  // Whether checkpoints are native snapshots (snapshot_native): RocksDB's,
  // or the memory backend's row logs. Else the operator writes the rows
  // into key-group bytes itself (for_each).
  bool native() const { return kv_ != nullptr || log_ != nullptr; }
  // The RocksDB backend's database (nullptr on the memory backend).
  KvStore* kv() { return kv_.get(); }
  // Where the instance's timers go (KeyedTimers::store_in): the database,
  // unless they are kept in memory (RocksDbTimers::kMemory).
  KvStore* timers_kv() { return timers_in_kv_ ? kv_.get() : nullptr; }

  // The row of (ns, key), made current; created: it did not exist (it is empty).
  Row& acquire(const Ns& ns, const Key& key, bool& created) {
    return acquire(
        ns, key, Codec::hash(key), [&] { return key; }, created);
  }
  // The same for a key given as anything comparable with Key, with its hash
  // h (Codec::hash of the Key it stands for); make_key() makes the Key of a
  // new row (moving it in where the caller can).
  template <class Q, class MakeKey>
  Row& acquire(const Ns& ns, const Q& key, std::uint64_t h, MakeKey&& make_key, bool& created) {
    if (!kv_) {
      Table& t = table(ns);
      auto [i, inserted] = t.find_or_insert(key, h, make_key, [] { return Row{}; });
      created = inserted;
      current_new_ = inserted;
      current_index_ = i;
      current_ = &t.entry(i);
      return current_->value;
    }
    Cached& c = lookup(ns, key, h, make_key);
    created = !c.present;
    return c.row;
  }
  // The row of (ns, key) made current, or nullptr if there is none.
  Row* find(const Ns& ns, const Key& key) {
    const std::uint64_t h = Codec::hash(key);
    if (!kv_) {
      if (table_ == nullptr || !(table_->first == ns)) {
        auto it = tables_.find(ns);
        if (it == tables_.end()) return nullptr;
        table_ = &*it;
      }
      current_index_ = table_->second.find(key, h);
      if (current_index_ == Table::npos) return nullptr;
      current_new_ = false;
      current_ = &table_->second.entry(current_index_);
      return &current_->value;
    }
    Cached& c = lookup(ns, key, h, [&] { return key; });
    return c.present ? &c.row : nullptr;
  }
  // The current row's key and namespace.
  const Key& key() const { return kv_ ? cached_->key : current_->key; }
  const Ns& ns() const { return kv_ ? cache_->first : table_->first; }

  // Keeps what the caller did to the current row.
  void store() {
    if (kv_) {
      mark_dirty(true);
      Cached& c = cached_->value;
      if (!c.measured || ++c.stores >= measure_interval(c.counted)) measure_current_row();
    } else if (log_) {
      table_->second.mark(current_index_);
    }
  }
  // Removes the current row.
  void drop() {
    if (!kv_) {
      Table& t = table_->second;
      // A row made by this acquire and never stored was never logged (a
      // DoFn that read state it did not write leaves such rows).
      if (log_ && !current_new_) note_removed(table_->first, current_->key);
      t.erase(current_index_);
      if (t.empty()) {  // a window's last row: its table goes too
        tables_.erase(tables_.find(table_->first));
        table_ = nullptr;
      }
      current_ = nullptr;
      return;
    }
    Cached& c = cached_->value;
    c.row = Row{};
    // Holds nothing now; measured again at its next store.
    cached_bytes_ -= c.counted;
    c.counted = 0;
    c.measured = false;
    mark_dirty(false);
  }

  // f(ns, key, row, hash) for every row (hash is Codec::hash(key)). Memory:
  // the rows themselves. RocksDB: the changed rows are written back, then
  // every stored row is read and decoded (a scan: for a restore or a
  // checkpoint of the memory format, not per record); changes are not kept.
  template <class F>
  void for_each(F&& f) {
    if (!kv_) {
      for (auto& [ns, t] : tables_) {
        for (std::size_t i = 0; i < t.size(); ++i) {
          auto& e = t.entry(i);
          f(ns, e.key, e.value, Codec::hash(e.key));
        }
      }
      return;
    }
    flush();
    Row row;
    for (KvCursor c = kv_->cursor(first_group(), last_group()); c.valid(); c.next()) {
      if (is_timer_key(c.key())) continue;
      auto [ns, key] = Codec::decode_key(c.key());
      row = Row{};
      Codec::decode_row(ns, c.value(), row);
      f(std::as_const(ns), key, row, Codec::hash(key));
    }
  }

  // Visits the rows of the namespaces select(ns) picks (a Visit):
  // fn(ns, key, row) changes the row and says what it did (a Change; a row
  // it drops may have its key moved from). Memory: the tables picked, in
  // NsLess order. RocksDB: the cache is written back and emptied, then every
  // stored row is read (rows are in key-group order, not by namespace), so
  // call it when some namespace is known to be due, not at every record.
  template <class Select, class Fn>
  void update(Select&& select, Fn&& fn) {
    table_ = nullptr;
    current_ = nullptr;
    if (!kv_) {
      for (auto it = tables_.begin(); it != tables_.end();) {
        const Visit v = select(std::as_const(it->first));
        if (v == Visit::kStop) break;
        if (v == Visit::kSkip) {
          ++it;
          continue;
        }
        Table& t = it->second;
        dropped_.clear();
        for (std::size_t i = 0; i < t.size(); ++i) {
          auto& e = t.entry(i);
          // fn may move the key of a row it drops: the key is kept before.
          if (log_) Codec::encode_key(it->first, e.key, max_parallelism_, key_bytes_);
          const Change change = fn(std::as_const(it->first), e.key, e.value);
          if (change == Change::kDropped) {
            dropped_.push_back(i);
            if (log_) note_removed(key_bytes_);
          } else if (change == Change::kChanged && log_) {
            t.mark(i);
          }
        }
        if (dropped_.size() == t.size()) {  // a window's rows usually go together
          it = tables_.erase(it);
          continue;
        }
        // Erasing moves the last entry into the hole: from the back, no
        // entry still to erase is moved.
        for (auto d = dropped_.rbegin(); d != dropped_.rend(); ++d) t.erase(*d);
        ++it;
      }
      return;
    }
    evict();
    std::size_t written = 0;
    Row row;
    for (KvCursor c = kv_->cursor(first_group(), last_group()); c.valid(); c.next()) {
      if (is_timer_key(c.key())) continue;
      auto [ns, key] = Codec::decode_key(c.key());
      if (select(std::as_const(ns)) != Visit::kVisit) continue;
      row = Row{};
      Codec::decode_row(ns, c.value(), row);
      const Change change = fn(std::as_const(ns), key, row);
      if (change == Change::kUnchanged) continue;
      // The cursor reads a snapshot of the database: writing as it goes is safe.
      if (change == Change::kDropped) {
        kv_->batch_remove(c.key());
      } else {
        Codec::encode_row(ns, row, value_);
        kv_->batch_put(c.key(), value_);
      }
      if (++written % 65536 == 0) kv_->write_batch();
    }
    kv_->write_batch();
  }

  // Removes every row of the namespaces that pass select(ns) (a window's
  // state once the watermark passed its end and lateness), as update does.
  template <class Select>
  void drop_namespaces(Select&& select) {
    if (!kv_) {  // whole tables go
      for (auto it = tables_.begin(); it != tables_.end();) {
        if (!select(std::as_const(it->first))) {
          ++it;
          continue;
        }
        if (log_) {
          for (std::size_t i = 0; i < it->second.size(); ++i)
            note_removed(it->first, std::as_const(it->second).entry(i).key);
        }
        it = tables_.erase(it);
      }
      table_ = nullptr;
      current_ = nullptr;
      return;
    }
    update([&](const Ns& ns) { return select(ns) ? Visit::kVisit : Visit::kSkip; },
           [](const Ns&, Key&, Row&) { return Change::kDropped; });
  }

  // Rows whose time to live passed (see Expiry). Memory: every row is
  // looked at now and those left holding nothing go (call it before a
  // checkpoint, not per record). RocksDB: nothing here; RocksDB drops
  // expired rows as it compacts, and a row read back expires as it is used.
  void expire(Timestamp now) {
    advance_time(now);
    if (!expiry_ || kv_) return;
    // A row that keeps some state is not marked changed: what expired in
    // it expires again, by its write time, wherever it is restored.
    update([](const Ns&) { return Visit::kVisit; },
           [&](const Ns&, Key&, Row& row) {
             return expiry_(row, now) ? Change::kDropped : Change::kUnchanged;
           });
  }
  // The operator's processing time, which expiry judges rows by (on the
  // RocksDB backend also from its compaction threads).
  void advance_time(Timestamp now) {
    if (clock_) clock_->store(now, std::memory_order_relaxed);
  }
  // RocksDB backend: writes the changed rows back and compacts the store
  // (what RocksDB does by itself in the background, all of it now: for
  // tests and maintenance, not for a record's path).
  void compact() {
    if (!kv_) return;
    flush();
    kv_->compact();
  }

  // For checkpoint `id`, into out.native_dir. RocksDB: writes the changed
  // rows, then snapshots the database. Memory: logs the rows that changed
  // and went since the last checkpoint (or every row, when the log says
  // so), then hands over the chain of logs; the log is written off the task
  // thread (out.pending until it is).
  void snapshot_native(std::int64_t id, OperatorSnapshot& out) {
    if (!kv_) {
      snapshot_log(id, out);
      return;
    }
    flush();
    snapshots_->take(*kv_, id, out);
  }

  // Restores the rows of the native snapshots in `in` (either backend). The
  // RocksDB backend reads no row for it: it takes over the old instance's
  // snapshot that shares most key groups with it (at unchanged parallelism,
  // its own), deletes the key groups it does not own by range, and ingests
  // the rows of its key groups from the other snapshots as table files.
  // on_row(ns, key) is called for each row restored: always on the memory
  // backend, on RocksDB only if `visit` (reading the keys is then a scan).
  // Returns whether `in` held native snapshots.
  template <class OnRow>
  bool restore_native(const RestoredState& in, bool visit, OnRow&& on_row) {
    if (holds_row_logs(in)) {
      restore_row_logs(in, visit, on_row);
      return true;
    }
    auto visit_key = [&](std::string_view key, std::string_view) {
      if (is_timer_key(key)) return;
      auto [ns, k] = Codec::decode_key(key);
      on_row(ns, k);
    };
    if (kv_) {
      const bool restored = restore_kv(in, visit, visit_key);
      // Timers kept in memory are read from the snapshots (KeyedTimers::restore_stored).
      if (restored && !timers_in_kv_) kv_->remove_timers(first_group(), last_group());
      return restored;
    }
    return scan_native_rows(in, instance_, parallelism_, owned_,
                            [&](std::string_view bytes, std::string_view value) {
                              if (is_timer_key(bytes)) return;
                              auto [ns, k] = Codec::decode_key(bytes);
                              bool created = false;
                              Codec::decode_row(ns, value, acquire(ns, k, created));
                              on_row(ns, key());
                            });
  }

  // RocksDB backend: writes every changed row back (before a checkpoint).
  void flush() {
    if (!kv_) return;
    std::size_t encoded = 0, rows = 0;
    for (const Dirty& d : dirty_) {
      auto& e = d.cache->second.entries()[d.index];
      Cached& c = e.value;
      c.dirty = false;
      if (!c.present && !c.stored) continue;  // made and dropped between two flushes
      Codec::encode_key(d.cache->first, e.key, max_parallelism_, key_bytes_);
      if (c.present) {
        Codec::encode_row(d.cache->first, c.row, value_);
        writes_.put(key_bytes_, value_);
        encoded += key_bytes_.size() + value_.size();
        ++rows;
      } else {
        writes_.remove(key_bytes_);
      }
      c.stored = c.present;
      // In runs of write_back_bytes, each in key order: gathering a whole
      // cache's changes first would hold them twice (decoded and encoded)
      // at the cache's fullest moment.
      if (writes_.bytes() >= write_back_bytes_) writes_.write_to(*kv_, 2 * write_back_bytes_);
    }
    dirty_.clear();
    writes_.write_to(*kv_, 2 * write_back_bytes_);
    if (rows != 0) {
      row_bytes_ = std::max<std::size_t>(encoded / rows, 16);
    }
  }

  // What a decoded row holds beyond its cache entry: what it owns on the
  // heap (its key's included; the codec's heap_bytes(row) if it has one,
  // else heap_bytes), at least its stored size (heap_bytes knows nothing of
  // a type without fields).
  std::size_t row_bytes_now(const Ns& ns, const Key& key, const Row& row) {
    std::size_t heap = heap_bytes(key);
    if constexpr (requires { Codec::heap_bytes(row); }) {
      heap += Codec::heap_bytes(row);
    } else {
      heap += heap_bytes(row);
    }
    Codec::encode_row(ns, row, value_);
    return std::max(heap, value_.size());
  }
  // Measures the current row. The rows a cache holds are what they grew to
  // after they entered, decoded: counting them at their stored size, or at a
  // size known only once they were written back, let a cache of Nexmark
  // q19's top-ten lists (strings) hold 1.7 GB under a 192 MiB share of the
  // budget. A row is measured at its first store after it entered the cache
  // (or was dropped), then again after measure_interval() of its own stores:
  // 32, or enough to pay for the encode (32 bytes per store) for a large
  // row, else a few large rows (q15's sets of a day's bidders, megabytes)
  // were encoded whole every 32 records. Each row counts at what it was
  // measured at: counting every row at an average of the rows stored most,
  // q16's four hot channels (megabytes each) counted its ten thousand small
  // ones as large and emptied the cache every few batches.
  void measure_current_row() {
    Cached& c = cached_->value;
    const std::size_t bytes = row_bytes_now(cache_->first, cached_->key, c.row);
    row_heap_ = measured_ ? row_heap_ - row_heap_ / 16 + bytes / 16 : bytes;
    measured_ = true;
    c.measured = true;
    c.stores = 0;
    cached_bytes_ -= c.counted;
    c.counted = counted_bytes(bytes);
    cached_bytes_ += c.counted;
  }
  // A row's stores between two measures (at most what Cached::stores holds).
  static std::uint16_t measure_interval(std::uint32_t counted) {
    return static_cast<std::uint16_t>(
        std::clamp<std::uint32_t>(counted / 32, 32, std::numeric_limits<std::uint16_t>::max()));
  }
  static std::uint32_t counted_bytes(std::size_t bytes) {
    return static_cast<std::uint32_t>(
        std::min<std::size_t>(bytes, std::numeric_limits<std::uint32_t>::max()));
  }

  // Rows held in memory: all of them (memory), the cached ones (RocksDB).
  std::size_t rows_in_memory() const {
    if (kv_) return cached_rows_;
    std::size_t n = 0;
    for (const auto& [ns, t] : tables_) n += t.size();
    return n;
  }
  // Memory backend: bytes of the tables' own arrays (what rows own on the
  // heap, such as long strings, is not counted).
  std::size_t table_bytes() const {
    std::size_t n = 0;
    for (const auto& [ns, t] : tables_) n += t.footprint();
    return n;
  }

 private:
  // Memory backend with a log: the row of (ns, key) went (kept to be logged).
  void note_removed(const Ns& ns, const Key& key) {
    Codec::encode_key(ns, key, max_parallelism_, key_bytes_);
    note_removed(key_bytes_);
  }
  void note_removed(std::string_view stored_key) {
    ByteWriter w(removed_);
    w.put_varint(stored_key.size());
    removed_.append(stored_key);
  }

  // Restores from a memory backend's row logs (either backend), applied in
  // the order they were written.
  // RocksDB backend's restore_native.
  template <class VisitKey>
  bool restore_kv(const RestoredState& in, bool visit, VisitKey& visit_key) {
    if (const std::string* dir = adoptable_native_dir(in, instance_, parallelism_)) {
      kv_->adopt(*dir);
      if (visit) scan_kv_snapshot(*dir, first_group(), last_group(), visit_key);
      return true;
    }
    // The same codec wrote the old rows: they are moved as bytes.
    const std::vector<NativePart> parts = native_parts(in, instance_, parallelism_, owned_);
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const NativePart& part = parts[i];
      if (i == 0) {
        kv_->adopt(*part.dir, first_group(), last_group());
        if (visit) scan_kv_snapshot(*part.dir, part.first, part.last, visit_key);
        continue;
      }
      if (visit) {
        kv_->ingest(*part.dir, part.first, part.last, visit_key);
      } else {
        kv_->ingest(*part.dir, part.first, part.last);
      }
    }
    return has_native_snapshots(in);
  }

  template <class OnRow>
  void restore_row_logs(const RestoredState& in, bool visit, OnRow& on_row) {
    std::size_t written = 0;
    for (const NativePart& part : native_parts(in, instance_, parallelism_, owned_)) {
      scan_row_logs(*part.dir, part.first, part.last,
                    [&](std::string_view stored, const std::string_view* value) {
                      if (kv_) {
                        if (value != nullptr) {
                          kv_->batch_put(stored, *value);
                        } else {
                          kv_->batch_remove(stored);
                        }
                        if (++written % 65536 == 0) kv_->write_batch();
                        if (!visit || value == nullptr) return;
                      }
                      auto [ns, k] = Codec::decode_key(stored);
                      if (kv_) {
                        on_row(std::as_const(ns), std::as_const(k));
                      } else if (value == nullptr) {
                        if (find(ns, k) != nullptr) drop();
                      } else {
                        bool created = false;
                        Row& row = acquire(ns, k, created);
                        if (!created) row = Row{};
                        Codec::decode_row(ns, *value, row);
                        on_row(std::as_const(ns), key());
                      }
                    });
    }
    if (kv_) kv_->write_batch();
    std::string().swap(removed_);  // the next log is full
  }

  struct Cached {
    Row row;
    bool present : 1 = false;   // false: no row (never was, or dropped)
    bool dirty : 1 = false;     // differs from the store
    bool stored : 1 = false;    // the store holds a row for it
    bool measured : 1 = false;  // counted is what it held when last measured
    std::uint16_t stores = 0;   // since it was last measured
    std::uint32_t counted = 0;  // the bytes cached_bytes_ counts it at (saturated)
  };
  // Memory backend: a namespace's rows. Entries move when one is erased or
  // the table grows: only the current row is held.
  struct KeyHash {
    std::uint64_t operator()(const Key& k) const { return Codec::hash(k); }
  };
  using Table = RowTable<Key, Row, KeyHash>;
  using Tables = std::map<Ns, Table, NsLess>;
  // RocksDB backend: a namespace's cached rows (entries stay put until the
  // cache is emptied, so the dirty list holds their indexes).
  using Cache = FlatTable<Key, Cached>;
  using Caches = std::map<Ns, Cache, NsLess>;

  // What a checkpoint's log holds, captured on the task thread.
  struct LogJob {
    bool full = false;
    std::string removed;  // keys gone since the last log (not full)
    std::vector<std::pair<Ns, typename Table::Frozen>> tables;
  };

  void snapshot_log(std::int64_t id, OperatorSnapshot& out) {
    wait_for_log();  // the one before (long done, unless checkpoints come faster than logs)
    auto job = std::make_shared<LogJob>();
    job->full = log_->begin(id, out);
    if (!job->full) job->removed = std::move(removed_);
    std::string().swap(removed_);
    ++epoch_;
    job->tables.reserve(tables_.size());
    for (auto& [ns, t] : tables_)
      job->tables.emplace_back(ns, t.freeze(epoch_, released_, job->full));
    writing_ =
        std::async(std::launch::async, [this, job = std::move(job), epoch = epoch_]() mutable {
          // The frozen chunks go once written, not with the future.
          const std::shared_ptr<LogJob> mine = std::move(job);
          // However it ends, the tables may be changed in place again.
          struct Release {
            std::atomic<std::uint64_t>& released;
            std::uint64_t epoch;
            ~Release() { released.store(epoch, std::memory_order_release); }
          } release{released_, epoch};
          write_log(*mine);
        }).share();
    out.pending = writing_;
  }

  // On the snapshot's thread: reads the frozen tables and the log only.
  void write_log(const LogJob& job) {
    // Removals first: a row that went and came back since is put after.
    ByteReader r(job.removed);
    while (!r.empty()) log_->remove(r.get_view(r.get_varint()));
    std::string key, value;
    for (const auto& [ns, t] : job.tables) {
      auto put = [&, &ns = ns, &t = t](std::size_t i) {
        const auto& e = t.entry(i);
        Codec::encode_key(ns, e.key, max_parallelism_, key);
        Codec::encode_row(ns, e.value, value);
        log_->put(key, value);
      };
      if (job.full) {
        for (std::size_t i = 0; i < t.size(); ++i) put(i);
      } else {
        t.for_each_marked(put);
      }
    }
    log_->finish();
  }

  void wait_for_log() {
    if (writing_.valid()) writing_.wait();
  }

  // The memory table of ns, made if new. Runs of rows share a namespace
  // (all of them, for state not per window): the last one is remembered.
  Table& table(const Ns& ns) {
    if (table_ == nullptr || !(table_->first == ns)) table_ = &*tables_.try_emplace(ns).first;
    return table_->second;
  }

  // The store's filter: a stored row decoded and given to the expiry.
  KvStore::RowExpired stored_row_expired() const {
    if (!expiry_) return {};
    return [expiry = expiry_, clock = clock_](std::string_view key, std::string_view value) {
      if (is_timer_key(key)) return false;
      auto [ns, k] = Codec::decode_key(key);
      Row row;
      Codec::decode_row(ns, value, row);
      return expiry(row, clock->load(std::memory_order_relaxed));
    };
  }

  static std::size_t default_cache_bytes(const InstanceContext& ctx) {
    return ctx.memory_budget != 0 ? ctx.memory_budget : kDefaultCacheBytes;
  }
  int first_group() const { return owned_.first_of(instance_, parallelism_); }
  int last_group() const { return owned_.last_of(instance_, parallelism_); }

  // The cached row of (ns, key) (hash h), read from the store if not cached, made current.
  template <class Q, class MakeKey>
  Cached& lookup(const Ns& ns, const Q& key, std::uint64_t h, MakeKey&& make_key) {
    if (cache_ == nullptr || !(cache_->first == ns)) {
      auto it = caches_.find(ns);
      cache_ = it == caches_.end() ? nullptr : &*it;
    }
    if (cache_ != nullptr) {
      if (auto* e = cache_->second.find(key, h)) {
        cached_ = e;
        return e->value;
      }
    }
    // The tables' arrays count as allocated (capacity, not size), and an
    // insert that grows one counts the new array beside the old: the copy
    // holds both, and that moment is the cache's peak.
    const std::size_t growth =
        cache_ != nullptr ? cache_->second.growth_bytes() : Cache::empty_footprint();
    if (cached_bytes_ + table_bytes_ + growth >= cache_limit_) {
      evict();
    } else if (dirty_.size() * row_bytes_ >= write_back_bytes_) {
      flush();
    }
    if (cache_ == nullptr) {
      cache_ = &*caches_.try_emplace(ns).first;
      table_bytes_ += cache_->second.footprint();
    }
    const std::size_t footprint = cache_->second.footprint();
    auto [e, inserted] =
        cache_->second.find_or_insert_entry(key, h, make_key, [] { return Cached{}; });
    table_bytes_ += cache_->second.footprint() - footprint;
    cached_ = e;
    ++cached_rows_;
    Codec::encode_key(ns, e->key, max_parallelism_, key_bytes_);
    // What the row holds beyond its entry, until it is measured itself: the
    // average of the rows measured (a new row is usually filled after it
    // enters), or its stored size if more.
    std::size_t guess = row_heap_;
    if (kv_->get(key_bytes_, value_)) {
      Codec::decode_row(ns, value_, e->value.row);
      e->value.present = e->value.stored = true;
      guess = std::max(guess, value_.size());
    }
    e->value.counted = counted_bytes(guess);
    cached_bytes_ += e->value.counted;
    return e->value;
  }

  void mark_dirty(bool present) {
    Cached& c = cached_->value;
    c.present = present;
    if (c.dirty) return;
    c.dirty = true;
    dirty_.push_back(
        Dirty{cache_, static_cast<std::size_t>(cached_ - cache_->second.entries().data())});
  }

  // The cache is full: its changes go to the store, and it starts empty.
  // (Keeping the rows used again since the last eviction, up to half, as a
  // clock would, measured no faster on Nexmark q18 and q19.)
  void evict() {
    flush();
    caches_.clear();
    cache_ = nullptr;
    cached_ = nullptr;
    cached_rows_ = 0;
    cached_bytes_ = 0;
    table_bytes_ = 0;
  }

  int max_parallelism_, instance_, parallelism_;
  KeyGroupRange owned_;
  bool timers_in_kv_;
  // Memory backend.
  Tables tables_;
  typename Tables::value_type* table_ = nullptr;  // the last namespace's (map nodes stay put)
  typename Table::Entry* current_ = nullptr;
  std::size_t current_index_ = 0;           // current_'s in its table
  bool current_new_ = false;                // current_ was made by the last acquire
  std::vector<std::size_t> dropped_;        // update's, of one table
  std::unique_ptr<RowLog> log_;             // with checkpoints: what changed since the last
  std::string removed_;                     // keys (stored form) of rows gone since the last log
  std::uint64_t epoch_ = 0;                 // of the last freeze
  std::atomic<std::uint64_t> released_{0};  // the last freeze whose log is written
  std::shared_future<void> writing_;        // the last log's
  // RocksDB backend.
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<NativeSnapshots> snapshots_;
  Caches caches_;
  typename Caches::value_type* cache_ = nullptr;  // the current row's namespace
  typename Cache::Entry* cached_ = nullptr;
  struct Dirty {
    typename Caches::value_type* cache;
    std::size_t index;
  };
  std::vector<Dirty> dirty_;  // cache entries changed since the last flush
  std::size_t cache_limit_, write_back_bytes_, cached_rows_ = 0;
  std::size_t cached_bytes_ = 0;  // what the cached rows own beyond their entries (estimated)
  std::size_t table_bytes_ = 0;   // the cache tables' arrays (FlatTable::footprint)
  Expiry expiry_;
  std::shared_ptr<std::atomic<Timestamp>> clock_;  // advance_time's; shared with the filter
  std::size_t row_bytes_ =
      16;                     // a row's encoded size (key and value), as the last flush wrote them
  std::size_t row_heap_ = 0;  // what a cached row holds, averaged (measure_current_row)
  bool measured_ = false;
  SortedWrites writes_;
  std::string key_bytes_, value_;
};

}  // namespace runnel::detail

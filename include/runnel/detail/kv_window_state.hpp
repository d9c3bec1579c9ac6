#pragma once
// The RocksDB backend's state for a keyed combine in streaming mode: every
// accumulator (untimed per key; per window and key; a key's sessions) is a
// row of the instance's KvStore, behind a write-back cache of decoded rows
// (as the stateful DoFn's RocksRows), so a hot key costs a hash lookup, and
// a row that fires within the cache's lifetime is not read back. The cache
// holds up to the instance's memory budget (estimated as rows enter it);
// changed rows are written back as they reach kWriteBackBytes and before a
// checkpoint, and the whole cache is written back and emptied when full. The
// same panes fire as with TriggeredWindows (the memory backend): both follow
// WindowPanes.
//
// A row's key: key-group prefix, then its kind (untimed, cell, sessions),
// window (cells only) and key. Rows are in key-group order, not window
// order: a watermark that completes windows reads the instance's rows once
// and fires those of the completed windows. What stays in memory is small
// per window (which windows hold rows), except for sessions, whose due times
// are kept per key in memory (as the stateful DoFn's timers).
#include <algorithm>
#include <cstdint>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/sorted_writes.hpp"
#include "runnel/detail/window_panes.hpp"
#include "runnel/hash.hpp"
#include "runnel/key_groups.hpp"
#include "runnel/memory_size.hpp"

namespace runnel::detail {

template <class K, class CF>
class KvWindowState : WindowPanes<CF> {
  using Base = WindowPanes<CF>;
  using Base::cf_;
  using Base::lateness_;
  using Base::merging_;
  using typename Base::Cell;
  using typename Base::Session;

 public:
  using Acc = typename CF::Accumulator;
  enum Kind : std::uint8_t { kUntimed = 0, kCell = 1, kSessions = 2 };

  // Changed rows are written back once they hold about this much (as new
  // rows' sizes estimate it): a checkpoint then writes at most that, not a
  // cache's worth at once (Nexmark q18 with a 1 GiB cache: 39 s on the
  // operator's thread). One memtable's worth.
  static constexpr std::size_t kWriteBackBytes = std::size_t{32} << 20;

  // cache_bytes: what the cache of decoded rows may hold (0: no limit);
  // write_back_bytes: changed rows written back when they reach this.
  KvWindowState(const CF& cf, const WindowingStrategy& ws, const std::filesystem::path& dir,
                int instance, int parallelism, int max_parallelism, std::size_t cache_bytes,
                std::size_t write_back_bytes = kWriteBackBytes)
      : Base(cf, ws),
        store_(dir),
        max_parallelism_(max_parallelism),
        first_group_(first_key_group(instance, parallelism, max_parallelism)),
        last_group_(last_key_group(instance, parallelism, max_parallelism)),
        cache_limit_(cache_bytes),
        write_back_bytes_(write_back_bytes) {}

  KvStore& kv() { return store_; }

  // An untimed input (no event time): folded into the key's accumulator,
  // emitted by finish_untimed.
  template <class Q, class MakeKey, class AddFn>
  void add_untimed(const Q& key, std::uint64_t hash, MakeKey&& make_key, AddFn&& add_fn) {
    auto& e = lookup(untimed_, kUntimed, kGlobalWindow, key, hash, make_key);
    const bool fresh = !e.value.present;
    add_fn(e.value.cell.acc);
    if (fresh) count_new_row(kUntimed, e.value);
    e.value.present = true;
    mark_dirty(kUntimed, kGlobalWindow, untimed_, e);
  }

  // As TriggeredWindows::add.
  template <class Q, class MakeKey, class AddFn, class Emit>
  void add(const Window& w, const Q& key, std::uint64_t hash, MakeKey&& make_key, AddFn&& add_fn,
           Timestamp now, Emit&& emit) {
    if (merging_) {
      auto& e = lookup(sessions_, kSessions, kGlobalWindow, key, hash, make_key);
      const bool fresh = !e.value.present;
      Session& s = this->merge_session(e.value.list, w, add_fn, watermark_);
      if (fresh) count_new_row(kSessions, e.value);
      e.value.present = true;
      mark_dirty(kSessions, kGlobalWindow, sessions_, e);
      due_.emplace(s.window.max_timestamp(), e.key);
      if (this->after_add(s.on_time_done, s.cell, now, this->pane_to(emit, s.window, e.key)))
        deadlines_.push(Deadline{s.cell.deadline, s.window, e.key});
      return;
    }
    if (last_cells_ == nullptr || !(w == last_window_)) {
      auto it = windows_.find(w);
      if (it == windows_.end())
        it = windows_.emplace(w, WindowRows{{}, w.max_timestamp() <= watermark_}).first;
      last_cells_ = &it->second;
      last_window_ = w;
    }
    auto& e = lookup(last_cells_->cache, kCell, w, key, hash, make_key);
    Cached& c = e.value;
    const bool fresh = !c.present;
    if (fresh) c.on_time_done = w.max_timestamp() <= watermark_;
    add_fn(c.cell.acc);
    if (fresh) count_new_row(kCell, c);
    c.present = true;
    mark_dirty(kCell, w, last_cells_->cache, e);
    if (this->after_add(c.on_time_done, c.cell, now, this->pane_to(emit, w, e.key)))
      deadlines_.push(Deadline{c.cell.deadline, w, e.key});
  }

  // As TriggeredWindows::on_watermark.
  template <class Emit>
  void on_watermark(Timestamp wm, Emit&& emit) {
    if (wm <= watermark_) return;
    watermark_ = wm;
    if (merging_) {
      sessions_on_watermark(emit);
      return;
    }
    bool due = false;
    for (auto it = windows_.begin(); it != windows_.end() && it->first.max_timestamp() <= wm;
         ++it) {
      due = due || !it->second.on_time_done || this->expired_at(it->first, wm);
    }
    if (!due) return;
    visit_cells([&](const Window& w) { return w.max_timestamp() <= wm; },
                [&](const Window& w, const K& key, Cell& c, bool& on_time_done) {
                  const bool expired = this->expired_at(w, wm);
                  if (on_time_done && !expired) return true;
                  this->close_cell(on_time_done, c, expired, this->pane_to(emit, w, key));
                  on_time_done = true;
                  return !expired;
                });
    for (auto it = windows_.begin(); it != windows_.end() && it->first.max_timestamp() <= wm;) {
      it->second.on_time_done = true;
      it = this->expired_at(it->first, wm) ? windows_.erase(it) : std::next(it);
    }
    last_cells_ = nullptr;
  }

  // As TriggeredWindows::on_processing_time: only the cells (or a key's
  // sessions) whose deadline is due are read (from the cache, else their
  // row), not every row.
  template <class Emit>
  void on_processing_time(Timestamp now, Emit&& emit) {
    while (!deadlines_.empty() && deadlines_.top().at <= now) {
      const Deadline d = deadlines_.top();
      deadlines_.pop();
      if (merging_) {
        const std::uint64_t h = Hash<K>{}(d.key);
        auto& e = lookup(sessions_, kSessions, kGlobalWindow, d.key, h, [&] { return d.key; });
        if (!e.value.present) continue;
        for (auto& s : e.value.list)
          this->fire_if_due(s.cell, s.on_time_done, now, this->pane_to(emit, s.window, e.key));
        mark_dirty(kSessions, kGlobalWindow, sessions_, e);
        continue;
      }
      auto w = windows_.find(d.window);
      if (w == windows_.end()) continue;  // expired: its rows are gone
      const std::uint64_t h = Hash<K>{}(d.key);
      auto& e = lookup(w->second.cache, kCell, d.window, d.key, h, [&] { return d.key; });
      Cached& c = e.value;
      if (!c.present) continue;
      const std::uint32_t panes = c.cell.panes;
      this->fire_if_due(c.cell, c.on_time_done, now, this->pane_to(emit, d.window, e.key));
      if (c.cell.panes != panes) mark_dirty(kCell, d.window, w->second.cache, e);
    }
  }

  // Bounded input ended: every untimed accumulator, through emit(key, acc).
  // The rows go as they are emitted: a finished instance's last snapshot
  // stands for it in the checkpoints taken after it ended, and a restore of
  // one of those must not emit them again.
  template <class Emit>
  void finish_untimed(Emit&& emit) {
    evict();
    std::size_t removed = 0;
    for (KvCursor c = store_.cursor(first_group_, last_group_); c.valid(); c.next()) {
      ByteReader r(c.key().substr(kKvPrefixBytes));
      if (r.get_varint() != kUntimed) continue;
      K key = Coder<K>::decode(r);
      ByteReader v(c.value());
      emit(std::move(key), Coder<Acc>::decode(v));
      store_.batch_remove(c.key());
      // The cursor reads a snapshot of the database: writing as it goes is safe.
      if (++removed % 65536 == 0) store_.write_batch();
    }
    store_.write_batch();
  }

  // Writes every changed row to the store (before a checkpoint, and as
  // changed rows reach kWriteBackBytes): the rows listed as dirty, not a
  // scan of the cache, in key order (SortedWrites).
  void flush() {
    for (const Dirty& d : dirty_) {
      auto& e = d.cache->entries()[d.index];
      Cached& c = e.value;
      c.dirty = false;
      if (!c.present && !c.stored) continue;  // made and dropped between two flushes
      encode_key(d.kind, d.window, e.key, key_bytes_);
      if (c.present) {
        encode_value(d.kind, c, value_);
        writes_.put(key_bytes_, value_);
      } else {
        writes_.remove(key_bytes_);
      }
      c.stored = c.present;
    }
    dirty_.clear();
    writes_.write_to(store_, 2 * write_back_bytes_);
  }

  Timestamp watermark() const { return watermark_; }
  void restore_watermark(Timestamp wm) { watermark_ = std::max(watermark_, wm); }

  // Restores from a checkpoint of the memory backend: untimed accumulators
  // and cells (as TriggeredWindows::snapshot writes them).
  void restore_untimed(K key, Acc acc) {
    const std::uint64_t h = Hash<K>{}(key);
    auto& e = lookup(untimed_, kUntimed, kGlobalWindow, key, h, [&] { return key; });
    const bool fresh = !e.value.present;
    cf_.merge_accumulators(e.value.cell.acc, std::move(acc));
    if (fresh) count_new_row(kUntimed, e.value);
    e.value.present = true;
    mark_dirty(kUntimed, kGlobalWindow, untimed_, e);
  }
  void restore_record(ByteReader& r) {
    Window w = Coder<Window>::decode(r);
    K key = Coder<K>::decode(r);
    bool on_time_done = false;
    Cell cell = Base::decode_cell(r, on_time_done);
    const std::uint64_t h = Hash<K>{}(key);
    auto make = [&] { return key; };
    if (merging_) {
      auto& e = lookup(sessions_, kSessions, kGlobalWindow, key, h, make);
      e.value.list.push_back(Session{w, std::move(cell), on_time_done});
      count_new_row(kSessions, e.value);
      e.value.present = true;
      mark_dirty(kSessions, kGlobalWindow, sessions_, e);
    } else {
      Cache& cache = cache_of(w);
      auto& e = lookup(cache, kCell, w, key, h, make);
      e.value.cell = std::move(cell);
      e.value.on_time_done = on_time_done;
      count_new_row(kCell, e.value);
      e.value.present = true;
      mark_dirty(kCell, w, cache, e);
    }
  }
  // Rows of a native snapshot (same layout), copied as they are.
  void restore_row(std::string_view key, std::string_view value) { store_.batch_put(key, value); }
  // After rows were restored: the in-memory indexes (windows, sessions'
  // due times, processing-time deadlines) from the rows.
  void rebuild_indexes() {
    evict();
    windows_.clear();
    last_cells_ = nullptr;
    deadlines_ = {};
    for (KvCursor c = store_.cursor(first_group_, last_group_); c.valid(); c.next()) {
      ByteReader r(c.key().substr(kKvPrefixBytes));
      const auto kind = r.get_varint();
      if (kind == kUntimed) continue;
      ByteReader v(c.value());
      if (kind == kCell) {
        const Window w = Coder<Window>::decode(r);
        bool on_time_done = false;
        Cell cell = Base::decode_cell(v, on_time_done);
        auto [it, fresh] = windows_.emplace(w, WindowRows{{}, on_time_done});
        if (!fresh) it->second.on_time_done = it->second.on_time_done && on_time_done;
        if (cell.deadline != 0) deadlines_.push(Deadline{cell.deadline, w, Coder<K>::decode(r)});
      } else {
        K key = Coder<K>::decode(r);
        for (const auto& s : decode_sessions(v)) {
          due_.emplace(
              s.on_time_done ? s.window.max_timestamp() + lateness_ : s.window.max_timestamp(),
              key);
          if (s.cell.deadline != 0) deadlines_.push(Deadline{s.cell.deadline, s.window, key});
        }
      }
    }
  }

  // A row of a native snapshot, decoded for the memory backend: untimed(key,
  // acc) or record(bytes as TriggeredWindows::restore_record reads them).
  template <class Untimed, class Record>
  static void decode_row(std::string_view key, std::string_view value, Untimed&& untimed,
                         Record&& record) {
    ByteReader r(key.substr(kKvPrefixBytes));
    const auto kind = r.get_varint();
    ByteReader v(value);
    std::string bytes;
    if (kind == kUntimed) {
      K k = Coder<K>::decode(r);
      untimed(std::move(k), Coder<Acc>::decode(v));
    } else if (kind == kCell) {
      const Window w = Coder<Window>::decode(r);
      K k = Coder<K>::decode(r);
      ByteWriter out(bytes);
      Coder<Window>::encode(w, out);
      Coder<K>::encode(k, out);
      out.put_bytes(value.data(), value.size());
      ByteReader rec(bytes);
      record(rec);
    } else {
      K k = Coder<K>::decode(r);
      for (const auto& s : decode_sessions(v)) {
        bytes.clear();
        ByteWriter out(bytes);
        Coder<Window>::encode(s.window, out);
        Coder<K>::encode(k, out);
        Base::encode_cell(s.cell, s.on_time_done, out);
        ByteReader rec(bytes);
        record(rec);
      }
    }
  }

 private:
  // A decoded row in the cache. Untimed rows use cell.acc only, session rows list only.
  struct Cached {
    Cell cell;
    std::vector<Session> list;
    bool on_time_done = false;
    bool present = false;  // false: no row (never was, or dropped)
    bool dirty = false;    // differs from the store
    bool stored = false;   // the store holds a row for it
  };
  using Cache = FlatTable<K, Cached>;
  struct WindowRows {
    Cache cache;
    bool on_time_done = false;  // every row's on-time pane fired
  };

  Cache& cache_of(const Window& w) {
    auto it = windows_.find(w);
    if (it == windows_.end())
      it = windows_.emplace(w, WindowRows{{}, w.max_timestamp() <= watermark_}).first;
    return it->second.cache;
  }

  // The cached row of (kind, w, key), read from the store if not cached.
  // (Eviction empties the caches but keeps windows_'s entries: `cache` stays valid.)
  // A row the store does not hold comes back not present: whoever fills it
  // counts its bytes then (count_new_row).
  template <class Q, class MakeKey>
  typename Cache::Entry& lookup(Cache& cache, Kind kind, const Window& w, const Q& key,
                                std::uint64_t hash, MakeKey&& make_key) {
    if (cache_limit_ != 0 && cached_bytes_ >= cache_limit_) {
      evict();
    } else if (dirty_.size() * std::max<std::size_t>(row_bytes_, 32) >= write_back_bytes_) {
      flush();
    }
    auto [e, inserted] = cache.find_or_insert_entry(key, hash, make_key, [] { return Cached{}; });
    if (inserted) {
      // The entry, its slot in the index, and what the key holds.
      cached_bytes_ += sizeof(typename Cache::Entry) + 16 + heap_bytes(e->key);
      encode_key(kind, w, e->key, key_bytes_);
      if (store_.get(key_bytes_, value_)) {
        decode_value(kind, value_, e->value);
        e->value.present = e->value.stored = true;
        cached_bytes_ += value_.size();
      } else if (kind != kSessions) {
        e->value.cell.acc = cf_.create_accumulator();
      }
    }
    return *e;
  }

  // A row now differs from the store: listed for the next flush. Called
  // once the caller is done with the row (a flush may come at the next lookup).
  void mark_dirty(Kind kind, const Window& w, Cache& cache, typename Cache::Entry& e) {
    if (e.value.dirty) return;
    e.value.dirty = true;
    dirty_.push_back(Dirty{&cache, static_cast<std::size_t>(&e - cache.entries().data()), w, kind});
  }

  // A row's bytes beyond its entry, counted once it holds something: its
  // encoded size stands for what it holds on the heap (a type's Coder knows
  // its strings and containers, a generic size estimate does not), measured
  // on one new row in 64 and averaged, as encoding every new row would cost
  // more than it tells.
  void count_new_row(Kind kind, const Cached& c) {
    if ((new_rows_++ & 63) == 0) {
      encode_value(kind, c, sample_);
      row_bytes_ = new_rows_ == 1 ? sample_.size() : (row_bytes_ * 7 + sample_.size()) / 8;
    }
    cached_bytes_ += row_bytes_;
  }

  // The cache is full: its changes go to the store, and it starts empty.
  void evict() {
    flush();
    untimed_.clear_and_release();
    sessions_.clear_and_release();
    for (auto& [w, rows] : windows_) rows.cache.clear_and_release();
    cached_bytes_ = 0;
  }

  // Visits the stored cells of windows that pass `select`, after writing the
  // cache back and emptying it: fn(window, key, cell, on_time_done) changes
  // the cell and says whether it stays (false: the row goes).
  template <class Select, class Fn>
  void visit_cells(Select&& select, Fn&& fn) {
    evict();
    for (KvCursor c = store_.cursor(first_group_, last_group_); c.valid(); c.next()) {
      ByteReader r(c.key().substr(kKvPrefixBytes));
      if (r.get_varint() != kCell) continue;
      const Window w = Coder<Window>::decode(r);
      if (!select(w)) continue;
      const K key = Coder<K>::decode(r);
      ByteReader v(c.value());
      bool on_time_done = false;
      Cell cell = Base::decode_cell(v, on_time_done);
      if (!fn(w, key, cell, on_time_done)) {
        store_.batch_remove(c.key());
        continue;
      }
      value_.clear();
      ByteWriter out(value_);
      Base::encode_cell(cell, on_time_done, out);
      store_.batch_put(c.key(), value_);
    }
    store_.write_batch();
  }

  template <class Emit>
  void sessions_on_watermark(Emit& emit) {
    while (!due_.empty() && due_.top().first <= watermark_) {
      K key = due_.top().second;
      due_.pop();
      const std::uint64_t h = Hash<K>{}(key);
      auto make = [&] { return key; };
      auto& e = lookup(sessions_, kSessions, kGlobalWindow, key, h, make);
      if (!e.value.present) continue;
      this->close_sessions(key, e.value.list, watermark_, emit,
                           [&](Timestamp t) { due_.emplace(t, key); });
      e.value.present = !e.value.list.empty();
      mark_dirty(kSessions, kGlobalWindow, sessions_, e);
    }
  }

  void encode_key(Kind kind, const Window& w, const K& key, std::string& out) const {
    out.clear();
    const std::uint64_t h = Hash<K>{}(key);
    const std::uint64_t row_hash =
        kind == kCell ? hash_combine(h, hash_mix(static_cast<std::uint64_t>(w.start) * 31 +
                                                 static_cast<std::uint64_t>(w.end)))
                      : hash_combine(h, kind);
    append_kv_prefix(out, key_group_of(h, max_parallelism_), row_hash);
    ByteWriter wr(out);
    wr.put_varint(kind);
    if (kind == kCell) Coder<Window>::encode(w, wr);
    Coder<K>::encode(key, wr);
  }
  static void encode_sessions(const std::vector<Session>& list, ByteWriter& w) {
    w.put_varint(list.size());
    for (const auto& s : list) {
      Coder<Window>::encode(s.window, w);
      Base::encode_cell(s.cell, s.on_time_done, w);
    }
  }
  static std::vector<Session> decode_sessions(ByteReader& r) {
    std::vector<Session> list(r.get_varint());
    for (auto& s : list) {
      s.window = Coder<Window>::decode(r);
      s.cell = Base::decode_cell(r, s.on_time_done);
    }
    return list;
  }
  // Values: untimed, the accumulator; a cell, as encode_cell; sessions, the list.
  static void encode_value(Kind kind, const Cached& c, std::string& out) {
    out.clear();
    ByteWriter w(out);
    if (kind == kSessions) {
      encode_sessions(c.list, w);
    } else if (kind == kUntimed) {
      Coder<Acc>::encode(c.cell.acc, w);
    } else {
      Base::encode_cell(c.cell, c.on_time_done, w);
    }
  }
  static void decode_value(Kind kind, std::string_view bytes, Cached& c) {
    ByteReader r(bytes);
    if (kind == kSessions) {
      c.list = decode_sessions(r);
    } else if (kind == kUntimed) {
      c.cell.acc = Coder<Acc>::decode(r);
    } else {
      c.cell = Base::decode_cell(r, c.on_time_done);
    }
  }

  KvStore store_;
  int max_parallelism_, first_group_, last_group_;
  Timestamp watermark_ = kMinTimestamp;
  Cache untimed_, sessions_;
  std::map<Window, WindowRows, WindowByEnd> windows_;
  WindowRows* last_cells_ = nullptr;  // windows_[last_window_]
  Window last_window_;
  // What the cache holds, estimated as rows enter it (growth after a row's
  // first input is not counted); new rows' estimated encoded size.
  std::size_t cache_limit_, cached_bytes_ = 0;
  std::size_t new_rows_ = 0, row_bytes_ = 0;
  std::string sample_;
  std::size_t write_back_bytes_;
  // The rows changed since the last flush, in the order they changed.
  struct Dirty {
    Cache* cache;  // untimed_, sessions_ or a window's (windows_ is a map: it stays put)
    std::size_t index;
    Window window;
    Kind kind;
  };
  std::vector<Dirty> dirty_;
  SortedWrites writes_;  // flush's rows
  struct LaterFirst {
    bool operator()(const std::pair<Timestamp, K>& a, const std::pair<Timestamp, K>& b) const {
      return a.first > b.first;
    }
  };
  std::priority_queue<std::pair<Timestamp, K>, std::vector<std::pair<Timestamp, K>>, LaterFirst>
      due_;
  // Armed processing-time firings, earliest first (a min-heap: with different
  // early and late delays they are armed out of order).
  struct Deadline {
    Timestamp at;
    Window window;
    K key;
  };
  struct LaterDeadlineFirst {
    bool operator()(const Deadline& a, const Deadline& b) const { return a.at > b.at; }
  };
  std::priority_queue<Deadline, std::vector<Deadline>, LaterDeadlineFirst> deadlines_;
  std::string key_bytes_, value_;
};

}  // namespace runnel::detail

#pragma once
// The timers of one operator instance, as Flink's timer service: one timer
// per (time, namespace, key), fired earliest first, set and deleted by what
// it is. Written once for the keyed operators: a stateful DoFn's event- and
// processing-time timers and the cleanup of its windows' state, a keyed
// combine's processing-time firings and the times a key's sessions are due.
//
// Memory backend: an indexed min-heap over a hash set (FlatTable, as Flink's
// HeapPriorityQueueSet): setting a timer that is already set, deleting one
// and finding one cost a hash lookup; keys need equality and Hash<Key>, not
// an order. RocksDB backend (store_in): in the instance's database, each
// key group's earliest cached (TimerStore, as Flink's RocksDB timers), so
// timers count in its memory and its native snapshots carry them. Timers of
// the same time fire in no promised order.
//
// Checkpoints: in memory, timers are written into their keys' key groups
// (snapshot) and read back with read(); stored ones are in the native
// snapshot (snapshot writes what it gathered; reload() after the database
// is restored). Operators that can derive timers from their rows may
// rebuild them after a restore instead.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/snapshot.hpp"
#include "runnel/detail/timer_store.hpp"
#include "runnel/hash.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

template <class Ns, class Key>
class KeyedTimers {
 public:
  struct Timer {
    Timestamp time;
    Ns ns;
    Key key;
  };

  // Keeps the timers in `store` from now on (the RocksDB backend; this
  // instance owns key groups [first_group, last_group]), as set `tag`, one
  // per timer set of the instance. Call before any timer is set.
  void store_in(KvStore& store, std::uint8_t tag, int first_group, int last_group,
                int max_parallelism,
                std::size_t cached_per_group = TimerStore::kDefaultCachedPerGroup,
                std::size_t write_bytes = TimerStore::kWriteBytes) {
    stored_ = std::make_unique<TimerStore>(store, tag, first_group, last_group, cached_per_group,
                                           write_bytes);
    first_group_ = first_group;
    max_parallelism_ = max_parallelism;
  }
  // Whether the timers are in a KvStore.
  bool stored() const { return stored_ != nullptr; }

  // Sets the timer; false if it was set already.
  bool set(Timestamp t, const Ns& ns, const Key& key) {
    if (stored_) return stored_->add(group_of(key), entry_of(t, ns, key), true);
    return add_in_memory(t, ns, key);
  }
  // Sets the timer, not asking whether it was set (stored: no read).
  void add(Timestamp t, const Ns& ns, const Key& key) {
    if (stored_) {
      stored_->add(group_of(key), entry_of(t, ns, key), false);
    } else {
      add_in_memory(t, ns, key);
    }
  }
  // Deletes the timer; false if it was not set.
  bool erase(Timestamp t, const Ns& ns, const Key& key) {
    if (stored_) return stored_->remove(group_of(key), entry_of(t, ns, key), true);
    auto* e = table_.find(Ref{t, ns, key}, hash_of(t, ns, key));
    if (e == nullptr) return false;
    remove(static_cast<std::size_t>(e - table_.entries().data()));
    return true;
  }

  bool empty() const { return stored_ ? stored_->empty() : heap_.empty(); }
  // Memory: how many timers are set.
  std::size_t size() const { return heap_.size(); }
  // The earliest timer's time (kMaxTimestamp when there is none).
  Timestamp next() const {
    if (stored_) return stored_->next();
    return heap_.empty() ? kMaxTimestamp : heap_[0].time;
  }

  // Takes out each timer at or before `limit`, earliest first, and passes it
  // to fn(Timer&). A timer fn sets fires in the same call if it is due.
  template <class Fn>
  void fire(Timestamp limit, Fn&& fn) {
    if (stored_) {
      while (stored_->pop(limit, fired_)) {
        ByteReader r(std::string_view(fired_).substr(8));
        Timer timer{};  // value-initialised: GCC 12 takes an empty Key for uninitialised
        timer.time = TimerStore::decode_time(fired_);
        timer.ns = Coder<Ns>::decode(r);
        timer.key = Coder<Key>::decode(r);
        fn(timer);
      }
      return;
    }
    while (!heap_.empty() && heap_[0].time <= limit) {
      const std::uint32_t index = heap_[0].index;
      Timer timer = std::move(table_.entries()[index].key);
      remove(index);
      fn(timer);
    }
  }

  void clear() {
    if (stored_) stored_->clear();
    table_.clear_and_release();
    std::vector<Slot>().swap(heap_);
  }

  // Stored: writes what it gathered into the store (before the store is
  // snapshotted). Memory: nothing to do.
  void flush() {
    if (stored_) stored_->write();
  }
  // Memory: writes every timer into its key's key group: what
  // prefix(ByteWriter&) writes (the operator's record tag), then time,
  // namespace and key. Stored: as flush (the store's snapshot holds them).
  template <class Prefix>
  void snapshot(OperatorSnapshot& out, int max_parallelism, Prefix&& prefix) {
    if (stored_) {
      stored_->write();
      return;
    }
    for (const auto& e : table_.entries()) {
      const Timer& t = e.key;
      ByteWriter w(
          out.key_group(key_group_of(Hash<Key>{}(t.key), max_parallelism), max_parallelism));
      prefix(w);
      w.put_varint(static_cast<std::uint64_t>(t.time));
      Coder<Ns>::encode(t.ns, w);
      Coder<Key>::encode(t.key, w);
    }
  }
  // One timer as snapshot wrote it, after the operator's prefix.
  static Timer read(ByteReader& r) {
    const auto time = static_cast<Timestamp>(r.get_varint());
    Ns ns = Coder<Ns>::decode(r);
    return Timer{time, std::move(ns), Coder<Key>::decode(r)};
  }

  // After a restore. Stored: the database was restored; its timers are
  // read again. Memory: the timers RocksDB's native snapshots in `in` hold
  // (of the set with the tag `tag`) are set.
  void restore_stored(const RestoredState& in, std::uint8_t tag, int instance, int parallelism,
                      const KeyGroupRange& owned) {
    if (stored_) {
      stored_->reload();
      return;
    }
    scan_stored_timers(in, instance, parallelism, owned, tag, [&](std::string_view e) {
      ByteReader r(e.substr(8));
      Ns ns = Coder<Ns>::decode(r);
      add_in_memory(TimerStore::decode_time(e), ns, Coder<Key>::decode(r));
    });
  }

 private:
  bool add_in_memory(Timestamp t, const Ns& ns, const Key& key) {
    auto [e, inserted] = table_.find_or_insert_entry(
        Ref{t, ns, key}, hash_of(t, ns, key),
        [&] {
          return Timer{t, ns, key};
        },
        [] { return std::uint32_t{0}; });
    if (!inserted) return false;
    heap_.push_back(Slot{t, static_cast<std::uint32_t>(table_.size() - 1)});
    e->value = static_cast<std::uint32_t>(heap_.size() - 1);
    sift_up(heap_.size() - 1);
    return true;
  }

  // A timer looked up without copying its namespace and key.
  struct Ref {
    Timestamp time;
    const Ns& ns;
    const Key& key;
    friend bool operator==(const Timer& a, const Ref& b) {
      return a.time == b.time && a.ns == b.ns && a.key == b.key;
    }
  };
  // Each entry's value is its position in heap_; the heap holds each
  // timer's time (compared without reaching into the table) and entry index.
  using Table = FlatTable<Timer, std::uint32_t>;
  struct Slot {
    Timestamp time;
    std::uint32_t index;
  };

  static std::uint64_t hash_of(Timestamp t, const Ns& ns, const Key& key) {
    return hash_combine(hash_combine(Hash<Key>{}(key), Hash<Ns>{}(ns)),
                        hash_mix(static_cast<std::uint64_t>(t)));
  }
  void place(std::size_t pos, Slot slot) {
    heap_[pos] = slot;
    table_.entries()[slot.index].value = static_cast<std::uint32_t>(pos);
  }
  void sift_up(std::size_t pos) {
    const Slot slot = heap_[pos];
    while (pos > 0) {
      const std::size_t parent = (pos - 1) / 2;
      if (heap_[parent].time <= slot.time) break;
      place(pos, heap_[parent]);
      pos = parent;
    }
    place(pos, slot);
  }
  void sift_down(std::size_t pos) {
    const Slot slot = heap_[pos];
    const std::size_t n = heap_.size();
    while (true) {
      std::size_t child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && heap_[child + 1].time < heap_[child].time) ++child;
      if (slot.time <= heap_[child].time) break;
      place(pos, heap_[child]);
      pos = child;
    }
    place(pos, slot);
  }
  // Removes table entry `index` from the heap and the table.
  void remove(std::size_t index) {
    const std::size_t pos = table_.entries()[index].value;
    const Slot last = heap_.back();
    heap_.pop_back();
    if (pos < heap_.size()) {
      place(pos, last);
      sift_down(pos);
      sift_up(table_.entries()[last.index].value);
    }
    // The table moves its last entry into the erased one's place.
    const std::size_t moved = table_.size() - 1;
    table_.erase(index);
    if (index != moved)
      heap_[table_.entries()[index].value].index = static_cast<std::uint32_t>(index);
  }

  int group_of(const Key& key) const {
    return key_group_of(Hash<Key>{}(key), max_parallelism_) - first_group_;
  }
  // A stored timer: its time (sorting as bytes), namespace, key.
  std::string_view entry_of(Timestamp t, const Ns& ns, const Key& key) {
    entry_.clear();
    TimerStore::encode_time(t, entry_);
    ByteWriter w(entry_);
    Coder<Ns>::encode(ns, w);
    Coder<Key>::encode(key, w);
    return entry_;
  }

  Table table_;
  std::vector<Slot> heap_;
  std::unique_ptr<TimerStore> stored_;
  int first_group_ = 0, max_parallelism_ = 0;
  std::string entry_, fired_;
};

}  // namespace runnel::detail

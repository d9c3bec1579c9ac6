#pragma once
// The timers of one operator instance, as Flink's timer service: one timer
// per (time, namespace, key), fired earliest first, set and deleted by what
// it is. Written once for the keyed operators: a stateful DoFn's event- and
// processing-time timers and the cleanup of its windows' state, a keyed
// combine's processing-time firings and the times a key's sessions are due.
//
// An indexed min-heap over a hash set (FlatTable, as Flink's
// HeapPriorityQueueSet): setting a timer that is already set, deleting one
// and finding one cost a hash lookup; keys need equality and Hash<Key>, not
// an order. Timers of the same time fire in no promised order (heap order:
// the same for the same sets and deletes in one process, not after a restore).
//
// Timers live in memory on both backends (as Flink's heap timers beside
// RocksDB state). Operators that checkpoint them write each into its key's
// key group (snapshot) and read them back with read(); those that can
// derive them from their rows rebuild them after a restore instead.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/snapshot.hpp"
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

  // Sets the timer; false if it was set already.
  bool set(Timestamp t, const Ns& ns, const Key& key) {
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
  // Deletes the timer; false if it was not set.
  bool erase(Timestamp t, const Ns& ns, const Key& key) {
    auto* e = table_.find(Ref{t, ns, key}, hash_of(t, ns, key));
    if (e == nullptr) return false;
    remove(static_cast<std::size_t>(e - table_.entries().data()));
    return true;
  }

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // The earliest timer's time (kMaxTimestamp when there is none).
  Timestamp next() const { return heap_.empty() ? kMaxTimestamp : heap_[0].time; }

  // Takes out each timer at or before `limit`, earliest first, and passes it
  // to fn(Timer&). A timer fn sets fires in the same call if it is due.
  template <class Fn>
  void fire(Timestamp limit, Fn&& fn) {
    while (!heap_.empty() && heap_[0].time <= limit) {
      const std::uint32_t index = heap_[0].index;
      Timer timer = std::move(table_.entries()[index].key);
      remove(index);
      fn(timer);
    }
  }

  // Every timer, in no particular order: fn(const Timer&).
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const auto& e : table_.entries()) fn(e.key);
  }

  void clear() {
    table_.clear_and_release();
    std::vector<Slot>().swap(heap_);
  }

  // Writes every timer into its key's key group: what prefix(ByteWriter&)
  // writes (the operator's record tag), then time, namespace and key.
  template <class Prefix>
  void snapshot(OperatorSnapshot& out, int max_parallelism, Prefix&& prefix) const {
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

 private:
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

  Table table_;
  std::vector<Slot> heap_;
};

}  // namespace runnel::detail

#pragma once
// An open-addressing hash table for aggregation: entries stored densely (cheap
// to iterate, spill and clear), a power-of-two slot array of (tag, index) with
// linear probing. Lookup takes any key type comparable with K, so a word can be
// counted from a view without building a string unless it is new.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace runnel::detail {

template <class K, class V>
class FlatTable {
  struct Slot {
    std::uint32_t tag = 0;
    std::uint32_t index = 0;  // entry index + 1; 0 is empty
  };

 public:
  struct Entry {
    K key;
    V value;
  };

  FlatTable() { reset_slots(kInitialSlots); }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::vector<std::uint64_t>& hashes() const { return hashes_; }

  // Approximate bytes held by the table's own arrays (not what keys and values own).
  std::size_t footprint() const {
    return entries_.capacity() * sizeof(Entry) + hashes_.capacity() * sizeof(std::uint64_t) +
           slots_.size() * sizeof(Slot);
  }
  // The footprint of a new, empty table.
  static constexpr std::size_t empty_footprint() { return kInitialSlots * sizeof(Slot); }
  // What the next insert allocates while it still holds the arrays it
  // replaces (0 if it fits): a growing table briefly holds both.
  std::size_t growth_bytes() const {
    std::size_t n = 0;
    if (entries_.size() == entries_.capacity()) {
      const std::size_t next = std::max<std::size_t>(2 * entries_.capacity(), 1);
      n += next * (sizeof(Entry) + sizeof(std::uint64_t));
    }
    if ((entries_.size() + 1) * 2 > slots_.size()) n += 2 * slots_.size() * sizeof(Slot);
    return n;
  }
  static constexpr std::size_t bytes_per_entry() {
    return sizeof(Entry) + sizeof(std::uint64_t) + 2 * sizeof(Slot);
  }

  // Finds the entry for `key` (hash h); if absent, inserts make_key() with
  // make_value(). Returns the value and whether it was inserted.
  template <class Q, class MakeKey, class MakeValue>
  std::pair<V*, bool> find_or_insert(const Q& key, std::uint64_t h, MakeKey&& make_key,
                                     MakeValue&& make_value) {
    auto [e, inserted] = find_or_insert_entry(key, h, make_key, make_value);
    return {&e->value, inserted};
  }
  // The same, returning the whole entry (key and value).
  template <class Q, class MakeKey, class MakeValue>
  std::pair<Entry*, bool> find_or_insert_entry(const Q& key, std::uint64_t h, MakeKey&& make_key,
                                               MakeValue&& make_value) {
    const auto tag = tag_of(h);
    std::size_t i = static_cast<std::size_t>(h) & mask_;
    while (true) {
      Slot& s = slots_[i];
      if (s.index == 0) break;
      if (s.tag == tag) {
        Entry& e = entries_[s.index - 1];
        if (e.key == key) return {&e, false};
      }
      i = (i + 1) & mask_;
    }
    entries_.push_back(Entry{make_key(), make_value()});
    hashes_.push_back(h);
    slots_[i] = Slot{tag, static_cast<std::uint32_t>(entries_.size())};
    if (entries_.size() * 2 > slots_.size()) grow();
    return {&entries_.back(), true};
  }

  // The entry for `key` (hash h), or nullptr.
  template <class Q>
  Entry* find(const Q& key, std::uint64_t h) {
    const auto tag = tag_of(h);
    for (std::size_t i = static_cast<std::size_t>(h) & mask_; slots_[i].index != 0;
         i = (i + 1) & mask_) {
      if (slots_[i].tag != tag) continue;
      Entry& e = entries_[slots_[i].index - 1];
      if (e.key == key) return &e;
    }
    return nullptr;
  }

  // Removes entries()[index]: the last entry moves into its place (indexes
  // of other entries stay), and the slots after it shift back so that no
  // probe sequence has a hole (no tombstones: a table that churns keys does
  // not fill up with them).
  void erase(std::size_t index) {
    std::size_t i = slot_of(index);
    for (std::size_t j = (i + 1) & mask_; slots_[j].index != 0; j = (j + 1) & mask_) {
      // An entry may fill the hole at i if its home slot is not in (i, j]
      // (cyclically): it was pushed past i when it was inserted.
      const std::size_t home = static_cast<std::size_t>(hashes_[slots_[j].index - 1]) & mask_;
      const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = Slot{};
    const std::size_t last = entries_.size() - 1;
    if (index != last) {
      slots_[slot_of(last)].index = static_cast<std::uint32_t>(index + 1);
      entries_[index] = std::move(entries_[last]);
      hashes_[index] = hashes_[last];
    }
    entries_.pop_back();
    hashes_.pop_back();
  }

  // Drops every entry and returns the memory to the allocator.
  void clear_and_release() {
    std::vector<Entry>().swap(entries_);
    std::vector<std::uint64_t>().swap(hashes_);
    reset_slots(kInitialSlots);
  }

 private:
  static constexpr std::size_t kInitialSlots = 16;

  // Slots are picked by the low bits and spill partitions by the top ones, so
  // the tag mixes all bits: keys that share either still get distinct tags.
  static std::uint32_t tag_of(std::uint64_t h) {
    return static_cast<std::uint32_t>((h * 0x9e3779b97f4a7c15ULL) >> 32);
  }

  // The slot that holds entries()[index].
  std::size_t slot_of(std::size_t index) const {
    std::size_t i = static_cast<std::size_t>(hashes_[index]) & mask_;
    while (slots_[i].index != index + 1) i = (i + 1) & mask_;
    return i;
  }

  void reset_slots(std::size_t n) {
    std::vector<Slot>(n).swap(slots_);
    mask_ = n - 1;
  }

  void grow() {
    reset_slots(slots_.size() * 2);
    for (std::size_t e = 0; e < hashes_.size(); ++e) {
      std::uint64_t h = hashes_[e];
      std::size_t i = static_cast<std::size_t>(h) & mask_;
      while (slots_[i].index != 0) i = (i + 1) & mask_;
      slots_[i] = Slot{tag_of(h), static_cast<std::uint32_t>(e + 1)};
    }
  }

  std::vector<Entry> entries_;
  std::vector<std::uint64_t> hashes_;
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

}  // namespace runnel::detail

#pragma once
// The memory backend's table of rows (one per namespace): FlatTable's
// layout (entries dense, a power-of-two slot array with linear probing)
// made small for state that lives as long as the job:
//
// - entries in chunks of kChunk, so growing never copies the table (a
//   doubling vector holds old and new arrays at its peak: three times the
//   rows for a moment);
// - no stored hash: Hasher recomputes a key's when a slot moves (growth,
//   erase), which costs a hash per moved slot, not 8 bytes per row;
// - a slot is 4 bytes: the entry index in its low bits (as many as the
//   slot array has: an index is below the entry count, which is below the
//   slot count) and a tag from the hash in the bits above, so most probes
//   that miss read no entry; slots fill to 3/4.
//
// Entries are addressed by index; erasing one moves the last into its place.
// A table may keep a mark per entry (a bit, beside the entries; none until
// the first mark): the memory backend marks the rows changed since its last
// checkpoint.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace runnel::detail {

template <class K, class V, class Hasher>
class RowTable {
 public:
  struct Entry {
    K key;
    V value;
  };

  RowTable() { reset_slots(kInitialSlots); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Entry& entry(std::size_t i) { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }
  const Entry& entry(std::size_t i) const { return chunks_[i >> kChunkBits][i & (kChunk - 1)]; }

  // Approximate bytes held by the table's own arrays (not what keys and values own).
  std::size_t footprint() const {
    std::size_t n =
        slots_.capacity() * sizeof(std::uint32_t) + chunks_.capacity() * sizeof(std::vector<Entry>);
    for (const auto& c : chunks_) n += c.capacity() * sizeof(Entry);
    return n + marks_.capacity() * sizeof(std::uint64_t);
  }
  static constexpr std::size_t empty_footprint() { return kInitialSlots * sizeof(std::uint32_t); }

  // The index of the entry for `key` (hash h, Hasher's of the key it stands
  // for); if absent, make_key() with make_value() is inserted. Returns the
  // index and whether it was inserted.
  template <class Q, class MakeKey, class MakeValue>
  std::pair<std::size_t, bool> find_or_insert(const Q& key, std::uint64_t h, MakeKey&& make_key,
                                              MakeValue&& make_value) {
    const std::uint32_t tag = tag_of(h);
    std::size_t i = static_cast<std::size_t>(h) & mask_;
    for (; slots_[i] != 0; i = (i + 1) & mask_) {
      if ((slots_[i] >> index_bits_) != tag) continue;
      const std::size_t e = (slots_[i] & mask_) - 1;
      if (entry(e).key == key) return {e, false};
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
      i = static_cast<std::size_t>(h) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
    }
    if (chunks_.empty() || chunks_.back().size() == kChunk) {
      chunks_.emplace_back();
      // The first chunk grows as a vector does (most namespaces are small);
      // the others are allocated whole.
      if (chunks_.size() > 1) chunks_.back().reserve(kChunk);
    }
    chunks_.back().push_back(Entry{make_key(), make_value()});
    slots_[i] = slot_value(h, size_);
    return {size_++, true};
  }

  // The index of the entry for `key` (hash h), or npos.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  template <class Q>
  std::size_t find(const Q& key, std::uint64_t h) const {
    const std::uint32_t tag = tag_of(h);
    for (std::size_t i = static_cast<std::size_t>(h) & mask_; slots_[i] != 0; i = (i + 1) & mask_) {
      if ((slots_[i] >> index_bits_) != tag) continue;
      const std::size_t e = (slots_[i] & mask_) - 1;
      if (entry(e).key == key) return e;
    }
    return npos;
  }

  // Marks entry(index) (a mark moves with its entry).
  void mark(std::size_t index) {
    const std::size_t w = index >> 6;
    if (w >= marks_.size()) marks_.resize(std::max(w + 1, (size_ + 63) >> 6));
    marks_[w] |= std::uint64_t{1} << (index & 63);
  }
  bool marked(std::size_t index) const {
    const std::size_t w = index >> 6;
    return w < marks_.size() && ((marks_[w] >> (index & 63)) & 1) != 0;
  }
  // f(index) for every marked entry, in index order.
  template <class F>
  void for_each_marked(F&& f) const {
    for (std::size_t w = 0; w < marks_.size(); ++w) {
      for (std::uint64_t bits = marks_[w]; bits != 0; bits &= bits - 1)
        f((w << 6) + static_cast<std::size_t>(std::countr_zero(bits)));
    }
  }
  void clear_marks() { std::vector<std::uint64_t>().swap(marks_); }

  // Removes entry(index): the last entry moves into its place (the indexes
  // of the others stay), and the slots after its slot shift back so that no
  // probe sequence has a hole (no tombstones).
  void erase(std::size_t index) {
    std::size_t i = slot_of(index);
    for (std::size_t j = (i + 1) & mask_; slots_[j] != 0; j = (j + 1) & mask_) {
      // The slot at j may fill the hole at i unless its home is in (i, j]
      // (cyclically): then it was not pushed past i.
      const std::size_t home = home_of((slots_[j] & mask_) - 1);
      const bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (stays) continue;
      slots_[i] = slots_[j];
      i = j;
    }
    slots_[i] = 0;
    const std::size_t last = size_ - 1;
    if (index != last) {
      const std::size_t s = slot_of(last);
      slots_[s] =
          (slots_[s] & ~static_cast<std::uint32_t>(mask_)) | static_cast<std::uint32_t>(index + 1);
      entry(index) = std::move(entry(last));
    }
    if (!marks_.empty()) move_mark(last, index);
    chunks_.back().pop_back();
    if (chunks_.back().empty()) chunks_.pop_back();
    --size_;
  }

 private:
  static constexpr std::size_t kInitialSlots = 8;
  static constexpr int kChunkBits = 14;
  static constexpr std::size_t kChunk = std::size_t{1} << kChunkBits;

  // The tag: the top bits of the mixed hash above the index bits. Slots are
  // picked by the hash's low bits, so the tag mixes all of them.
  std::uint32_t tag_of(std::uint64_t h) const {
    return static_cast<std::uint32_t>((h * 0x9e3779b97f4a7c15ULL) >> (32 + index_bits_));
  }
  std::uint32_t slot_value(std::uint64_t h, std::size_t index) const {
    return (tag_of(h) << index_bits_) | static_cast<std::uint32_t>(index + 1);
  }
  std::size_t home_of(std::size_t index) const {
    return static_cast<std::size_t>(Hasher{}(entry(index).key)) & mask_;
  }
  // The slot that holds entry(index).
  std::size_t slot_of(std::size_t index) const {
    std::size_t i = home_of(index);
    while ((slots_[i] & mask_) != index + 1) i = (i + 1) & mask_;
    return i;
  }

  // The mark of entry `from` (which goes) becomes entry `to`'s.
  void move_mark(std::size_t from, std::size_t to) {
    const bool m = marked(from);
    if (from >> 6 < marks_.size()) marks_[from >> 6] &= ~(std::uint64_t{1} << (from & 63));
    if (to == from) return;
    if (m) {
      mark(to);
    } else if (to >> 6 < marks_.size()) {
      marks_[to >> 6] &= ~(std::uint64_t{1} << (to & 63));
    }
  }

  void reset_slots(std::size_t n) {
    std::vector<std::uint32_t>(n).swap(slots_);
    mask_ = n - 1;
    index_bits_ = std::countr_zero(n);
  }

  void grow() {
    reset_slots(slots_.size() * 2);
    for (std::size_t e = 0; e < size_; ++e) {
      const std::uint64_t h = Hasher{}(entry(e).key);
      std::size_t i = static_cast<std::size_t>(h) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = slot_value(h, e);
    }
  }

  std::vector<std::vector<Entry>> chunks_;
  std::vector<std::uint32_t> slots_;
  std::vector<std::uint64_t> marks_;  // bit i: entry i is marked
  std::size_t size_ = 0, mask_ = 0;
  int index_bits_ = 0;
};

}  // namespace runnel::detail

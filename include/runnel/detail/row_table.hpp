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
//
// A checkpoint freezes the table (freeze): the chunks it captures are shared
// with the Frozen view, which another thread reads while the table goes on
// changing; the table copies a frozen chunk before it first changes it (as
// Flink's copy-on-write state map does, by chunk of entries, not by entry),
// until the reader says it is done (`released` reaches the freeze's epoch).
#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
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

 private:
  static constexpr int kChunkBits = 14;
  static constexpr std::size_t kChunk = std::size_t{1} << kChunkBits;
  using Chunk = std::vector<Entry>;

 public:
  // The entries a freeze captured, as they were then; read-only, and safe to
  // read on another thread while the table changes.
  class Frozen {
   public:
    // Entries [0, size()) were the table's; entry(i) may be read if captured(i).
    std::size_t size() const { return size_; }
    bool captured(std::size_t i) const { return chunks_[i >> kChunkBits] != nullptr; }
    const Entry& entry(std::size_t i) const {
      return (*chunks_[i >> kChunkBits])[i & (kChunk - 1)];
    }
    // f(index) for every entry marked at the freeze, in index order (all captured).
    template <class F>
    void for_each_marked(F&& f) const {
      for (std::size_t w = 0; w < marks_.size(); ++w) {
        for (std::uint64_t bits = marks_[w]; bits != 0; bits &= bits - 1)
          f((w << 6) + static_cast<std::size_t>(std::countr_zero(bits)));
      }
    }

   private:
    friend class RowTable;
    std::vector<std::shared_ptr<const Chunk>> chunks_;  // null: not captured
    std::vector<std::uint64_t> marks_;
    std::size_t size_ = 0;
  };

  RowTable() { reset_slots(kInitialSlots); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // An entry to change (a frozen chunk is copied first).
  Entry& entry(std::size_t i) {
    thaw(i >> kChunkBits);
    return data_[i >> kChunkBits][i & (kChunk - 1)];
  }
  const Entry& entry(std::size_t i) const { return data_[i >> kChunkBits][i & (kChunk - 1)]; }

  // Approximate bytes held by the table's own arrays (not what keys and values own).
  std::size_t footprint() const {
    std::size_t n = slots_.capacity() * sizeof(std::uint32_t) +
                    chunks_.capacity() * (sizeof(std::shared_ptr<Chunk>) + sizeof(Chunk)) +
                    data_.capacity() * sizeof(Entry*) + shared_.capacity();
    for (const auto& c : chunks_) n += c->capacity() * sizeof(Entry);
    return n + marks_.capacity() * sizeof(std::uint64_t);
  }

  // Captures the entries for a reader on another thread: every chunk (all),
  // or the chunks that hold a marked entry; the marks go with it (the table
  // has none after). Until released.load() >= epoch (epochs rise from 1),
  // the table copies a captured chunk before it changes it. The reader of
  // the freeze before must have released it.
  Frozen freeze(std::uint64_t epoch, const std::atomic<std::uint64_t>& released, bool all) {
    std::fill(shared_.begin(), shared_.end(), 0);
    Frozen f;
    f.size_ = size_;
    f.chunks_.resize(chunks_.size());
    constexpr std::size_t kWordsPerChunk = kChunk / 64;
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      bool take = all;
      for (std::size_t w = c * kWordsPerChunk;
           !take && w < std::min(marks_.size(), (c + 1) * kWordsPerChunk); ++w)
        take = marks_[w] != 0;
      if (!take) continue;
      f.chunks_[c] = chunks_[c];
      shared_[c] = 1;
    }
    f.marks_ = std::move(marks_);
    marks_.clear();
    released_ = &released;
    frozen_epoch_ = epoch;
    return f;
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
      if (std::as_const(*this).entry(e).key == key) return {e, false};
    }
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
      i = static_cast<std::size_t>(h) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
    }
    if (chunks_.empty() || chunks_.back()->size() == kChunk) {
      chunks_.push_back(std::make_shared<Chunk>());
      data_.push_back(nullptr);
      shared_.push_back(0);
      // The first chunk grows as a vector does (most namespaces are small);
      // the others are allocated whole.
      if (chunks_.size() > 1) chunks_.back()->reserve(kChunk);
    } else {
      thaw(chunks_.size() - 1);
    }
    chunks_.back()->push_back(Entry{make_key(), make_value()});
    data_.back() = chunks_.back()->data();
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
    thaw(chunks_.size() - 1);
    chunks_.back()->pop_back();
    if (chunks_.back()->empty()) {
      chunks_.pop_back();
      data_.pop_back();
      shared_.pop_back();
    }
    --size_;
  }

 private:
  static constexpr std::size_t kInitialSlots = 8;

  // Chunk c is about to change: if a reader may still be reading it, the
  // table takes a copy of its own (the reader keeps the old one). A branch
  // on one member while no freeze is being read.
  void thaw(std::size_t c) {
    if (frozen_epoch_ != 0) [[unlikely]]
      thaw_frozen(c);
  }
  void thaw_frozen(std::size_t c) {
    if (released_->load(std::memory_order_acquire) >= frozen_epoch_) {  // read: none is shared
      std::fill(shared_.begin(), shared_.end(), 0);
      frozen_epoch_ = 0;
      return;
    }
    if (shared_[c] == 0) return;
    auto copy = std::make_shared<Chunk>();
    copy->reserve(c == 0 ? chunks_[c]->capacity() : kChunk);
    copy->insert(copy->end(), chunks_[c]->begin(), chunks_[c]->end());
    chunks_[c] = std::move(copy);
    data_[c] = chunks_[c]->data();
    shared_[c] = 0;
  }

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
      const std::uint64_t h = Hasher{}(std::as_const(*this).entry(e).key);
      std::size_t i = static_cast<std::size_t>(h) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = slot_value(h, e);
    }
  }

  std::vector<std::shared_ptr<Chunk>> chunks_;
  std::vector<Entry*> data_;          // chunks_[c]->data(): entries without the indirection
  std::vector<std::uint8_t> shared_;  // per chunk: the last freeze's reader may read it
  std::uint64_t frozen_epoch_ = 0;    // the last freeze's, until its reader released it
  const std::atomic<std::uint64_t>* released_ = nullptr;  // the reader's, from freeze
  std::vector<std::uint32_t> slots_;
  std::vector<std::uint64_t> marks_;  // bit i: entry i is marked
  std::size_t size_ = 0, mask_ = 0;
  int index_bits_ = 0;
};

}  // namespace runnel::detail

#pragma once
// Rows to write to a KvStore, gathered in any order and written in key
// order: RocksDB's memtable is a skip list, which inserts a key next to the
// last one without searching from the top. The bytes are copied into one
// buffer as they come (no allocation per row). Of the writes of one key only
// the last is written; a key put as new (`fresh`) and then removed before
// the batch is written is not written at all (a timer set and fired within
// one batch costs the memtable nothing).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::detail {

class KvStore;

class SortedWrites {
 public:
  // fresh: after the writes gathered so far, the store does not hold `key`.
  // Only a key's first write's flag counts: a put after a pending remove of
  // a stored key may be fresh, but that remove must still be written.
  void put(std::string_view key, std::string_view value, bool fresh = false) {
    add(key, value, true, fresh);
  }
  void remove(std::string_view key) { add(key, {}, false, false); }
  bool empty() const { return rows_.empty(); }
  // The bytes gathered (keys and values), those of writes settle() dropped included.
  std::size_t bytes() const { return bytes_.size(); }
  // The memory the buffers hold (their capacity).
  std::size_t held_bytes() const { return bytes_.capacity() + rows_.capacity() * sizeof(Row); }

  // Brings the gathered writes to key order, one per key (its last write; none
  // for a fresh put since removed), so that a reader can see the store as it
  // will be once they are written (TimerStore reads through them instead of
  // writing them first). Returns how many there are; key(i), is_put(i) and
  // lower_bound() read them until the next put or remove.
  std::size_t settle();
  std::size_t size() const { return settled_; }
  std::string_view key(std::size_t i) const {
    return {bytes_.data() + rows_[i].at, rows_[i].key_size};
  }
  bool is_put(std::size_t i) const { return rows_[i].put; }
  // After settle(): the first write whose key is not below `key`.
  std::size_t lower_bound(std::string_view key) const;

  // Writes what was gathered in one batch, then starts empty. The buffer
  // keeps its memory unless it grew past `keep_bytes`.
  void write_to(KvStore& store, std::size_t keep_bytes);
  // As write_to, into the store's batch (KvStore::batch_put), not written:
  // several gathered writes in key order make one batch.
  void add_to_batch(KvStore& store, std::size_t keep_bytes);
  // Gives back the buffers' memory when empty and grown past `keep_bytes`
  // (settle() may empty them without a write).
  void release_if_empty(std::size_t keep_bytes);

 private:
  struct Row {
    std::size_t at, key_size, value_size;
    bool put;    // else a delete
    bool fresh;  // a put of a key the store did not hold
  };
  void add(std::string_view key, std::string_view value, bool put, bool fresh) {
    rows_.push_back(Row{bytes_.size(), key.size(), value.size(), put, fresh});
    bytes_ += key;
    bytes_ += value;
  }
  std::vector<Row> rows_;
  std::size_t settled_ = 0;  // rows_[0, settled_) are in key order, one per key
  std::string bytes_;
};

}  // namespace runnel::detail

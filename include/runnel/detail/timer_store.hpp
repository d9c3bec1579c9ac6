#pragma once
// One set of timers kept in an operator instance's RocksDB database (as
// Flink's RocksDB timers): the RocksDB backend's KeyedTimers keep here what
// they hold, so timers count in RocksDB's memory, not beside it, and its
// native snapshots carry them. Timers are bytes here: each an entry of its
// time (8 bytes that sort as the time does), then what the caller encodes
// (namespace, key), stored under its key group's timer prefix
// (append_timer_prefix) with this set's tag, so a key group's timers move
// with its rows on a rescaled restore.
//
// Each key group caches its earliest entries in memory (up to a bound, as
// Flink's RocksDBCachingPriorityQueueSet) and a heap orders the key groups
// by their earliest: the next timer, and firing one, reads nothing. Every
// timer is in the store; the cache holds every stored timer of its key group
// up to its largest entry, and is read again from the store (from where the
// uncached ones begin) when it empties. Writes are gathered per key group,
// read through (a refill or an existence check sees the store as it will be
// once they are written) and written in key order when they reach a bound or
// before a snapshot (write()): a timer set beyond the cache and fired before
// then costs RocksDB nothing.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/detail/snapshot.hpp"
#include "runnel/detail/sorted_writes.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

class KvStore;

class TimerStore {
 public:
  static constexpr std::size_t kDefaultCachedPerGroup = 128;
  // Gathered writes go to the store once they hold this many bytes of keys:
  // enough that most timers set and fired soon after (a bid waiting for its
  // auction, an auction closing) cancel out before they reach the memtable.
  static constexpr std::size_t kWriteBytes = std::size_t{4} << 20;

  // The timers of set `tag` of key groups [first_group, last_group] in `store`;
  // gathered writes go to the store once they hold `write_bytes` (tests write
  // them often).
  TimerStore(KvStore& store, std::uint8_t tag, int first_group, int last_group,
             std::size_t cached_per_group = kDefaultCachedPerGroup,
             std::size_t write_bytes = kWriteBytes);

  // Adds an entry (begins with encode_time). With `check`, says whether it
  // was new (reading the store when the cache cannot tell); else true.
  bool add(int group, std::string_view entry, bool check);
  // Removes an entry; with `check`, says whether it was there; else true.
  bool remove(int group, std::string_view entry, bool check);
  // The earliest entry's time (kMaxTimestamp when there is none).
  Timestamp next() const { return heads_.empty() ? kMaxTimestamp : head_time(heads_[0]); }
  bool empty() const {
    return heads_.empty() || groups_[static_cast<std::size_t>(heads_[0])].cached.empty();
  }
  // Takes out the earliest entry into `entry` if its time is at or before
  // `limit`; false if there is none.
  bool pop(Timestamp limit, std::string& entry);
  // Removes every timer of the set.
  void clear();
  // Writes the gathered changes to the store (before it is snapshotted).
  void write();
  // The store was replaced (a restore): reads each key group's earliest again.
  void reload();
  // The bytes of keys gathered and not yet written (at most about write_bytes).
  std::size_t gathered_bytes() const { return pending_bytes_; }

  static void encode_time(Timestamp t, std::string& out);
  static Timestamp decode_time(std::string_view entry);

 private:
  struct Group {
    std::vector<std::string> cached;  // descending: the earliest at the back
    bool all_cached = true;           // the store holds nothing beyond `cached`
    std::string uncached_from;        // without all_cached: no uncached entry is below it
    // With largest_known: no stored entry is above `largest` (puts raise it,
    // removals leave it), so a later timer, as most are, is known new.
    std::string largest;
    bool largest_known = true;
    // With stored_known: the store itself (not counting the gathered writes)
    // holds no entry above `stored_largest`, so a refill from beyond it need
    // not read the store.
    std::string stored_largest;
    bool stored_known = true;
  };
  Timestamp head_time(int g) const {
    const auto& c = groups_[static_cast<std::size_t>(g)].cached;
    return c.empty() ? kMaxTimestamp : decode_time(c.back());
  }
  void stored_key(int g, std::string_view entry);
  bool stored(int g, std::string_view entry);
  bool above_all_stored(const Group& group, std::string_view entry) const {
    return group.largest_known && entry > group.largest;
  }
  static bool beyond_store(const Group& group, std::string_view entry) {
    return group.stored_known && entry > group.stored_largest;
  }
  SortedWrites& settled(int g);
  void put(int g, std::string_view entry, bool fresh);
  void remove_stored(int g, std::string_view entry);
  void note_uncached(Group& group, std::string_view entry);
  void refill(int g);
  Timestamp rank(int g) const;  // the heap's order: empty groups last
  void head_changed(int g);
  void sift_up(std::size_t pos);
  void sift_down(std::size_t pos);
  void place(std::size_t pos, int g);

  KvStore& store_;
  std::uint8_t tag_;
  int first_group_;
  std::size_t cached_per_group_;
  std::size_t write_bytes_;
  std::vector<Group> groups_;
  std::vector<int> heads_;               // key groups (less first_group), a min-heap by head time
  std::vector<std::uint32_t> position_;  // each key group's in heads_

  std::vector<SortedWrites> writes_;  // per key group
  std::size_t pending_bytes_ = 0;     // the sum of writes_' bytes()
  std::string key_, value_;
};

// Memory backend restoring RocksDB's native snapshots: fn(entry) for each
// timer of set `tag` they hold in this instance's key groups.
void scan_stored_timers(const RestoredState& in, int instance, int parallelism,
                        const KeyGroupRange& owned, std::uint8_t tag,
                        const std::function<void(std::string_view entry)>& fn);

}  // namespace runnel::detail

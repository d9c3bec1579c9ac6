#include "runnel/detail/timer_store.hpp"

#include <algorithm>
#include <limits>
#include <optional>

#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/kv_store.hpp"

namespace runnel::detail {

namespace {

// What a key group's buffer keeps between writes.
constexpr std::size_t kKeepBytes = std::size_t{64} << 10;

// Entries sort as bytes; the cache keeps them descending.
bool later(const std::string& a, std::string_view b) { return std::string_view(a) > b; }

// What the heap orders key groups by: the earliest cached time; a group with
// nothing cached after every time (a timer at kMaxTimestamp included, which
// must not sit below an empty group: pop() looks at the root only).
constexpr Timestamp kNothingCached = std::numeric_limits<Timestamp>::max();

// The keys of timer set `tag` in key group `key_group`: [from, upper).
void timer_range(int key_group, std::uint8_t tag, std::string& from, std::string& upper) {
  from.clear();
  append_timer_prefix(from, key_group, tag);
  upper = from;
  upper.back() = static_cast<char>(static_cast<unsigned char>(upper.back()) + 1);
}

}  // namespace

TimerStore::TimerStore(KvStore& store, std::uint8_t tag, int first_group, int last_group,
                       std::size_t cached_per_group, std::size_t write_bytes)
    : store_(store),
      tag_(tag),
      first_group_(first_group),
      cached_per_group_(std::max<std::size_t>(cached_per_group, 1)),
      write_bytes_(write_bytes),
      groups_(static_cast<std::size_t>(std::max(last_group - first_group + 1, 0))),
      writes_(groups_.size()) {
  heads_.resize(groups_.size());
  position_.resize(groups_.size());
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    heads_[g] = static_cast<int>(g);
    position_[g] = static_cast<std::uint32_t>(g);
  }
}

void TimerStore::encode_time(Timestamp t, std::string& out) {
  // Sign bit flipped, big-endian: the bytes sort as the times do.
  const auto u = static_cast<std::uint64_t>(t) ^ (std::uint64_t{1} << 63);
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((u >> shift) & 0xff));
}

Timestamp TimerStore::decode_time(std::string_view entry) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(entry[i]);
  return static_cast<Timestamp>(u ^ (std::uint64_t{1} << 63));
}

void TimerStore::stored_key(int g, std::string_view entry) {
  key_.clear();
  append_timer_prefix(key_, first_group_ + g, tag_);
  key_.append(entry);
}

SortedWrites& TimerStore::settled(int g) {
  SortedWrites& w = writes_[static_cast<std::size_t>(g)];
  const std::size_t before = w.bytes();
  w.settle();
  pending_bytes_ -= before - w.bytes();
  w.release_if_empty(kKeepBytes);  // write() passes over empty groups
  return w;
}

bool TimerStore::stored(int g, std::string_view entry) {
  SortedWrites& w = settled(g);
  stored_key(g, entry);
  const std::size_t at = w.lower_bound(key_);
  if (at < w.size() && w.key(at) == key_) return w.is_put(at);
  if (beyond_store(groups_[static_cast<std::size_t>(g)], entry)) return false;
  return store_.get(key_, value_);
}

void TimerStore::note_uncached(Group& group, std::string_view entry) {
  if (group.all_cached || entry < group.uncached_from) group.uncached_from = entry;
  group.all_cached = false;
}

bool TimerStore::add(int g, std::string_view entry, bool check) {
  Group& group = groups_[static_cast<std::size_t>(g)];
  auto& cached = group.cached;
  auto at = std::lower_bound(cached.begin(), cached.end(), entry, later);
  if (at != cached.end() && *at == entry) return false;
  // Beyond the cache's largest, with entries uncached: the store may hold it.
  const bool beyond = !group.all_cached && at == cached.begin();
  bool fresh = !beyond || above_all_stored(group, entry);
  if (!fresh && check) {
    if (stored(g, entry)) return false;
    fresh = true;
  }
  put(g, entry, fresh);
  if (!beyond) {
    const bool was_head = at == cached.end();
    cached.emplace(at, entry);
    if (cached.size() > cached_per_group_) {  // the largest stays in the store only
      note_uncached(group, cached.front());
      cached.erase(cached.begin());
    }
    if (was_head) head_changed(g);
  } else {
    note_uncached(group, entry);
  }
  return true;
}

void TimerStore::remove_stored(int g, std::string_view entry) {
  stored_key(g, entry);
  pending_bytes_ += key_.size();
  writes_[static_cast<std::size_t>(g)].remove(key_);
  // Here, not in add(): timers that only fire (the end of input) gather removes too.
  if (pending_bytes_ >= write_bytes_) write();
}

void TimerStore::put(int g, std::string_view entry, bool fresh) {
  Group& group = groups_[static_cast<std::size_t>(g)];
  if (group.largest_known && entry > group.largest) group.largest = entry;
  stored_key(g, entry);
  pending_bytes_ += key_.size();
  writes_[static_cast<std::size_t>(g)].put(key_, {}, fresh);
  if (pending_bytes_ >= write_bytes_) write();
}

bool TimerStore::remove(int g, std::string_view entry, bool check) {
  Group& group = groups_[static_cast<std::size_t>(g)];
  auto& cached = group.cached;
  auto at = std::lower_bound(cached.begin(), cached.end(), entry, later);
  if (at != cached.end() && *at == entry) {
    const bool head = at + 1 == cached.end();
    cached.erase(at);
    remove_stored(g, entry);
    if (cached.empty() && !group.all_cached) refill(g);
    if (head) head_changed(g);
    return true;
  }
  // Below the cache's largest (or all cached): not set.
  if (group.all_cached || at != cached.begin() || above_all_stored(group, entry)) return false;
  if (check && !stored(g, entry)) return false;
  remove_stored(g, entry);
  return true;
}

bool TimerStore::pop(Timestamp limit, std::string& entry) {
  if (heads_.empty()) return false;
  const int g = heads_[0];
  Group& group = groups_[static_cast<std::size_t>(g)];
  if (group.cached.empty() || head_time(g) > limit) return false;
  entry = std::move(group.cached.back());
  group.cached.pop_back();
  remove_stored(g, entry);
  if (group.cached.empty() && !group.all_cached) refill(g);
  head_changed(g);
  return true;
}

void TimerStore::refill(int g) {
  Group& group = groups_[static_cast<std::size_t>(g)];
  const SortedWrites& w = settled(g);
  std::string upper;
  timer_range(first_group_ + g, tag_, key_, upper);
  const std::size_t prefix = key_.size();
  key_.append(group.uncached_from);
  // The next entries from uncached_from: the store's merged with the gathered
  // writes (one per key, in key order), which win over the store's.
  std::size_t p = w.lower_bound(key_);
  const std::size_t writes = w.size();
  std::optional<KvCursor> c;
  if (!beyond_store(group, group.uncached_from)) c.emplace(store_.cursor(key_, upper));
  std::vector<std::string> read;
  std::string last_stored;
  bool ended = true;
  while (true) {
    const bool from_store = c && c->valid();
    if (!from_store && p == writes) break;
    if (read.size() == cached_per_group_) {
      ended = false;
      break;
    }
    if (p < writes && (!from_store || w.key(p) <= c->key())) {
      if (from_store && w.key(p) == c->key()) {
        last_stored.assign(c->key());
        c->next();
      }
      if (w.is_put(p)) read.emplace_back(w.key(p).substr(prefix));
      ++p;
    } else {
      last_stored.assign(c->key());
      read.emplace_back(c->key().substr(prefix));
      c->next();
    }
  }
  if (ended && c) {  // the store was read to its end
    group.stored_known = true;
    group.stored_largest = last_stored.empty() ? group.uncached_from : last_stored.substr(prefix);
  }
  // Read ascending, cached descending; what stays uncached begins after the last read.
  group.all_cached = ended;
  if (!ended) group.uncached_from = read.back();
  if (ended && !group.largest_known) {  // read to the end: the largest is known again
    group.largest_known = true;
    group.largest = read.empty() ? std::string() : read.back();
  }
  std::reverse(read.begin(), read.end());
  group.cached = std::move(read);
}

void TimerStore::clear() {
  for (auto& w : writes_) w = SortedWrites{};
  pending_bytes_ = 0;
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    std::string upper;
    timer_range(first_group_ + static_cast<int>(g), tag_, key_, upper);
    store_.remove_range(key_, upper);
    groups_[g] = Group{};
  }
}

void TimerStore::write() {
  if (pending_bytes_ == 0) return;
  for (std::size_t g = 0; g < writes_.size(); ++g) {
    SortedWrites& w = writes_[g];
    if (w.empty()) continue;
    w.add_to_batch(store_, kKeepBytes);
    Group& group = groups_[g];
    if (!group.largest_known) {
      group.stored_known = false;
    } else if (group.stored_largest < group.largest) {
      group.stored_largest = group.largest;
    }
  }
  store_.write_batch();
  pending_bytes_ = 0;
}

void TimerStore::reload() {
  write();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    groups_[g] = Group{};
    groups_[g].all_cached = false;
    groups_[g].largest_known = false;
    groups_[g].stored_known = false;
    refill(static_cast<int>(g));
  }
  for (std::size_t pos = heads_.size(); pos-- > 0;) sift_down(pos);
}

void TimerStore::head_changed(int g) {
  const std::size_t pos = position_[static_cast<std::size_t>(g)];
  sift_up(pos);
  sift_down(position_[static_cast<std::size_t>(g)]);
}

void TimerStore::place(std::size_t pos, int g) {
  heads_[pos] = g;
  position_[static_cast<std::size_t>(g)] = static_cast<std::uint32_t>(pos);
}

Timestamp TimerStore::rank(int g) const {
  const auto& c = groups_[static_cast<std::size_t>(g)].cached;
  return c.empty() ? kNothingCached : decode_time(c.back());
}

void TimerStore::sift_up(std::size_t pos) {
  const int g = heads_[pos];
  const Timestamp t = rank(g);
  while (pos > 0) {
    const std::size_t parent = (pos - 1) / 2;
    if (rank(heads_[parent]) <= t) break;
    place(pos, heads_[parent]);
    pos = parent;
  }
  place(pos, g);
}

void TimerStore::sift_down(std::size_t pos) {
  const int g = heads_[pos];
  const Timestamp t = rank(g);
  const std::size_t n = heads_.size();
  while (true) {
    std::size_t child = 2 * pos + 1;
    if (child >= n) break;
    if (child + 1 < n && rank(heads_[child + 1]) < rank(heads_[child])) ++child;
    if (t <= rank(heads_[child])) break;
    place(pos, heads_[child]);
    pos = child;
  }
  place(pos, g);
}

void scan_stored_timers(const RestoredState& in, int instance, int parallelism,
                        const KeyGroupRange& owned, std::uint8_t tag,
                        const std::function<void(std::string_view entry)>& fn) {
  if (holds_row_logs(in)) return;  // the memory backend's: no timers in them
  for (const NativePart& part : native_parts(in, instance, parallelism, owned)) {
    scan_kv_snapshot(*part.dir, part.first, part.last, [&](std::string_view key, std::string_view) {
      if (is_timer_key(key) && static_cast<std::uint8_t>(key[9]) == tag)
        fn(key.substr(kKvPrefixBytes));
    });
  }
}

}  // namespace runnel::detail

#pragma once
// Counts of bids, distinct bidders and distinct auctions in all and by price
// rank, for q15 and q16.
#include <algorithm>
#include <bit>
#include <vector>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

// The ids seen (bidders or auctions), each with the price ranks it was seen
// in (bit r), and how many distinct ids there are in all and per rank: kept
// as ids arrive, so that an upsert reads them without walking the set.
// An open-addressing table (linear probing, Fibonacci hashing, power-of-two
// size): std::unordered_map's node per id and modulo per lookup were half of
// q16's time. Any id may occur (ids read from a file need not be positive):
// a slot is taken when its ranks byte has kTaken set.
struct DistinctByRank {
  static constexpr std::uint8_t kTaken = 0x80;
  std::vector<std::int64_t> slots;       // the ids
  std::vector<std::uint8_t> ranks;       // kTaken | the ranks of the id in the same slot
  std::int64_t count[4] = {0, 0, 0, 0};  // all, rank 1, rank 2, rank 3

  void add(std::int64_t id, std::uint8_t r) {
    if (static_cast<std::size_t>(count[0] + 1) * 4 > slots.size() * 3) grow();
    const std::size_t i = find(id);
    if (ranks[i] == 0) {
      slots[i] = id;
      ranks[i] = kTaken;
      ++count[0];
    }
    const auto added = static_cast<std::uint8_t>(r & ~ranks[i] & ~kTaken);
    if (added == 0) return;
    ranks[i] |= added;
    for (int k = 0; k < 3; ++k) count[k + 1] += (added >> k) & 1;
  }
  void merge(const DistinctByRank& o) {
    for (std::size_t i = 0; i < o.slots.size(); ++i)
      if (o.ranks[i] != 0) add(o.slots[i], static_cast<std::uint8_t>(o.ranks[i] & ~kTaken));
  }
  auto fields() { return std::tie(slots, ranks, count[0], count[1], count[2], count[3]); }
  auto fields() const { return std::tie(slots, ranks, count[0], count[1], count[2], count[3]); }

 private:
  // The slot holding id, or the empty slot where it would go.
  std::size_t find(std::int64_t id) const {
    const std::size_t mask = slots.size() - 1;
    std::size_t i =
        static_cast<std::size_t>((static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ull) >>
                                 (64 - std::countr_zero(slots.size())));
    while (ranks[i] != 0 && slots[i] != id) i = (i + 1) & mask;
    return i;
  }
  void grow() {
    std::vector<std::int64_t> old_slots(slots.empty() ? 16 : slots.size() * 2, 0);
    std::vector<std::uint8_t> old_ranks(old_slots.size(), 0);
    old_slots.swap(slots);
    old_ranks.swap(ranks);
    for (std::size_t i = 0; i < old_slots.size(); ++i) {
      if (old_ranks[i] == 0) continue;
      const std::size_t j = find(old_slots[i]);
      slots[j] = old_slots[i];
      ranks[j] = old_ranks[i];
    }
  }
};

// What an upsert of q15/q16 reports.
struct RankCounts {
  std::int64_t bids[4] = {0, 0, 0, 0};  // all, rank 1, rank 2, rank 3
  std::int64_t bidders[4] = {0, 0, 0, 0};
  std::int64_t auctions[4] = {0, 0, 0, 0};
  int minute = -1;  // the latest minute of the day seen (q16)
};

struct RankCountsFn {
  // Partial sets before the shuffle would hash every id twice (into the
  // partial, then into the final set) and save little: ids rarely repeat
  // within a batch.
  static constexpr bool kLiftable = false;
  struct Accumulator {
    std::int64_t bids[4] = {0, 0, 0, 0};
    DistinctByRank bidders;
    DistinctByRank auctions;
    int minute = -1;
    auto fields() {
      return std::tie(bids[0], bids[1], bids[2], bids[3], bidders, auctions, minute);
    }
    auto fields() const {
      return std::tie(bids[0], bids[1], bids[2], bids[3], bidders, auctions, minute);
    }
  };

  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const Bid& b) const {
    int r = price_rank(b.price);
    ++acc.bids[0];
    ++acc.bids[r + 1];
    const auto bit = static_cast<std::uint8_t>(1u << r);
    acc.bidders.add(b.bidder, bit);
    acc.auctions.add(b.auction, bit);
    acc.minute = std::max(acc.minute, minute_of_day(b.dateTime));
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    for (int i = 0; i < 4; ++i) acc.bids[i] += o.bids[i];
    acc.bidders.merge(o.bidders);
    acc.auctions.merge(o.auctions);
    acc.minute = std::max(acc.minute, o.minute);
  }
  // Upserts are accumulating panes: they read the sets in place, never copy them.
  RankCounts extract_output(const Accumulator& acc) const {
    RankCounts c;
    for (int i = 0; i < 4; ++i) {
      c.bids[i] = acc.bids[i];
      c.bidders[i] = acc.bidders.count[i];
      c.auctions[i] = acc.auctions.count[i];
    }
    c.minute = acc.minute;
    return c;
  }
};

}  // namespace runnel::nexmark

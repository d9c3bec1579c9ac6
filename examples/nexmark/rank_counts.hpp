#pragma once
// Counts of bids, distinct bidders and distinct auctions in all and by price
// rank, for q15 and q16.
#include <unordered_map>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

struct RankCountsFn {
  struct Accumulator {
    std::int64_t bids[4] = {0, 0, 0, 0};  // all, rank 1, rank 2, rank 3
    // Each bidder and auction seen, with the ranks it was seen in (bit r).
    std::unordered_map<std::int64_t, std::uint8_t> bidders;
    std::unordered_map<std::int64_t, std::uint8_t> auctions;
    std::string minute;  // the latest HH:mm (q16)
    auto fields() {
      return std::tie(bids[0], bids[1], bids[2], bids[3], bidders, auctions, minute);
    }
    auto fields() const {
      return std::tie(bids[0], bids[1], bids[2], bids[3], bidders, auctions, minute);
    }
  };
  bool with_minute = false;

  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const Bid& b) const {
    int r = price_rank(b.price);
    ++acc.bids[0];
    ++acc.bids[r + 1];
    acc.bidders[b.bidder] |= static_cast<std::uint8_t>(1u << r);
    acc.auctions[b.auction] |= static_cast<std::uint8_t>(1u << r);
    if (with_minute) {
      std::string m = hour_minute_of(b.dateTime);
      if (m > acc.minute) acc.minute = std::move(m);
    }
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    for (int i = 0; i < 4; ++i) acc.bids[i] += o.bids[i];
    for (const auto& [k, m] : o.bidders) acc.bidders[k] |= m;
    for (const auto& [k, m] : o.auctions) acc.auctions[k] |= m;
    if (o.minute > acc.minute) acc.minute = std::move(o.minute);
  }
  Accumulator extract_output(Accumulator&& acc) const { return std::move(acc); }

  // Distinct ids in all and per rank.
  static std::array<std::int64_t, 4> distinct(
      const std::unordered_map<std::int64_t, std::uint8_t>& seen) {
    std::array<std::int64_t, 4> n{static_cast<std::int64_t>(seen.size()), 0, 0, 0};
    for (const auto& [k, m] : seen)
      for (int r = 0; r < 3; ++r) n[static_cast<std::size_t>(r + 1)] += (m >> r) & 1;
    return n;
  }
};

}  // namespace runnel::nexmark

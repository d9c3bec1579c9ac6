#pragma once
// The winning bid of each auction (q4, q6, q9): the highest bid placed
// between the auction's start and its expiry, inclusive; among equal prices
// the earliest (then the smallest bidder and extra, so every run agrees).
#include <optional>
#include <variant>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

using AuctionOrBid = std::variant<Auction, Bid>;

inline bool better_bid(const Bid& a, const Bid& b) {
  if (a.price != b.price) return a.price > b.price;
  if (a.dateTime != b.dateTime) return a.dateTime < b.dateTime;
  if (a.bidder != b.bidder) return a.bidder < b.bidder;
  return a.extra < b.extra;
}

// Per auction id: the auction and its winning bid. Bids that come before
// their auction wait in the accumulator until it is known.
struct WinningBidFn {
  struct Accumulator {
    std::optional<Auction> auction;
    std::optional<Bid> best;
    std::vector<Bid> waiting;
  };
  // Not lifted: an instance without the auction would hold all its bids.
  static constexpr bool kLiftable = false;

  Accumulator create_accumulator() const { return {}; }
  static void consider(Accumulator& acc, const Bid& b) {
    const Auction& a = *acc.auction;
    if (b.dateTime < a.dateTime || b.dateTime > a.expires) return;
    if (!acc.best || better_bid(b, *acc.best)) acc.best = b;
  }
  void add_input(Accumulator& acc, const AuctionOrBid& x) const {
    if (const Auction* a = std::get_if<Auction>(&x)) {
      acc.auction = *a;
      for (const Bid& b : acc.waiting) consider(acc, b);
      acc.waiting.clear();
    } else if (acc.auction) {
      consider(acc, std::get<Bid>(x));
    } else {
      acc.waiting.push_back(std::get<Bid>(x));
    }
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    if (other.auction && !acc.auction) add_input(acc, AuctionOrBid(*other.auction));
    if (other.best) add_input(acc, AuctionOrBid(*other.best));
    for (Bid& b : other.waiting) add_input(acc, AuctionOrBid(std::move(b)));
  }
  // The auction and its winning bid, if both are known.
  std::optional<std::pair<Auction, Bid>> extract_output(Accumulator&& acc) const {
    if (!acc.auction || !acc.best) return std::nullopt;
    return std::pair(std::move(*acc.auction), std::move(*acc.best));
  }
};
RUNNEL_FIELDS(WinningBidFn::Accumulator, auction, best, waiting);

// (auction id, (auction, winning bid)) for the auctions that have one.
inline auto winning_bids(const PCollection<Event>& events, std::optional<Windowing> updates) {
  auto tagged = events.flat_map([](Event&& e, Emitter<std::pair<std::int64_t, AuctionOrBid>>& out) {
    if (e.type == EventType::kAuction) {
      std::int64_t id = e.auction.id;
      out.emit(std::pair(id, AuctionOrBid(std::in_place_index<0>, std::move(e.auction))));
    } else if (e.type == EventType::kBid) {
      std::int64_t id = e.bid.auction;
      out.emit(std::pair(id, AuctionOrBid(std::in_place_index<1>, std::move(e.bid))));
    }
  });
  auto grouped = updates ? tagged.window_into(windows::global(), *updates) : tagged;
  return grouped.combine_per_key(WinningBidFn{})
      .template flat_map<std::pair<Auction, Bid>>(
          [](std::pair<std::int64_t, std::optional<std::pair<Auction, Bid>>>&& w,
             Emitter<std::pair<Auction, Bid>>& out) {
            if (w.second) out.emit(std::move(*w.second));
          });
}

}  // namespace runnel::nexmark

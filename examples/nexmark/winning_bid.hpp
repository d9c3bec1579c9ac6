#pragma once
// The winning bid of each auction (q4, q6, q9): the highest bid placed
// between the auction's start and its expiry, inclusive; among equal prices
// the earliest (then the smallest bidder and extra, so every run agrees).
//
// An auction's result is final once the watermark passes its expiry, so it
// is emitted then, once, in both modes (in batch mode at the end of the
// input): the aggregations after it (q4's mean per category, q6's last ten
// per seller) need no retractions.
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

// Per auction id: the auction, its best bid so far, and the bids that came
// before the auction (out-of-order delivery).
struct WinningBidFn : DoFn<std::pair<std::int64_t, AuctionOrBid>, std::pair<Auction, Bid>> {
  using Out = std::pair<Auction, Bid>;
  ValueState<Auction> auction{"auction"};
  ValueState<Bid> best{"best"};
  ListState<Bid> waiting{"waiting"};
  auto state() { return std::tie(auction, best, waiting); }

  void process(const std::pair<std::int64_t, AuctionOrBid>& kv, KeyedContext<std::int64_t>& ctx,
               Emitter<Out>&) {
    if (const Auction* a = std::get_if<Auction>(&kv.second)) {
      auction.write(*a);
      for (const Bid& b : waiting.read()) consider(*a, b);
      waiting.clear();
      // +1: a bid at the expiry itself still counts, and the watermark
      // promises only that no earlier element comes.
      ctx.set_timer(TimeDomain::kEventTime, a->expires + 1);
      return;
    }
    const Bid& b = std::get<Bid>(kv.second);
    if (const auto& a = auction.read()) {
      consider(*a, b);
    } else {
      // Its auction starts no later than the bid: once the watermark passes
      // the bid without it, the bid joins nothing (an inner join).
      waiting.add(b);
      ctx.set_timer(TimeDomain::kEventTime, b.dateTime + 1);
    }
  }

  void on_timer(const std::int64_t&, Timestamp time, TimeDomain, KeyedContext<std::int64_t>&,
                Emitter<Out>& out) {
    if (const auto& a = auction.read()) {
      if (time != a->expires + 1) return;  // a waiting bid's timer, now moot
      if (const auto& b = best.read()) out.emit(Out(*a, *b));
      auction.clear();
      best.clear();
      return;
    }
    std::vector<Bid> still;
    for (const Bid& b : waiting.read()) {
      if (b.dateTime >= time) still.push_back(b);
    }
    waiting.clear();
    for (Bid& b : still) waiting.add(std::move(b));
  }

 private:
  void consider(const Auction& a, const Bid& b) {
    if (b.dateTime < a.dateTime || b.dateTime > a.expires) return;
    const auto& current = best.read();
    if (!current || better_bid(b, *current)) best.write(b);
  }
};

// (auction, winning bid) for each auction that has one, when it closes.
inline PCollection<std::pair<Auction, Bid>> winning_bids(const PCollection<Event>& events) {
  auto tagged = events.flat_map([](Event&& e, Emitter<std::pair<std::int64_t, AuctionOrBid>>& out) {
    if (e.type() == EventType::kAuction) {
      std::int64_t id = e.auction().id;
      out.emit(std::pair(id, AuctionOrBid(std::in_place_index<0>, std::move(e.auction()))));
    } else if (e.type() == EventType::kBid) {
      std::int64_t id = e.bid().auction;
      out.emit(std::pair(id, AuctionOrBid(std::in_place_index<1>, std::move(e.bid()))));
    }
  });
  return tagged.par_do(WinningBidFn{});
}

}  // namespace runnel::nexmark

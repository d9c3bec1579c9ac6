// q9 — winning bids: each auction with its winning bid, emitted once when
// the auction closes (the watermark passes its expiry).
#include "nexmark/winning_bid.hpp"

namespace runnel::nexmark {

PCollection<Q9Row> q9(const PCollection<Event>& events) {
  return winning_bids(events).map([](std::pair<Auction, Bid>&& w) {
    Auction& a = w.first;
    Bid& b = w.second;
    return Q9Row{a.id,
                 std::move(a.itemName),
                 std::move(a.description),
                 a.initialBid,
                 a.reserve,
                 a.dateTime,
                 a.expires,
                 a.seller,
                 a.category,
                 std::move(a.extra),
                 b.auction,
                 b.bidder,
                 b.price,
                 b.dateTime,
                 std::move(b.extra)};
  });
}

void build_q9(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q9(events), sink);
}

}  // namespace runnel::nexmark

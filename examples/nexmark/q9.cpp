// q9 — winning bids: each auction with its winning bid. In streaming mode
// an auction's row is updated as better bids arrive (upserts by id).
#include "nexmark/winning_bid.hpp"

namespace runnel::nexmark {

PCollection<Q9Row> q9(const PCollection<Event>& events, const QueryContext& ctx) {
  return winning_bids(events, upserts(ctx)).map([](std::pair<Auction, Bid>&& w) {
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

void build_q9(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q9(events, ctx), sink);
}

}  // namespace runnel::nexmark

// q15 — bidding statistics per day: bids, distinct bidders and distinct
// auctions, in all and by price rank. Updated as bids arrive in streaming
// mode (upserts by day).
#include "nexmark/rank_counts.hpp"

namespace runnel::nexmark {

PCollection<Q15Row> q15(const PCollection<Event>& events, const QueryContext& ctx) {
  return bids(events)
      .window_into(windows::global(), upserts(ctx))
      .map([](Bid&& b) { return std::pair(day_of(b.dateTime), std::move(b)); })
      .combine_per_key(RankCountsFn{})
      .map([](std::pair<std::string, RankCounts>&& d) {
        const auto& c = d.second;
        return Q15Row{std::move(d.first), c.bids[0],     c.bids[1],    c.bids[2],    c.bids[3],
                      c.bidders[0],       c.bidders[1],  c.bidders[2], c.bidders[3], c.auctions[0],
                      c.auctions[1],      c.auctions[2], c.auctions[3]};
      });
}

void build_q15(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q15(events, ctx), sink);
}

}  // namespace runnel::nexmark

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
      .map([](const std::pair<std::string, RankCountsFn::Accumulator>& d) {
        const auto& a = d.second;
        auto bidders = RankCountsFn::distinct(a.bidders);
        auto auctions = RankCountsFn::distinct(a.auctions);
        return Q15Row{d.first,     a.bids[0],   a.bids[1],  a.bids[2],  a.bids[3],
                      bidders[0],  bidders[1],  bidders[2], bidders[3], auctions[0],
                      auctions[1], auctions[2], auctions[3]};
      });
}

void build_q15(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q15(events, ctx), sink);
}

}  // namespace runnel::nexmark

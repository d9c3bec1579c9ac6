// q16 — channel statistics: q15 per channel and day, with the latest minute
// seen. Upserts by (channel, day) in streaming mode.
#include "nexmark/rank_counts.hpp"

namespace runnel::nexmark {

PCollection<Q16Row> q16(const PCollection<Event>& events, const QueryContext& ctx) {
  using Key = std::pair<std::string, std::string>;  // channel, day
  RankCountsFn fn;
  fn.with_minute = true;
  return bids(events)
      .window_into(windows::global(), upserts(ctx))
      .map([](Bid&& b) {
        Key k(b.channel, day_of(b.dateTime));
        return std::pair(std::move(k), std::move(b));
      })
      .combine_per_key(fn)
      .map([](const std::pair<Key, RankCountsFn::Accumulator>& d) {
        const auto& a = d.second;
        auto bidders = RankCountsFn::distinct(a.bidders);
        auto auctions = RankCountsFn::distinct(a.auctions);
        return Q16Row{d.first.first, d.first.second, a.minute,    a.bids[0],   a.bids[1],
                      a.bids[2],     a.bids[3],      bidders[0],  bidders[1],  bidders[2],
                      bidders[3],    auctions[0],    auctions[1], auctions[2], auctions[3]};
      });
}

void build_q16(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q16(events, ctx), sink);
}

}  // namespace runnel::nexmark

// q16 — channel statistics: q15 per channel and day, with the latest minute
// seen. Upserts by (channel, day) in streaming mode.
#include "nexmark/rank_counts.hpp"

namespace runnel::nexmark {

PCollection<Q16Row> q16(const PCollection<Event>& events, const QueryContext& ctx) {
  using Key = std::pair<std::string, std::string>;  // channel, day
  return bids(events)
      .window_into(windows::global(), upserts(ctx))
      .map([](Bid&& b) {
        Key k(b.channel, day_of(b.dateTime));
        return std::pair(std::move(k), std::move(b));
      })
      .combine_per_key(RankCountsFn{})
      .map([](std::pair<Key, RankCounts>&& d) {
        const auto& c = d.second;
        return Q16Row{std::move(d.first.first),
                      std::move(d.first.second),
                      hour_minute(c.minute),
                      c.bids[0],
                      c.bids[1],
                      c.bids[2],
                      c.bids[3],
                      c.bidders[0],
                      c.bidders[1],
                      c.bidders[2],
                      c.bidders[3],
                      c.auctions[0],
                      c.auctions[1],
                      c.auctions[2],
                      c.auctions[3]};
      });
}

void build_q16(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q16(events, ctx), sink);
}

}  // namespace runnel::nexmark

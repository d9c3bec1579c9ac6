// q20 — expand bid with auction: every bid with its auction's fields, for
// auctions of category 10. An unwindowed join, emitted as matches arrive.
#include "nexmark/lookup_join.hpp"

namespace runnel::nexmark {

PCollection<Q20Row> q20(const PCollection<Event>& events) {
  // Every auction joins (not only category 10): a bid waits for its auction
  // and must learn that it is not of category 10 to be dropped.
  auto kinds = by_kind(events);
  return lookup_join<Q20Row>(
      kinds.auctions, [](const Auction& a) { return a.id; }, kinds.bids,
      [](const Bid& b) { return b.auction; },
      [](const Auction& a, const Bid& b, Emitter<Q20Row>& out) {
        if (a.category != 10) return;
        out.emit(Q20Row{b.auction, b.bidder, b.price, b.channel, b.url, b.dateTime, b.extra,
                        a.itemName, a.description, a.initialBid, a.reserve, a.dateTime, a.expires,
                        a.seller, a.category, a.extra});
      });
}

void build_q20(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q20(events), sink);
}

}  // namespace runnel::nexmark

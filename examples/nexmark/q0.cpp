// q0 — pass-through: every bid, as it comes. Measures the cost of reading
// and moving events through a job.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<BidRow> q0(const PCollection<Event>& events) {
  return bids(events).map([](Bid&& b) {
    return BidRow{b.auction, b.bidder, b.price, b.dateTime, std::move(b.extra)};
  });
}

void build_q0(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q0(events), sink);
}

}  // namespace runnel::nexmark

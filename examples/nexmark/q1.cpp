// q1 — currency conversion: every bid with its price in euros.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<Q1Row> q1(const PCollection<Event>& events) {
  return bids(events).map([](Bid&& b) {
    return Q1Row{b.auction, b.bidder, 0.908 * static_cast<double>(b.price), b.dateTime,
                 std::move(b.extra)};
  });
}

void build_q1(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q1(events), sink);
}

}  // namespace runnel::nexmark

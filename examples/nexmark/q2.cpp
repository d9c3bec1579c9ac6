// q2 — selection: the bids on every 123rd auction.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<Q2Row> q2(const PCollection<Event>& events) {
  return events.filter([](const Event& e) { return is_bid(e) && e.bid().auction % 123 == 0; })
      .map([](const Event& e) {
        return Q2Row{e.bid().auction, e.bid().price};
      });
}

void build_q2(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q2(events), sink);
}

}  // namespace runnel::nexmark

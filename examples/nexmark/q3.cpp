// q3 — local item suggestion: auctions of category 10 with their seller, for
// sellers in Oregon, Idaho or California. An unwindowed join: each auction
// is emitted as soon as both it and its seller have arrived.
#include "nexmark/lookup_join.hpp"

namespace runnel::nexmark {

PCollection<Q3Row> q3(const PCollection<Event>& events) {
  auto kinds = by_kind(events);
  auto category10 = kinds.auctions.filter([](const Auction& a) { return a.category == 10; });
  return lookup_join<Q3Row>(
      kinds.people, [](const Person& p) { return p.id; }, category10,
      [](const Auction& a) { return a.seller; },
      [](const Person& p, const Auction& a, Emitter<Q3Row>& out) {
        if (p.state == "OR" || p.state == "ID" || p.state == "CA")
          out.emit(Q3Row{p.name, p.city, p.state, a.id});
      });
}

void build_q3(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q3(events), sink);
}

}  // namespace runnel::nexmark

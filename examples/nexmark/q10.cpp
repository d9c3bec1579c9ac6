// q10 — log to a file system: every bid with the day and minute it belongs
// to (the reference writes them into directories by dt and hm; here they are
// columns of each row).
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<Q10Row> q10(const PCollection<Event>& events) {
  return bids(events).map([](Bid&& b) {
    return Q10Row{b.auction,
                  b.bidder,
                  b.price,
                  b.dateTime,
                  std::move(b.extra),
                  day_of(b.dateTime),
                  hour_minute_of(b.dateTime)};
  });
}

void build_q10(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q10(events), sink);
}

}  // namespace runnel::nexmark

// q14 — a calculation: bids worth between one and fifty million euros, with
// the time of day they were placed and how many 'c's their extra holds.
#include <algorithm>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
const char* bid_time_type(Timestamp t) {
  int h = hour_of(t);
  if (h >= 8 && h <= 18) return "dayTime";
  if (h <= 6 || h >= 20) return "nightTime";
  return "otherTime";
}
}  // namespace

PCollection<Q14Row> q14(const PCollection<Event>& events) {
  return bids(events)
      .filter([](const Bid& b) {
        double euros = 0.908 * static_cast<double>(b.price);
        return euros > 1'000'000 && euros < 50'000'000;
      })
      .map([](Bid&& b) {
        auto cs = std::count(b.extra.begin(), b.extra.end(), 'c');
        return Q14Row{b.auction,
                      b.bidder,
                      0.908 * static_cast<double>(b.price),
                      bid_time_type(b.dateTime),
                      b.dateTime,
                      std::move(b.extra),
                      cs};
      });
}

void build_q14(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q14(events), sink);
}

}  // namespace runnel::nexmark

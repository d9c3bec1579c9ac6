// q12 — processing-time windows: per bidder, how many bids arrived in each
// 10 s window of the wall clock.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<BidCountRow> q12(const PCollection<Event>& events) {
  using namespace std::chrono_literals;
  // The time a bid is processed becomes its timestamp; the wall clock only
  // goes forward within an instance, as event time does within a split.
  auto arrivals = bids(events).map([](const Bid& b) {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return std::pair<std::int64_t, Timestamp>(b.bidder, now);
  });
  auto counts =
      arrivals.with_timestamps([](const std::pair<std::int64_t, Timestamp>& a) { return a.second; })
          .window_into(windows::fixed(10s))
          .map([](const std::pair<std::int64_t, Timestamp>& a) { return a.first; })
          .count_per_element();
  return with_window<BidCountRow>(counts, [](const std::pair<std::int64_t, std::uint64_t>& c,
                                             const Window& w, Emitter<BidCountRow>& out) {
    out.emit(BidCountRow{c.first, static_cast<std::int64_t>(c.second), w.start, w.end});
  });
}

void build_q12(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q12(events), sink);
}

}  // namespace runnel::nexmark

// q11 — user sessions: per bidder, how many bids in each session (bids less
// than 10 s apart).
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<BidCountRow> q11(const PCollection<Event>& events) {
  using namespace std::chrono_literals;
  auto counts = bids(events)
                    .window_into(windows::sessions(10s))
                    .map([](const Bid& b) { return b.bidder; })
                    .count_per_element();
  return with_window<BidCountRow>(counts, [](const std::pair<std::int64_t, std::uint64_t>& c,
                                             const Window& w, Emitter<BidCountRow>& out) {
    out.emit(BidCountRow{c.first, static_cast<std::int64_t>(c.second), w.start, w.end});
  });
}

void build_q11(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q11(events), sink);
}

}  // namespace runnel::nexmark

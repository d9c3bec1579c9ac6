// q7 — highest bid: in each 10 s tumbling window, the bids with the
// window's highest price.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
struct HighestBidsFn {
  struct Accumulator {
    std::int64_t price = -1;
    std::vector<BidRow> bids;
  };
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const Bid& b) const {
    if (b.price < acc.price) return;
    if (b.price > acc.price) {
      acc.price = b.price;
      acc.bids.clear();
    }
    acc.bids.push_back(BidRow{b.auction, b.bidder, b.price, b.dateTime, b.extra});
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    if (other.price > acc.price) {
      acc = std::move(other);
    } else if (other.price == acc.price) {
      acc.bids.insert(acc.bids.end(), std::make_move_iterator(other.bids.begin()),
                      std::make_move_iterator(other.bids.end()));
    }
  }
  std::vector<BidRow> extract_output(Accumulator&& acc) const { return std::move(acc.bids); }
};
RUNNEL_FIELDS(HighestBidsFn::Accumulator, price, bids);
}  // namespace

PCollection<BidRow> q7(const PCollection<Event>& events) {
  using namespace std::chrono_literals;
  return bids(events)
      .window_into(windows::fixed(10s))
      .combine_globally(HighestBidsFn{})
      .flat_map([](std::vector<BidRow>&& rows) { return std::move(rows); });
}

void build_q7(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q7(events), sink);
}

}  // namespace runnel::nexmark

// q4 — average price per category: the mean of the winning prices of each
// category's auctions. In streaming mode a category's mean is updated every
// `update_interval` as its auctions close (upserts by id).
#include "nexmark/winning_bid.hpp"

namespace runnel::nexmark {

namespace {
// The integer mean, as Flink's AVG of a BIGINT.
struct TruncatedMeanFn {
  using Accumulator = std::pair<std::int64_t, std::int64_t>;  // sum, count
  Accumulator create_accumulator() const { return {0, 0}; }
  void add_input(Accumulator& acc, std::int64_t v) const {
    acc.first += v;
    ++acc.second;
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    acc.first += o.first;
    acc.second += o.second;
  }
  std::int64_t extract_output(Accumulator&& acc) const {
    return acc.second == 0 ? 0 : acc.first / acc.second;
  }
};
}  // namespace

PCollection<Q4Row> q4(const PCollection<Event>& events, const QueryContext& ctx) {
  return winning_bids(events)
      .map([](const std::pair<Auction, Bid>& w) {
        return std::pair(w.first.category, w.second.price);
      })
      .window_into(windows::global(), upserts(ctx))
      .combine_per_key(TruncatedMeanFn{})
      .map([](const std::pair<std::int64_t, std::int64_t>& c) {
        return Q4Row{c.first, c.second};
      });
}

void build_q4(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q4(events, ctx), sink);
}

}  // namespace runnel::nexmark

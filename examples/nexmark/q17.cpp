// q17 — auction statistics per day: bids by price rank, and the lowest,
// highest, mean and total price. Upserts by (auction, day) in streaming mode.
#include <algorithm>
#include <limits>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
struct AuctionDayFn {
  struct Accumulator {
    std::int64_t bids[4] = {0, 0, 0, 0};
    std::int64_t min = std::numeric_limits<std::int64_t>::max();
    std::int64_t max = std::numeric_limits<std::int64_t>::min();
    std::int64_t sum = 0;
    auto fields() { return std::tie(bids[0], bids[1], bids[2], bids[3], min, max, sum); }
    auto fields() const { return std::tie(bids[0], bids[1], bids[2], bids[3], min, max, sum); }
  };
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, std::int64_t price) const {
    ++acc.bids[0];
    ++acc.bids[price_rank(price) + 1];
    acc.min = std::min(acc.min, price);
    acc.max = std::max(acc.max, price);
    acc.sum += price;
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    for (int i = 0; i < 4; ++i) acc.bids[i] += o.bids[i];
    acc.min = std::min(acc.min, o.min);
    acc.max = std::max(acc.max, o.max);
    acc.sum += o.sum;
  }
  Accumulator extract_output(Accumulator&& acc) const { return acc; }
};
}  // namespace

PCollection<Q17Row> q17(const PCollection<Event>& events, const QueryContext& ctx) {
  using Key = std::pair<std::int64_t, std::string>;  // auction, day
  return bids(events)
      .window_into(windows::global(), upserts(ctx))
      .map([](const Bid& b) { return std::pair(Key(b.auction, day_of(b.dateTime)), b.price); })
      .combine_per_key(AuctionDayFn{})
      .map([](const std::pair<Key, AuctionDayFn::Accumulator>& d) {
        const auto& a = d.second;
        return Q17Row{d.first.first, d.first.second, a.bids[0], a.bids[1],         a.bids[2],
                      a.bids[3],     a.min,          a.max,     a.sum / a.bids[0], a.sum};
      });
}

void build_q17(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q17(events, ctx), sink);
}

}  // namespace runnel::nexmark

// q19 — auction top-k: each auction's ten highest bids, ranked. Upserts by
// (auction, rank_number) in streaming mode.
#include <algorithm>

#include "nexmark/winning_bid.hpp"

namespace runnel::nexmark {

namespace {
// Ranked as q9 ranks the winner: higher price, then earlier, then smaller bidder and extra.
struct TopTenFn {
  using Accumulator = std::vector<Bid>;  // sorted best first, at most ten
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const Bid& b) const {
    if (acc.size() == 10 && !better_bid(b, acc.back())) return;
    acc.insert(std::upper_bound(acc.begin(), acc.end(), b, better_bid), b);
    if (acc.size() > 10) acc.pop_back();
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    for (const Bid& b : o) add_input(acc, b);
  }
  Accumulator extract_output(Accumulator&& acc) const { return std::move(acc); }
};
}  // namespace

PCollection<Q19Row> q19(const PCollection<Event>& events, const QueryContext& ctx) {
  return bids(events)
      .window_into(windows::global(), upserts(ctx))
      .map([](Bid&& b) { return std::pair(b.auction, std::move(b)); })
      .combine_per_key(TopTenFn{})
      .template flat_map<Q19Row>(
          [](std::pair<std::int64_t, std::vector<Bid>>&& top, Emitter<Q19Row>& out) {
            std::int64_t rank = 0;
            for (Bid& b : top.second) {
              out.emit(Q19Row{b.auction, b.bidder, b.price, std::move(b.channel), std::move(b.url),
                              b.dateTime, std::move(b.extra), ++rank});
            }
          });
}

void build_q19(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q19(events, ctx), sink);
}

}  // namespace runnel::nexmark

// q18 — find the last bid of each bidder on each auction. Upserts by
// (bidder, auction) in streaming mode.
#include <optional>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
// Later time, then higher price, then larger extra: the SQL's ties broken.
bool later_bid(const Bid& a, const Bid& b) {
  if (a.dateTime != b.dateTime) return a.dateTime > b.dateTime;
  if (a.price != b.price) return a.price > b.price;
  return a.extra > b.extra;
}

struct LatestBidFn {
  using Accumulator = std::optional<Bid>;
  Accumulator create_accumulator() const { return std::nullopt; }
  void add_input(Accumulator& acc, const Bid& b) const {
    if (!acc || later_bid(b, *acc)) acc = b;
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    if (o && (!acc || later_bid(*o, *acc))) acc = std::move(o);
  }
  Accumulator extract_output(Accumulator&& acc) const { return std::move(acc); }
};
}  // namespace

PCollection<FullBidRow> q18(const PCollection<Event>& events, const QueryContext& ctx) {
  using Key = std::pair<std::int64_t, std::int64_t>;  // bidder, auction
  return bids(events)
      .window_into(windows::global(), upserts(ctx))
      .map([](Bid&& b) { return std::pair(Key(b.bidder, b.auction), std::move(b)); })
      .combine_per_key(LatestBidFn{})
      .template flat_map<FullBidRow>(
          [](std::pair<Key, std::optional<Bid>>&& k, Emitter<FullBidRow>& out) {
            if (!k.second) return;
            Bid& b = *k.second;
            out.emit(FullBidRow{b.auction, b.bidder, b.price, std::move(b.channel),
                                std::move(b.url), b.dateTime, std::move(b.extra)});
          });
}

void build_q18(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q18(events, ctx), sink);
}

}  // namespace runnel::nexmark

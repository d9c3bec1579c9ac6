// q6 — average selling price by seller: per seller, the mean winning price
// of the seller's last 10 closed auctions (by expiry). In streaming mode a
// seller's mean is updated every `update_interval` (upserts by seller).
#include <algorithm>
#include <tuple>

#include "nexmark/winning_bid.hpp"

namespace runnel::nexmark {

namespace {
using Closed = std::tuple<std::int64_t, std::int64_t, std::int64_t>;  // expires, id, price

struct LastTenFn {
  using Accumulator = std::vector<Closed>;  // the latest, at most ten, unordered
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const Closed& c) const {
    acc.push_back(c);
    trim(acc);
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& o) const {
    acc.insert(acc.end(), o.begin(), o.end());
    trim(acc);
  }
  std::int64_t extract_output(Accumulator&& acc) const {
    std::int64_t sum = 0;
    for (const auto& c : acc) sum += std::get<2>(c);
    return acc.empty() ? 0 : sum / static_cast<std::int64_t>(acc.size());
  }
  static void trim(Accumulator& acc) {
    if (acc.size() <= 10) return;
    std::nth_element(acc.begin(), acc.begin() + 10, acc.end(), std::greater<>());
    acc.resize(10);
  }
};
}  // namespace

PCollection<Q6Row> q6(const PCollection<Event>& events, const QueryContext& ctx) {
  return winning_bids(events)
      .map([](const std::pair<Auction, Bid>& w) {
        return std::pair(w.first.seller, Closed{w.first.expires, w.first.id, w.second.price});
      })
      .window_into(windows::global(), upserts(ctx))
      .combine_per_key(LastTenFn{})
      .map([](const std::pair<std::int64_t, std::int64_t>& s) {
        return Q6Row{s.first, s.second};
      });
}

void build_q6(const PCollection<Event>& events, const QueryContext& ctx, const Sink& sink) {
  finish(q6(events, ctx), sink);
}

}  // namespace runnel::nexmark

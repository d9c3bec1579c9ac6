// q5 — hot items: in each 10 s window sliding every 2 s, the auctions with
// the most bids.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
// The largest count of a window and the auctions that have it.
struct MostBidsFn {
  struct Accumulator {
    std::int64_t num = -1;
    std::vector<std::int64_t> auctions;
  };
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const std::pair<std::int64_t, std::uint64_t>& count) const {
    auto num = static_cast<std::int64_t>(count.second);
    if (num > acc.num) {
      acc.num = num;
      acc.auctions.clear();
    }
    if (num == acc.num) acc.auctions.push_back(count.first);
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    if (other.num > acc.num) {
      acc = std::move(other);
    } else if (other.num == acc.num) {
      acc.auctions.insert(acc.auctions.end(), other.auctions.begin(), other.auctions.end());
    }
  }
  Accumulator extract_output(Accumulator&& acc) const { return std::move(acc); }
};
RUNNEL_FIELDS(MostBidsFn::Accumulator, num, auctions);
}  // namespace

PCollection<Q5Row> q5(const PCollection<Event>& events) {
  using namespace std::chrono_literals;
  auto counts = bids(events)
                    .window_into(windows::sliding(10s, 2s))
                    .map([](const Bid& b) { return b.auction; })
                    .count_per_element();
  // Still in their windows: the second grouping is per window too.
  auto most = counts.combine_globally(MostBidsFn{});
  return with_window<Q5Row>(
      most, [](const MostBidsFn::Accumulator& m, const Window& w, Emitter<Q5Row>& out) {
        for (auto a : m.auctions) out.emit(Q5Row{a, m.num, w.start, w.end});
      });
}

void build_q5(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q5(events), sink);
}

}  // namespace runnel::nexmark

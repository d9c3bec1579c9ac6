// q13 — bounded side input join: every bid with the value its auction id
// (mod 10,000) has in a side table of 10,000 rows.
#include <unordered_map>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
using SideRow = std::pair<std::int64_t, std::string>;

struct JoinSideFn : DoFn<Bid, Q13Row> {
  const std::vector<SideRow>* indexed = nullptr;  // the side input the index was built from
  std::unordered_map<std::int64_t, std::string> values;

  void process(const Bid& b, const std::vector<SideRow>& side, Emitter<Q13Row>& out) {
    if (indexed != &side) {
      values.clear();
      for (const auto& [k, v] : side) values.emplace(k, v);
      indexed = &side;
    }
    auto it = values.find(b.auction % kSideInputKeys);
    if (it != values.end()) out.emit(Q13Row{b.auction, b.bidder, b.price, b.dateTime, it->second});
  }
};
}  // namespace

PCollection<Q13Row> q13(const PCollection<Event>& events) {
  std::vector<SideRow> side;
  for (std::int64_t k = 0; k < kSideInputKeys; ++k)
    side.emplace_back(k, "value-" + std::to_string(k));
  auto table = events.pipeline().create(std::move(side));
  return bids(events).par_do(JoinSideFn{}, table);
}

void build_q13(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q13(events), sink);
}

}  // namespace runnel::nexmark

// q8 — new users: people who opened an auction in the same 10 s window in
// which they registered.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

PCollection<Q8Row> q8(const PCollection<Event>& events) {
  using namespace std::chrono_literals;
  auto kinds = by_kind(events);
  auto registered = kinds.people.window_into(windows::fixed(10s)).map([](const Person& p) {
    return std::pair(p.id, p.name);
  });
  auto sellers = kinds.auctions.window_into(windows::fixed(10s)).map([](const Auction& a) {
    return std::pair(a.seller, Unit{});
  });
  return with_window<Q8Row>(co_group_by_key(registered, sellers),
                            [](const auto& g, const Window& w, Emitter<Q8Row>& out) {
                              const auto& [names, opened] = g.second;
                              if (opened.empty()) return;
                              for (const auto& name : names)
                                out.emit(Q8Row{g.first, name, w.start});
                            });
}

void build_q8(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q8(events), sink);
}

}  // namespace runnel::nexmark

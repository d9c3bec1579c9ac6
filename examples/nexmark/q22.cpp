// q22 — split a url: the bid's third, fourth and fifth '/'-separated parts.
#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
// The url's part `index` (0-based) split on '/', or empty.
std::string_view part(std::string_view url, int index) {
  for (int i = 0; i < index; ++i) {
    std::size_t slash = url.find('/');
    if (slash == std::string_view::npos) return {};
    url.remove_prefix(slash + 1);
  }
  return url.substr(0, url.find('/'));
}
}  // namespace

PCollection<Q22Row> q22(const PCollection<Event>& events) {
  return bids(events).map([](const Bid& b) {
    return Q22Row{b.auction,
                  b.bidder,
                  b.price,
                  b.channel,
                  std::string(part(b.url, 3)),
                  std::string(part(b.url, 4)),
                  std::string(part(b.url, 5))};
  });
}

void build_q22(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q22(events), sink);
}

}  // namespace runnel::nexmark

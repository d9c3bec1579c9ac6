// q21 — add a channel id: the four big channels by name, the others by the
// channel_id parameter of their url; bids with neither are dropped.
#include <algorithm>
#include <cctype>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
// The value of the url's channel_id parameter (at the start or after '&').
std::optional<std::string_view> channel_id_param(std::string_view url) {
  constexpr std::string_view kName = "channel_id=";
  for (std::size_t at = url.find(kName); at != std::string_view::npos;
       at = url.find(kName, at + 1)) {
    if (at == 0 || url[at - 1] == '&') {
      std::string_view rest = url.substr(at + kName.size());
      return rest.substr(0, rest.find('&'));
    }
  }
  return std::nullopt;
}

std::optional<std::string> channel_id(const Bid& b) {
  std::string lower = b.channel;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "apple") return "0";
  if (lower == "google") return "1";
  if (lower == "facebook") return "2";
  if (lower == "baidu") return "3";
  if (auto id = channel_id_param(b.url)) return std::string(*id);
  return std::nullopt;
}
}  // namespace

PCollection<Q21Row> q21(const PCollection<Event>& events) {
  return bids(events).flat_map([](const Bid& b, Emitter<Q21Row>& out) {
    if (auto id = channel_id(b)) out.emit(Q21Row{b.auction, b.bidder, b.price, b.channel, *id});
  });
}

void build_q21(const PCollection<Event>& events, const QueryContext&, const Sink& sink) {
  finish(q21(events), sink);
}

}  // namespace runnel::nexmark

#pragma once
// An independent reference implementation of the Nexmark queries: each query's
// complete final result over a whole vector of events, computed with plain
// loops and std containers (no runnel pipeline or operators). It is the
// specification the engine's Nexmark queries are tested against.
//
//   std::vector<std::string> rows = nexmark::reference::run("q5", events);
//
// Every query returns its rows as JSON lines (json::to_json of the row struct
// of examples/nexmark/results.hpp), sorted. Times are epoch milliseconds, UTC.
// q12 (processing-time windows) has no reference: its result depends on timing.
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nexmark/results.hpp"
#include "runnel/json.hpp"
#include "runnel/nexmark.hpp"

namespace runnel::nexmark::reference {

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------
namespace detail {

inline constexpr std::int64_t kMsPerDay = 86'400'000;

// Floor division and the matching non-negative remainder (times may be negative).
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
inline std::int64_t floor_mod(std::int64_t a, std::int64_t b) { return a - floor_div(a, b) * b; }

// Start of the tumbling window of `size` ms holding time t.
inline std::int64_t window_start(std::int64_t t, std::int64_t size) {
  return t - floor_mod(t, size);
}

inline std::string pad(std::int64_t v, int width) {
  std::string s = std::to_string(v);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), '0');
  return s;
}

// "yyyy-MM-dd" of epoch ms t, UTC (Howard Hinnant's civil_from_days).
inline std::string date_of(std::int64_t t) {
  std::int64_t z = floor_div(t, kMsPerDay) + 719468;
  const std::int64_t era = floor_div(z, 146097);
  const std::int64_t doe = z - era * 146097;                                       // [0, 146096]
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  std::int64_t y = yoe + era * 400;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const std::int64_t mp = (5 * doy + 2) / 153;                       // [0, 11]
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;               // [1, 31]
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;                  // [1, 12]
  if (m <= 2) ++y;
  return pad(y, 4) + "-" + pad(m, 2) + "-" + pad(d, 2);
}

// Hour of the day (0..23) of epoch ms t, UTC.
inline std::int64_t hour_of(std::int64_t t) { return floor_mod(t, kMsPerDay) / 3'600'000; }

// "HH:mm" of epoch ms t, UTC.
inline std::string hour_minute_of(std::int64_t t) {
  const std::int64_t ms = floor_mod(t, kMsPerDay);
  return pad(ms / 3'600'000, 2) + ":" + pad(ms / 60'000 % 60, 2);
}

// The euro price of q1 and q14.
inline double euros(std::int64_t price) { return 0.908 * static_cast<double>(price); }

// q15..q17's price ranks: 1 below 10,000; 2 from 10,000 to 999,999; 3 from 1,000,000.
inline int rank_of(std::int64_t price) {
  if (price < 10'000) return 1;
  if (price < 1'000'000) return 2;
  return 3;
}

inline std::vector<const Bid*> bids_of(const std::vector<Event>& events) {
  std::vector<const Bid*> out;
  for (const Event& e : events)
    if (e.type() == EventType::kBid) out.push_back(&e.bid());
  return out;
}
inline std::vector<const Auction*> auctions_of(const std::vector<Event>& events) {
  std::vector<const Auction*> out;
  for (const Event& e : events)
    if (e.type() == EventType::kAuction) out.push_back(&e.auction());
  return out;
}
inline std::vector<const Person*> persons_of(const std::vector<Event>& events) {
  std::vector<const Person*> out;
  for (const Event& e : events)
    if (e.type() == EventType::kPerson) out.push_back(&e.person());
  return out;
}

// JSON lines of the rows, sorted.
template <class Row>
std::vector<std::string> sorted_json(const std::vector<Row>& rows) {
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (const Row& r : rows) out.push_back(json::to_json(r));
  std::sort(out.begin(), out.end());
  return out;
}

// Each auction (by its position in auctions_of) with its winning bid, the
// bids b with b.auction == a.id and a.dateTime <= b.dateTime <= a.expires
// decided by `better(x, y)` (true if x beats y). Auctions without such a bid
// are absent. Linear in the number of bids.
template <class Better>
std::map<std::size_t, const Bid*> winning_bids(const std::vector<const Auction*>& auctions,
                                               const std::vector<const Bid*>& bids, Better better) {
  std::unordered_map<std::int64_t, std::vector<std::size_t>> by_id;  // auction id -> positions
  for (std::size_t i = 0; i < auctions.size(); ++i) by_id[auctions[i]->id].push_back(i);
  std::map<std::size_t, const Bid*> winner;
  for (const Bid* b : bids) {
    auto it = by_id.find(b->auction);
    if (it == by_id.end()) continue;
    for (std::size_t i : it->second) {
      const Auction& a = *auctions[i];
      if (b->dateTime < a.dateTime || b->dateTime > a.expires) continue;
      auto [w, inserted] = winner.emplace(i, b);
      if (!inserted && better(*b, *w->second)) w->second = b;
    }
  }
  return winner;
}

// q4 and q6: the highest price wins (which bid holds it does not matter).
inline bool higher_price(const Bid& x, const Bid& y) { return x.price > y.price; }

// q9 and q19: highest price, then earliest dateTime, then smallest bidder, then
// smallest extra. (Then channel and url, only so full ties give a deterministic
// q19; q9's row has none of them.)
inline bool ranks_before(const Bid& x, const Bid& y) {
  if (x.price != y.price) return x.price > y.price;
  return std::tie(x.dateTime, x.bidder, x.extra, x.channel, x.url) <
         std::tie(y.dateTime, y.bidder, y.extra, y.channel, y.url);
}

// Bid counts and distinct bidders and auctions, in total and per price rank (q15, q16).
struct RankSets {
  std::int64_t bids[4] = {0, 0, 0, 0};  // [0] = total, [1..3] = ranks
  std::set<std::int64_t> bidders[4];
  std::set<std::int64_t> auctions[4];

  void add(const Bid& b) {
    for (int r : {0, rank_of(b.price)}) {
      ++bids[r];
      bidders[r].insert(b.bidder);
      auctions[r].insert(b.auction);
    }
  }
  template <class Row>
  void fill(Row& row) const {
    row.total_bids = bids[0];
    row.rank1_bids = bids[1];
    row.rank2_bids = bids[2];
    row.rank3_bids = bids[3];
    row.total_bidders = static_cast<std::int64_t>(bidders[0].size());
    row.rank1_bidders = static_cast<std::int64_t>(bidders[1].size());
    row.rank2_bidders = static_cast<std::int64_t>(bidders[2].size());
    row.rank3_bidders = static_cast<std::int64_t>(bidders[3].size());
    row.total_auctions = static_cast<std::int64_t>(auctions[0].size());
    row.rank1_auctions = static_cast<std::int64_t>(auctions[1].size());
    row.rank2_auctions = static_cast<std::int64_t>(auctions[2].size());
    row.rank3_auctions = static_cast<std::int64_t>(auctions[3].size());
  }
};

inline BidRow bid_row(const Bid& b) {
  return BidRow{b.auction, b.bidder, b.price, b.dateTime, b.extra};
}

inline FullBidRow full_bid_row(const Bid& b) {
  return FullBidRow{b.auction, b.bidder, b.price, b.channel, b.url, b.dateTime, b.extra};
}

inline std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// The queries
// ---------------------------------------------------------------------------

// q0: every bid passed through.
inline std::vector<std::string> q0(const std::vector<Event>& events) {
  std::vector<BidRow> rows;
  for (const Bid* b : detail::bids_of(events)) rows.push_back(detail::bid_row(*b));
  return detail::sorted_json(rows);
}

// q1: every bid with its price in euros.
inline std::vector<std::string> q1(const std::vector<Event>& events) {
  std::vector<Q1Row> rows;
  for (const Bid* b : detail::bids_of(events))
    rows.push_back(Q1Row{b->auction, b->bidder, detail::euros(b->price), b->dateTime, b->extra});
  return detail::sorted_json(rows);
}

// q2: bids on auctions whose id is a multiple of 123.
inline std::vector<std::string> q2(const std::vector<Event>& events) {
  std::vector<Q2Row> rows;
  for (const Bid* b : detail::bids_of(events))
    if (b->auction % 123 == 0) rows.push_back(Q2Row{b->auction, b->price});
  return detail::sorted_json(rows);
}

// q3: category-10 auctions joined with their seller, if the seller is in OR, ID or CA.
inline std::vector<std::string> q3(const std::vector<Event>& events) {
  std::unordered_map<std::int64_t, std::vector<const Person*>> persons;  // by id
  for (const Person* p : detail::persons_of(events))
    if (p->state == "OR" || p->state == "ID" || p->state == "CA") persons[p->id].push_back(p);
  std::vector<Q3Row> rows;
  for (const Auction* a : detail::auctions_of(events)) {
    if (a->category != 10) continue;
    auto it = persons.find(a->seller);
    if (it == persons.end()) continue;
    for (const Person* p : it->second) rows.push_back(Q3Row{p->name, p->city, p->state, a->id});
  }
  return detail::sorted_json(rows);
}

// q4: per category, the average (truncated) of its auctions' winning prices.
inline std::vector<std::string> q4(const std::vector<Event>& events) {
  const auto auctions = detail::auctions_of(events);
  const auto winners =
      detail::winning_bids(auctions, detail::bids_of(events), detail::higher_price);
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> per_category;  // sum, count
  for (const auto& [i, bid] : winners) {
    auto& [sum, count] = per_category[auctions[i]->category];
    sum += bid->price;
    ++count;
  }
  std::vector<Q4Row> rows;
  for (const auto& [category, sc] : per_category)
    rows.push_back(Q4Row{category, sc.first / sc.second});
  return detail::sorted_json(rows);
}

// q5: in each 10 s window sliding every 2 s, the auctions with the most bids.
inline std::vector<std::string> q5(const std::vector<Event>& events) {
  constexpr std::int64_t kSize = 10'000, kSlide = 2'000;
  std::map<std::int64_t, std::map<std::int64_t, std::int64_t>> counts;  // start -> auction -> n
  for (const Bid* b : detail::bids_of(events)) {
    // The windows [s, s + kSize) holding t, s a multiple of kSlide.
    const std::int64_t last = detail::window_start(b->dateTime, kSlide);
    for (std::int64_t s = last; s > b->dateTime - kSize; s -= kSlide) ++counts[s][b->auction];
  }
  std::vector<Q5Row> rows;
  for (const auto& [start, per_auction] : counts) {
    std::int64_t max = 0;
    for (const auto& [auction, n] : per_auction) max = std::max(max, n);
    for (const auto& [auction, n] : per_auction)
      if (n == max) rows.push_back(Q5Row{auction, n, start, start + kSize});
  }
  return detail::sorted_json(rows);
}

// q6: per seller, the average (truncated) winning price of the seller's last 10
// auctions with a winner, ordered by (expires, id).
inline std::vector<std::string> q6(const std::vector<Event>& events) {
  const auto auctions = detail::auctions_of(events);
  const auto winners =
      detail::winning_bids(auctions, detail::bids_of(events), detail::higher_price);
  // seller -> (expires, id, winning price) of each closed auction
  std::map<std::int64_t, std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>> closed;
  for (const auto& [i, bid] : winners) {
    const Auction& a = *auctions[i];
    closed[a.seller].emplace_back(a.expires, a.id, bid->price);
  }
  std::vector<Q6Row> rows;
  for (auto& [seller, list] : closed) {
    std::sort(list.begin(), list.end());
    const std::size_t first = list.size() > 10 ? list.size() - 10 : 0;
    std::int64_t sum = 0;
    for (std::size_t k = first; k < list.size(); ++k) sum += std::get<2>(list[k]);
    rows.push_back(Q6Row{seller, sum / static_cast<std::int64_t>(list.size() - first)});
  }
  return detail::sorted_json(rows);
}

// q7: in each 10 s tumbling window, the bids with the window's highest price.
inline std::vector<std::string> q7(const std::vector<Event>& events) {
  constexpr std::int64_t kSize = 10'000;
  const auto bids = detail::bids_of(events);
  std::map<std::int64_t, std::int64_t> max_price;  // window start -> max price
  for (const Bid* b : bids) {
    const std::int64_t w = detail::window_start(b->dateTime, kSize);
    auto [it, inserted] = max_price.emplace(w, b->price);
    if (!inserted) it->second = std::max(it->second, b->price);
  }
  std::vector<BidRow> rows;
  for (const Bid* b : bids)
    if (b->price == max_price.at(detail::window_start(b->dateTime, kSize)))
      rows.push_back(detail::bid_row(*b));
  return detail::sorted_json(rows);
}

// q8: people who opened an auction in the 10 s tumbling window they registered in.
inline std::vector<std::string> q8(const std::vector<Event>& events) {
  constexpr std::int64_t kSize = 10'000;
  std::set<std::pair<std::int64_t, std::int64_t>> selling;  // (seller, window start)
  for (const Auction* a : detail::auctions_of(events))
    selling.emplace(a->seller, detail::window_start(a->dateTime, kSize));
  std::set<std::string> distinct;
  for (const Person* p : detail::persons_of(events)) {
    const std::int64_t w = detail::window_start(p->dateTime, kSize);
    if (selling.count({p->id, w}) != 0) distinct.insert(json::to_json(Q8Row{p->id, p->name, w}));
  }
  return {distinct.begin(), distinct.end()};
}

// q9: per auction, its winning bid with the auction's fields.
inline std::vector<std::string> q9(const std::vector<Event>& events) {
  const auto auctions = detail::auctions_of(events);
  const auto winners =
      detail::winning_bids(auctions, detail::bids_of(events), detail::ranks_before);
  std::vector<Q9Row> rows;
  for (const auto& [i, b] : winners) {
    const Auction& a = *auctions[i];
    rows.push_back(Q9Row{a.id, a.itemName, a.description, a.initialBid, a.reserve, a.dateTime,
                         a.expires, a.seller, a.category, a.extra, b->auction, b->bidder, b->price,
                         b->dateTime, b->extra});
  }
  return detail::sorted_json(rows);
}

// q10: every bid with the day and hour:minute of its time.
inline std::vector<std::string> q10(const std::vector<Event>& events) {
  std::vector<Q10Row> rows;
  for (const Bid* b : detail::bids_of(events))
    rows.push_back(Q10Row{b->auction, b->bidder, b->price, b->dateTime, b->extra,
                          detail::date_of(b->dateTime), detail::hour_minute_of(b->dateTime)});
  return detail::sorted_json(rows);
}

// q11: per bidder, bid counts in session windows with a 10 s gap. Each bid's
// window is [t, t + 10 s); overlapping windows merge, so a bid joins the
// session if it is less than 10 s after the session's latest bid.
inline std::vector<std::string> q11(const std::vector<Event>& events) {
  constexpr std::int64_t kGap = 10'000;
  std::map<std::int64_t, std::vector<std::int64_t>> times;  // bidder -> bid times
  for (const Bid* b : detail::bids_of(events)) times[b->bidder].push_back(b->dateTime);
  std::vector<BidCountRow> rows;
  for (auto& [bidder, ts] : times) {
    std::sort(ts.begin(), ts.end());
    std::size_t first = 0;
    for (std::size_t k = 1; k <= ts.size(); ++k) {
      if (k < ts.size() && ts[k] < ts[k - 1] + kGap) continue;  // same session
      rows.push_back(
          BidCountRow{bidder, static_cast<std::int64_t>(k - first), ts[first], ts[k - 1] + kGap});
      first = k;
    }
  }
  return detail::sorted_json(rows);
}

// q13: bids joined with the side input: key auction % 10000, value "value-<key>".
inline std::vector<std::string> q13(const std::vector<Event>& events) {
  std::vector<Q13Row> rows;
  for (const Bid* b : detail::bids_of(events)) {
    const std::int64_t key = b->auction % kSideInputKeys;
    if (key < 0) continue;  // the side input's keys are 0..9999 (auction ids are not negative)
    rows.push_back(
        Q13Row{b->auction, b->bidder, b->price, b->dateTime, "value-" + std::to_string(key)});
  }
  return detail::sorted_json(rows);
}

// q14: bids with a euro price strictly between 1M and 50M, labelled by the hour.
inline std::vector<std::string> q14(const std::vector<Event>& events) {
  std::vector<Q14Row> rows;
  for (const Bid* b : detail::bids_of(events)) {
    const double p = detail::euros(b->price);
    if (!(p > 1'000'000 && p < 50'000'000)) continue;
    const std::int64_t h = detail::hour_of(b->dateTime);
    const char* type = (h >= 8 && h <= 18)   ? "dayTime"
                       : (h <= 6 || h >= 20) ? "nightTime"
                                             : "otherTime";
    const auto c_counts =
        static_cast<std::int64_t>(std::count(b->extra.begin(), b->extra.end(), 'c'));
    rows.push_back(Q14Row{b->auction, b->bidder, p, type, b->dateTime, b->extra, c_counts});
  }
  return detail::sorted_json(rows);
}

// q15: per day, bid counts and distinct bidders and auctions, in total and per price rank.
inline std::vector<std::string> q15(const std::vector<Event>& events) {
  std::map<std::string, detail::RankSets> per_day;
  for (const Bid* b : detail::bids_of(events)) per_day[detail::date_of(b->dateTime)].add(*b);
  std::vector<Q15Row> rows;
  for (const auto& [day, sets] : per_day) {
    Q15Row row;
    row.day = day;
    sets.fill(row);
    rows.push_back(row);
  }
  return detail::sorted_json(rows);
}

// q16: q15 per channel and day, plus the latest HH:mm of the group's bids.
inline std::vector<std::string> q16(const std::vector<Event>& events) {
  struct Group {
    detail::RankSets sets;
    std::string minute;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;  // (channel, day)
  for (const Bid* b : detail::bids_of(events)) {
    Group& g = groups[{b->channel, detail::date_of(b->dateTime)}];
    g.sets.add(*b);
    g.minute = std::max(g.minute, detail::hour_minute_of(b->dateTime));
  }
  std::vector<Q16Row> rows;
  for (const auto& [key, g] : groups) {
    Q16Row row;
    row.channel = key.first;
    row.day = key.second;
    row.minute = g.minute;
    g.sets.fill(row);
    rows.push_back(row);
  }
  return detail::sorted_json(rows);
}

// q17: per auction and day, bid counts per price rank and min, max, avg, sum of price.
inline std::vector<std::string> q17(const std::vector<Event>& events) {
  std::map<std::pair<std::int64_t, std::string>, Q17Row> groups;  // (auction, day)
  for (const Bid* b : detail::bids_of(events)) {
    const std::string day = detail::date_of(b->dateTime);
    auto [it, inserted] = groups.try_emplace({b->auction, day});
    Q17Row& r = it->second;
    if (inserted) {
      r.auction = b->auction;
      r.day = day;
      r.min_price = b->price;
      r.max_price = b->price;
    }
    ++r.total_bids;
    switch (detail::rank_of(b->price)) {
      case 1:
        ++r.rank1_bids;
        break;
      case 2:
        ++r.rank2_bids;
        break;
      default:
        ++r.rank3_bids;
        break;
    }
    r.min_price = std::min(r.min_price, b->price);
    r.max_price = std::max(r.max_price, b->price);
    r.sum_price += b->price;
  }
  std::vector<Q17Row> rows;
  for (auto& [key, r] : groups) {
    r.avg_price = r.sum_price / r.total_bids;
    rows.push_back(r);
  }
  return detail::sorted_json(rows);
}

// q18: per (bidder, auction), the latest bid: greatest dateTime, then price, then extra.
inline std::vector<std::string> q18(const std::vector<Event>& events) {
  // Full ties (same dateTime, price and extra) are broken by channel, then url,
  // only so the result is deterministic.
  const auto later = [](const Bid& x, const Bid& y) {
    return std::tie(x.dateTime, x.price, x.extra, x.channel, x.url) >
           std::tie(y.dateTime, y.price, y.extra, y.channel, y.url);
  };
  std::map<std::pair<std::int64_t, std::int64_t>, const Bid*> latest;  // (bidder, auction)
  for (const Bid* b : detail::bids_of(events)) {
    auto [it, inserted] = latest.emplace(std::make_pair(b->bidder, b->auction), b);
    if (!inserted && later(*b, *it->second)) it->second = b;
  }
  std::vector<FullBidRow> rows;
  for (const auto& [key, b] : latest) rows.push_back(detail::full_bid_row(*b));
  return detail::sorted_json(rows);
}

// q19: per auction, its 10 highest bids (price desc, dateTime, bidder, extra asc), ranked 1..10.
inline std::vector<std::string> q19(const std::vector<Event>& events) {
  constexpr std::size_t kTop = 10;
  std::map<std::int64_t, std::vector<const Bid*>> per_auction;
  for (const Bid* b : detail::bids_of(events)) per_auction[b->auction].push_back(b);
  std::vector<Q19Row> rows;
  for (auto& [auction, bids] : per_auction) {
    const std::size_t n = std::min(kTop, bids.size());
    std::partial_sort(bids.begin(), bids.begin() + static_cast<std::ptrdiff_t>(n), bids.end(),
                      [](const Bid* x, const Bid* y) { return detail::ranks_before(*x, *y); });
    for (std::size_t k = 0; k < n; ++k) {
      const Bid& b = *bids[k];
      rows.push_back(Q19Row{b.auction, b.bidder, b.price, b.channel, b.url, b.dateTime, b.extra,
                            static_cast<std::int64_t>(k + 1)});
    }
  }
  return detail::sorted_json(rows);
}

// q20: bids joined with their auction when its category is 10 (no time condition).
inline std::vector<std::string> q20(const std::vector<Event>& events) {
  std::unordered_map<std::int64_t, std::vector<const Auction*>> auctions;  // by id
  for (const Auction* a : detail::auctions_of(events))
    if (a->category == 10) auctions[a->id].push_back(a);
  std::vector<Q20Row> rows;
  for (const Bid* b : detail::bids_of(events)) {
    auto it = auctions.find(b->auction);
    if (it == auctions.end()) continue;
    for (const Auction* a : it->second)
      rows.push_back(Q20Row{b->auction, b->bidder, b->price, b->channel, b->url, b->dateTime,
                            b->extra, a->itemName, a->description, a->initialBid, a->reserve,
                            a->dateTime, a->expires, a->seller, a->category, a->extra});
  }
  return detail::sorted_json(rows);
}

// q21: bids with a channel id: the four known channels (case-insensitive) by
// number, else the url's channel_id parameter; bids with neither are dropped.
inline std::vector<std::string> q21(const std::vector<Event>& events) {
  // The value of the first "channel_id=" at the url's start or right after
  // '&', up to the next '&' or the end ("" counts as found).
  const auto url_channel_id = [](std::string_view url, std::string& out) {
    constexpr std::string_view kParam = "channel_id=";
    for (std::size_t pos = url.find(kParam); pos != std::string_view::npos;
         pos = url.find(kParam, pos + 1)) {
      if (pos != 0 && url[pos - 1] != '&') continue;
      const std::size_t begin = pos + kParam.size();
      const std::size_t end = url.find('&', begin);
      out = std::string(url.substr(begin, end == std::string_view::npos ? url.npos : end - begin));
      return true;
    }
    return false;
  };
  std::vector<Q21Row> rows;
  for (const Bid* b : detail::bids_of(events)) {
    const std::string channel = detail::lower(b->channel);
    std::string id;
    if (channel == "apple") {
      id = "0";
    } else if (channel == "google") {
      id = "1";
    } else if (channel == "facebook") {
      id = "2";
    } else if (channel == "baidu") {
      id = "3";
    } else if (!url_channel_id(b->url, id)) {
      continue;
    }
    rows.push_back(Q21Row{b->auction, b->bidder, b->price, b->channel, id});
  }
  return detail::sorted_json(rows);
}

// q22: bids with the url's '/'-separated parts 3, 4 and 5 (0-based; "" if missing).
inline std::vector<std::string> q22(const std::vector<Event>& events) {
  std::vector<Q22Row> rows;
  for (const Bid* b : detail::bids_of(events)) {
    std::vector<std::string> parts(1);
    for (char c : b->url) {
      if (c == '/') {
        parts.emplace_back();
      } else {
        parts.back() += c;
      }
    }
    const auto part = [&](std::size_t k) { return k < parts.size() ? parts[k] : std::string(); };
    rows.push_back(Q22Row{b->auction, b->bidder, b->price, b->channel, part(3), part(4), part(5)});
  }
  return detail::sorted_json(rows);
}

// ---------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------

// The sorted JSON lines of query `query` ("q0".."q22", not "q12") over `events`.
inline std::vector<std::string> run(const std::string& query, const std::vector<Event>& events) {
  using Fn = std::vector<std::string> (*)(const std::vector<Event>&);
  static const std::map<std::string, Fn> queries = {
      {"q0", q0},   {"q1", q1},   {"q2", q2},   {"q3", q3},   {"q4", q4},   {"q5", q5},
      {"q6", q6},   {"q7", q7},   {"q8", q8},   {"q9", q9},   {"q10", q10}, {"q11", q11},
      {"q13", q13}, {"q14", q14}, {"q15", q15}, {"q16", q16}, {"q17", q17}, {"q18", q18},
      {"q19", q19}, {"q20", q20}, {"q21", q21}, {"q22", q22},
  };
  auto it = queries.find(query);
  if (it == queries.end())
    throw std::invalid_argument("nexmark reference: no query '" + query + "'");
  return it->second(events);
}

// The JSON keys naming a row's group, for queries whose per-group results are
// updated in streaming mode (the final row per key is what batch mode gives);
// empty for the others.
inline std::vector<std::string> key_columns(const std::string& query) {
  if (query == "q4") return {"id"};
  if (query == "q6") return {"seller"};
  if (query == "q9") return {"id"};
  if (query == "q15") return {"day"};
  if (query == "q16") return {"channel", "day"};
  if (query == "q17") return {"auction", "day"};
  if (query == "q18") return {"bidder", "auction"};
  if (query == "q19") return {"auction", "rank_number"};
  return {};
}

}  // namespace runnel::nexmark::reference

// The list of queries and the time helpers they share.

#include "nexmark/query.hpp"

namespace runnel::nexmark {

namespace {
// Moves each event's one member to the output of its kind.
struct SplitByKindFn : DoFn<Event, Person, Auction, Bid> {
  void process(Event&& e, Emitters<Person, Auction, Bid>& out) {
    switch (e.type()) {
      case EventType::kPerson:
        out.emit<0>(std::move(e.person()));
        break;
      case EventType::kAuction:
        out.emit<1>(std::move(e.auction()));
        break;
      case EventType::kBid:
        out.emit<2>(std::move(e.bid()));
        break;
    }
  }
};
}  // namespace

EventsByKind by_kind(const PCollection<Event>& events) {
  auto [people, auctions, bids] = events.par_do(SplitByKindFn{});
  return {people, auctions, bids};
}

#define RUNNEL_NEXMARK_QUERY(n) \
  void build_##n(const PCollection<Event>&, const QueryContext&, const Sink&);
RUNNEL_NEXMARK_QUERY(q0)
RUNNEL_NEXMARK_QUERY(q1)
RUNNEL_NEXMARK_QUERY(q2)
RUNNEL_NEXMARK_QUERY(q3)
RUNNEL_NEXMARK_QUERY(q4)
RUNNEL_NEXMARK_QUERY(q5)
RUNNEL_NEXMARK_QUERY(q6)
RUNNEL_NEXMARK_QUERY(q7)
RUNNEL_NEXMARK_QUERY(q8)
RUNNEL_NEXMARK_QUERY(q9)
RUNNEL_NEXMARK_QUERY(q10)
RUNNEL_NEXMARK_QUERY(q11)
RUNNEL_NEXMARK_QUERY(q12)
RUNNEL_NEXMARK_QUERY(q13)
RUNNEL_NEXMARK_QUERY(q14)
RUNNEL_NEXMARK_QUERY(q15)
RUNNEL_NEXMARK_QUERY(q16)
RUNNEL_NEXMARK_QUERY(q17)
RUNNEL_NEXMARK_QUERY(q18)
RUNNEL_NEXMARK_QUERY(q19)
RUNNEL_NEXMARK_QUERY(q20)
RUNNEL_NEXMARK_QUERY(q21)
RUNNEL_NEXMARK_QUERY(q22)
#undef RUNNEL_NEXMARK_QUERY

const std::vector<Query>& queries() {
  static const std::vector<Query> all = {
      {"q0", "pass-through: every bid", build_q0},
      {"q1", "every bid with its price in euros", build_q1},
      {"q2", "bids on every 123rd auction", build_q2},
      {"q3", "category-10 auctions of sellers in OR, ID, CA (unwindowed join)", build_q3},
      {"q4", "average winning price per category", build_q4},
      {"q5", "hot items: most-bid auctions per 10 s window sliding every 2 s", build_q5},
      {"q6", "average winning price of each seller's last 10 auctions", build_q6},
      {"q7", "highest bids per 10 s window", build_q7},
      {"q8", "people who opened an auction in the 10 s window they registered in", build_q8},
      {"q9", "each auction's winning bid", build_q9},
      {"q10", "every bid with its day and minute", build_q10},
      {"q11", "bids per bidder session (10 s gap)", build_q11},
      {"q12", "bids per bidder per 10 s of processing time", build_q12},
      {"q13", "bids joined with a bounded side input", build_q13},
      {"q14", "bids between 1M and 50M euros, with time of day and 'c' count", build_q14},
      {"q15", "bid statistics per day", build_q15},
      {"q16", "bid statistics per channel and day", build_q16},
      {"q17", "auction statistics per day", build_q17},
      {"q18", "each bidder's last bid on each auction", build_q18},
      {"q19", "each auction's ten highest bids", build_q19},
      {"q20", "bids with their category-10 auction (unwindowed join)", build_q20},
      {"q21", "bids with a channel id", build_q21},
      {"q22", "bids with their url's directories", build_q22},
  };
  return all;
}

const Query* find_query(const std::string& name) {
  for (const auto& q : queries())
    if (name == q.name) return &q;
  return nullptr;
}

namespace {
// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}
std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}
}  // namespace

namespace {
// Writes v as `width` decimal digits ending just before `end` (snprintf was a
// tenth of q16's time).
void put_digits(char* end, int width, int v) {
  for (int i = 0; i < width; ++i, v /= 10) *--end = static_cast<char>('0' + v % 10);
}
}  // namespace

std::string day_of(Timestamp t) {
  int y = 0, m = 0, d = 0;
  civil_from_days(floor_div(t, 86'400'000), y, m, d);
  if (y < 0 || y > 9999)
    return std::to_string(y) + (m < 10 ? "-0" : "-") + std::to_string(m) + (d < 10 ? "-0" : "-") +
           std::to_string(d);
  std::string s = "0000-00-00";
  put_digits(s.data() + 4, 4, y);
  put_digits(s.data() + 7, 2, m);
  put_digits(s.data() + 10, 2, d);
  return s;
}

int hour_of(Timestamp t) { return minute_of_day(t) / 60; }

int minute_of_day(Timestamp t) {
  return static_cast<int>((t - floor_div(t, 86'400'000) * 86'400'000) / 60'000);
}

std::string hour_minute(int minute_of_day) {
  std::string s = "00:00";
  put_digits(s.data() + 2, 2, minute_of_day / 60);
  put_digits(s.data() + 5, 2, minute_of_day % 60);
  return s;
}

std::string hour_minute_of(Timestamp t) { return hour_minute(minute_of_day(t)); }

}  // namespace runnel::nexmark

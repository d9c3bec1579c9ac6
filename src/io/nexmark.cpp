// The Nexmark generator. The structure (which event is which, id ranges, hot
// items, string and price shapes, auction lengths) follows the reference
// generator of the nexmark/nexmark project; the random draws come from a
// splitmix64 stream per event instead of java.util.Random, so the values are
// alike in distribution but not byte for byte.
#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/csv.hpp"
#include "runnel/json.hpp"
#include "runnel/nexmark.hpp"

namespace runnel::nexmark {
namespace {

// The reference's constants.
constexpr std::uint64_t kPersonProportion = 1;
constexpr std::uint64_t kAuctionProportion = 3;
constexpr std::uint64_t kTotalProportion = 50;
constexpr std::int64_t kFirstPersonId = 1000;
constexpr std::int64_t kFirstAuctionId = 1000;
constexpr std::int64_t kFirstCategoryId = 10;
constexpr std::int64_t kNumCategories = 5;
constexpr std::int64_t kNumActivePeople = 1000;
constexpr std::int64_t kNumInFlightAuctions = 100;
constexpr std::int64_t kPersonIdLead = 10;
constexpr std::int64_t kAuctionIdLead = 10;
constexpr std::uint64_t kHotAuctionRatio = 2;  // 1 - 1/2 of bids go to a hot auction
constexpr std::uint64_t kHotSellersRatio = 4;
constexpr std::uint64_t kHotBiddersRatio = 4;
constexpr std::int64_t kHotBatch = 100;  // a hot item is the first of the last 100
constexpr int kAvgPersonBytes = 200;
constexpr int kAvgAuctionBytes = 500;
constexpr int kAvgBidBytes = 100;
constexpr std::uint64_t kHotChannelsRatio = 2;
constexpr int kChannels = 10'000;

constexpr std::array<const char*, 6> kStates = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::array<const char*, 10> kCities = {
    "Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland",
    "Bend",    "Redmond",     "Seattle",       "Kent",  "Cheyenne"};
constexpr std::array<const char*, 11> kFirstNames = {
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::array<const char*, 9> kLastNames = {
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"};
constexpr std::array<const char*, 4> kHotChannels = {"Google", "Facebook", "Baidu", "Apple"};

// A stream of pseudo-random numbers for one event.
class Random {
 public:
  Random(std::uint64_t seed, std::uint64_t n)
      : state_(io::mix64(seed ^ (n * 0x9e3779b97f4a7c15ULL))) {}
  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0 (Lemire's multiply-shift).
  std::int64_t next_int(std::int64_t bound) {
    return static_cast<std::int64_t>(
        (static_cast<unsigned __int128>(next()) * static_cast<std::uint64_t>(bound)) >> 64);
  }
  double next_double() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

std::int64_t last_base0_person_id(std::uint64_t event_id) {
  std::uint64_t epoch = event_id / kTotalProportion;
  std::uint64_t offset = event_id % kTotalProportion;
  if (offset >= kPersonProportion) offset = kPersonProportion - 1;
  return static_cast<std::int64_t>(epoch * kPersonProportion + offset);
}

std::int64_t last_base0_auction_id(std::uint64_t event_id) {
  auto epoch = static_cast<std::int64_t>(event_id / kTotalProportion);
  auto offset = static_cast<std::int64_t>(event_id % kTotalProportion);
  constexpr auto person = static_cast<std::int64_t>(kPersonProportion);
  constexpr auto auction = static_cast<std::int64_t>(kAuctionProportion);
  if (offset < person) {
    // About to make a person: the last auction was in the previous epoch.
    --epoch;
    offset = auction - 1;
  } else if (offset >= person + auction) {
    offset = auction - 1;  // a bid: the last auction of this epoch
  } else {
    offset -= person;
  }
  return epoch * auction + offset;
}

// One of the active people, or a few not yet created (so a bid or auction
// may name a person before the person event, as in the reference).
std::int64_t next_base0_person_id(std::uint64_t event_id, Random& r) {
  std::int64_t people = last_base0_person_id(event_id) + 1;
  std::int64_t active = std::min(people, kNumActivePeople);
  return people - active + r.next_int(active + kPersonIdLead);
}

std::int64_t next_base0_auction_id(std::uint64_t event_id, Random& r) {
  std::int64_t max_auction = last_base0_auction_id(event_id);
  std::int64_t min_auction = std::max<std::int64_t>(max_auction - kNumInFlightAuctions, 0);
  return min_auction + r.next_int(max_auction - min_auction + 1 + kAuctionIdLead);
}

// Up to max_length - 1 characters, about one in 13 a space, trimmed. One
// draw per character: its low bits choose space or letter, its high bits
// the letter.
std::string next_string(Random& r, int max_length) {
  auto len = static_cast<std::size_t>(3 + r.next_int(max_length - 3));
  std::string s(len, ' ');
  for (char& ch : s) {
    std::uint64_t x = r.next();
    if (x % 13 != 0) ch = static_cast<char>('a' + ((x >> 32) * 26 >> 32));
  }
  std::size_t b = s.find_first_not_of(' ');
  if (b == std::string::npos) return {};
  std::size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

// Random lower-case letters that `extra` padding is cut from: the padding
// is filler no query reads, so a slice of a fixed random text at a random
// offset serves (one copy per event instead of a draw per character, which
// was a third of the generator's time).
constexpr std::size_t kLetterPoolBytes = 1 << 16;
const std::string& letter_pool() {
  static const std::string pool = [] {
    Random r(20230102, 0);
    std::string s(kLetterPoolBytes, 'a');
    for (std::size_t i = 0; i < s.size(); i += 8) {
      std::uint64_t x = r.next();
      for (std::size_t k = 0; k < 8 && i + k < s.size(); ++k, x >>= 8) {
        s[i + k] = static_cast<char>('a' + ((x & 0xff) * 26 >> 8));
      }
    }
    return s;
  }();
  return pool;
}

// Padding so that an event's size is on average `average` bytes (±20%).
std::string next_extra(Random& r, int current_size, int average) {
  if (current_size > average) return {};
  average -= current_size;
  auto delta = static_cast<int>(std::lround(average * 0.2));
  int size = average - delta + (delta == 0 ? 0 : static_cast<int>(r.next_int(2 * delta)));
  const std::string& pool = letter_pool();
  auto length = static_cast<std::size_t>(size);
  auto offset =
      static_cast<std::size_t>(r.next_int(static_cast<std::int64_t>(pool.size() - length)));
  return pool.substr(offset, length);
}

// 100 * 10^(6u) for u uniform in [0, 1): cents, log-uniform from $1 to $1M.
// (exp2 of the scaled exponent: the same value as pow(10, 6u), at a fraction
// of pow's cost, which was a tenth of the generator's time.)
std::int64_t next_price(Random& r) {
  constexpr double kLog2Of10 = 3.321928094887362347870319429489390175864831393;
  return std::llround(std::exp2(r.next_double() * (6.0 * kLog2Of10)) * 100.0);
}

Timestamp time_of(const GeneratorConfig& c, std::uint64_t n) {
  return c.base_time + static_cast<Timestamp>(static_cast<unsigned __int128>(n) * 1000 / c.rate);
}

std::uint32_t reverse_bits(std::uint32_t x) {
  std::uint32_t r = 0;
  for (int i = 0; i < 32; ++i, x >>= 1) r = (r << 1) | (x & 1);
  return r;
}

// The channels and their urls, fixed for every run (the reference draws the
// urls once per process, unseeded). Half the bids copy a random one of the
// 10,000, so they sit in one block of text (not 20,000 separate strings):
// the copy then touches one cache line or two instead of missing on a string
// header and again on its characters.
struct Channels {
  struct Entry {
    std::uint32_t name_at, name_size, url_at, url_size;
  };
  std::string text;
  std::vector<Entry> entries;
  std::array<std::string, kHotChannels.size()> hot_urls;

  std::string_view name(std::size_t i) const {
    return std::string_view(text).substr(entries[i].name_at, entries[i].name_size);
  }
  std::string_view url(std::size_t i) const {
    return std::string_view(text).substr(entries[i].url_at, entries[i].url_size);
  }

  static std::string base_url(Random& r) {
    std::string url = "https://www.nexmark.com/";
    for (int i = 0; i < 3; ++i) {
      std::string part = next_string(r, 5);
      for (char& ch : part)
        if (ch == ' ') ch = '_';
      url += part.empty() ? std::string("_") : part;
      url += '/';
    }
    return url + "item.htm?query=1";
  }
  Channels() {
    Random r(20230101, 0);
    for (auto& u : hot_urls) u = base_url(r);
    entries.reserve(kChannels);
    auto append = [&](const std::string& s) {
      auto at = static_cast<std::uint32_t>(text.size());
      text += s;
      return at;
    };
    for (int i = 0; i < kChannels; ++i) {
      std::string name = "channel-" + std::to_string(i);
      std::string url = base_url(r);
      // Nine in ten carry their id, bit-reversed as the reference does.
      if (r.next_int(10) > 0) {
        auto rev = static_cast<std::int32_t>(reverse_bits(static_cast<std::uint32_t>(i)));
        url += "&channel_id=" + std::to_string(rev < 0 ? -static_cast<std::int64_t>(rev) : rev);
      }
      Entry e{};
      e.name_at = append(name);
      e.name_size = static_cast<std::uint32_t>(name.size());
      e.url_at = append(url);
      e.url_size = static_cast<std::uint32_t>(url.size());
      entries.push_back(e);
    }
  }
};

const Channels& channels() {
  static const Channels c;
  return c;
}

Person make_person(std::uint64_t n, Random& r, Timestamp t) {
  Person p;
  p.id = last_base0_person_id(n) + kFirstPersonId;
  p.name = std::string(kFirstNames[static_cast<std::size_t>(r.next_int(kFirstNames.size()))]) +
           " " + kLastNames[static_cast<std::size_t>(r.next_int(kLastNames.size()))];
  p.emailAddress = next_string(r, 7) + "@" + next_string(r, 5) + ".com";
  char card[24];
  std::snprintf(card, sizeof card, "%04d %04d %04d %04d", static_cast<int>(r.next_int(10000)),
                static_cast<int>(r.next_int(10000)), static_cast<int>(r.next_int(10000)),
                static_cast<int>(r.next_int(10000)));
  p.creditCard = card;
  p.city = kCities[static_cast<std::size_t>(r.next_int(kCities.size()))];
  p.state = kStates[static_cast<std::size_t>(r.next_int(kStates.size()))];
  p.dateTime = t;
  auto size = static_cast<int>(8 + p.name.size() + p.emailAddress.size() + p.creditCard.size() +
                               p.city.size() + p.state.size());
  p.extra = next_extra(r, size, kAvgPersonBytes);
  return p;
}

Auction make_auction(const GeneratorConfig& c, std::uint64_t n, Random& r, Timestamp t) {
  Auction a;
  a.id = last_base0_auction_id(n) + kFirstAuctionId;
  std::int64_t seller = r.next_int(kHotSellersRatio) > 0
                            ? (last_base0_person_id(n) / kHotBatch) * kHotBatch
                            : next_base0_person_id(n, r);
  a.seller = seller + kFirstPersonId;
  a.category = kFirstCategoryId + r.next_int(kNumCategories);
  a.initialBid = next_price(r);
  // Auctions last until about as many auction events later as are in flight.
  constexpr std::uint64_t kEventsForAuctions =
      kNumInFlightAuctions * kTotalProportion / kAuctionProportion;
  Timestamp horizon = time_of(c, n + kEventsForAuctions) - time_of(c, n);
  a.expires = t + 1 + r.next_int(std::max<Timestamp>(horizon * 2, 1));
  a.itemName = next_string(r, 20);
  a.description = next_string(r, 100);
  a.reserve = a.initialBid + next_price(r);
  a.dateTime = t;
  auto size = static_cast<int>(8 + a.itemName.size() + a.description.size() + 40);
  a.extra = next_extra(r, size, kAvgAuctionBytes);
  return a;
}

Bid make_bid(std::uint64_t n, Random& r, Timestamp t) {
  Bid b;
  std::int64_t auction = r.next_int(kHotAuctionRatio) > 0
                             ? (last_base0_auction_id(n) / kHotBatch) * kHotBatch
                             : next_base0_auction_id(n, r);
  b.auction = auction + kFirstAuctionId;
  std::int64_t bidder = r.next_int(kHotBiddersRatio) > 0
                            ? (last_base0_person_id(n) / kHotBatch) * kHotBatch + 1
                            : next_base0_person_id(n, r);
  b.bidder = bidder + kFirstPersonId;
  b.price = next_price(r);
  const Channels& ch = channels();
  if (r.next_int(kHotChannelsRatio) > 0) {
    auto i = static_cast<std::size_t>(r.next_int(kHotChannels.size()));
    b.channel = kHotChannels[i];
    b.url = ch.hot_urls[i];
  } else {
    auto i = static_cast<std::size_t>(r.next_int(kChannels));
    b.channel = ch.name(i);
    b.url = ch.url(i);
  }
  b.dateTime = t;
  b.extra = next_extra(r, 32, kAvgBidBytes);
  return b;
}

}  // namespace

Event event_at(const GeneratorConfig& c, std::uint64_t n) {
  Random r(c.seed, n);
  Timestamp t = time_of(c, n);
  if (c.max_delay_ms > 0)
    t -= static_cast<Timestamp>(r.next() % static_cast<std::uint64_t>(c.max_delay_ms + 1));
  std::uint64_t rem = n % kTotalProportion;
  if (rem < kPersonProportion) return Event(make_person(n, r, t));
  if (rem < kPersonProportion + kAuctionProportion) return Event(make_auction(c, n, r, t));
  return Event(make_bid(n, r, t));
}

io::GeneratorOptions generator_options(const GeneratorConfig& c) {
  if (c.rate == 0) throw std::invalid_argument("nexmark: the event rate must be > 0");
  io::GeneratorOptions g;
  g.events = c.events;
  g.rate = c.pace;
  g.shards = c.shards;
  g.seed = c.seed;
  g.start_ms = c.base_time;
  return g;
}

// --- text forms ----------------------------------------------------------------

void append_json(std::string& out, const Event& e) {
  out += "{\"event_type\":";
  out += static_cast<char>('0' + static_cast<int>(e.type()));
  switch (e.type()) {
    case EventType::kPerson:
      out += ",\"person\":";
      json::append(out, e.person());
      break;
    case EventType::kAuction:
      out += ",\"auction\":";
      json::append(out, e.auction());
      break;
    case EventType::kBid:
      out += ",\"bid\":";
      json::append(out, e.bid());
      break;
  }
  out += '}';
}

std::string parse_json(std::string_view line, Event& e) {
  thread_local json::Document doc;
  std::string err = doc.parse(line);
  if (!err.empty()) return err;
  const json::Document::Entry* type = doc.find("event_type");
  if (type == nullptr) return "event_type: missing";
  if (type->text != "0" && type->text != "1" && type->text != "2")
    return "event_type: '" + type->text + "', expected 0 (person), 1 (auction) or 2 (bid)";
  std::string path;
  switch (static_cast<EventType>(type->text[0] - '0')) {
    case EventType::kPerson:
      path = "person";
      return json::Value<Person>::read(doc, path, e.value().emplace<Person>());
    case EventType::kAuction:
      path = "auction";
      return json::Value<Auction>::read(doc, path, e.value().emplace<Auction>());
    case EventType::kBid:
      path = "bid";
      return json::Value<Bid>::read(doc, path, e.value().emplace<Bid>());
  }
  return {};
}

void append_csv(std::string& out, const Event& e) {
  out += static_cast<char>('0' + static_cast<int>(e.type()));
  out += ',';
  switch (e.type()) {
    case EventType::kPerson:
      csv::append_record(out, e.person());
      break;
    case EventType::kAuction:
      csv::append_record(out, e.auction());
      break;
    case EventType::kBid:
      csv::append_record(out, e.bid());
      break;
  }
}

std::string parse_csv(std::string_view line, Event& e) {
  thread_local std::vector<std::string_view> cols;
  thread_local std::string scratch;
  if (line.size() < 2 || line[1] != ',' || line[0] < '0' || line[0] > '2')
    return "expected the event type (0, 1 or 2) and a comma first";
  auto kind = static_cast<EventType>(line[0] - '0');
  line.remove_prefix(2);
  switch (kind) {
    case EventType::kPerson:
      return csv::parse_record(line, e.value().emplace<Person>(), cols, scratch);
    case EventType::kAuction:
      return csv::parse_record(line, e.value().emplace<Auction>(), cols, scratch);
    case EventType::kBid:
      return csv::parse_record(line, e.value().emplace<Bid>(), cols, scratch);
  }
  return {};
}

}  // namespace runnel::nexmark

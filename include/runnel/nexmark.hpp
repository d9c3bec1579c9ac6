#pragma once
// Nexmark: the online-auction events the streaming benchmark of that name is
// measured on, and their generator (after the nexmark/nexmark project's: the
// same event mix, ids, hot auctions, sellers and bidders, field sizes and
// event times; see docs/nexmark.md for where it differs).
//
//   p.read(io::nexmark({.events = 1'000'000}))            // PCollection<nexmark::Event>
//    .filter(nexmark::is_bid).map(nexmark::bid_of)        // PCollection<nexmark::Bid>
//
// Event n (0, 1, 2, ...) is a person if n % 50 == 0, an auction if n % 50 is
// 1..3, else a bid; its event time is base_time + n * 1000 / rate ms (moved
// back by up to max_delay with out-of-order delivery). Each event depends only
// on the options and n, so shards (one per parallel instance) together give
// the same events as one generator.
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>

#include "runnel/fields.hpp"
#include "runnel/generator.hpp"
#include "runnel/window.hpp"

namespace runnel::nexmark {

// Field names are the reference model's (they are the JSON keys).
struct Person {
  std::int64_t id = 0;
  std::string name;
  std::string emailAddress;
  std::string creditCard;
  std::string city;
  std::string state;
  std::int64_t dateTime = 0;  // epoch milliseconds
  std::string extra;
};

struct Auction {
  std::int64_t id = 0;
  std::string itemName;
  std::string description;
  std::int64_t initialBid = 0;
  std::int64_t reserve = 0;
  std::int64_t dateTime = 0;
  std::int64_t expires = 0;
  std::int64_t seller = 0;
  std::int64_t category = 0;
  std::string extra;
};

struct Bid {
  std::int64_t auction = 0;
  std::int64_t bidder = 0;
  std::int64_t price = 0;
  std::string channel;
  std::string url;
  std::int64_t dateTime = 0;
  std::string extra;
};

enum class EventType : std::int32_t { kPerson = 0, kAuction = 1, kBid = 2 };

// One event: a person, an auction or a bid. Only the one it is takes space
// (a variant, not three members: events are moved through every query, and
// most are bids).
class Event {
 public:
  Event() = default;  // an empty person
  Event(Person p) : value_(std::move(p)) {}
  Event(Auction a) : value_(std::move(a)) {}
  Event(Bid b) : value_(std::move(b)) {}

  EventType type() const { return static_cast<EventType>(value_.index()); }
  // The event as what it is; only valid for that type.
  const Person& person() const { return *std::get_if<Person>(&value_); }
  const Auction& auction() const { return *std::get_if<Auction>(&value_); }
  const Bid& bid() const { return *std::get_if<Bid>(&value_); }
  Person& person() { return *std::get_if<Person>(&value_); }
  Auction& auction() { return *std::get_if<Auction>(&value_); }
  Bid& bid() { return *std::get_if<Bid>(&value_); }

  Timestamp time() const {
    return std::visit([](const auto& v) -> Timestamp { return v.dateTime; }, value_);
  }

  using Value = std::variant<Person, Auction, Bid>;  // index == EventType
  const Value& value() const { return value_; }
  Value& value() { return value_; }
  auto fields() { return std::tie(value_); }  // for Coder and memory accounting
  auto fields() const { return std::tie(value_); }

 private:
  Value value_;
};

inline bool is_person(const Event& e) { return e.type() == EventType::kPerson; }
inline bool is_auction(const Event& e) { return e.type() == EventType::kAuction; }
inline bool is_bid(const Event& e) { return e.type() == EventType::kBid; }
// Moves the member out (for map() after filter(): the event is not used again).
inline Person person_of(Event&& e) { return std::move(e.person()); }
inline Auction auction_of(Event&& e) { return std::move(e.auction()); }
inline Bid bid_of(Event&& e) { return std::move(e.bid()); }
inline Timestamp event_time(const Event& e) { return e.time(); }

struct GeneratorConfig {
  std::uint64_t events = 0;  // how many; 0 = unbounded
  // Events per second of event time (the reference's default: 10 million, so
  // 100M events span 10 s of event time).
  std::uint64_t rate = 10'000'000;
  std::uint64_t seed = 0;
  Timestamp base_time = 1'700'000'000'000;  // event time of event 0: 2023-11-14T22:13:20Z
  // Out-of-order delivery: each event's time is moved back by up to this many ms.
  Timestamp max_delay_ms = 0;
  // Pacing in processing time (events per second over all shards); 0 = as fast as possible.
  double pace = 0;
  int shards = 0;  // 0 = one per parallel instance
};

RUNNEL_FIELDS(Person, id, name, emailAddress, creditCard, city, state, dateTime, extra);
RUNNEL_FIELDS(Auction, id, itemName, description, initialBid, reserve, dateTime, expires, seller,
              category, extra);
RUNNEL_FIELDS(Bid, auction, bidder, price, channel, url, dateTime, extra);

// Event n of the stream these options describe.
Event event_at(const GeneratorConfig& config, std::uint64_t n);

// One line of JSON as the nexmark/nexmark project's table: {"event_type":2,"bid":{...}}.
void append_json(std::string& out, const Event& e);
// Parses such a line; empty, or what is wrong.
std::string parse_json(std::string_view line, Event& e);
// One CSV line: event_type, then the fields of the person, auction or bid it
// is, in the order declared above.
void append_csv(std::string& out, const Event& e);
std::string parse_csv(std::string_view line, Event& e);

// The io::generator options (event indexes, shards, pacing) of a config.
io::GeneratorOptions generator_options(const GeneratorConfig& config);

struct EventAt {
  GeneratorConfig config;
  Event operator()(const io::GeneratedEvent& g) const { return event_at(config, g.index); }
};

}  // namespace runnel::nexmark

namespace runnel::io {

// The Nexmark event stream as a source: bounded if config.events > 0.
inline GeneratorIO<nexmark::Event, nexmark::EventAt> nexmark(
    const nexmark::GeneratorConfig& config) {
  return generator<nexmark::Event>(nexmark::generator_options(config), nexmark::EventAt{config});
}

}  // namespace runnel::io

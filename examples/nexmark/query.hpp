#pragma once
// What the Nexmark queries share: where their rows go, how unwindowed
// aggregations update in streaming mode, and small helpers over event times.
// Each query is in its own file (q0.cpp ... q22.cpp); queries() lists them.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <runnel/json.hpp>
#include <runnel/nexmark.hpp>
#include <runnel/runnel.hpp>

#include "nexmark/latency.hpp"
#include "nexmark/results.hpp"

namespace runnel::nexmark {

struct QueryContext {
  // Streaming mode: how often aggregations without windows (q9, q15-q19)
  // emit their groups' current results (upserts: the newest row of a group
  // replaces the earlier ones). Batch mode emits each group once.
  std::chrono::milliseconds update_interval{1000};
};

// Where a query's rows go.
struct Sink {
  enum class Kind { kBlackhole, kFile, kKafka, kCollect };
  Kind kind = Kind::kBlackhole;
  std::string path;  // kFile: the output directory; kKafka: a kafka:// url
  // kCollect: filled with the rows as JSON lines (for tests).
  std::shared_ptr<std::optional<Collected<std::string>>> collected;
  // If set, rows record their end-to-end latency on the way (paced streaming runs).
  std::shared_ptr<LatencyRecorder> latency;
};

template <class Row>
void finish(const PCollection<Row>& in, const Sink& sink) {
  PCollection<Row> rows = sink.latency ? in.par_do(LatencyProbe<Row>(sink.latency)) : in;
  if (sink.kind == Sink::Kind::kBlackhole) {
    rows.discard();
    return;
  }
  auto lines = rows.map([](const Row& r) { return json::to_json(r); });
  switch (sink.kind) {
    case Sink::Kind::kFile:
    case Sink::Kind::kKafka:
      lines.write(io::text(sink.path));
      break;
    case Sink::Kind::kCollect:
      *sink.collected = lines.collect();
      break;
    case Sink::Kind::kBlackhole:
      break;
  }
}

using QueryBuild = void (*)(const PCollection<Event>& events, const QueryContext& ctx,
                            const Sink& sink);
struct Query {
  const char* name;
  const char* description;
  QueryBuild build;
};
// q0 ... q22, in order.
const std::vector<Query>& queries();
const Query* find_query(const std::string& name);

// --- helpers the queries share ---------------------------------------------------

inline PCollection<Bid> bids(const PCollection<Event>& events) {
  return events.filter(is_bid).map([](Event&& e) { return std::move(e.bid()); });
}
inline PCollection<Auction> auctions(const PCollection<Event>& events) {
  return events.filter(is_auction).map([](Event&& e) { return std::move(e.auction()); });
}
inline PCollection<Person> people(const PCollection<Event>& events) {
  return events.filter(is_person).map([](Event&& e) { return std::move(e.person()); });
}

// The events of each kind, split in one pass. For queries that read two
// kinds: two filters on the one collection would each be handed a copy of
// every event (a collection read twice is copied for all but the last reader).
struct EventsByKind {
  PCollection<Person> people;
  PCollection<Auction> auctions;
  PCollection<Bid> bids;
};
EventsByKind by_kind(const PCollection<Event>& events);

// Streaming: the groups' results so far, every `update_interval`, each
// firing holding everything so far (accumulating).
inline Windowing upserts(const QueryContext& ctx) {
  Windowing w;
  w.trigger = triggers::repeatedly(triggers::after_processing_time(ctx.update_interval));
  w.accumulation = Accumulation::kAccumulating;
  return w;
}

// "yyyy-MM-dd" and "HH:mm" of an epoch-millisecond time, in UTC.
std::string day_of(Timestamp t);
std::string hour_minute_of(Timestamp t);  // HH:mm
int hour_of(Timestamp t);
int minute_of_day(Timestamp t);              // 0..1439
std::string hour_minute(int minute_of_day);  // HH:mm

// f(element, its window, emitter): results of a windowed grouping with their window.
template <class In, class Out, class F>
struct WithWindow : DoFn<In, Out> {
  F f;
  explicit WithWindow(F fn) : f(std::move(fn)) {}
  void process(const In& x, const ElementContext& c, Emitter<Out>& out) { f(x, c.window, out); }
};
template <class Out, class In, class F>
PCollection<Out> with_window(const PCollection<In>& in, F f) {
  return in.par_do(WithWindow<In, Out, F>(std::move(f)));
}

// The counts of q15-q17 by price rank.
inline int price_rank(std::int64_t price) { return price < 10'000 ? 0 : price < 1'000'000 ? 1 : 2; }

}  // namespace runnel::nexmark

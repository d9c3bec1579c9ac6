#pragma once
// Fraud detection: per account, a small charge (under 1.00, a card being
// tested) followed within one minute by a large one (over 500.00) raises an
// alert. The input is a CSV history of transactions (examples/data/
// transactions.csv: "account,time_ms,amount") followed by live transactions
// from a generator.
//
// The detector keeps, per account, the small charges still waiting for a
// large one and the recent large charges (MapState), and decides when an
// event-time timer one minute after a small charge fires: by then the
// watermark says every charge of that minute has arrived, whatever order they
// came in. So batch mode and streaming mode raise the same alerts (Flink's
// classic version of this example decides on arrival, which depends on the
// order records happen to arrive in).
#include <runnel/runnel.hpp>

#include <chrono>
#include <string>

namespace runnel::examples {

struct Transaction {
  std::string account;
  std::int64_t time_ms = 0;
  double amount = 0;
};
RUNNEL_FIELDS(Transaction, account, time_ms, amount);

struct FraudAlert {
  std::string account;
  std::int64_t small_time_ms = 0;
  double small_amount = 0;
  std::int64_t large_time_ms = 0;
  double large_amount = 0;
};
RUNNEL_FIELDS(FraudAlert, account, small_time_ms, small_amount, large_time_ms, large_amount);

inline constexpr double kSmallCharge = 1.00;
inline constexpr double kLargeCharge = 500.00;
inline constexpr std::int64_t kFraudWindowMs = 60'000;

struct SmallThenLarge : DoFn<std::pair<std::string, Transaction>, FraudAlert> {
  MapState<std::int64_t, double> smalls{"smalls"};  // time -> amount, waiting for a large one
  MapState<std::int64_t, double> larges{"larges"};  // time -> amount, recent large charges
  auto state() { return std::tie(smalls, larges); }

  void process(const std::pair<std::string, Transaction>& kv, KeyedContext<std::string>& ctx,
               Emitter<FraudAlert>&) {
    const Transaction& t = kv.second;
    if (t.amount < kSmallCharge) {
      smalls.put(t.time_ms, t.amount);
      ctx.set_timer(TimeDomain::kEventTime, t.time_ms + kFraudWindowMs);
    } else if (t.amount > kLargeCharge) {
      larges.put(t.time_ms, t.amount);
      ctx.set_timer(TimeDomain::kEventTime, t.time_ms + kFraudWindowMs);
    }
  }

  // The minute after some charges has passed: each small charge of that
  // minute is matched with the first large charge within it, then forgotten;
  // large charges too old to follow any small charge still to come go too.
  void on_timer(const std::string& account, Timestamp time, TimeDomain, KeyedContext<std::string>&,
                Emitter<FraudAlert>& out) {
    std::vector<std::int64_t> done;
    for (const auto& [small_time, small_amount] : smalls.entries()) {
      if (small_time + kFraudWindowMs > time) break;  // its minute is not over
      const auto& l = larges.entries();
      auto it = l.upper_bound(small_time);
      if (it != l.end() && it->first <= small_time + kFraudWindowMs) {
        out.emit(FraudAlert{account, small_time, small_amount, it->first, it->second});
      }
      done.push_back(small_time);
    }
    for (auto t : done) smalls.remove(t);
    std::vector<std::int64_t> old;
    for (const auto& [large_time, amount] : larges.entries()) {
      if (large_time + kFraudWindowMs > time) break;
      old.push_back(large_time);
    }
    for (auto t : old) larges.remove(t);
  }
};

// The live part: where the history ends (and a quiet minute later), 30
// accounts spend every 20 ms of event time; one charge in 300 is small and one
// in 600 is large, so some small charges are followed by a large one in time.
inline constexpr Timestamp kFraudLiveStartMs = 1'699'999'400'000;
inline io::GeneratorOptions fraud_live_options(bool streaming) {
  io::GeneratorOptions g;
  g.events = 30'000;
  g.rate = streaming ? 20'000 : 0;  // paced like a live feed in streaming mode
  g.shards = 2;
  g.seed = 99;
  g.start_ms = kFraudLiveStartMs;
  g.step_us = 20'000;
  g.max_delay = std::chrono::seconds(2);
  return g;
}
inline Transaction fraud_live_transaction(const io::GeneratedEvent& e) {
  std::string account = "live-" + std::to_string(e.random % 30);
  std::uint64_t kind = (e.random >> 20) % 3000;
  double amount = kind < 10   ? static_cast<double>((e.random >> 32) % 99 + 1) / 100.0  // small
                  : kind < 15 ? 600.0 + static_cast<double>((e.random >> 32) % 1400)    // large
                              : 5.0 + static_cast<double>((e.random >> 32) % 40000) / 100.0;
  return Transaction{account, e.time, amount};
}

inline void fraud(Pipeline& p, const Options& o) {
  using namespace std::chrono_literals;
  const auto strategy = watermarks::bounded_out_of_orderness(5s);
  auto history = p.read(o.source<Transaction>().skip_header())
                     .with_timestamps(&Transaction::time_ms, strategy);
  auto live =
      p.read(io::generator<Transaction>(fraud_live_options(p.streaming()), fraud_live_transaction))
          .with_timestamps(&Transaction::time_ms, strategy);
  flatten(history, live)
      .map([](const Transaction& t) { return std::make_pair(t.account, t); })
      .par_do(SmallThenLarge{})
      .write(io::csv(o.output + "/alerts"));
}

}  // namespace runnel::examples

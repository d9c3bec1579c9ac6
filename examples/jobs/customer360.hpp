#pragma once
// Customer 360: a profile per customer, updated as events happen, from
//   - purchases: a history in CSV files ("customer,time_ms,product,amount"),
//     then the live topic `purchases` (JSON), switched at a time (history then live);
//   - interactions: the live topic `interactions` (JSON: page views, support calls...);
//   - customers: the topic `customers` used as a table (JSON; the newest record
//     of each key wins, as in a compacted topic), joined in as a side input.
// Each event updates the customer's profile (keyed state) and the profile,
// enriched with the customer's name and segment, goes to the topic `profiles`
// keyed by customer: a consumer keeping the newest record per key has every
// profile as of now.
#include <runnel/runnel.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace runnel::examples {

struct Purchase {
  std::string customer;
  std::int64_t time_ms = 0;
  std::string product;
  double amount = 0;
};
RUNNEL_FIELDS(Purchase, customer, time_ms, product, amount);

struct Interaction {
  std::string customer;
  std::int64_t time_ms = 0;
  std::string kind;  // "view", "cart", "support", ...
  std::string page;
};
RUNNEL_FIELDS(Interaction, customer, time_ms, kind, page);

struct Customer {
  std::string id;
  std::string name;
  std::string segment;
};
RUNNEL_FIELDS(Customer, id, name, segment);

// One event of either kind, as the profile sees it.
struct Activity {
  std::int64_t time_ms = 0;
  std::string kind;   // "purchase" or the interaction's kind
  double amount = 0;  // purchases
};
RUNNEL_FIELDS(Activity, time_ms, kind, amount);

struct Profile {
  std::string customer;
  std::string name;  // from the customers table ("" if it has no record)
  std::string segment;
  std::uint64_t purchases = 0;
  double spend = 0;
  std::uint64_t interactions = 0;
  std::uint64_t support_calls = 0;
  std::int64_t last_seen_ms = 0;
  std::string last_activity;
  bool operator==(const Profile&) const = default;
};
RUNNEL_FIELDS(Profile, customer, name, segment, purchases, spend, interactions, support_calls,
              last_seen_ms, last_activity);

struct Customer360Options {
  std::string bootstrap;
  std::string history;                     // the purchase history's CSV files (a glob)
  std::int64_t switch_ms = 0;              // history before it, the live purchases topic from it
  std::chrono::milliseconds idle_stop{0};  // end once the live topics are idle (0: never)
};

// The profile as events arrive. The figures are sums and the latest
// activity (by event time, ties by name), so the final profile does not
// depend on the order events arrive in.
struct UpdateProfile : DoFn<std::pair<std::string, Activity>, Profile> {
  ValueState<Profile> profile{"profile"};
  auto state() { return std::tie(profile); }

  void process(const std::pair<std::string, Activity>& kv, KeyedContext<std::string>&,
               Emitter<Profile>& out) {
    Profile p = profile.value_or(Profile{});
    p.customer = kv.first;
    const Activity& a = kv.second;
    if (a.kind == "purchase") {
      ++p.purchases;
      p.spend += a.amount;
    } else {
      ++p.interactions;
      if (a.kind == "support") ++p.support_calls;
    }
    if (a.time_ms > p.last_seen_ms || (a.time_ms == p.last_seen_ms && a.kind > p.last_activity)) {
      p.last_seen_ms = a.time_ms;
      p.last_activity = a.kind;
    }
    profile.write(p);
    out.emit(p);
  }
};

// Joins the customers table in: the newest record of each customer (the
// side input holds the table topic's records).
struct AddCustomer : DoFn<Profile, std::pair<std::string, std::string>> {
  std::map<std::string, Customer> table;
  bool built = false;

  void process(const Profile& p, const std::vector<io::KafkaRecord>& side,
               Emitter<std::pair<std::string, std::string>>& out) {
    if (!built) {
      // Records in offset order per key: later ones replace earlier ones.
      std::map<std::string, std::pair<std::int64_t, Customer>> newest;
      for (const auto& r : side) {
        Customer c;
        if (!json::from_json(r.value, c).empty()) continue;  // a bad table row: no name
        auto& slot = newest[r.key];
        if (slot.second.id.empty() || r.offset > slot.first) slot = {r.offset, c};
      }
      for (auto& [key, v] : newest) table[key] = std::move(v.second);
      built = true;
    }
    Profile enriched = p;
    if (auto it = table.find(p.customer); it != table.end()) {
      enriched.name = it->second.name;
      enriched.segment = it->second.segment;
    }
    out.emit({p.customer, json::to_json(enriched)});
  }
};

inline void customer360(Pipeline& p, const Customer360Options& o) {
  auto live = [&](const char* topic) {
    return io::kafka(o.bootstrap, topic).stop_when_idle(o.idle_stop);
  };
  auto purchases =
      p.read(io::history_then_live(io::csv<Purchase>(o.history), live("purchases").json<Purchase>(),
                                   &Purchase::time_ms, o.switch_ms));
  auto interactions = p.read(live("interactions").json<Interaction>());
  auto customers = p.read(io::kafka(o.bootstrap, "customers").bounded());

  auto bought = purchases.map([](const Purchase& x) {
    return std::make_pair(x.customer, Activity{x.time_ms, "purchase", x.amount});
  });
  auto did = interactions.map([](const Interaction& x) {
    return std::make_pair(x.customer, Activity{x.time_ms, x.kind, 0.0});
  });
  flatten(bought, did)
      .par_do(UpdateProfile{})
      .par_do(AddCustomer{}, customers)
      .write(io::kafka(o.bootstrap, "profiles"));
}

}  // namespace runnel::examples

// Customer 360 (see jobs/customer360.hpp) as a program. With no flags it is a
// demo that needs nothing installed: it starts the development Kafka cluster
// in this process, fills its topics (the purchase history's last day again as
// live purchases, then new purchases, interactions, and a customers table
// with some customers updated), runs the job until the topics are idle and
// prints the newest profiles.
//
//   customer360                                   # the demo
//   customer360 --bootstrap HOST:PORT [--seed] [--history 'dir/*.csv'] [--switch-ms T]
//
// Against your own cluster the topics purchases, interactions, customers
// (JSON values) and profiles must exist; --seed fills them with the demo's data.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "jobs/customer360.hpp"

namespace {
using namespace runnel;
using examples::Customer;
using examples::Interaction;
using examples::Profile;
using examples::Purchase;

constexpr std::int64_t kDay = 24 * 3600 * 1000;

// "c07"
std::string customer_id(std::uint64_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%02llu", static_cast<unsigned long long>(n));
  return buf;
}

std::vector<Purchase> read_history(const std::string& path) {
  Pipeline p(PipelineOptions{.parallelism = 1});
  auto rows = p.read(io::csv<Purchase>(path)).collect();
  p.run();
  auto v = rows.values();
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.time_ms < b.time_ms; });
  return v;
}

// The demo's topics: the history's last day again (a topic keeps recent days,
// so history and live overlap), a day of new purchases and interactions, and
// the customers, some of them twice (a later segment).
void seed(const std::string& bootstrap, const std::vector<Purchase>& history) {
  const std::int64_t end = history.back().time_ms;
  std::vector<Purchase> purchases;
  for (const auto& x : history)
    if (x.time_ms >= end - kDay) purchases.push_back(x);
  const char* products[] = {"kettle", "headphones", "monitor", "coffee beans", "backpack"};
  const double prices[] = {39.9, 129.0, 219.0, 14.2, 59.0};
  const char* kinds[] = {"view", "view", "view", "cart", "support"};
  std::vector<Interaction> interactions;
  std::uint64_t r = 360;
  auto next = [&r] { return r = r * 6364136223846793005ULL + 1442695040888963407ULL; };
  for (int i = 0; i < 600; ++i) {
    const std::int64_t t = end + 1 + i * (kDay / 600);
    const int k = static_cast<int>(next() >> 33) % 5;
    purchases.push_back({customer_id(1 + (next() >> 33) % 40), t, products[k], prices[k]});
  }
  for (int i = 0; i < 4000; ++i)
    interactions.push_back({customer_id(1 + (next() >> 33) % 40), end + 1 + i * (kDay / 4000),
                            kinds[(next() >> 33) % 5],
                            "/p/" + std::to_string((next() >> 33) % 50)});
  std::vector<std::pair<std::string, std::string>> customers;
  const char* segments[] = {"new", "regular", "gold"};
  for (int c = 1; c <= 40; ++c) {
    const std::string id = customer_id(static_cast<std::uint64_t>(c));
    customers.emplace_back(
        id, json::to_json(Customer{id, "Customer " + std::to_string(c), segments[c % 3]}));
  }
  for (int c = 1; c <= 40; c += 4) {  // promoted later: the newest record wins
    const std::string id = customer_id(static_cast<std::uint64_t>(c));
    customers.emplace_back(
        id, json::to_json(Customer{id, "Customer " + std::to_string(c), "platinum"}));
  }
  Pipeline p(PipelineOptions{.parallelism = 1});
  auto keyed = [](const auto& x) { return std::make_pair(x.customer, json::to_json(x)); };
  p.create(purchases).map(keyed).write(io::kafka(bootstrap, "purchases"));
  p.create(interactions).map(keyed).write(io::kafka(bootstrap, "interactions"));
  p.create(customers).write(io::kafka(bootstrap, "customers"));
  p.run();
  std::printf(
      "seeded: %zu live purchases (%zu of them also in the history), %zu interactions, "
      "%zu customer records\n",
      purchases.size(), purchases.size() - 600, interactions.size(), customers.size());
}

// The newest profile of each customer in the output topic.
std::map<std::string, Profile> newest_profiles(const std::string& bootstrap, std::size_t* total) {
  Pipeline p(PipelineOptions{.parallelism = 1});
  auto records = p.read(io::kafka(bootstrap, "profiles").bounded()).collect();
  p.run();
  std::map<std::string, std::pair<std::int64_t, Profile>> newest;
  for (const auto& r : records.values()) {
    Profile x;
    if (!json::from_json(r.value, x).empty()) continue;
    auto& slot = newest[r.key];
    if (slot.second.customer.empty() || r.offset > slot.first) slot = {r.offset, x};
  }
  *total = records.size();
  std::map<std::string, Profile> out;
  for (auto& [k, v] : newest) out[k] = v.second;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  ProgramFlags flags;
  const std::string& bootstrap =
      flags.add("--bootstrap", "",
                "a Kafka cluster HOST:PORT holding the topics (default: start the development "
                "cluster and fill it)");
  const bool& seed_flag = flags.add("--seed", false, "with --bootstrap: fill its topics first");
  const std::string& history_glob = flags.add("--history", RUNNEL_EXAMPLES_DATA "/purchases.csv",
                                              "the purchase history: CSV files (a path or glob)");
  const std::int64_t& switch_ms = flags.add<std::int64_t>(
      "--switch-ms", 0,
      "when the history ends and the live topics take over, ms since the epoch (default: "
      "within the overlap)");
  if (auto rc = flags.parse(argc, argv,
                            "Customer 360: profiles from a purchase history, then live events"))
    return *rc;
  examples::Customer360Options o;
  o.bootstrap = bootstrap;
  o.history = history_glob;
  o.switch_ms = switch_ms;
  bool seed_cluster = seed_flag;
  try {
    std::unique_ptr<io::KafkaDevCluster> dev;
    if (o.bootstrap.empty()) {
      dev = std::make_unique<io::KafkaDevCluster>();
      for (const char* t : {"purchases", "interactions", "profiles"}) dev->create_topic(t, 4);
      dev->create_topic("customers", 1);
      o.bootstrap = dev->bootstrap();
      seed_cluster = true;
      std::printf("development Kafka cluster at %s\n", o.bootstrap.c_str());
    }
    const auto history = read_history(o.history);
    if (history.empty()) throw UserError("no purchases in '" + o.history + "' (--history)");
    if (o.switch_ms == 0) o.switch_ms = history.back().time_ms - kDay / 2;  // inside the overlap
    if (seed_cluster) seed(o.bootstrap, history);
    o.idle_stop = std::chrono::milliseconds(1500);

    PipelineOptions po;
    po.parallelism = 2;
    po.mode = ExecutionMode::kStreaming;
    Pipeline p(po);
    examples::customer360(p, o);
    RunResult r = p.run();
    std::size_t updates = 0;
    auto profiles = newest_profiles(o.bootstrap, &updates);
    std::printf(
        "customer360: %llu events in, %zu profile updates to 'profiles', %zu customers, "
        "%llu rejected, %.2f s\n",
        static_cast<unsigned long long>(r.records_in), updates, profiles.size(),
        static_cast<unsigned long long>(r.dead_letters), r.seconds);
    std::vector<Profile> top;
    for (auto& [k, v] : profiles) top.push_back(v);
    std::sort(top.begin(), top.end(), [](auto& a, auto& b) { return a.spend > b.spend; });
    std::printf("%-6s %-12s %-9s %9s %10s %12s %8s  %s\n", "id", "name", "segment", "purchases",
                "spend", "interactions", "support", "last activity");
    for (std::size_t i = 0; i < std::min<std::size_t>(top.size(), 10); ++i) {
      const Profile& x = top[i];
      std::printf("%-6s %-12s %-9s %9llu %10.2f %12llu %8llu  %s\n", x.customer.c_str(),
                  x.name.c_str(), x.segment.c_str(), static_cast<unsigned long long>(x.purchases),
                  x.spend, static_cast<unsigned long long>(x.interactions),
                  static_cast<unsigned long long>(x.support_calls), x.last_activity.c_str());
    }
    return 0;
  } catch (const UserError& e) {
    std::fprintf(stderr, "customer360: error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "customer360: failed: %s\n", e.what());
    return 1;
  }
}

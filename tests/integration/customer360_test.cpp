// The customer 360 example against the development cluster: a purchase
// history in CSV, live purchases overlapping it, live interactions (one
// malformed), and a customers table with updates. The newest profile of each
// customer in the output topic must equal a reference computed here from the
// same events, each counted once.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "jobs/customer360.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using examples::Customer;
using examples::Interaction;
using examples::Profile;
using examples::Purchase;

PipelineOptions one_instance() {
  PipelineOptions o;
  o.parallelism = 1;
  return o;
}

TEST(Customer360, NewestProfilesCountEveryEventOnce) {
  io::KafkaDevCluster cluster;
  for (const char* t : {"purchases", "interactions", "profiles"}) cluster.create_topic(t, 3);
  cluster.create_topic("customers", 1);
  runnel::testing::ScratchDir dir;
  const std::int64_t t0 = 1'767'000'000'000, switch_ms = t0 + 3'000'000;
  auto purchase = [&](int i) {
    return Purchase{"c" + std::to_string(i % 9), t0 + i * 1000, "p" + std::to_string(i % 4),
                    1.0 + i % 5};
  };
  // History: purchases 0..3499; live: 2500..4999 (overlapping 2500..3499); switch at 3000.
  std::string csv;
  for (int i = 0; i < 3500; ++i) {
    csv::append_record(csv, purchase(i));
    csv += '\n';
  }
  runnel::testing::write_file(dir / "history/purchases.csv", csv);
  std::vector<std::pair<std::string, std::string>> live_purchases, interactions, customers;
  for (int i = 2500; i < 5000; ++i)
    live_purchases.emplace_back(purchase(i).customer, json::to_json(purchase(i)));
  const char* kinds[] = {"view", "cart", "support"};
  std::vector<Interaction> all_interactions;
  for (int i = 0; i < 2000; ++i) {
    Interaction x{"c" + std::to_string(i % 7), switch_ms + i * 500, kinds[i % 3], "/x"};
    all_interactions.push_back(x);
    interactions.emplace_back(x.customer, json::to_json(x));
  }
  interactions.emplace_back("c1", R"({"customer":"c1","time_ms":"late"})");  // a dead letter
  for (int c = 0; c < 9; ++c)
    customers.emplace_back(
        "c" + std::to_string(c),
        json::to_json(Customer{"c" + std::to_string(c), "N" + std::to_string(c), "old"}));
  customers.emplace_back("c3", json::to_json(Customer{"c3", "N3", "new"}));  // the newest wins
  {
    Pipeline p(one_instance());
    p.create(live_purchases).write(io::kafka(cluster.bootstrap(), "purchases"));
    p.create(interactions).write(io::kafka(cluster.bootstrap(), "interactions"));
    p.create(customers).write(io::kafka(cluster.bootstrap(), "customers"));
    p.run();
  }

  std::map<std::string, Profile> want;
  auto touch = [&](const std::string& c, std::int64_t t, const std::string& kind) {
    Profile& x = want[c];
    x.customer = c;
    x.name = "N" + c.substr(1);
    x.segment = c == "c3" ? "new" : "old";
    if (t > x.last_seen_ms || (t == x.last_seen_ms && kind > x.last_activity)) {
      x.last_seen_ms = t;
      x.last_activity = kind;
    }
    return &x;
  };
  for (int i = 0; i < 5000; ++i) {  // each purchase once, whichever side it came from
    Purchase x = purchase(i);
    Profile* pr = touch(x.customer, x.time_ms, "purchase");
    ++pr->purchases;
    pr->spend += x.amount;
  }
  for (const auto& x : all_interactions) {
    Profile* pr = touch(x.customer, x.time_ms, x.kind);
    ++pr->interactions;
    if (x.kind == "support") ++pr->support_calls;
  }

  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  Pipeline p(o);
  examples::Customer360Options c;
  c.bootstrap = cluster.bootstrap();
  c.history = dir / "history/*.csv";
  c.switch_ms = switch_ms;
  c.idle_stop = std::chrono::milliseconds(1500);
  examples::customer360(p, c);
  auto rejected = p.dead_letters().collect();
  RunResult r = p.run();
  EXPECT_EQ(r.dead_letters, 1u);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected.values()[0].source.rfind("interactions-", 0), 0u);

  Pipeline q(one_instance());
  auto out = q.read(io::kafka(cluster.bootstrap(), "profiles").bounded()).collect();
  q.run();
  std::map<std::string, std::pair<std::int64_t, Profile>> newest;
  for (const auto& rec : out.values()) {
    Profile x;
    ASSERT_EQ(json::from_json(rec.value, x), "") << rec.value;
    EXPECT_EQ(rec.key, x.customer);
    auto& slot = newest[rec.key];
    if (slot.second.customer.empty() || rec.offset > slot.first) slot = {rec.offset, x};
  }
  // One profile update per event counted: 5000 purchases and 2000 interactions.
  EXPECT_EQ(out.size(), 7000u);
  ASSERT_EQ(newest.size(), want.size());
  for (auto& [customer, x] : want) {
    Profile got = newest[customer].second;
    EXPECT_NEAR(got.spend, x.spend, 1e-6) << customer;
    got.spend = x.spend;
    EXPECT_EQ(got, x) << customer << ": " << json::to_json(got) << " want " << json::to_json(x);
  }
}

}  // namespace

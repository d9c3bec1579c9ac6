// Planner decisions on small graphs built through the typed API.
#include "plan/planner.hpp"

#include <gtest/gtest.h>

#include <runnel/runnel.hpp>

namespace {
using namespace runnel;

// A logical graph written by hand, node by node.
struct Graph {
  std::vector<NodeSpec> nodes;
  int add(NodeSpec s) {
    nodes.push_back(std::move(s));
    return static_cast<int>(nodes.size()) - 1;
  }
};

std::vector<std::string> op_names(const runtime::PhysicalTask& t) {
  std::vector<std::string> names;
  for (const auto& op : t.ops) names.push_back(op.name);
  return names;
}

NodeSpec source(const std::string& name) {
  NodeSpec s;
  s.name = name;
  s.kind = OperatorKind::kSource;
  s.op = std::make_shared<detail::CreateSource<int>>(std::vector<int>{});
  return s;
}

NodeSpec element_wise(const std::string& name, int input) {
  NodeSpec s;
  s.name = name;
  s.kind = OperatorKind::kElementWise;
  s.op = std::make_shared<detail::FlattenOp>();
  s.inputs = {PortRef{input, 0}};
  return s;
}

NodeSpec keyed(const std::string& name, int input, bool liftable) {
  NodeSpec s;
  s.name = name;
  s.kind = OperatorKind::kKeyed;
  s.op = std::make_shared<detail::FlattenOp>();
  s.inputs = {PortRef{input, 0}};
  if (liftable) {
    s.partial = std::make_shared<detail::FlattenOp>();
    s.merge = std::make_shared<detail::FlattenOp>();
  }
  return s;
}

// A source that never ends (as a live topic): only its boundedness matters here.
class EndlessSource final : public Operator {
 public:
  bool bounded() const override { return false; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext&,
                                                std::vector<Output*>) const override {
    return nullptr;
  }
};

TEST(Planner, DecidesTheExecutionMode) {
  Graph bounded;
  bounded.add(element_wise("map", bounded.add(source("read"))));
  EXPECT_FALSE(plan::streaming_mode(bounded.nodes, ExecutionMode::kAuto));
  EXPECT_FALSE(plan::streaming_mode(bounded.nodes, ExecutionMode::kBatch));
  EXPECT_TRUE(plan::streaming_mode(bounded.nodes, ExecutionMode::kStreaming));
  Graph live = bounded;
  NodeSpec topic = source("live topic");
  topic.op = std::make_shared<EndlessSource>();
  live.add(std::move(topic));
  EXPECT_TRUE(plan::streaming_mode(live.nodes, ExecutionMode::kAuto));
  EXPECT_TRUE(plan::streaming_mode(live.nodes, ExecutionMode::kStreaming));
  try {
    plan::streaming_mode(live.nodes, ExecutionMode::kBatch);
    FAIL() << "batch mode over an endless source";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'live topic' never ends"), std::string::npos) << e.what();
  }
}

TEST(Planner, FusesElementWiseChainsIntoTheSourceTask) {
  Graph g;
  int src = g.add(source("read"));
  int m = g.add(element_wise("map", src));
  int f = g.add(element_wise("filter", m));
  NodeSpec sink = element_wise("write", f);
  sink.kind = OperatorKind::kSink;
  g.add(sink);
  auto plan = plan::make_physical_plan(g.nodes, {4, true, true});
  ASSERT_EQ(plan.tasks.size(), 1u);
  EXPECT_EQ(op_names(plan.tasks[0]), (std::vector<std::string>{"read", "map", "filter", "write"}));
  EXPECT_EQ(plan.tasks[0].parallelism, 4);
  EXPECT_TRUE(plan.edges.empty());
  EXPECT_EQ(plan.tasks[0].ops[1].fused_consumers[0], std::vector<int>{2});

  auto unfused = plan::make_physical_plan(g.nodes, {4, true, false});
  EXPECT_EQ(unfused.tasks.size(), 4u);
  for (const auto& e : unfused.edges) EXPECT_EQ(e.kind, ExchangeKind::kForward);
}

TEST(Planner, LiftsCombinersBeforeTheHashExchange) {
  Graph g;
  int src = g.add(source("read"));
  int m = g.add(element_wise("flat_map", src));
  int c = g.add(keyed("count", m, true));
  g.add(element_wise("format", c));
  auto plan = plan::make_physical_plan(g.nodes, {2, true, true});
  ASSERT_EQ(plan.tasks.size(), 2u);
  EXPECT_EQ(op_names(plan.tasks[0]),
            (std::vector<std::string>{"read", "flat_map", "count (partial)"}));
  EXPECT_EQ(op_names(plan.tasks[1]), (std::vector<std::string>{"count (merge)", "format"}));
  ASSERT_EQ(plan.edges.size(), 1u);
  EXPECT_EQ(plan.edges[0].kind, ExchangeKind::kHash);
  EXPECT_EQ(plan.edges[0].from_op, 2);

  auto unlifted = plan::make_physical_plan(g.nodes, {2, false, true});
  EXPECT_EQ(op_names(unlifted.tasks[0]), (std::vector<std::string>{"read", "flat_map"}));
  EXPECT_EQ(op_names(unlifted.tasks[1]), (std::vector<std::string>{"count", "format"}));
}

TEST(Planner, DoesNotLiftWhatCannotBeLifted) {
  Graph g;
  int src = g.add(source("read"));
  g.add(keyed("group_by_key", src, false));
  auto plan = plan::make_physical_plan(g.nodes, {2, true, true});
  ASSERT_EQ(plan.tasks.size(), 2u);
  EXPECT_EQ(op_names(plan.tasks[0]), (std::vector<std::string>{"read"}));
  EXPECT_EQ(plan.edges[0].kind, ExchangeKind::kHash);
}

TEST(Planner, SideInputsAreBroadcastAndParallelismChangesRebalance) {
  Graph g;
  int main_src = g.add(source("main"));
  NodeSpec side_src = source("side");
  side_src.parallelism = 1;
  int side = g.add(side_src);
  NodeSpec pd;
  pd.name = "par_do (side input)";
  pd.kind = OperatorKind::kMultiInput;
  pd.op = std::make_shared<detail::FlattenOp>();
  pd.inputs = {PortRef{main_src, 0}, PortRef{side, 0}};
  pd.input_exchanges = {ExchangeKind::kForward, ExchangeKind::kBroadcast};
  int p = g.add(pd);
  NodeSpec single = element_wise("single", p);
  single.parallelism = 1;
  g.add(single);
  auto plan = plan::make_physical_plan(g.nodes, {3, true, true});
  ASSERT_EQ(plan.tasks.size(), 4u);
  ASSERT_EQ(plan.edges.size(), 3u);
  EXPECT_EQ(plan.edges[0].kind, ExchangeKind::kForward);    // main -> par_do, same parallelism
  EXPECT_EQ(plan.edges[1].kind, ExchangeKind::kBroadcast);  // side -> every par_do instance
  EXPECT_EQ(plan.edges[2].kind, ExchangeKind::kRebalance);  // 3 instances -> 1
  EXPECT_EQ(plan.tasks[3].parallelism, 1);
}

TEST(Planner, ExplainShowsWhatIsFused) {
  PipelineOptions o;
  o.parallelism = 2;
  Pipeline p(o);
  p.create(std::vector<std::string>{"a"})
      .map([](const std::string& s) { return s + "!"; })
      .filter([](const std::string& s) { return !s.empty(); })
      .count_per_element()
      .collect();
  std::string text = p.explain();
  EXPECT_NE(text.find("Task 0 (parallelism 2)\n  * create  [uid 'create']\n  + map\n  + "
                      "filter\n  + count_per_element (partial)\n"),
            std::string::npos)
      << text;
  // Stateless steps are left out of the derived ids.
  EXPECT_NE(text.find("  * count_per_element (merge)  [uid 'create/count_per_element']"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("<- hash(key group) from task 0 [count_per_element (partial)]"),
            std::string::npos)
      << text;
}

TEST(Planner, DerivedIdsFollowTheStatefulTransformsUpstream) {
  auto ids = [](bool more) {
    Pipeline p;
    auto in = p.create(std::vector<std::string>{"a"});
    if (more) in.map([](const std::string& s) { return s.size(); }).sum().collect();
    auto counts = (more ? in.filter([](const std::string& s) { return !s.empty(); }) : in)
                      .count_per_element();
    counts.map([](const auto& kv) { return kv.first; }).count_per_element().collect();
    if (more) in.count_per_element().discard();
    return p.explain();
  };
  const std::string before = ids(false), after = ids(true);
  for (const char* id :
       {"[uid 'create/count_per_element']", "[uid 'create/count_per_element/count_per_element']"}) {
    EXPECT_NE(before.find(id), std::string::npos) << before;
    EXPECT_NE(after.find(id), std::string::npos) << after;
  }
  // The same name after the same stateful transforms: numbered in order.
  EXPECT_NE(after.find("[uid 'create/count_per_element #2']"), std::string::npos) << after;
}

}  // namespace

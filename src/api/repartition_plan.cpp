#include "api/repartition_plan.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "io/kafka/repartition_ops.hpp"
#include "runnel/error.hpp"

namespace runnel::api {
namespace {

// Edge numbers are the plan's, the same in every member and every run.
std::string topic_of(const PipelineOptions& o, std::size_t edge) {
  return fmt::format("runnel-{}-rp-{}", o.job_id, edge);
}

io::KafkaIO cluster_of(const PipelineOptions& o) {
  io::KafkaIO cluster;
  cluster.bootstrap = o.job_bootstrap;
  cluster.properties = o.job_kafka_properties;
  return cluster;
}

}  // namespace

void cut_exchanges_between_shares(runtime::PhysicalPlan& plan, const PipelineOptions& o) {
  const io::KafkaIO cluster = cluster_of(o);
  const std::size_t edges = plan.edges.size();
  for (std::size_t ei = 0; ei < edges; ++ei) {
    runtime::PhysicalEdge& e = plan.edges[ei];
    if (e.kind != ExchangeKind::kHash && e.kind != ExchangeKind::kBroadcast) continue;
    const std::string step = plan.tasks.at(static_cast<std::size_t>(e.to_task)).ops.at(0).name;
    if (e.kind == ExchangeKind::kBroadcast)
      throw UserError(fmt::format(
          "'{}' needs a broadcast exchange, which a job spread over members (--job-id) cannot do "
          "yet; run it in one process (drop --job-id)",
          step));
    if (!e.partitioner || !e.partitioner->encodable())
      throw UserError(fmt::format(
          "'{}': in a job spread over members (--job-id) its input crosses between members "
          "through Kafka, so its type needs a Coder (RUNNEL_FIELDS on a struct, or a Coder "
          "specialisation); or run it in one process (drop --job-id)",
          step));
    if (o.job_id.empty() || o.job_bootstrap.empty())
      throw UserError(fmt::format(
          "'{}': a keyed step of a run that reads share {} of {} needs the job's id and Kafka "
          "cluster (PipelineOptions::job_id, job_bootstrap)",
          step, o.share, o.shares));
    io::RepartitionEdge re;
    re.topic = cluster;
    re.topic.topic = topic_of(o, ei);
    re.shard = o.share;
    re.shards = o.shares;
    re.partitioner = e.partitioner;

    // The producing operator's records go to the writer, in its task.
    runtime::PhysicalTask& from = plan.tasks.at(static_cast<std::size_t>(e.from_task));
    auto& out = from.ops.at(static_cast<std::size_t>(e.from_op))
                    .out_edges.at(static_cast<std::size_t>(e.from_port));
    out.erase(std::remove(out.begin(), out.end(), static_cast<int>(ei)), out.end());
    runtime::FusedOperator writer;
    writer.name = step + " (to other shards)";
    const std::string to_uid = plan.tasks.at(static_cast<std::size_t>(e.to_task)).ops.at(0).uid;
    writer.uid = fmt::format("{} (input {} to other shards)", to_uid, e.to_input);
    writer.kind = OperatorKind::kSink;
    writer.op = io::repartition_writer(re);
    writer.num_outputs = 0;
    from.ops.push_back(std::move(writer));
    from.ops.at(static_cast<std::size_t>(e.from_op))
        .fused_consumers.at(static_cast<std::size_t>(e.from_port))
        .push_back(static_cast<int>(from.ops.size()) - 1);

    // This shard's partition feeds the keyed step, through the same
    // exchange (now within the shard).
    runtime::FusedOperator reader;
    reader.name = step + " (from every shard)";
    reader.uid = fmt::format("{} (input {} from every shard)", to_uid, e.to_input);
    reader.kind = OperatorKind::kSource;
    reader.op = io::repartition_reader(re);
    reader.num_outputs = 1;
    reader.fused_consumers.resize(1);
    reader.out_edges = {{static_cast<int>(ei)}};
    runtime::PhysicalTask task;
    task.parallelism = 1;
    task.ops.push_back(std::move(reader));
    plan.tasks.push_back(std::move(task));
    e.from_task = static_cast<int>(plan.tasks.size()) - 1;
    e.from_op = 0;
    e.from_port = 0;
  }
}

void create_repartition_topics(const runtime::PhysicalPlan& plan, const PipelineOptions& o) {
  std::vector<std::pair<std::string, int>> topics;
  for (std::size_t ei = 0; ei < plan.edges.size(); ++ei)
    if (plan.edges[ei].kind == ExchangeKind::kHash) topics.emplace_back(topic_of(o, ei), o.shares);
  if (topics.empty()) return;
  const std::vector<int> counts = io::ensure_job_topics(cluster_of(o), topics);
  for (std::size_t i = 0; i < topics.size(); ++i) {
    if (counts.at(i) != o.shares)
      throw UserError(fmt::format(
          "topic '{}' has {} partitions but the job has {} shards: a repartition topic needs one "
          "per shard (the development cluster makes every topic with 4: give such a job 4 "
          "shards, or create the topic with {} partitions first)",
          topics[i].first, counts.at(i), o.shares, o.shares));
  }
}

}  // namespace runnel::api

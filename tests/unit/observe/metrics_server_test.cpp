// The metrics endpoint: the Prometheus exposition of known figures, a Kafka
// source's consumer lag scraped over HTTP while a job runs, and a clear error
// for a port in use.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <runnel/runnel.hpp>
#include <runnel/version.hpp>
#include <set>
#include <thread>

#include "core/job_metrics.hpp"
#include "observe/metrics_server.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;

std::shared_ptr<JobMetrics> two_task_job() {
  auto m = std::make_shared<JobMetrics>("test");
  m->set_plan({{2, {{"generator", "source"}, {"map", "element-wise"}}},
               {1, {{"sum", "keyed"}, {"write text 'out/\"x\"'", "sink"}}, 16}},
              {{0, 1, 1, "hash(key group)"}});
  m->instance(0, 0).ops[0].counters.records_out = 10;
  m->instance(0, 1).ops[0].counters.records_out = 5;
  m->instance(0, 0).ops[1].counters.records_in = 10;
  m->instance(1, 0).ops[1].counters.records_in = 3;
  m->instance(1, 0).ops[1].watermark = 1'000;
  m->instance(1, 0).queue_fill = 4;
  m->checkpoint_completed({7, 0.25, 4096, 1'700'000'000'000});
  m->set_consumer_lag("clicks", 3, 42);
  return m;
}

TEST(MetricsServer, ExpositionHasEachFamilyOnceAndTheFigures) {
  auto m = two_task_job();
  const std::string text = observe::prometheus_text(*m);
  EXPECT_NE(text.find("runnel_job_records_in_total 15\n"), std::string::npos) << text;
  EXPECT_NE(text.find("runnel_job_records_out_total 3\n"), std::string::npos);
  EXPECT_NE(text.find("runnel_operator_records_out_total{instance=\"1\",kind=\"source\",op=\"0\","
                      "operator=\"generator\",task=\"0\"} 5\n"),
            std::string::npos);
  // Quotes in an operator's name are escaped.
  EXPECT_NE(text.find("operator=\"write text 'out/\\\"x\\\"'\""), std::string::npos);
  EXPECT_NE(text.find("runnel_task_queue_fill_ratio{instance=\"0\",task=\"1\"} 0.25\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("runnel_operator_watermark_milliseconds{instance=\"0\",kind=\"sink\",op=\"1\","),
      std::string::npos);
  EXPECT_NE(text.find("runnel_checkpoint_last_id 7\n"), std::string::npos);
  EXPECT_NE(text.find("runnel_checkpoint_last_size_bytes 4096\n"), std::string::npos);
  EXPECT_NE(text.find("runnel_checkpoints_completed_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("runnel_kafka_consumer_lag_records{partition=\"3\",topic=\"clicks\"} 42\n"),
            std::string::npos);
  EXPECT_NE(text.find("runnel_job_state{state=\"created\"} 1\n"), std::string::npos);
  // Every family declared once, every sample after its declaration.
  std::set<std::string> declared;
  std::istringstream lines(text);
  std::string line;
  const std::regex sample(R"(^([a-z_]+)(\{.*\})? [-+0-9.e]+$)");
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string name = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(declared.insert(name).second) << "declared twice: " << name;
    } else if (line.rfind("#", 0) != 0 && !line.empty()) {
      std::smatch match;
      ASSERT_TRUE(std::regex_match(line, match, sample)) << line;
      EXPECT_TRUE(declared.count(match[1].str())) << "no TYPE before " << line;
    }
  }
}

TEST(MetricsServer, ServesTheThreeEndpoints) {
  auto m = two_task_job();
  observe::MetricsServer server(m, 0);
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics->body.find("runnel_job_records_in_total 15"), std::string::npos);
  auto job = client.Get("/api/job");
  ASSERT_TRUE(job);
  EXPECT_NE(job->body.find("\"records_in\":15"), std::string::npos) << job->body;
  EXPECT_NE(job->body.find("\"name\":\"generator\""), std::string::npos);
  EXPECT_NE(job->body.find(std::string("\"runnel_version\":\"") + runnel::version() + "\""),
            std::string::npos)
      << job->body;
  auto page = client.Get("/");
  ASSERT_TRUE(page);
  EXPECT_NE(page->body.find("<title>runnel job</title>"), std::string::npos);
  EXPECT_EQ(client.Get("/nothing")->status, 404);
}

// Only GET of its paths; a body is bounded; another address is served when
// asked for, and is the one the URL names.
TEST(MetricsServer, RefusesOtherMethodsAndLargeBodies) {
  observe::MetricsServer server(two_task_job(), 0);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()) + "/");
  httplib::Client client("127.0.0.1", server.port());
  EXPECT_EQ(client.Post("/metrics", "x", "text/plain")->status, 405);
  EXPECT_EQ(client.Delete("/api/job")->status, 405);
  const std::string big(observe::MetricsServer::kMaxRequestBody + 1, 'x');
  EXPECT_EQ(client.Post("/metrics", big, "text/plain")->status, 413);
  EXPECT_EQ(client.Head("/metrics")->status, 200);
  EXPECT_EQ(client.Get("/metrics")->status, 200);  // and it still serves
}

TEST(MetricsServer, ServesOnTheAddressItIsGiven) {
  observe::MetricsServer server(two_task_job(), 0, "0.0.0.0");
  EXPECT_EQ(server.url(), "http://0.0.0.0:" + std::to_string(server.port()) + "/");
  httplib::Client client("127.0.0.1", server.port());
  EXPECT_EQ(client.Get("/metrics")->status, 200);
  EXPECT_THROW(observe::MetricsServer(two_task_job(), 0, "192.0.2.1"), std::runtime_error);
}

// A member of a scaled-out job: its shards come and go while it serves.
TEST(MetricsServer, AMemberServesEachOfItsShards) {
  std::mutex mu;
  observe::MemberFigures now{"orders", "member-1", {}};
  observe::MetricsServer server(
      [&] {
        std::lock_guard lock(mu);
        return now;
      },
      0);
  httplib::Client client("127.0.0.1", server.port());
  // No shard yet: a page to wait on, not a crash.
  auto none = client.Get("/api/job");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 503);
  EXPECT_NE(none->body.find("no shard"), std::string::npos) << none->body;
  auto other = two_task_job();
  other->instance(0, 0).ops[0].counters.records_out = 100;
  {
    std::lock_guard lock(mu);
    now.shards = {{2, two_task_job()}, {5, other}};
  }
  const std::string text = client.Get("/metrics")->body;
  EXPECT_NE(text.find("runnel_job_records_in_total{shard=\"2\"} 15\n"), std::string::npos) << text;
  EXPECT_NE(text.find("runnel_job_records_in_total{shard=\"5\"} 105\n"), std::string::npos);
  EXPECT_NE(text.find("runnel_member_shards{job_id=\"orders\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("runnel_operator_records_out_total{instance=\"1\",kind=\"source\",op=\"0\","
                      "operator=\"generator\",shard=\"5\",task=\"0\"} 5\n"),
            std::string::npos);
  // Each family once, though two shards registered it.
  EXPECT_EQ(text.find("# TYPE runnel_job_records_in_total"),
            text.rfind("# TYPE runnel_job_records_in_total"));
  // The lowest shard by default, another on request, an unknown one refused.
  auto first = client.Get("/api/job");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_NE(first->body.find("\"records_in\":15"), std::string::npos) << first->body;
  EXPECT_NE(first->body.find("\"shard\":2"), std::string::npos) << first->body;
  EXPECT_NE(first->body.find("\"shards\":[2,5]"), std::string::npos) << first->body;
  auto fifth = client.Get("/api/job?shard=5");
  ASSERT_TRUE(fifth);
  EXPECT_NE(fifth->body.find("\"records_in\":105"), std::string::npos) << fifth->body;
  EXPECT_EQ(client.Get("/api/job?shard=7")->status, 404);
  auto member = client.Get("/api/member");
  ASSERT_TRUE(member);
  EXPECT_NE(member->body.find("\"member_id\":\"member-1\""), std::string::npos) << member->body;
  EXPECT_NE(member->body.find("\"shard\":5"), std::string::npos) << member->body;
  EXPECT_NE(member->body.find("\"records_in\":105"), std::string::npos) << member->body;
  // A shard handed over leaves the page.
  {
    std::lock_guard lock(mu);
    now.shards.erase(now.shards.begin());
  }
  EXPECT_EQ(client.Get("/metrics")->body.find("shard=\"2\""), std::string::npos);
  EXPECT_EQ(client.Get("/api/job?shard=2")->status, 404);
}

// Figures outlive their run (a member's page holds them): the bytes read stay
// the last count, not a pointer into a gone executor.
TEST(MetricsServer, BytesReadOutliveTheirCount) {
  JobMetrics m("test");
  {
    std::atomic<std::uint64_t> count{0};
    m.attach_bytes_read(&count);
    count = 1234;
    EXPECT_EQ(m.bytes_read(), 1234u);
    m.detach_bytes_read();
  }
  EXPECT_EQ(m.bytes_read(), 1234u);
}

TEST(MetricsServer, PortInUseIsAClearError) {
  observe::MetricsServer first(two_task_job(), 0);
  PipelineOptions o;
  o.parallelism = 1;
  o.progress = false;
  o.metrics_port = first.port();
  Pipeline p(o);
  p.create(std::vector<int>{1, 2, 3}).collect();
  try {
    p.run();
    FAIL() << "ran on a port in use";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--metrics-port"), std::string::npos) << e.what();
  }
}

// A running job's Kafka source reports its lag per partition, scraped over
// HTTP while the job works through a topic's backlog.
TEST(MetricsServer, KafkaSourceLagIsScrapedWhileTheJobRuns) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("backlog", 4);
  {
    std::vector<std::pair<std::string, std::string>> records;
    for (int i = 0; i < 20'000; ++i)
      records.emplace_back(std::to_string(i), "v" + std::to_string(i));
    PipelineOptions o;
    o.parallelism = 1;
    o.progress = false;
    Pipeline p(o);
    p.create(records).write(io::kafka(cluster.bootstrap(), "backlog"));
    p.run();
  }
  std::atomic<int> port{0};
  std::atomic<bool> seen_all{false};
  RunResult result;
  std::thread job([&] {
    PipelineOptions o;
    o.parallelism = 2;
    o.progress = false;
    o.mode = ExecutionMode::kStreaming;
    o.metrics_port = 0;
    o.on_metrics_port = [&](int p) { port = p; };
    Pipeline p(o);
    // The backlog drains slowly until the test has seen every partition's lag.
    p.read(io::kafka(cluster.bootstrap(), "backlog").stop_when_idle(1500ms))
        .map([&seen_all](const io::KafkaRecord& r) {
          thread_local int n = 0;
          if (!seen_all && ++n % 5 == 0) std::this_thread::sleep_for(1ms);
          return r.value;
        })
        .collect();
    result = p.run();
  });
  while (port == 0) std::this_thread::sleep_for(10ms);
  httplib::Client client("127.0.0.1", port);
  const std::regex lag(
      R"re(runnel_kafka_consumer_lag_records\{partition="(\d)",topic="backlog"\} (\d+))re");
  std::set<std::string> partitions;
  std::int64_t largest = 0;
  for (int i = 0; i < 1000 && partitions.size() < 4; ++i) {
    auto res = client.Get("/metrics");
    if (res) {
      for (std::sregex_iterator it(res->body.begin(), res->body.end(), lag), end; it != end; ++it) {
        partitions.insert((*it)[1].str());
        largest = std::max<std::int64_t>(largest, std::stoll((*it)[2].str()));
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  seen_all = true;
  job.join();
  EXPECT_EQ(partitions.size(), 4u);
  EXPECT_GT(largest, 0);
  EXPECT_LE(largest, 20'000);
  EXPECT_EQ(result.records_in, 20'000u);
}

}  // namespace

// A Kafka input whose topic does not exist: an error that names it and the
// topics that do exist, and no topic created by asking (a typo must not
// become an empty topic); or, told to wait, the job reads the topic once it
// appears. Against the development cluster, which creates topics on demand
// as a broker with auto.create.topics.enable does.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <runnel/runnel.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io/kafka/kafka_client.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;

PipelineOptions options(ExecutionMode mode) {
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = mode;
  o.progress = false;
  return o;
}

std::vector<std::string> topics_of(const std::string& bootstrap) {
  io::KafkaIO io = io::kafka(bootstrap, "");
  auto client = io::kafka_client::make_client(RD_KAFKA_CONSUMER, io, {{"group.id", "look"}});
  std::vector<std::string> names;
  for (const auto& [name, partitions] :
       io::kafka_client::list_topics(client.get(), bootstrap, 5000ms))
    names.push_back(name);
  return names;
}

// The message of the UserError `run` throws, or "" if it throws none.
template <class F>
std::string user_error_of(F&& run) {
  try {
    run();
  } catch (const UserError& e) {
    return e.what();
  }
  return "";
}

TEST(KafkaTopic, AMissingTopicIsAnErrorAndIsNotCreated) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("lines", 2);
  const auto read_in = [&](io::KafkaIO in, ExecutionMode mode) {
    return user_error_of([&] {
      Pipeline p(options(mode));
      p.read(in).collect();
      p.run();
    });
  };
  const std::string b = cluster.bootstrap();
  for (const auto& [in, mode] : std::vector<std::pair<io::KafkaIO, ExecutionMode>>{
           {io::kafka(b, "linez").bounded(), ExecutionMode::kBatch},
           {io::kafka(b, "linez"), ExecutionMode::kStreaming},
           {io::kafka(b, "linez").subscribe(), ExecutionMode::kStreaming},
           {io::kafka(b, "linez").only_partitions({0}).bounded(), ExecutionMode::kBatch}}) {
    const std::string why = read_in(in, mode);
    EXPECT_NE(why.find("topic 'linez' at " + b + " does not exist"), std::string::npos) << why;
    EXPECT_NE(why.find("topics there: lines"), std::string::npos) << why;
    EXPECT_NE(why.find("--wait-for-topic"), std::string::npos) << why;
  }
  const auto topics = topics_of(b);
  EXPECT_EQ(std::count(topics.begin(), topics.end(), "linez"), 0) << fmt::format("{}", topics);
  EXPECT_EQ(std::count(topics.begin(), topics.end(), "lines"), 1);
}

TEST(KafkaTopic, AJobToldToWaitReadsTheTopicOnceItExists) {
  io::KafkaDevCluster cluster;
  const std::string b = cluster.bootstrap();
  std::vector<std::string> values;
  for (int i = 0; i < 500; ++i) values.push_back("v" + std::to_string(i));
  std::string later_failed;
  std::thread later([&] {
    try {
      std::this_thread::sleep_for(1500ms);
      cluster.create_topic("late", 3);
      Pipeline p(options(ExecutionMode::kBatch));
      p.create(values).write(io::kafka(b, "late"));
      p.run();
    } catch (const std::exception& e) {
      later_failed = e.what();
    }
  });
  Pipeline p(options(ExecutionMode::kStreaming));
  // (Idle for 6 s once it reads: the records come within a second of the topic.)
  auto got = p.read(io::kafka(b, "late").wait_for_topic().stop_when_idle(6s)).collect();
  p.run();
  later.join();
  ASSERT_EQ(later_failed, "");
  std::vector<std::string> read;
  for (const auto& r : got.values()) read.push_back(r.value);
  std::sort(read.begin(), read.end());
  std::sort(values.begin(), values.end());
  EXPECT_EQ(read, values);
}

struct Click {
  std::string user;
  Timestamp time = 0;
};
RUNNEL_FIELDS(Click, user, time);

// (Named Kafka*: the TSan build leaves out the tests that run the
// development cluster, librdkafka being uninstrumented.)
// An unbounded job does not wait for its end to be judged: past the limit
// while it runs, it fails (with nothing of it committed beyond checkpoints).
TEST(KafkaRejectedLimit, AStreamingJobFailsWhileItRuns) {
  io::KafkaDevCluster cluster;
  cluster.create_topic("clicks", 2);
  std::vector<std::string> values;
  for (int i = 0; i < 3000; ++i)
    values.push_back(i % 3 == 0 ? "not json" : fmt::format(R"({{"user":"u{}","time":{}}})", i, i));
  {
    Pipeline p(options(ExecutionMode::kBatch));
    p.create(values).write(io::kafka(cluster.bootstrap(), "clicks"));
    p.run();
  }
  for (const auto& [count, fraction] :
       std::vector<std::pair<std::uint64_t, double>>{{100, 1.0}, {UINT64_MAX, 0.1}}) {
    PipelineOptions o = options(ExecutionMode::kStreaming);
    o.max_rejected = count;
    o.max_rejected_fraction = fraction;
    Pipeline p(o);
    // Never ends by itself: only the check while it runs ends it (without
    // it, the test runs into ctest's timeout).
    p.read(io::kafka(cluster.bootstrap(), "clicks").json<Click>()).collect();
    const std::string why = user_error_of([&] { p.run(); });
    EXPECT_NE(why.find("records rejected"), std::string::npos) << why;
    EXPECT_NE(why.find(count == 100 ? "more than the 100 allowed" : "more than the 10% allowed"),
              std::string::npos)
        << why;
  }
}

}  // namespace

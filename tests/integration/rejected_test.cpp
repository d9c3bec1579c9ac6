// Rejected records, loud: --max-rejected fails a job that rejects too many
// (its output not committed), --dead-letters sends them to a directory or a
// Kafka topic, and a kafka:// input naming no topic fails with the topics
// there. Through run_job, as the CLI and run_main call it, and the CLI itself.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <runnel/kafka.hpp>
#include <runnel/runnel.hpp>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "api/job_cli.hpp"
#include "integration/cli_runner.hpp"
#include "test_util.hpp"

namespace {
using runnel::testing::run_cli;
using runnel::testing::ScratchDir;
using runnel::testing::shell_quote;
using namespace std::chrono_literals;

struct Sale {
  std::string sku;
  int quantity = 0;
  double price = 0;
};
RUNNEL_FIELDS(Sale, sku, quantity, price);

void sales_job(runnel::Pipeline& p, const runnel::Options& o) {
  p.read(o.csv_input<Sale>())
      .map([](const Sale& s) { return std::make_pair(s.sku, s.quantity * s.price); })
      .write(o.csv_output());
}

// Five lines, three of them bad.
void write_sales(const ScratchDir& dir) {
  runnel::testing::write_file(dir / "in/sales.csv", "a,1,2.5\nb,x,1\nc,3\n\nd,4,0.5\n");
}

runnel::api::JobFlags flags_for(const ScratchDir& dir) {
  runnel::api::JobFlags flags;
  flags.options.input = dir / "in";
  flags.options.output = dir / "out";
  flags.no_progress = true;
  flags.parallelism = 2;
  return flags;
}

std::vector<std::string> lines_in(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir) ? runnel::testing::read_part_lines(dir)
                                      : std::vector<std::string>{};
}

TEST(Rejected, MoreThanMaxRejectedFailsTheJobAndCommitsNothing) {
  // Three of five rejected: over 2 and 50%, within 3 and 61%.
  for (const auto& [limit, fails] : std::vector<std::pair<std::string, bool>>{
           {"2", true}, {"50%", true}, {"3", false}, {"61%", false}}) {
    ScratchDir dir;
    write_sales(dir);
    auto flags = flags_for(dir);
    flags.max_rejected = limit;
    EXPECT_EQ(runnel::api::run_job("sales", flags, sales_job, false), fails ? 2 : 0) << limit;
    EXPECT_EQ(std::filesystem::exists(dir / "out/_SUCCESS"), !fails) << limit;
    EXPECT_EQ(lines_in(dir / "out").size(), fails ? 0u : 2u) << limit;
    EXPECT_EQ(lines_in(dir / "out/_rejected").size(), fails ? 0u : 3u) << limit;
  }
}

TEST(Rejected, TheCliSaysHowManyAndWhichLimit) {
  ScratchDir dir;
  write_sales(dir);
  // A built-in job over typed CSV records: iot's readings.
  runnel::testing::write_file(dir / "r/readings.csv",
                              "sensor-1,1000,20.5\nnot a reading\nsensor-2,1001,abc\n");
  auto r = run_cli("run iot --input " + shell_quote(dir / "r") + " --output " +
                   shell_quote(dir / "o") + " --mode batch --no-progress --max-rejected 1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("records rejected, more than the 1 allowed (--max-rejected"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "o/_SUCCESS"));
  auto bad = run_cli("run wordcount --input /etc/hostname --output " + shell_quote(dir / "w") +
                     " --max-rejected lots");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--max-rejected 'lots' is neither a count nor a percentage"),
            std::string::npos)
      << bad.output;
  auto inside = run_cli("run wordcount --input /etc/hostname --output " + shell_quote(dir / "w") +
                        " --dead-letters " + shell_quote(dir / "w/bad"));
  EXPECT_EQ(inside.exit_code, 2) << inside.output;
  EXPECT_NE(inside.output.find("is inside --output"), std::string::npos) << inside.output;
  auto wait = run_cli("run wordcount --input /etc/hostname --output " + shell_quote(dir / "w") +
                      " --wait-for-topic");
  EXPECT_EQ(wait.exit_code, 2) << wait.output;
  EXPECT_NE(wait.output.find("--wait-for-topic is for a kafka:// --input"), std::string::npos)
      << wait.output;
}

TEST(Rejected, DeadLettersToADirectoryOfTheirOwn) {
  ScratchDir dir;
  write_sales(dir);
  auto flags = flags_for(dir);
  flags.options.dead_letters = dir / "bad";
  ASSERT_EQ(runnel::api::run_job("sales", flags, sales_job, false), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "out/_rejected"));
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out").size(), 2u);
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "bad").size(), 3u);
}

TEST(Rejected, DeadLettersToAKafkaTopicAsJson) {
  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("dlq", 1);
  ScratchDir dir;
  write_sales(dir);
  auto flags = flags_for(dir);
  flags.options.dead_letters = "kafka://" + cluster.bootstrap() + "/dlq";
  ASSERT_EQ(runnel::api::run_job("sales", flags, sales_job, false), 0);
  EXPECT_FALSE(std::filesystem::exists(dir / "out/_rejected"));

  runnel::PipelineOptions po;
  po.parallelism = 1;
  po.progress = false;
  runnel::Pipeline p(po);
  auto got = p.read(runnel::io::kafka(cluster.bootstrap(), "dlq").bounded()).collect();
  p.run();
  std::map<std::uint64_t, nlohmann::json> by_line;
  for (const auto& rec : got.values()) {
    auto j = nlohmann::json::parse(rec.value);
    by_line[j.at("line").get<std::uint64_t>()] = j;
  }
  ASSERT_EQ(by_line.size(), 3u);
  const std::string in = dir / "in/sales.csv";
  EXPECT_EQ(by_line[2].at("source"), in);
  EXPECT_EQ(by_line[2].at("reason"), "column 2: 'x' is not an integer");
  EXPECT_EQ(by_line[2].at("record"), "b,x,1");
  EXPECT_EQ(by_line[3].at("reason"), "expected 3 columns, found 2");
  EXPECT_EQ(by_line[4].at("record"), "");
}

TEST(Rejected, AKafkaInputWithoutItsTopicSaysSo) {
  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("readings", 2);
  ScratchDir dir;
  const std::string url = "kafka://" + cluster.bootstrap() + "/readngs";
  for (const std::string bounded : {" --bounded", ""}) {
    auto r = run_cli("run wordcount --input " + url + bounded + " --output " +
                     shell_quote(dir / ("o" + bounded)) + " --no-progress");
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("topic 'readngs' at " + cluster.bootstrap() +
                            " does not exist (topics there: readings)"),
              std::string::npos)
        << r.output;
  }
}

}  // namespace

// Kafka through the CLI, with a client no one here wrote: kcat produces what
// runnel reads and reads (read_committed) what runnel writes, against the
// development cluster (here in the test process; `runnel kafka dev` serves
// the same cluster from its own process).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <runnel/kafka.hpp>
#include <sstream>
#include <string>

#include "integration/cli_runner.hpp"
#include "test_util.hpp"

namespace {
using runnel::testing::read_part_lines;
using runnel::testing::run_cli;
using runnel::testing::ScratchDir;
using runnel::testing::shell_quote;

bool have_kcat() { return std::system("command -v kcat >/dev/null 2>&1") == 0; }

// Runs a shell command; returns its standard output.
std::string shell(const std::string& cmd, int* exit_code = nullptr) {
  std::string out;
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = ::pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::vector<std::string> sorted_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  return lines;
}

// 3,000 lines of words and the word counts ("word,count", sorted).
std::pair<std::string, std::vector<std::string>> corpus() {
  const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta", "kafka", "runnel"};
  std::map<std::string, int> counts;
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    for (int w = 0; w <= i % 4; ++w) {
      const std::string& word = words[(i * 7 + w * 3) % words.size()];
      text += word + (w < i % 4 ? " " : "\n");
      ++counts[word];
    }
  }
  std::vector<std::string> want;
  for (const auto& [w, n] : counts) want.push_back(w + "," + std::to_string(n));
  return {text, want};
}

TEST(KafkaCli, KcatProducesRunnelCountsTheTopicsHistory) {
  if (!have_kcat()) GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh installs it)";
  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("words", 3);
  ScratchDir dir;
  auto [text, want] = corpus();
  runnel::testing::write_file(dir / "words.txt", text);
  int rc = -1;
  shell("kcat -P -b " + cluster.bootstrap() + " -t words -l " + shell_quote(dir / "words.txt"),
        &rc);
  ASSERT_EQ(rc, 0);
  auto r = run_cli("run wordcount --input kafka://" + cluster.bootstrap() +
                   "/words --bounded --no-progress -p 2 --output " + shell_quote(dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3000 records in"), std::string::npos) << r.output;
  EXPECT_EQ(read_part_lines(dir / "out"), want);
}

TEST(KafkaCli, RunnelWritesWhatKcatReadsCommitted) {
  if (!have_kcat()) GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh installs it)";
  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("counts", 2);
  ScratchDir dir;
  auto [text, want] = corpus();
  runnel::testing::write_file(dir / "in/words.txt", text);
  auto r = run_cli("run wordcount --no-progress -p 2 --input " + shell_quote(dir / "in") +
                   " --output kafka://" + cluster.bootstrap() + "/counts");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  int rc = -1;
  std::string got = shell(
      "kcat -C -e -q -X isolation.level=read_committed -b " + cluster.bootstrap() + " -t counts",
      &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(sorted_lines(got), want);
}

TEST(KafkaCli, DevClusterProduceConsumeAndTopics) {
  // `runnel kafka dev` prints its address and ends by itself with --for.
  auto dev = run_cli("kafka dev --topic t --partitions 2 --for 200ms");
  EXPECT_EQ(dev.exit_code, 0) << dev.output;
  EXPECT_NE(dev.output.find("127.0.0.1:"), std::string::npos) << dev.output;

  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("t", 2);
  const std::string b = cluster.bootstrap();
  int rc = -1;
  shell("printf 'k1:one\\nk2:two\\nthree\\n' | " + std::string(RUNNEL_CLI) + " kafka produce -b " +
            b + " -t t -K : 2>/dev/null",
        &rc);
  ASSERT_EQ(rc, 0);
  std::string consumed =
      shell(std::string(RUNNEL_CLI) + " kafka consume -b " + b + " -t t -K = 2>/dev/null", &rc);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(sorted_lines(consumed), (std::vector<std::string>{"k1=one", "k2=two", "three"}));
  auto topics = run_cli("kafka topics -b " + b);
  ASSERT_EQ(topics.exit_code, 0) << topics.output;
  EXPECT_NE(topics.output.find("t "), std::string::npos) << topics.output;
}

TEST(KafkaCli, BadKafkaFlagsSayWhatIsWrong) {
  ScratchDir dir;
  runnel::testing::write_file(dir / "in.txt", "a b\n");
  auto bounded = run_cli("run wordcount --input " + shell_quote(dir / "in.txt") +
                         " --bounded --output " + shell_quote(dir / "out"));
  EXPECT_EQ(bounded.exit_code, 2);
  EXPECT_NE(bounded.output.find("--bounded is for a kafka:// --input"), std::string::npos)
      << bounded.output;
  auto url = run_cli("run wordcount --input kafka://127.0.0.1:9092 --bounded --output " +
                     shell_quote(dir / "out"));
  EXPECT_EQ(url.exit_code, 2);
  EXPECT_NE(url.output.find("not a Kafka URL"), std::string::npos) << url.output;
  auto prop = run_cli(
      "run wordcount --input kafka://127.0.0.1:9092/t --kafka-property nonsense "
      "--output " +
      shell_quote(dir / "out"));
  EXPECT_EQ(prop.exit_code, 2);
  EXPECT_NE(prop.output.find("key=value"), std::string::npos) << prop.output;
  auto unknown = run_cli(
      "run wordcount --input kafka://127.0.0.1:9092/t --bounded "
      "--kafka-property no.such.property=1 --output " +
      shell_quote(dir / "out"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("no.such.property"), std::string::npos) << unknown.output;
}

}  // namespace

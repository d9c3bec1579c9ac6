// Kafka through the CLI, with a client no one here wrote: kcat produces what
// runnel reads and reads (read_committed) what runnel writes, against the
// development cluster (here in the test process; `runnel kafka dev` serves
// the same cluster from its own process).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <runnel/kafka.hpp>
#include <runnel/runnel.hpp>
#include <sstream>
#include <string>

#include "api/job_cli.hpp"
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

struct Sale {
  std::string sku;
  int quantity = 0;
  double price = 0;
};
RUNNEL_FIELDS(Sale, sku, quantity, price);

// The README's pipeline, run as run_main runs it, over `input`; returns the
// exit code. `mode`: auto, batch or streaming; `format`, `output_format`: the flags.
int run_revenue(const std::string& input, const std::filesystem::path& out, bool bounded,
                const std::string& mode, const std::string& format = "",
                const std::string& output_format = "") {
  runnel::api::JobFlags flags;
  flags.options.input = input;
  flags.options.output = out;
  flags.options.bounded = bounded;
  flags.options.format = format;
  flags.options.output_format = output_format;
  flags.options.pipeline.parallelism = 2;
  flags.mode = mode;
  flags.no_progress = true;
  return runnel::api::run_job(
      "revenue", flags,
      [](runnel::Pipeline& p, const runnel::Options& o) {
        p.read(o.source<Sale>())
            .map([](const Sale& s) { return std::make_pair(s.sku, s.quantity * s.price); })
            .sum_per_key()
            .write(o.sink());
      },
      false);
}

// 2,000 sales as CSV and as JSON lines, 8 of them bad in each; prices in
// quarters, so every sum is exact whatever order it adds in.
struct SalesText {
  std::string csv, json;
  int bad = 0;
};
SalesText sales_text() {
  SalesText t;
  for (int i = 0; i < 2000; ++i) {
    if (i % 250 == 7) {
      const bool wrong_type = i % 500 == 7;
      t.csv += wrong_type ? "sku-x,not-a-number,1\n" : "sku-y,3\n";
      t.json += wrong_type ? "{\"sku\":\"sku-x\",\"quantity\":\"many\",\"price\":1}\n"
                           : "{\"sku\":\"sku-y\",\"quantity\":3\n";
      ++t.bad;
      continue;
    }
    const std::string sku = "sku-" + std::to_string(i % 13);
    const std::string quantity = std::to_string(i % 5 + 1);
    const std::string price = std::to_string(1 + (i % 8) * 0.25);
    t.csv += sku + "," + quantity + "," + price + "\n";
    t.json += "{\"sku\":\"" + sku + "\",\"quantity\":" + quantity + ",\"price\":" + price + "}\n";
  }
  return t;
}

TEST(KafkaCli, TheReadmesTypedPipelineReadsTopicsAsItReadsFiles) {
  // "Over last month's files or over a live topic: same code": the same
  // records, produced by kcat one per value, give the same sums and the same
  // rejected records from a bounded topic, in both modes and both formats,
  // as from a file.
  if (!have_kcat()) GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh installs it)";
  runnel::io::KafkaDevCluster cluster;
  ScratchDir dir;
  const SalesText text = sales_text();
  runnel::testing::write_file(dir / "sales.csv", text.csv);
  runnel::testing::write_file(dir / "sales.jsonl", text.json);
  for (const char* topic : {"sales-csv", "sales-json"}) {
    cluster.create_topic(topic, 3);
    const auto file = dir / (std::string(topic) == "sales-csv" ? "sales.csv" : "sales.jsonl");
    int rc = -1;
    shell("kcat -P -b " + cluster.bootstrap() + " -t " + topic + " -l " + shell_quote(file), &rc);
    ASSERT_EQ(rc, 0);
  }

  ASSERT_EQ(run_revenue(dir / "sales.csv", dir / "files", false, "auto"), 0);
  const auto want = read_part_lines(dir / "files");
  ASSERT_EQ(want.size(), 13u);
  ASSERT_EQ(read_part_lines(dir / "files/_rejected").size(), static_cast<std::size_t>(text.bad));
  // JSON lines in (the format from the extension), CSV out: the same.
  ASSERT_EQ(run_revenue(dir / "sales.jsonl", dir / "jsonl", false, "auto"), 0);
  EXPECT_EQ(read_part_lines(dir / "jsonl"), want);
  EXPECT_EQ(read_part_lines(dir / "jsonl/_rejected").size(), static_cast<std::size_t>(text.bad));

  for (const char* format : {"csv", "json"}) {
    const std::string topic = "kafka://" + cluster.bootstrap() + "/sales-" + std::string(format);
    for (const char* mode : {"batch", "streaming"}) {
      SCOPED_TRACE(std::string(format) + ", " + mode);
      const std::filesystem::path out = dir / (std::string(format) + "-" + mode);
      ASSERT_EQ(run_revenue(topic, out, true, mode, format), 0);
      std::vector<std::string> got = read_part_lines(out);
      if (std::string(format) == "json") {
        // Written as JSON lines too (--format names both): ["sku-1",123.5].
        ASSERT_TRUE(std::filesystem::exists(out / "part-00000.jsonl"));
        for (auto& line : got) {
          ASSERT_GE(line.size(), 2u);
          line = line.substr(1, line.size() - 2);
          line.erase(std::remove(line.begin(), line.end(), '"'), line.end());
        }
        std::sort(got.begin(), got.end());
      }
      EXPECT_EQ(got, want);
      const auto rejected = read_part_lines(out / "_rejected");
      ASSERT_EQ(rejected.size(), static_cast<std::size_t>(text.bad));
      for (const auto& r : rejected) EXPECT_EQ(r.rfind("sales-", 0), 0u) << r;  // topic-partition
    }
  }
  // --output-format alone: CSV in, JSON lines out.
  ASSERT_EQ(run_revenue(dir / "sales.csv", dir / "to-json", false, "auto", "", "json"), 0);
  EXPECT_EQ(read_part_lines(dir / "to-json").size(), want.size());
  EXPECT_TRUE(std::filesystem::exists(dir / "to-json/part-00000.jsonl"));
  // And to a topic as JSON values, which kcat reads back.
  cluster.create_topic("revenue", 1);
  ASSERT_EQ(run_revenue(dir / "sales.csv", "kafka://" + cluster.bootstrap() + "/revenue", false,
                        "auto", "", "json"),
            0);
  int rc = -1;
  auto values = sorted_lines(
      shell("kcat -C -q -e -o beginning -b " + cluster.bootstrap() + " -t revenue", &rc));
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(values.size(), want.size());
  EXPECT_EQ(values[0].rfind("[\"sku-", 0), 0u) << values[0];
}

}  // namespace

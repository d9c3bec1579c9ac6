// The IoT, predictive-maintenance and fraud-detection examples, run from the CLI as a user
// would, in batch and streaming mode, checked against references computed
// here from the same history and the same generated live events.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <runnel/kafka.hpp>
#include <set>
#include <sstream>

#include "cli_runner.hpp"
#include "jobs/fraud.hpp"
#include "jobs/iot.hpp"
#include "jobs/maintenance.hpp"
#include "test_util.hpp"

namespace {
using runnel::testing::read_part_lines;
using runnel::testing::run_cli;
using runnel::testing::ScratchDir;
using runnel::testing::shell_quote;
namespace ex = runnel::examples;

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> f;
  std::stringstream ss(line);
  std::string x;
  while (std::getline(ss, x, ',')) f.push_back(x);
  return f;
}

// A history in time order: 20 devices, a reading every 5 s for 10 minutes.
std::vector<ex::Reading> write_history(const std::filesystem::path& file) {
  std::vector<ex::Reading> rows;
  std::string text = "device,time_ms,celsius\n";
  for (int step = 0; step < 120; ++step) {
    for (int d = 0; d < 20; ++d) {
      ex::Reading r{"dev-" + std::to_string(d), ex::kIotLiveStartMs - 600'000 + step * 5000 + d,
                    15.0 + (step * 7 + d * 3) % 100 / 10.0};
      text += r.device + "," + std::to_string(r.time_ms) + "," + std::to_string(r.celsius) + "\n";
      rows.push_back(r);
    }
  }
  runnel::testing::write_file(file, text);
  return rows;
}

std::vector<ex::Reading> live_readings(bool streaming) {
  auto g = ex::iot_live_options(streaming);
  std::vector<ex::Reading> out;
  for (std::uint64_t i = 0; i < g.events; ++i) {
    auto r = ex::iot_live_reading(runnel::io::generated_event(g, g.shards, i));
    if (ex::iot_device_online(r)) out.push_back(r);
  }
  return out;
}

using Averages = std::map<std::pair<std::string, std::int64_t>, double>;  // (device, start)

Averages reference_averages(const std::vector<ex::Reading>& readings,
                            const std::multiset<std::pair<std::string, std::int64_t>>& excluded) {
  std::map<std::pair<std::string, std::int64_t>, std::pair<double, int>> acc;
  auto left_out = excluded;
  for (const auto& r : readings) {
    auto it = left_out.find({r.device, r.time_ms});
    if (it != left_out.end()) {
      left_out.erase(it);
      continue;
    }
    std::int64_t start = r.time_ms - ((r.time_ms % 60000) + 60000) % 60000;
    auto& a = acc[{r.device, start}];
    a.first += r.celsius;
    ++a.second;
  }
  Averages out;
  for (const auto& [k, a] : acc) out[k] = a.first / a.second;
  return out;
}

// The final average of each window: the row with the highest pane index.
Averages final_averages(const std::vector<std::string>& lines) {
  Averages out;
  std::map<std::pair<std::string, std::int64_t>, int> index;
  for (const auto& line : lines) {
    auto f = split(line);
    EXPECT_EQ(f.size(), 6u) << line;
    if (f.size() != 6) continue;
    std::pair<std::string, std::int64_t> id{f[0], std::stoll(f[1])};
    int i = std::stoi(f[5]);
    if (!index.count(id) || i > index[id]) {
      index[id] = i;
      out[id] = std::stod(f[3]);
    }
  }
  return out;
}

void expect_near(const Averages& got, const Averages& want) {
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [id, v] : want) {
    ASSERT_TRUE(got.count(id)) << id.first << " " << id.second;
    EXPECT_NEAR(got.at(id), v, 1e-6) << id.first << " " << id.second;
  }
}

TEST(IotExample, BatchAndStreamingAveragesMatchTheReference) {
  ScratchDir dir;
  auto history = write_history(dir / "history.csv");
  for (const char* mode : {"batch", "streaming"}) {
    std::string out = dir / mode;
    auto r = run_cli("run iot --no-progress -p 2 --mode " + std::string(mode) + " --input " +
                     shell_quote(dir / "history.csv") + " --output " + shell_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    auto readings = history;
    auto live = live_readings(std::string(mode) == "streaming");
    readings.insert(readings.end(), live.begin(), live.end());
    // What went to late/ is left out of the averages, and is only ever one of
    // the readings the generator sends three minutes late.
    std::multiset<std::pair<std::string, std::int64_t>> late;
    std::set<std::pair<std::string, std::int64_t>> sent_late;
    for (std::uint64_t i = 0; i < ex::iot_live_options(false).events; ++i) {
      auto e = runnel::io::generated_event(ex::iot_live_options(false), 2, i);
      auto reading = ex::iot_live_reading(e);
      if (reading.time_ms != e.time) sent_late.insert({reading.device, reading.time_ms});
    }
    if (std::filesystem::exists(out + "/late")) {
      for (const auto& line : read_part_lines(out + "/late")) {
        auto f = split(line);
        ASSERT_EQ(f.size(), 3u) << line;
        late.insert({f[0], std::stoll(f[1])});
        EXPECT_TRUE(sent_late.count({f[0], std::stoll(f[1])})) << line;
      }
    }
    if (std::string(mode) == "batch") {
      EXPECT_TRUE(late.empty()) << "batch mode has no late data";
    } else {
      EXPECT_FALSE(late.empty()) << "readings three minutes late are later than the lateness";
      EXPECT_NE(r.output.find("late"), std::string::npos) << r.output;
    }
    expect_near(final_averages(read_part_lines(out + "/averages")),
                reference_averages(readings, late));
    EXPECT_FALSE(read_part_lines(out + "/maxima").empty());
    EXPECT_FALSE(read_part_lines(out + "/sessions").empty());
  }
}

TEST(IotExample, ReadsItsHistoryFromATopicAsFromAFile) {
  // A bundled job given a kafka:// input: the history, produced by kcat one
  // reading per value (the header line too, which is rejected, not lost),
  // gives the averages the file gives.
  if (std::system("command -v kcat >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "kcat is not installed (scripts/install-deps.sh installs it)";
  ScratchDir dir;
  write_history(dir / "history.csv");
  runnel::io::KafkaDevCluster cluster;
  cluster.create_topic("readings", 3);
  ASSERT_EQ(std::system(("kcat -P -b " + cluster.bootstrap() + " -t readings -l " +
                         shell_quote(dir / "history.csv"))
                            .c_str()),
            0);
  auto from_file =
      run_cli("run iot --no-progress -p 2 --mode batch --input " +
              shell_quote(dir / "history.csv") + " --output " + shell_quote(dir / "file"));
  ASSERT_EQ(from_file.exit_code, 0) << from_file.output;
  auto from_topic =
      run_cli("run iot --no-progress -p 2 --mode batch --input kafka://" + cluster.bootstrap() +
              "/readings --bounded --output " + shell_quote(dir / "topic"));
  ASSERT_EQ(from_topic.exit_code, 0) << from_topic.output;
  expect_near(final_averages(read_part_lines(dir / "topic/averages")),
              final_averages(read_part_lines(dir / "file/averages")));
  EXPECT_EQ(read_part_lines(dir / "topic/maxima").size(),
            read_part_lines(dir / "file/maxima").size());
  const auto rejected = read_part_lines(dir / "topic/_rejected");
  ASSERT_EQ(rejected.size(), 1u);  // the header line, a record like any other in a topic
  EXPECT_NE(rejected[0].find("device,time_ms,celsius"), std::string::npos) << rejected[0];
}

TEST(MaintenanceExample, EarlyAlertsComeBeforeTheWindowCloses) {
  ScratchDir dir;
  std::string history = "machine,time_ms,rms_mm_s\n";
  for (int s = 0; s < 300; ++s) {
    for (int m = 0; m < 8; ++m) {
      history += "m-" + std::to_string(m) + "," +
                 std::to_string(ex::kMaintenanceLiveStartMs - 300'000 + s * 1000 + m) + ",2.5\n";
    }
  }
  runnel::testing::write_file(dir / "history.csv", history);
  std::map<std::string, std::vector<std::vector<std::string>>> alerts;
  for (const char* mode : {"batch", "streaming"}) {
    std::string out = dir / mode;
    auto r =
        run_cli("run maintenance --no-progress -p 2 --mode " + std::string(mode) + " --input " +
                shell_quote(dir / "history.csv") + " --output " + shell_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    for (const auto& line : read_part_lines(out + "/alerts")) alerts[mode].push_back(split(line));
    ASSERT_FALSE(alerts[mode].empty()) << mode;
    for (const auto& a : alerts[mode]) {
      ASSERT_EQ(a.size(), 8u);
      EXPECT_EQ(a[0], "m-5") << "only the wearing machine alerts";
      EXPECT_GT(std::stod(a[5]), ex::kAlertMmS);
    }
  }
  // Batch mode: one on-time result per window. Streaming: some alerts come
  // from early firings, and every window batch mode alerts on is alerted
  // in streaming mode by its final (on-time) pane too.
  std::set<std::string> batch_windows, streaming_on_time;
  bool early = false;
  for (const auto& a : alerts["batch"]) {
    EXPECT_EQ(a[7], "on-time");
    batch_windows.insert(a[1]);
  }
  for (const auto& a : alerts["streaming"]) {
    early = early || a[7] == "early";
    if (a[7] == "on-time") streaming_on_time.insert(a[1]);
  }
  EXPECT_TRUE(early);
  EXPECT_EQ(streaming_on_time, batch_windows);
}

// Fraud: the alerts equal a reference computed here (each small charge paired
// with the first large charge of its account within the next minute), over the
// bundled history and the generated live transactions, in batch and streaming
// mode, and the history's 13 planted frauds are among them.
TEST(FraudExample, AlertsMatchTheReferenceInBothModes) {
  ScratchDir dir;
  const std::string history_path =
      std::string(RUNNEL_SOURCE_DIR) + "/examples/data/transactions.csv";
  std::map<std::string, std::vector<ex::Transaction>> by_account;
  {
    std::istringstream in(runnel::testing::read_file(history_path));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      auto f = split(line);
      by_account[f[0]].push_back(ex::Transaction{f[0], std::stoll(f[1]), std::stod(f[2])});
    }
    auto g = ex::fraud_live_options(false);
    for (std::uint64_t i = 0; i < g.events; ++i) {
      auto t = ex::fraud_live_transaction(runnel::io::generated_event(g, g.shards, i));
      by_account[t.account].push_back(t);
    }
  }
  std::vector<std::string> want;
  int history_alerts = 0;
  for (auto& [account, txns] : by_account) {
    std::sort(txns.begin(), txns.end(),
              [](const auto& a, const auto& b) { return a.time_ms < b.time_ms; });
    for (const auto& s : txns) {
      if (s.amount >= ex::kSmallCharge) continue;
      for (const auto& l : txns) {
        if (l.amount > ex::kLargeCharge && l.time_ms > s.time_ms &&
            l.time_ms <= s.time_ms + ex::kFraudWindowMs) {
          std::string line;
          runnel::csv::append_record(
              line, ex::FraudAlert{account, s.time_ms, s.amount, l.time_ms, l.amount});
          want.push_back(line);
          history_alerts += account.rfind("acct-", 0) == 0 ? 1 : 0;
          break;
        }
      }
    }
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(history_alerts, 13);
  EXPECT_GT(want.size(), 20u);
  for (const char* mode : {"batch", "streaming"}) {
    std::string out = dir / mode;
    auto r = run_cli("run fraud --no-progress -p 2 --mode " + std::string(mode) + " --input " +
                     shell_quote(history_path) + " --output " + shell_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(read_part_lines(out + "/alerts"), want) << mode;
  }
}

}  // namespace

// Typed records in files as CSV or JSON lines (io::csv, io::json,
// Options::source/sink): reading, writing, the format a path implies, and
// types that have only one of the two forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <runnel/runnel.hpp>
#include <tuple>

#include "test_util.hpp"

namespace {
using namespace runnel;

struct Reading {
  std::string device;
  std::int64_t time_ms = 0;
  double celsius = 0;
  std::optional<std::string> note;
  bool operator==(const Reading&) const = default;
  bool operator<(const Reading& o) const { return time_ms < o.time_ms; }
};
RUNNEL_FIELDS(Reading, device, time_ms, celsius, note);

struct Tagged {
  std::string name;
  std::vector<std::string> tags;  // JSON reads it; CSV only writes it
};
RUNNEL_FIELDS(Tagged, name, tags);

struct Node {
  std::string name;
  std::vector<Node> children;  // a record holding records of its own type
};
RUNNEL_FIELDS(Node, name, children);

// What each format can do with a type decides, at run time, which one a
// --format may choose; a type with one form still compiles.
static_assert(csv::parsable_v<Reading> && json::parsable_v<Reading>);
static_assert(csv::writable_v<Reading> && json::writable_v<Reading>);
static_assert(!csv::parsable_v<Tagged> && json::parsable_v<Tagged> && csv::writable_v<Tagged>);
static_assert(csv::parsable_v<std::pair<std::string, int>>);
static_assert(!json::parsable_v<std::pair<std::string, int>>);
static_assert(json::writable_v<std::pair<std::string, int>>);
static_assert(!json::writable_v<std::tuple<int, int>> && csv::writable_v<std::tuple<int, int>>);
static_assert(!csv::writable_v<std::optional<Reading>>);
static_assert(json::parsable_v<Node> && json::writable_v<Node> && csv::writable_v<Node> &&
              !csv::parsable_v<Node>);

TEST(RecordsIO, JsonLinesReadWithDeadLetters) {
  runnel::testing::ScratchDir dir;
  runnel::testing::write_file(
      dir / "in/a.jsonl",
      "{\"device\":\"d1\",\"time_ms\":1,\"celsius\":20.5}\n"
      "{\"device\":\"d2\",\"time_ms\":\"two\",\"celsius\":21}\n"
      "{\"device\":\"d,3\",\"time_ms\":3,\"celsius\":22,\"note\":\"hot\"}\n"
      "\n"
      "{\"device\":\"d4\"\n"
      "{\"device\":\"d5\",\"time_ms\":5,\"celsius\":23.5,\"extra\":[1]}\r\n");
  Pipeline p;
  auto readings = p.read(io::json<Reading>(dir / "in/*.jsonl")).collect();
  auto rejected = p.dead_letters().collect();
  RunResult r = p.run();
  EXPECT_EQ(readings.sorted(), (std::vector<Reading>{{"d1", 1, 20.5, std::nullopt},
                                                     {"d,3", 3, 22, "hot"},
                                                     {"d5", 5, 23.5, std::nullopt}}));
  auto bad = rejected.values();
  ASSERT_EQ(bad.size(), 3u);
  std::sort(bad.begin(), bad.end(),
            [](const DeadLetter& a, const DeadLetter& b) { return a.line < b.line; });
  EXPECT_EQ(bad[0].line, 2u);
  EXPECT_NE(bad[0].reason.find("time_ms"), std::string::npos) << bad[0].reason;
  EXPECT_EQ(bad[1].line, 4u);  // an empty line is no record, and not dropped silently
  EXPECT_EQ(bad[2].line, 5u);
  EXPECT_EQ(bad[2].record, "{\"device\":\"d4\"");
  EXPECT_NE(bad[2].source.find("a.jsonl"), std::string::npos);
  EXPECT_EQ(r.dead_letters, 3u);
}

TEST(RecordsIO, JsonLinesWrittenReadBackTheSameInBothModes) {
  runnel::testing::ScratchDir dir;
  std::vector<Reading> rows;
  for (int i = 0; i < 500; ++i)
    rows.push_back(
        {"dev \"" + std::to_string(i % 7) + "\"", i, i * 0.5,
         i % 3 == 0 ? std::optional<std::string>("n,\n" + std::to_string(i)) : std::nullopt});
  {
    Pipeline p;
    p.create(rows).write(io::json(dir / "out"));
    p.run();
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "out/_SUCCESS"));
  for (const auto mode : {ExecutionMode::kBatch, ExecutionMode::kStreaming}) {
    PipelineOptions o;
    o.mode = mode;
    Pipeline p(o);
    auto back = p.read(io::json<Reading>(dir / "out/*.jsonl")).collect();
    auto rejected = p.dead_letters().collect();
    p.run();
    EXPECT_EQ(back.sorted(), rows);
    EXPECT_EQ(rejected.size(), 0u);
  }
}

TEST(RecordsIO, OptionsChooseTheFormatByFlagOrExtension) {
  Options o;
  o.input = "in/readings.jsonl";
  EXPECT_EQ(o.source<Reading>().format, io::RecordFormat::kJson);
  o.input = "in/READINGS.NDJSON";
  EXPECT_EQ(o.source<Reading>().format, io::RecordFormat::kJson);
  o.input = "in/*.csv";
  EXPECT_EQ(o.source<Reading>().format, io::RecordFormat::kCsv);
  o.input = "kafka://127.0.0.1:9092/readings";
  EXPECT_EQ(o.source<Reading>().format, io::RecordFormat::kCsv);
  o.format = "json";
  EXPECT_EQ(o.source<Reading>().format, io::RecordFormat::kJson);
  EXPECT_EQ(o.sink().format, io::RecordFormat::kJson);
  o.output_format = "csv";
  EXPECT_EQ(o.sink().format, io::RecordFormat::kCsv);
  o.format = "yaml";
  EXPECT_THROW(o.source<Reading>(), UserError);
  // The CSV-only calls take the Kafka flags too.
  o.bounded = true;
  o.kafka_properties["fetch.wait.max.ms"] = "10";
  const auto csv_in = o.csv_input<Reading>();
  EXPECT_EQ(csv_in.format, io::RecordFormat::kCsv);
  EXPECT_TRUE(csv_in.kafka_bounded);
  EXPECT_EQ(csv_in.kafka_properties, o.kafka_properties);
  EXPECT_EQ(io::parse_record_format("json", "--format"), io::RecordFormat::kJson);
  try {
    io::parse_record_format("xml", "--output-format");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("--output-format 'xml'"), std::string::npos) << e.what();
  }
}

TEST(RecordsIO, AFormatATypeCannotTakeIsAUserError) {
  runnel::testing::ScratchDir dir;
  runnel::testing::write_file(dir / "pairs.jsonl", "[\"a\",1]\n");
  {
    Pipeline p;
    EXPECT_THROW(p.read(io::json<std::pair<std::string, int>>(dir / "pairs.jsonl")), UserError);
  }
  {
    Pipeline p;
    auto t = p.create(std::vector<std::tuple<int, int>>{{1, 2}});
    EXPECT_THROW(t.write(io::json(dir / "out")), UserError);
  }
  {
    // Tagged reads as JSON (not as CSV) and writes as either.
    runnel::testing::write_file(dir / "tagged.jsonl", "{\"name\":\"a\",\"tags\":[\"x\",\"y\"]}\n");
    Pipeline p;
    EXPECT_THROW(p.read(io::csv<Tagged>(dir / "tagged.jsonl")), UserError);
    p.read(io::json<Tagged>(dir / "tagged.jsonl")).write(io::csv(dir / "tagged"));
    p.run();
    EXPECT_EQ(runnel::testing::read_part_lines(dir / "tagged"), std::vector<std::string>{"a,x;y"});
  }
}

}  // namespace

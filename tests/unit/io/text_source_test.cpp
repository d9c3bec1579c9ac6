// The text source reuses its batch (and its strings) from one push to the
// next, while the operators fused after it set times and windows on that
// batch in place: a small file, then a large one, through with_timestamps and
// window_into must count every line, in either mode (the batch's times and
// windows once stayed the size of the first file's, and window_into wrote
// past them).
#include <gtest/gtest.h>

#include <runnel/runnel.hpp>
#include <string>

#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;

class TextSourceReuse : public ::testing::TestWithParam<ExecutionMode> {};

TEST_P(TextSourceReuse, SmallFileThenLargeFileThroughTimestampsAndWindows) {
  runnel::testing::ScratchDir dir;
  std::string small, large;
  for (int i = 0; i < 3; ++i) small += std::to_string(i) + "\n";
  for (int i = 0; i < 5000; ++i) large += std::to_string(i) + "\n";
  runnel::testing::write_file(dir / "in/a.txt", small);
  runnel::testing::write_file(dir / "in/b.txt", large);
  PipelineOptions o;
  o.parallelism = 1;
  o.batch_size = 1024;
  o.mode = GetParam();
  Pipeline p(o);
  auto counts = p.read(io::text(dir / "in/*.txt"))
                    .with_timestamps([](const std::string& line) { return std::stoll(line); })
                    .window_into(windows::fixed(1000ms))
                    .map([](const std::string&) { return std::string("n"); })
                    .count_per_element()
                    .collect();
  p.run();
  std::uint64_t total = 0;
  for (const auto& [key, n] : counts.values()) total += n;
  EXPECT_EQ(total, 5003u);
  EXPECT_EQ(counts.size(), 5u);  // windows [0, 1000) .. [4000, 5000)
}

INSTANTIATE_TEST_SUITE_P(Modes, TextSourceReuse,
                         ::testing::Values(ExecutionMode::kBatch, ExecutionMode::kStreaming));

}  // namespace

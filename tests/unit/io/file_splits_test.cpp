#include "runnel/detail/file_splits.hpp"

#include <gtest/gtest.h>

#include <random>

#include "runnel/error.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel::detail;

// Reads the file as splits of `split_bytes` and returns (line number, line) of every line.
std::vector<std::pair<std::uint64_t, std::string>> read_all(const std::string& path,
                                                            std::uint64_t size,
                                                            std::uint64_t split_bytes) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  for (std::uint64_t start = 0; start < size; start += split_bytes) {
    LineReader reader(FileSplit{path, start, std::min(size, start + split_bytes), size});
    std::vector<std::string_view> lines;
    while (reader.next_block(lines)) {
      for (std::size_t i = 0; i < lines.size(); ++i)
        out.emplace_back(reader.line_number(i), std::string(lines[i]));
    }
  }
  return out;
}

TEST(LineReader, EveryLineOnceWhateverTheSplitSize) {
  runnel::testing::ScratchDir dir;
  std::mt19937 rng(7);
  std::string content;
  std::vector<std::string> expected;
  for (int i = 0; i < 500; ++i) {
    std::string line(rng() % 40, 'a' + static_cast<char>(i % 26));
    expected.push_back(line);
    content += line + (i % 7 == 0 ? "\r\n" : "\n");
  }
  content += "tail without newline";
  expected.push_back("tail without newline");
  std::string path = dir / "f.txt";
  runnel::testing::write_file(path, content);
  for (std::uint64_t split : {1ull, 2ull, 3ull, 7ull, 64ull, 1000ull, 100000ull}) {
    auto got = read_all(path, content.size(), split);
    ASSERT_EQ(got.size(), expected.size()) << "split " << split;
    for (std::size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].second, expected[i]) << "split " << split << " line " << i;
      ASSERT_EQ(got[i].first, i + 1) << "split " << split;
    }
  }
}

TEST(LineReader, LinesLongerThanTheReadBlock) {
  runnel::testing::ScratchDir dir;
  std::string big(3 << 20, 'x');
  std::string content = "a\n" + big + "\nb\n";
  runnel::testing::write_file(dir / "f", content);
  auto got = read_all(dir / "f", content.size(), 1 << 20);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[1].second.size(), big.size());
  EXPECT_EQ(got[2].second, "b");
}

TEST(ExpandInput, ErrorsSayWhatIsWrong) {
  runnel::testing::ScratchDir dir;
  try {
    expand_input(dir / "missing.txt");
    FAIL();
  } catch (const runnel::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
  try {
    expand_input(dir / "*.none");
    FAIL();
  } catch (const runnel::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("matches no files"), std::string::npos);
  }
  runnel::testing::write_file(dir / "b.txt", "1");
  runnel::testing::write_file(dir / "a.txt", "2");
  runnel::testing::write_file(dir / ".hidden", "3");
  EXPECT_EQ(expand_input(dir.path().string()),
            (std::vector<std::string>{dir / "a.txt", dir / "b.txt"}));
  EXPECT_EQ(expand_input(dir / "*.txt").size(), 2u);
}

TEST(FileSplitSet, CoversEveryByteOnce) {
  runnel::testing::ScratchDir dir;
  runnel::testing::write_file(dir / "a", std::string(5 << 20, 'a'));
  runnel::testing::write_file(dir / "b", "");
  FileSplitSet set(dir.path().string(), 4);
  std::uint64_t covered = 0;
  while (const FileSplit* s = set.next()) covered += s->end - s->start;
  EXPECT_EQ(covered, 5u << 20);
  EXPECT_EQ(set.total_bytes(), 5u << 20);
  EXPECT_GT(set.splits().size(), 1u);
}

// A restore: readers stopped at random places (some splits read to the end,
// one split part read by each reader); the splits left over hold exactly the
// lines not read yet.
TEST(FileSplitSet, KeepUnreadLeavesExactlyTheLinesNotYetRead) {
  runnel::testing::ScratchDir dir;
  std::mt19937 rng(11);
  std::vector<std::string> all;
  for (int f = 0; f < 3; ++f) {
    std::string content;
    for (int i = 0; i < 50000; ++i) {
      std::string line =
          "f" + std::to_string(f) + "-" + std::to_string(i) + std::string(rng() % 60, 'x');
      all.push_back(line);
      content += line + "\n";
    }
    runnel::testing::write_file(dir / ("in/" + std::to_string(f) + ".txt"), content);
  }
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::string> read, states;
    // Three runs, each restoring the states of the one before (a restore of
    // a restore must not read again what the first run read), then a last
    // run that reads to the end.
    for (int run = 0; run < 4; ++run) {
      FileSplitSet set((dir.path() / "in").string(), 3);
      if (run == 0) {
        ASSERT_GT(set.splits().size(), 3u);
      } else {
        set.keep_unread(states);
      }
      states.clear();
      if (run == 3) {
        while (const FileSplit* s = set.next()) {
          LineReader reader(*s);
          std::vector<std::string_view> lines;
          while (reader.next_block(lines))
            for (auto l : lines) read.emplace_back(l);
        }
        break;
      }
      // Three readers take splits in turn; each stops in its last split
      // after a random number of blocks (or at its start).
      for (int r = 0; r < 3; ++r) {
        std::vector<FileSplit> done;
        std::unique_ptr<LineReader> current;
        const int splits_to_finish = static_cast<int>(rng() % 3);
        for (int k = 0; k <= splits_to_finish; ++k) {
          const FileSplit* s = set.next();
          if (s == nullptr) break;
          current = std::make_unique<LineReader>(*s);
          std::vector<std::string_view> lines;
          const bool last = k == splits_to_finish;
          int blocks = last ? static_cast<int>(rng() % 3) : 1 << 30;
          while (blocks-- > 0 && current->next_block(lines))
            for (auto l : lines) read.emplace_back(l);
          if (!last) {
            done.push_back(*s);
            current.reset();
          }
        }
        // As LineSourceInstance::snapshot: instance 0 adds what runs before read.
        if (r == 0) done.insert(done.end(), set.read_before().begin(), set.read_before().end());
        states.push_back(encode_read_position(done, current ? &current->split() : nullptr,
                                              current ? current->resume_offset() : 0));
      }
    }
    std::sort(read.begin(), read.end());
    auto want = all;
    std::sort(want.begin(), want.end());
    ASSERT_EQ(read.size(), want.size()) << "trial " << trial;
    ASSERT_EQ(read, want) << "trial " << trial;
  }
}

}  // namespace

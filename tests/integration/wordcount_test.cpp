// Word count and uppercase through the CLI, against references computed here.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>

using namespace std::string_literals;

#include "full_disk.hpp"
#include "integration/cli_runner.hpp"
#include "test_util.hpp"

namespace {
using runnel::testing::read_part_lines;
using runnel::testing::run_cli;
using runnel::testing::ScratchDir;
using runnel::testing::shell_quote;

// Text with words of mixed case, punctuation, digits, binary bytes and
// invalid UTF-8, across several files; returns the reference counts.
std::map<std::string, std::uint64_t> make_corpus(const ScratchDir& dir, int files,
                                                 int lines_per_file) {
  std::mt19937 rng(42);
  const std::vector<std::string> words = {"The",  "quick", "BROWN",  "fox", "jumps", "over",
                                          "lazy", "dog",   "runnel", "x1",  "42",    "a"};
  const std::vector<std::string> seps = {" ", ", ", ". ", "\t", " -- ", "\xff\xfe", "\x80 ", "\0"s};
  std::map<std::string, std::uint64_t> ref;
  for (int f = 0; f < files; ++f) {
    std::string text;
    for (int l = 0; l < lines_per_file; ++l) {
      int n = static_cast<int>(rng() % 12);
      for (int w = 0; w < n; ++w) {
        const std::string& word = words[rng() % words.size()];
        std::string lower;
        for (char c : word) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        ++ref[lower];
        text += word + seps[rng() % seps.size()];
      }
      text += (l % 5 == 0) ? "\r\n" : "\n";
    }
    runnel::testing::write_file(dir / ("in/part" + std::to_string(f) + ".txt"), text);
  }
  return ref;
}

std::vector<std::string> as_lines(const std::map<std::string, std::uint64_t>& counts) {
  std::vector<std::string> lines;
  for (const auto& [w, n] : counts) lines.push_back(w + "," + std::to_string(n));
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(WordCount, MatchesTheReferenceAtEveryParallelism) {
  ScratchDir dir;
  auto ref = make_corpus(dir, 5, 4000);
  std::vector<std::string> previous;
  for (int p : {1, 2, 4}) {
    std::string out = dir / ("out" + std::to_string(p));
    auto r = run_cli("run wordcount --input " + shell_quote(dir / "in/*.txt") + " --output " +
                     shell_quote(out) + " --parallelism " + std::to_string(p));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("wordcount done"), std::string::npos) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/_SUCCESS"));
    auto lines = read_part_lines(out);
    EXPECT_EQ(lines, as_lines(ref)) << "parallelism " << p;
    if (!previous.empty()) {
      EXPECT_EQ(lines, previous);
    }
    previous = lines;
    for (const auto& e : std::filesystem::directory_iterator(out)) {
      auto name = e.path().filename().string();
      EXPECT_TRUE(name == "_SUCCESS" ||
                  (name.rfind("part-", 0) == 0 && name.size() == 14 && name.substr(10) == ".csv"))
          << name;
    }
  }
}

TEST(WordCount, SpillingGivesTheSameResult) {
  ScratchDir dir;
  // Many distinct words so the hash tables outgrow a tiny budget.
  std::string text;
  std::map<std::string, std::uint64_t> ref;
  for (int i = 0; i < 60000; ++i) {
    std::string w = "w" + std::to_string((i * 7919) % 30000);
    text += w + (i % 10 == 9 ? "\n" : " ");
    ++ref[w];
  }
  runnel::testing::write_file(dir / "in/words.txt", text);
  auto r = run_cli("run wordcount --no-progress -p 2 --memory-budget 64KiB --input " +
                   shell_quote(dir / "in") + " --output " + shell_quote(dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("spilled"), std::string::npos) << r.output;
  EXPECT_EQ(read_part_lines(dir / "out"), as_lines(ref));
}

// Spill files on a disk that is full: the job stops with the system's
// reason, the spill file's path and what to do, publishes nothing, and
// leaves no spill files behind.
TEST(WordCount, AFullSpillDiskIsAClearErrorAndPublishesNothing) {
  ScratchDir dir;
  runnel::testing::FullDisk disk(dir / "tmp");
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs: " << disk.error();
  std::string text;
  for (int i = 0; i < 60000; ++i)
    text += "w" + std::to_string((i * 7919) % 30000) + (i % 10 == 9 ? "\n" : " ");
  runnel::testing::write_file(dir / "in/words.txt", text);
  auto r = run_cli("run wordcount --no-progress -p 2 --memory-budget 64KiB --temp-dir " +
                   shell_quote(dir / "tmp") + " --input " + shell_quote(dir / "in") + " --output " +
                   shell_quote(dir / "out"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(std::strerror(ENOSPC)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("spill file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--temp-dir"), std::string::npos) << r.output;
  const std::filesystem::path out = dir / "out";
  EXPECT_FALSE(std::filesystem::exists(out / "_SUCCESS"));
  if (std::filesystem::exists(out)) {
    EXPECT_TRUE(read_part_lines(out.string()).empty());
  }
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir / "tmp")))
    if (e.path().filename() != "fill") left.push_back(e.path().filename().string());
  EXPECT_TRUE(left.empty()) << left.size() << " left, e.g. " << (left.empty() ? "" : left.front());
}

TEST(WordCount, BatchSizeOneGivesTheSameResult) {
  ScratchDir dir;
  auto ref = make_corpus(dir, 2, 300);
  auto r = run_cli("run wordcount --batch-size 1 -p 3 --input " + shell_quote(dir / "in") +
                   " --output " + shell_quote(dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_part_lines(dir / "out"), as_lines(ref));
}

TEST(WordCount, StreamingModeWritesWhatBatchModeWrites) {
  ScratchDir dir;
  auto ref = make_corpus(dir, 4, 2000);
  for (const char* mode : {"batch", "streaming"}) {
    std::string out = dir / (std::string("out-") + mode);
    auto r = run_cli("run wordcount --no-progress -p 2 --mode " + std::string(mode) + " --input " +
                     shell_quote(dir / "in") + " --output " + shell_quote(out));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(std::string("(") + mode + " mode)"), std::string::npos) << r.output;
    EXPECT_TRUE(std::filesystem::exists(out + "/_SUCCESS")) << mode;
    EXPECT_EQ(read_part_lines(out), as_lines(ref)) << mode;
  }
  auto bad = run_cli("run wordcount --mode fast --input " + shell_quote(dir / "in") + " --output " +
                     shell_quote(dir / "x"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--mode"), std::string::npos) << bad.output;
}

TEST(Uppercase, UpperCasesEveryLineAndKeepsOtherBytes) {
  ScratchDir dir;
  std::string text;
  std::vector<std::string> expected;
  for (int i = 0; i < 5000; ++i) {
    std::string line = "line " + std::to_string(i) + " mixed Case \xc3\xa9t\xc3\xa9 \xff";
    text += line + "\n";
    std::string up = line;
    for (auto& c : up) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    }
    expected.push_back(up);
  }
  std::sort(expected.begin(), expected.end());
  runnel::testing::write_file(dir / "in.txt", text);
  auto r = run_cli("run uppercase -p 2 --input " + shell_quote(dir / "in.txt") + " --output " +
                   shell_quote(dir / "out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_part_lines(dir / "out"), expected);
  EXPECT_TRUE(std::filesystem::exists(dir / "out/_SUCCESS"));
}

TEST(Explain, ShowsFusionAndTheLiftedCombiner) {
  auto r = run_cli("explain wordcount -p 2 --input /etc/hostname --output /tmp/unused");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("+ flat_map\n  + count_per_element (partial)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("hash(key group)"), std::string::npos) << r.output;
}

}  // namespace

namespace {

// The progress bar appears only on a terminal: run the CLI under script(1),
// which gives it one, and look for the bar; with a pipe there is none.
TEST(Progress, DrawnOnATerminalOnlyAndOffWithNoProgress) {
  if (std::system("command -v script >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "script(1) is not installed";
  ScratchDir dir;
  runnel::testing::write_file(dir / "in.txt", "some words to count\n");
  auto under_tty = [&](const std::string& extra, const std::string& out) {
    std::string cmd = std::string(RUNNEL_CLI) + " run wordcount --input " +
                      shell_quote(dir / "in.txt") + " --output " + shell_quote(out) + extra;
    std::string log = dir / "tty.log";
    std::string wrapped =
        "script -qec " + shell_quote(cmd) + " /dev/null > " + shell_quote(log) + " 2>&1";
    EXPECT_EQ(std::system(wrapped.c_str()), 0);
    return runnel::testing::read_file(log);
  };
  std::string shown = under_tty("", dir / "out1");
  EXPECT_NE(shown.find("ETA"), std::string::npos) << shown;
  EXPECT_NE(shown.find("/ 20 B"), std::string::npos) << shown;
  std::string hidden = under_tty(" --no-progress", dir / "out2");
  EXPECT_EQ(hidden.find("ETA"), std::string::npos) << hidden;
  auto piped = run_cli("run wordcount --input " + shell_quote(dir / "in.txt") + " --output " +
                       shell_quote(dir / "out3"));
  EXPECT_EQ(piped.output.find("ETA"), std::string::npos) << piped.output;
}

}  // namespace

// A run_main program's own flags: declared next to the pipeline, parsed with
// runnel's, listed by --help and refused in runnel's style.
#include "runnel/program_flags.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <vector>

#include "api/program_flags_impl.hpp"
#include "runnel/runnel.hpp"
#include "test_util.hpp"

namespace runnel {
namespace {

// Calls run_main as a program's main would, with `args` after the program's name.
int run(ProgramFlags& flags, std::vector<std::string> args, const JobBuilder& build) {
  args.insert(args.begin(), "words");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return run_main(static_cast<int>(argv.size()), argv.data(), flags, build);
}

class ProgramFlagsTest : public ::testing::Test {
 protected:
  void SetUp() override { std::ofstream(dir_ / "in.txt") << "ab\nabcde\nxyz\nabcdefg\n"; }
  std::vector<std::string> base(const std::string& out) {
    return {"--input", dir_ / "in.txt", "--output", dir_ / out, "--no-progress", "-p", "1"};
  }
  runnel::testing::ScratchDir dir_;
};

TEST_F(ProgramFlagsTest, ThePipelineSeesTheValuesGiven) {
  ProgramFlags flags;
  const int& min_length = flags.add("--min-length", 3, "words shorter than this are left out");
  const bool& shout = flags.add("--shout", false, "upper-case the words");
  const std::string& suffix = flags.add("--suffix", "", "appended to every word");
  auto build = [&](Pipeline& p, const Options& o) {
    p.read(o.text_input())
        .filter([&](const std::string& w) { return static_cast<int>(w.size()) >= min_length; })
        .map([&](const std::string& w) {
          std::string out = w;
          if (shout)
            std::transform(out.begin(), out.end(), out.begin(),
                           [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
          return out + suffix;
        })
        .write(o.text_output());
  };
  auto args = base("given");
  for (const char* a : {"--min-length", "5", "--shout", "--suffix", "!"}) args.push_back(a);
  ASSERT_EQ(run(flags, args, build), 0);
  auto lines = runnel::testing::read_part_lines(dir_ / "given");
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"ABCDE!", "ABCDEFG!"}));
  EXPECT_EQ(flags.values(), (std::map<std::string, std::string>{
                                {"--min-length", "5"}, {"--shout", "true"}, {"--suffix", "!"}}));
  EXPECT_EQ(flags.impl().changed(), flags.values());  // what members of a job compare

  // Not given: the defaults.
  ProgramFlags defaults;
  const int& n = defaults.add("--min-length", 3, "words shorter than this are left out");
  int seen = -1;
  ASSERT_EQ(run(defaults, base("defaults"),
                [&](Pipeline& p, const Options& o) {
                  seen = n;
                  p.read(o.text_input()).write(o.text_output());
                }),
            0);
  EXPECT_EQ(seen, 3);
  EXPECT_TRUE(defaults.impl().changed().empty());  // left at its default: not compared
}

TEST_F(ProgramFlagsTest, AValueOfTheWrongTypeIsRefusedNamingTheFlag) {
  ProgramFlags flags;
  flags.add("--min-length", 3, "words shorter than this are left out");
  bool built = false;
  auto args = base("wrong");
  args.push_back("--min-length");
  args.push_back("many");
  ::testing::internal::CaptureStderr();
  const int rc = run(flags, args, [&](Pipeline&, const Options&) { built = true; });
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 2);
  EXPECT_FALSE(built);
  EXPECT_NE(err.find("--min-length"), std::string::npos) << err;
  EXPECT_NE(err.find("many"), std::string::npos) << err;
}

TEST_F(ProgramFlagsTest, HelpListsThemWithTheirDefaults) {
  ProgramFlags flags;
  flags.add("--threshold", 30.5, "readings above this raise an alert");
  ::testing::internal::CaptureStdout();
  const int rc = run(flags, {"--help"}, [](Pipeline&, const Options&) {});
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0);
  EXPECT_NE(out.find("program flags"), std::string::npos) << out;
  EXPECT_NE(out.find("--threshold"), std::string::npos) << out;
  EXPECT_NE(out.find("30.5"), std::string::npos) << out;
  EXPECT_NE(out.find("--input"), std::string::npos) << out;  // runnel's own, beside them
}

TEST_F(ProgramFlagsTest, ANameThatClashesOrIsNotAFlagIsRefused) {
  for (const char* name : {"--input", "threshold", "--thr eshold", "---x"}) {
    ProgramFlags flags;
    flags.add(name, 1.0, "x");
    ::testing::internal::CaptureStderr();
    const int rc = run(flags, base("clash"), [](Pipeline&, const Options&) {});
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(rc, 2) << name;
    EXPECT_NE(err.find(std::string("'") + name + "'"), std::string::npos) << err;
  }
  ProgramFlags twice;
  twice.add("--n", 1, "x");
  twice.add("--n", 2, "y");
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(run(twice, base("twice"), [](Pipeline&, const Options&) {}), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("declared twice"), std::string::npos);
}

// A program that runs its pipeline itself parses only its own flags.
TEST(ProgramFlags, ParseAloneForAProgramWithoutRunMain) {
  ProgramFlags flags;
  const std::string& history = flags.add("--history", "a.csv", "the history");
  const std::int64_t& switch_ms = flags.add<std::int64_t>("--switch-ms", 0, "when");
  const bool& seed = flags.add("--seed", false, "fill the topics");
  std::vector<std::string> args = {"c360", "--history", "b.csv", "--seed", "--switch-ms", "17"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_EQ(flags.parse(static_cast<int>(argv.size()), argv.data(), "c360"), std::nullopt);
  EXPECT_EQ(history, "b.csv");
  EXPECT_EQ(switch_ms, 17);
  EXPECT_TRUE(seed);

  std::vector<std::string> bad = {"c360", "--hystory", "b.csv"};
  argv.clear();
  for (auto& a : bad) argv.push_back(a.data());
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(flags.parse(static_cast<int>(argv.size()), argv.data(), "c360"), 2);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("--hystory"), std::string::npos);
}

}  // namespace
}  // namespace runnel

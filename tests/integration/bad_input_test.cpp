// Bad input: a clear one-line error, exit code 2, and nothing under final names.
#include <gtest/gtest.h>

#include <regex>
#include <runnel/runnel.hpp>
#include <runnel/version.hpp>

#include "api/job_cli.hpp"
#include "integration/cli_runner.hpp"
#include "test_util.hpp"

namespace {
using runnel::testing::run_cli;
using runnel::testing::ScratchDir;
using runnel::testing::shell_quote;

void expect_user_error(const runnel::testing::CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(needle), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal failure"), std::string::npos) << r.output;
}

TEST(BadInput, MissingInputPath) {
  ScratchDir dir;
  auto r = run_cli("run wordcount --input " + shell_quote(dir / "nope.txt") + " --output " +
                   shell_quote(dir / "out"));
  expect_user_error(r, "does not exist");
  EXPECT_FALSE(std::filesystem::exists(dir / "out/_SUCCESS"));
}

TEST(Cli, VersionIsTheProjects) {
  auto r = run_cli("--version");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, std::string("runnel ") + runnel::version() + "\n");
  // project(runnel VERSION ...) in CMakeLists.txt
  EXPECT_TRUE(std::regex_match(runnel::version(), std::regex(R"(\d+\.\d+\.\d+)")))
      << runnel::version();
}

TEST(BadInput, UnknownRecordFormat) {
  ScratchDir dir;
  runnel::testing::write_file(dir / "in.txt", "a b a\n");
  const std::string args = "run wordcount --input " + shell_quote(dir / "in.txt") + " --output " +
                           shell_quote(dir / "out");
  expect_user_error(run_cli(args + " --format avro"),
                    "--format 'avro': the formats are csv and json");
  expect_user_error(run_cli(args + " --output-format xml"), "--output-format 'xml'");
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
}

TEST(BadInput, EmptyGlob) {
  ScratchDir dir;
  auto r = run_cli("run wordcount --input " + shell_quote(dir / "*.txt") + " --output " +
                   shell_quote(dir / "out"));
  expect_user_error(r, "matches no files");
}

TEST(BadInput, UnreadableInput) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads any file";
  ScratchDir dir;
  runnel::testing::write_file(dir / "secret.txt", "x");
  std::filesystem::permissions(dir / "secret.txt", std::filesystem::perms::none);
  auto r = run_cli("run wordcount --input " + shell_quote(dir / "secret.txt") + " --output " +
                   shell_quote(dir / "out"));
  expect_user_error(r, "cannot open input file");
}

TEST(BadInput, NonEmptyOutputNeedsOverwrite) {
  ScratchDir dir;
  runnel::testing::write_file(dir / "in.txt", "a b a\n");
  std::string args = "run wordcount --input " + shell_quote(dir / "in.txt") + " --output " +
                     shell_quote(dir / "out");
  ASSERT_EQ(run_cli(args).exit_code, 0);
  expect_user_error(run_cli(args), "exists and is not empty");
  auto r = run_cli(args + " --overwrite");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"),
            (std::vector<std::string>{"a,2", "b,1"}));
  // --overwrite never deletes files runnel did not write.
  runnel::testing::write_file(dir / "out/notes.md", "mine");
  expect_user_error(run_cli(args + " --overwrite"), "holds files runnel did not write");
  EXPECT_TRUE(std::filesystem::exists(dir / "out/notes.md"));
}

TEST(BadInput, BadFlags) {
  expect_user_error(run_cli("run wordcount --input a --output b --parallelism zero"),
                    "parallelism");
  expect_user_error(run_cli("run wordcount --bogus"), "bogus");
  expect_user_error(run_cli("run nosuchjob"), "nosuchjob");
  expect_user_error(
      run_cli("run wordcount --input /etc/hostname --output /tmp/x --memory-budget lots"),
      "--memory-budget 'lots' is not a size");
  expect_user_error(run_cli("run wordcount --input /etc/hostname --output /tmp/x --memory-budget "
                            "99999999999999999999G"),
                    "is not a size");
  expect_user_error(run_cli("run wordcount --input /dev/null --output /tmp/x"),
                    "is not a regular file");
  expect_user_error(run_cli("run wordcount --input /etc/hostname --output /tmp/x "
                            "--rocksdb-timers memory"),
                    "--rocksdb-timers is for --state-backend rocksdb");
  expect_user_error(run_cli("run wordcount --input /etc/hostname --output /tmp/x "
                            "--state-backend rocksdb --rocksdb-timers heap"),
                    "--rocksdb-timers: heap not in {rocksdb,memory}");
  expect_user_error(run_cli("run wordcount --input /etc/hostname --output /tmp/x "
                            "--checkpoint-interval 555455555555555m"),
                    "--checkpoint-interval '555455555555555m' is too long");
  expect_user_error(run_cli("run wordcount --input /etc/hostname --output /tmp/x "
                            "--metrics-address 0.0.0.0"),
                    "--metrics-address is for a metrics server: add --metrics-port");
  expect_user_error(run_cli("run wordcount --input /etc/hostname --output /tmp/x "
                            "--metrics-port 0 --metrics-address 192.0.2.1"),
                    "cannot serve metrics on 192.0.2.1:0");
  auto help = run_cli("run wordcount --help");
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--memory-budget"), std::string::npos);
  EXPECT_EQ(run_cli("--help").exit_code, 0);
  EXPECT_EQ(run_cli("jobs").exit_code, 0);
}

TEST(BadInput, BinaryInputIsData) {
  ScratchDir dir;
  std::string bytes;
  for (int i = 0; i < 100000; ++i) bytes += static_cast<char>((i * 131) % 256);
  runnel::testing::write_file(dir / "bin", bytes);
  auto r = run_cli("run wordcount --input " + shell_quote(dir / "bin") + " --output " +
                   shell_quote(dir / "out"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = run_cli("run uppercase --input " + shell_quote(dir / "bin") + " --output " +
              shell_quote(dir / "up"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

struct Sale {
  std::string sku;
  int quantity = 0;
  double price = 0;
};
RUNNEL_FIELDS(Sale, sku, quantity, price);

// The path the CLI and run_main take: rejected CSV lines land in OUTPUT/_rejected.
TEST(BadInput, RejectedCsvLinesGoToTheRejectedDirectory) {
  ScratchDir dir;
  runnel::testing::write_file(dir / "in/sales.csv", "a,1,2.5\nb,x,1\nc,3\n\nd,4,0.5\n");
  runnel::api::JobFlags flags;
  flags.options.input = dir / "in";
  flags.options.output = dir / "out";
  flags.no_progress = true;
  int rc = runnel::api::run_job(
      "sales", flags,
      [](runnel::Pipeline& p, const runnel::Options& o) {
        p.read(o.csv_input<Sale>())
            .map([](const Sale& s) { return std::make_pair(s.sku, s.quantity * s.price); })
            .write(o.csv_output());
      },
      false);
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(runnel::testing::read_part_lines(dir / "out"),
            (std::vector<std::string>{"a,2.5", "d,2"}));
  EXPECT_TRUE(std::filesystem::exists(dir / "out/_SUCCESS"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out/_rejected/_SUCCESS"));
  auto rejected = runnel::testing::read_part_lines(dir / "out/_rejected");
  ASSERT_EQ(rejected.size(), 3u);
  std::string in = dir / "in/sales.csv";
  EXPECT_EQ(rejected[0], in + ",2,column 2: 'x' is not an integer,\"b,x,1\"");
  EXPECT_EQ(rejected[1], in + ",3,\"expected 3 columns, found 2\",\"c,3\"");
  EXPECT_EQ(rejected[2], in + ",4,\"expected 3 columns, found 1\",");
}

}  // namespace

// Checkpointed file output: a checkpoint's parts are published once each,
// and a part it lists that is neither pending nor published fails the
// commit loudly instead of publishing the epoch without its records.
#include <gtest/gtest.h>

#include <filesystem>
#include <runnel/detail/output_files.hpp>
#include <runnel/error.hpp>

#include "test_util.hpp"

namespace {
using runnel::detail::OutputDirectory;
using runnel::detail::OutputSpec;

TEST(OutputDirectory, AListedPartThatIsGoneFailsTheCommit) {
  runnel::testing::ScratchDir dir;
  OutputSpec spec;
  spec.dir = dir / "out";
  spec.extension = "txt";
  OutputDirectory out(spec);
  out.register_epoch_part(0, 1);
  out.register_epoch_part(1, 1);
  runnel::testing::write_file(out.pending_path(0, 1), "a\n");
  runnel::testing::write_file(out.pending_path(1, 1), "b\n");
  out.commit_epochs({{0, 1}, {1, 1}});
  EXPECT_TRUE(std::filesystem::exists(out.epoch_path(0, 1)));
  EXPECT_TRUE(std::filesystem::exists(out.epoch_path(1, 1)));
  // Listed again by the next checkpoint (its completion not yet seen): fine.
  EXPECT_NO_THROW(out.commit_epochs({{0, 1}}));

  out.register_epoch_part(0, 2);
  out.register_epoch_part(1, 2);
  runnel::testing::write_file(out.pending_path(1, 2), "c\n");
  try {
    out.commit_epochs({{0, 2}, {1, 2}});
    FAIL() << "a part removed by someone else was passed over";
  } catch (const runnel::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("part-00000-000000002.txt' of checkpoint 2 is gone"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace

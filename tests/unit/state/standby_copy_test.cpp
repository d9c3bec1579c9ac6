#include "state/standby_copy.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace runnel::state {
namespace {
namespace fs = std::filesystem;

ino_t inode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_ino;
}

// A checkpoint whose one instance has an operator state, a key group and a
// native directory holding `tables` (the shared table file 1.sst, linked
// from checkpoint to checkpoint as RocksDB's are, and one of its own).
class StandbyCopyTest : public ::testing::Test {
 protected:
  fs::path ck() const { return dir_.path() / "ck"; }
  fs::path copies() const { return dir_.path() / "copies"; }
  fs::path copy_of(std::int64_t id) const { return copies() / fmt::format("chk-{:09d}", id); }

  void checkpoint(std::int64_t id) {
    const fs::path native = dir_.path() / fmt::format("native-{}", id);
    fs::create_directories(native);
    const fs::path shared = dir_.path() / "1.sst";
    if (!fs::exists(shared)) std::ofstream(shared) << std::string(4096, 's');
    fs::create_hard_link(shared, native / "1.sst");
    std::ofstream(native / fmt::format("{}.sst", id + 1)) << "table of " << id;
    CheckpointContent c;
    c.id = id;
    c.max_parallelism = 4;
    OperatorCheckpoint op;
    op.key = "1.0";
    op.uid = "counts";
    op.name = "count per key";
    OperatorSnapshot s;
    s.operator_state = fmt::format("state at {}", id);
    s.key_group(2, 4) = fmt::format("group 2 at {}", id);
    s.native_dir = native.string();
    op.instances.push_back(std::move(s));
    c.operators.push_back(std::move(op));
    write_checkpoint(ck(), c);
  }

  runnel::testing::ScratchDir dir_;
  std::atomic<bool> cancel_{false};
};

TEST_F(StandbyCopyTest, CopiesTheNewestCheckpointAndLinksTheTablesItShares) {
  EXPECT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 0);  // nothing yet
  checkpoint(1);
  EXPECT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 1);
  ASSERT_TRUE(inspect_checkpoint(copy_of(1), true).valid);
  const ino_t shared = inode(copy_of(1) / "1.0-0.db" / "1.sst");
  EXPECT_NE(shared, inode(ck() / "chk-000000001" / "1.0-0.db" / "1.sst"));  // a copy
  EXPECT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 1);              // up to date

  checkpoint(2);
  EXPECT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 2);
  // The table file both checkpoints share was linked from the older copy, not copied again.
  EXPECT_EQ(inode(copy_of(2) / "1.0-0.db" / "1.sst"), shared);
  EXPECT_TRUE(inspect_checkpoint(copy_of(2), true).valid);
  // The older copy stays (a restore may read it) until it is removed.
  EXPECT_TRUE(fs::exists(copy_of(1)));
  remove_older_copies(copies(), 2);
  EXPECT_FALSE(fs::exists(copy_of(1)));
  EXPECT_TRUE(fs::exists(copy_of(2)));

  // Asked to stop: the copy it has stays, the newer checkpoint is not copied.
  checkpoint(3);
  cancel_ = true;
  EXPECT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 2);
  EXPECT_TRUE(fs::exists(copy_of(2)));
  EXPECT_FALSE(fs::exists(copy_of(3)));
}

TEST_F(StandbyCopyTest, ARestoreReadsTheCopyOnlyWhenItIsTheSameCheckpointAndIntact) {
  checkpoint(1);
  checkpoint(2);
  ASSERT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 2);
  std::vector<std::string> log;
  auto c = load_latest(ck(), log, {}, copies());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->path, copy_of(2));
  const auto direct = load_checkpoint(ck() / "chk-000000002");
  ASSERT_NE(c->find("1.0"), nullptr);
  EXPECT_EQ(c->find("1.0")->operator_states, direct.find("1.0")->operator_states);
  EXPECT_EQ(c->find("1.0")->key_groups, direct.find("1.0")->key_groups);
  EXPECT_TRUE(log.empty());

  // A damaged copy: the checkpoint itself is read, and the log says why.
  for (const auto& e : fs::directory_iterator(copy_of(2))) {
    if (e.is_regular_file() && e.path().filename() != "_manifest") {
      std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(0);
      f.put('#');
    }
  }
  log.clear();
  c = load_latest(ck(), log, {}, copies());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->path, ck() / "chk-000000002");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("local copy"), std::string::npos) << log[0];

  // A table file of the copy changed after it was checked (its size kept):
  // the checksum remembered for it is not trusted, the file is read again.
  fs::remove_all(copy_of(2));
  ASSERT_EQ(refresh_standby_copy(ck(), copies(), cancel_), 2);
  ASSERT_EQ(load_latest(ck(), log, {}, copies())->path, copy_of(2));
  // (File times are coarser than a nanosecond: the change must come later.)
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::fstream f(copy_of(2) / "1.0-0.db" / "3.sst", std::ios::in | std::ios::out);
    f.seekp(0);
    f.put('#');
  }
  log.clear();
  c = load_latest(ck(), log, {}, copies());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->path, ck() / "chk-000000002");
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("checksum mismatch"), std::string::npos) << log[0];

  // A newer checkpoint than the copy: read from where it is.
  checkpoint(3);
  log.clear();
  c = load_latest(ck(), log, {}, copies());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->path, ck() / "chk-000000003");
  EXPECT_TRUE(log.empty());
}

}  // namespace
}  // namespace runnel::state

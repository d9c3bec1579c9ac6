#include "state/checkpoint_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "runnel/hash.hpp"
#include "test_util.hpp"

namespace runnel::state {
namespace {
namespace fs = std::filesystem;

CheckpointContent sample(std::int64_t id) {
  CheckpointContent c;
  c.id = id;
  c.max_parallelism = 8;
  OperatorCheckpoint op;
  op.key = "1.0";
  op.uid = "counts";
  op.name = "combine per key";
  for (int i = 0; i < 2; ++i) {
    OperatorSnapshot s;
    s.operator_state = "state of " + std::to_string(i) + " at " + std::to_string(id);
    // Instance i holds key groups 4i .. 4i+3; two of them have bytes.
    s.key_group(4 * i, 8) = "kg" + std::to_string(4 * i);
    s.key_group(4 * i + 3, 8) = std::string(1000, static_cast<char>('a' + i));
    op.instances.push_back(std::move(s));
  }
  c.operators.push_back(std::move(op));
  return c;
}

void flip_byte(const fs::path& file, std::size_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// The manifest's checksum line must be whole: a changed newline after it, or a
// hex digit in another case (the same number to strtoull), is damage too.
TEST(CheckpointStore, AnyByteChangedInTheChecksumLineIsFound) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(3));
  const fs::path manifest = dir.path() / "chk-000000003" / "_manifest";
  const std::string text = runnel::testing::read_file(manifest);
  const auto sum = text.rfind("checksum ") + 9;
  auto damaged = [&](std::string changed) {
    runnel::testing::write_file(manifest, changed);
    return !inspect_checkpoint(dir.path() / "chk-000000003", true).valid;
  };
  std::string newline = text;
  newline.back() = '\v';  // bit 0 of '\n'
  EXPECT_TRUE(damaged(newline));
  const auto letter = text.find_first_of("abcdef", sum);
  if (letter != std::string::npos) {
    std::string upper = text;
    upper[letter] = static_cast<char>(upper[letter] - 'a' + 'A');  // bit 5
    EXPECT_TRUE(damaged(upper));
  }
  EXPECT_TRUE(damaged(text + "\n"));
  EXPECT_FALSE(damaged(text));
}

// A manifest whose checksum holds but whose lines no writer of ours writes
// (found by tests/fuzz/checkpoint_fuzz: a section named "kgx" threw
// std::invalid_argument out of inspect_checkpoint) is refused with what is
// wrong, and a restore never reads a file outside its checkpoint.
TEST(CheckpointStore, AManifestThatSaysWhatNoWriterSaysIsRefused) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(3));
  const fs::path chk = dir.path() / "chk-000000003";
  const std::string text = runnel::testing::read_file(chk / "_manifest");
  const std::string body = text.substr(0, text.rfind("checksum "));
  auto problem_of = [&](const std::string& from, const std::string& to) {
    std::string changed = body;
    const auto at = changed.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    changed.replace(at, from.size(), to);
    runnel::testing::write_file(
        chk / "_manifest",
        changed + fmt::format("checksum {:016x}\n", hash_bytes(changed.data(), changed.size())));
    const CheckpointInfo info = inspect_checkpoint(chk, true);
    EXPECT_FALSE(info.valid) << to;
    EXPECT_THROW(load_checkpoint(chk), std::runtime_error) << to;
    return info.problem;
  };
  EXPECT_NE(problem_of(" kg0 ", " kgx ").find("neither os nor a key group"), std::string::npos);
  EXPECT_NE(problem_of(" kg0 ", " kg8 ").find("neither os nor a key group"), std::string::npos);
  EXPECT_NE(problem_of("inst 1 ", "inst 2 ").find("not an instance 2"), std::string::npos);
  EXPECT_NE(problem_of("inst 1 1.0-1.state", "inst 1 ../../1.0-1.state").find("outside"),
            std::string::npos);
  EXPECT_NE(problem_of("max_parallelism 8", "max_parallelism -8").find("cannot be read"),
            std::string::npos);
  EXPECT_NE(problem_of("key_groups 0 8", "key_groups 4 8").find("are not among 8"),
            std::string::npos);
  EXPECT_NE(problem_of(" os 0 ", " os 99999999 ").find("past the end"), std::string::npos);
  // The manifest unchanged (checksum recomputed the same way) is valid.
  runnel::testing::write_file(chk / "_manifest", text);
  EXPECT_TRUE(inspect_checkpoint(chk, true).valid);
}

TEST(CheckpointStore, WritesAndLoadsBack) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(3));
  EXPECT_TRUE(fs::exists(dir.path() / "chk-000000003" / "_manifest"));
  EXPECT_FALSE(fs::exists(dir.path() / "chk-000000003.inprogress"));
  auto loaded = load_checkpoint(dir.path() / "chk-000000003");
  EXPECT_EQ(loaded.id, 3);
  EXPECT_EQ(loaded.max_parallelism, 8);
  EXPECT_EQ(loaded.key_groups, KeyGroupRange::all(8));  // a run of the whole job owns all
  const auto* op = loaded.find("1.0");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->name, "combine per key");
  EXPECT_EQ(op->parallelism, 2);
  ASSERT_EQ(op->operator_states.size(), 2u);
  EXPECT_EQ(op->operator_states[1], "state of 1 at 3");
  ASSERT_EQ(op->key_groups.size(), 8u);
  EXPECT_EQ(op->key_groups[0], "kg0");
  EXPECT_EQ(op->key_groups[4], "kg4");
  EXPECT_EQ(op->key_groups[7], std::string(1000, 'b'));
  EXPECT_TRUE(op->key_groups[1].empty());
  EXPECT_EQ(loaded.find("9.9"), nullptr);
}

// A member of a job spread over shares checkpoints its share's key groups;
// the manifest says which, so a restore can refuse another share's.
TEST(CheckpointStore, AShareRecordsTheKeyGroupsItOwned) {
  runnel::testing::ScratchDir dir;
  CheckpointContent c = sample(4);
  c.key_groups = KeyGroupRange::of_share(1, 3, 8);
  write_checkpoint(dir.path(), c);
  auto loaded = load_checkpoint(dir.path() / "chk-000000004");
  EXPECT_EQ(loaded.key_groups, (KeyGroupRange{3, 3}));
  EXPECT_EQ(inspect_checkpoint(dir.path() / "chk-000000004", true).key_groups,
            (KeyGroupRange{3, 3}));
}

TEST(CheckpointStore, EachOperatorsStateFormatIsKept) {
  runnel::testing::ScratchDir dir;
  auto c = sample(4);
  EXPECT_EQ(c.operators[0].format, 1u);
  c.operators[0].format = 7;
  write_checkpoint(dir.path(), c);
  EXPECT_EQ(inspect_checkpoint(dir.path() / "chk-000000004", true).operators.at(0).format, 7u);
  EXPECT_EQ(load_checkpoint(dir.path() / "chk-000000004").find("1.0")->format, 7u);
}

TEST(CheckpointStore, InspectListsSectionsAndVerifies) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(1));
  auto info = inspect_checkpoint(dir.path() / "chk-000000001", true);
  EXPECT_TRUE(info.valid) << info.problem;
  ASSERT_EQ(info.operators.size(), 1u);
  ASSERT_EQ(info.operators[0].instances.size(), 2u);
  EXPECT_EQ(info.operators[0].instances[0].sections.size(), 3u);  // operator state + 2 key groups
  EXPECT_GT(info.bytes, 2000u);
}

TEST(CheckpointStore, DetectsDamagedStateAndFallsBack) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(1));
  write_checkpoint(dir.path(), sample(2));
  auto file = dir.path() / "chk-000000002" / "1.0-1.state";
  flip_byte(file, 30);
  auto info = inspect_checkpoint(dir.path() / "chk-000000002", true);
  EXPECT_FALSE(info.valid);
  EXPECT_NE(info.problem.find("checksum mismatch in 1.0-1.state"), std::string::npos)
      << info.problem;
  EXPECT_THROW(load_checkpoint(dir.path() / "chk-000000002"), std::runtime_error);
  std::vector<std::string> log;
  auto latest = load_latest(dir.path(), log);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, 1);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_NE(log[0].find("chk-000000002 is not usable"), std::string::npos) << log[0];
}

TEST(CheckpointStore, DetectsMissingAndDamagedManifest) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(1));
  write_checkpoint(dir.path(), sample(2));
  write_checkpoint(dir.path(), sample(3));
  fs::remove(dir.path() / "chk-000000003" / "_manifest");
  flip_byte(dir.path() / "chk-000000002" / "_manifest", 25);
  EXPECT_EQ(inspect_checkpoint(dir.path() / "chk-000000003", false).problem,
            "incomplete: no _manifest");
  EXPECT_NE(inspect_checkpoint(dir.path() / "chk-000000002", false).problem.find("damaged"),
            std::string::npos);
  std::vector<std::string> log;
  auto latest = load_latest(dir.path(), log);
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->id, 1);
  EXPECT_EQ(log.size(), 2u);
}

TEST(CheckpointStore, TruncatedStateFileIsDetected) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(1));
  fs::resize_file(dir.path() / "chk-000000001" / "1.0-0.state", 10);
  EXPECT_FALSE(inspect_checkpoint(dir.path() / "chk-000000001", true).valid);
  std::vector<std::string> log;
  EXPECT_FALSE(load_latest(dir.path(), log).has_value());
}

TEST(CheckpointStore, InProgressDirectoryIsIncompleteAndCountsForIds) {
  runnel::testing::ScratchDir dir;
  write_checkpoint(dir.path(), sample(1));
  fs::create_directories(dir.path() / "chk-000000002.inprogress");
  auto all = list_checkpoints(dir.path(), false);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[0].valid);
  EXPECT_FALSE(all[1].valid);
  EXPECT_EQ(highest_checkpoint_id(dir.path()), 2);
  std::vector<std::string> log;
  EXPECT_EQ(load_latest(dir.path(), log)->id, 1);
}

TEST(CheckpointStore, RetainKeepsTheNewest) {
  runnel::testing::ScratchDir dir;
  for (int id = 1; id <= 5; ++id) write_checkpoint(dir.path(), sample(id));
  fs::create_directories(dir.path() / "chk-000000002.inprogress");  // stale
  fs::create_directories(dir.path() / "chk-000000006.inprogress");  // being written
  retain_checkpoints(dir.path(), 2);
  std::vector<std::int64_t> ids;
  for (const auto& c : list_checkpoints(dir.path(), false)) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::int64_t>{4, 5, 6}));
}

TEST(CheckpointStore, EmptyOrMissingDirectoryHasNothing) {
  runnel::testing::ScratchDir dir;
  std::vector<std::string> log;
  EXPECT_FALSE(load_latest(dir.path() / "absent", log).has_value());
  EXPECT_EQ(highest_checkpoint_id(dir.path() / "absent"), 0);
  EXPECT_TRUE(list_checkpoints(dir.path(), true).empty());
}

// RocksDB files linked into two checkpoints are one file: counted as shared
// once, and a file of the later checkpoint only (or a copy) is new.
TEST(CheckpointStore, BytesSharedWithTheCheckpointBeforeAreTheSameFiles) {
  testing::ScratchDir dir;
  auto info = [&](const std::string& name, std::vector<NativeFileInfo> files) {
    fs::create_directories(dir.path() / name / "op-0.db");
    CheckpointInfo c;
    c.path = dir.path() / name;
    OperatorInfo op;
    InstanceInfo inst;
    inst.native_dir = "op-0.db";
    inst.native_files = std::move(files);
    op.instances.push_back(inst);
    c.operators.push_back(op);
    return c;
  };
  CheckpointInfo before = info("chk-1", {{"1.sst", 5, 0}, {"2.sst", 7, 0}});
  std::ofstream(dir / "chk-1/op-0.db/1.sst") << "11111";
  std::ofstream(dir / "chk-1/op-0.db/2.sst") << "2222222";
  CheckpointInfo after = info("chk-2", {{"1.sst", 5, 0}, {"2.sst", 7, 0}, {"3.sst", 3, 0}});
  fs::create_hard_link(dir / "chk-1/op-0.db/1.sst", dir / "chk-2/op-0.db/1.sst");
  fs::copy_file(dir / "chk-1/op-0.db/2.sst", dir / "chk-2/op-0.db/2.sst");  // equal, not shared
  std::ofstream(dir / "chk-2/op-0.db/3.sst") << "333";
  EXPECT_EQ(bytes_shared_with(after, before), 5u);
  EXPECT_EQ(bytes_shared_with(before, before), 12u);
  fs::remove_all(dir / "chk-1");  // gone: nothing shared
  EXPECT_EQ(bytes_shared_with(after, before), 0u);
}

}  // namespace
}  // namespace runnel::state

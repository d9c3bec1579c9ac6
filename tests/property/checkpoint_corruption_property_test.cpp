// Damaged checkpoints are found, never misread (issue 24, item 2): real
// checkpoints of a windowed, keyed job (memory row logs and RocksDB table
// files beside the state files and the manifest), then at least 100 random
// damages each (a bit flipped at a random offset of a random file, or the file
// cut short): every one makes the checkpoint invalid with a reason, a load of
// it throws that reason, and a restore of the directory skips it for the one
// before. Nothing crashes (the ASan stage runs this too).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <runnel/runnel.hpp>
#include <string>
#include <vector>

#include "state/checkpoint_store.hpp"
#include "test_util.hpp"

namespace {
using namespace runnel;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A checkpointed run whose last two checkpoints are kept under dir/ck.
void checkpointed_run(const fs::path& dir, StateBackend backend) {
  PipelineOptions o;
  o.parallelism = 2;
  o.mode = ExecutionMode::kStreaming;
  o.state_backend = backend;
  o.checkpoint_dir = (dir / "ck").string();
  o.checkpoint_interval = 50ms;
  o.checkpoints_kept = 2;
  Pipeline p(o);
  io::GeneratorOptions g;
  g.events = 20'000;
  g.rate = 40'000;
  g.shards = 2;
  p.read(io::generator<std::pair<std::string, Timestamp>>(
             g,
             [](const io::GeneratedEvent& e) {
               return std::make_pair("k" + std::to_string(e.random % 101), e.time);
             }))
      .with_timestamps([](const auto& kv) { return kv.second; },
                       watermarks::bounded_out_of_orderness(5ms))
      .window_into(windows::fixed(1min))
      .map([](const auto& kv) { return kv.first; })
      .count_per_element()
      .discard();
  p.run();
}

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && fs::file_size(e.path()) > 0) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct Damage {
  std::size_t file = 0;     // index into the checkpoint's files
  std::uint64_t where = 0;  // offset (modulo the file's size)
  int bit = 0;
  bool cut = false;  // cut the file short there instead
};

void damage(const fs::path& file, const Damage& d) {
  const auto size = fs::file_size(file);
  const auto at = d.where % size;
  if (d.cut) {
    fs::resize_file(file, at);
    return;
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(at));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ (1 << d.bit));
  f.seekp(static_cast<std::streamoff>(at));
  f.write(&c, 1);
}

void every_damage_is_found(StateBackend backend) {
  runnel::testing::ScratchDir dir;
  checkpointed_run(dir.path(), backend);
  const auto kept = state::list_checkpoints(dir.path() / "ck", true);
  ASSERT_EQ(kept.size(), 2u);
  ASSERT_TRUE(kept[0].valid && kept[1].valid);
  const fs::path pristine = kept[1].path;
  const auto files = files_under(pristine);
  // The manifest, state files, and row logs or table files.
  ASSERT_GE(files.size(), 4u);
  int runs = 0;
  const bool held = rc::check("every damage is found", [&] {
    const Damage d{*rc::gen::inRange<std::size_t>(0, files.size()),
                   *rc::gen::arbitrary<std::uint64_t>(), *rc::gen::inRange(0, 8),
                   *rc::gen::weightedElement<bool>({{4, false}, {1, true}})};
    ++runs;
    // A copy of the two checkpoints, the newer one damaged.
    const fs::path work = dir.path() / ("run-" + std::to_string(runs));
    fs::create_directories(work);
    fs::copy(kept[0].path, work / kept[0].path.filename(), fs::copy_options::recursive);
    fs::copy(pristine, work / pristine.filename(), fs::copy_options::recursive);
    const fs::path target = work / pristine.filename() / fs::relative(files[d.file], pristine);
    damage(target, d);
    const auto info = state::inspect_checkpoint(work / pristine.filename(), true);
    RC_ASSERT_FALSE(info.valid);
    RC_ASSERT_FALSE(info.problem.empty());
    bool threw = false;
    try {
      state::load_checkpoint(work / pristine.filename());
    } catch (const std::runtime_error& e) {
      threw = !std::string(e.what()).empty();
    }
    RC_ASSERT(threw);
    // A restore of the directory falls back to the checkpoint before.
    std::vector<std::string> lines;
    const auto restored = state::load_latest(work, lines);
    RC_ASSERT(restored.has_value());
    RC_ASSERT(restored->id == kept[0].id);
    RC_ASSERT(!lines.empty());
    fs::remove_all(work);
  });
  EXPECT_TRUE(held);
  EXPECT_GE(runs, 100);  // rapidcheck's default: 100 cases
}

TEST(CheckpointCorruption, EveryDamageToAMemoryCheckpointIsFound) {
  every_damage_is_found(StateBackend::kMemory);
}

TEST(CheckpointCorruption, EveryDamageToARocksDBCheckpointIsFound) {
  every_damage_is_found(StateBackend::kRocksDB);
}

}  // namespace

#include "state/standby_copy.hpp"

#include <fmt/format.h>

#include <map>
#include <string>
#include <system_error>
#include <tuple>

#include "state/checkpoint_store.hpp"

namespace runnel::state {
namespace fs = std::filesystem;

namespace {

// Native files by their path in the checkpoint, with size and checksum: a
// file of the same path, size and checksum in two checkpoints is the same
// table file (linked from one to the next).
using NativeFiles = std::map<std::string, std::tuple<std::uint64_t, std::uint64_t>>;

NativeFiles native_files(const CheckpointInfo& c) {
  NativeFiles out;
  for (const auto& op : c.operators)
    for (const auto& inst : op.instances)
      for (const auto& f : inst.native_files)
        out[(fs::path(inst.native_dir) / f.name).string()] = {f.bytes, f.checksum};
  return out;
}

// The newest complete checkpoint under `from` (a fenced run's is not
// complete: inspect_checkpoint), by its manifest; load_latest reads and
// checks the files.
const CheckpointInfo* newest_complete(const std::vector<CheckpointInfo>& all) {
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (it->valid) return &*it;
  return nullptr;
}

[[noreturn]] void fail(const std::string& what, const fs::path& path, const std::error_code& ec) {
  throw std::runtime_error(
      fmt::format("standby copy: cannot {} '{}': {}", what, path.string(), ec.message()));
}

}  // namespace

std::int64_t refresh_standby_copy(const fs::path& from, const fs::path& to,
                                  const std::atomic<bool>& cancel) {
  std::error_code ec;
  const std::vector<CheckpointInfo> copies = list_checkpoints(to, false, {.fencing = false});
  const CheckpointInfo* held = nullptr;
  for (const auto& c : copies)
    if (c.valid) held = &c;  // sorted by id: the newest complete copy
  const std::int64_t held_id = held != nullptr ? held->id : 0;
  const std::vector<CheckpointInfo> all = list_checkpoints(from, false);
  const CheckpointInfo* source = newest_complete(all);
  if (source == nullptr || source->id <= held_id) return held_id;

  // Made and checked under a staging directory, then renamed into place
  // whole: a restore finds a copy complete and checked, or none.
  const fs::path staging = to / ".copying";
  const fs::path tmp = staging / source->path.filename();
  fs::remove_all(staging, ec);
  fs::create_directories(tmp, ec);
  if (ec) fail("create", tmp, ec);
  auto give_up = [&] {
    fs::remove_all(staging, ec);
    return held_id;
  };
  const NativeFiles wanted = native_files(*source);
  const NativeFiles have = held != nullptr ? native_files(*held) : NativeFiles{};
  // Every file of the checkpoint: a table file the copy before holds is
  // linked from it; the rest (instance files, the manifest) are copied.
  for (auto it = fs::recursive_directory_iterator(source->path, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (cancel.load(std::memory_order_relaxed)) return give_up();
    const fs::path rel = fs::relative(it->path(), source->path, ec);
    const fs::path dst = tmp / rel;
    if (it->is_directory()) {
      fs::create_directories(dst, ec);
      if (ec) fail("create", dst, ec);
      continue;
    }
    const auto w = wanted.find(rel.string());
    if (w != wanted.end()) {
      const auto h = have.find(rel.string());
      if (h != have.end() && h->second == w->second) {
        fs::create_hard_link(held->path / rel, dst, ec);
        if (!ec) continue;
        ec.clear();
      }
    }
    // The owner's retention may remove the checkpoint while it is copied:
    // the next refresh copies a newer one.
    fs::copy_file(it->path(), dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return give_up();
  }
  if (ec || cancel.load(std::memory_order_relaxed)) return give_up();
  // Reading each new file once checks it and remembers its checksum (by
  // inode), so a restore from the copy does not read it again; the files
  // linked from the copy before were read when that copy was made.
  const CheckpointInfo copy =
      inspect_checkpoint(tmp, true, {.fencing = false, .trust_read_checksums = true});
  if (!copy.valid || cancel.load(std::memory_order_relaxed)) return give_up();
  fs::rename(tmp, to / source->path.filename(), ec);
  if (ec) fail("rename", tmp, ec);
  fs::remove_all(staging, ec);
  return copy.id;
}

void remove_older_copies(const fs::path& to, std::int64_t keep) {
  std::error_code ec;
  for (const auto& c : list_checkpoints(to, false, {.fencing = false}))
    if (c.id < keep) fs::remove_all(c.path, ec);
}

}  // namespace runnel::state

#pragma once
// The native snapshots an operator instance took for checkpoints (RocksDB's,
// or the memory backend's chain of row logs): each is a directory in the
// state directory, linked into the checkpoint when it completes, and removed
// here once that has happened or it failed (or when the instance goes).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/operator.hpp"

namespace runnel::detail {

class NativeSnapshots {
 public:
  explicit NativeSnapshots(const InstanceContext& ctx)
      : state_dir_(ctx.state_dir),
        prefix_(ctx.uid + "-" + std::to_string(ctx.instance) + ".snap-"),
        settled_(ctx.settled_checkpoint) {}
  NativeSnapshots(const NativeSnapshots&) = delete;
  NativeSnapshots& operator=(const NativeSnapshots&) = delete;
  ~NativeSnapshots() {
    std::error_code ec;
    for (const auto& [id, dir] : taken_) std::filesystem::remove_all(dir, ec);
  }

  // Snapshots `store` (written through first) for checkpoint `id` into out.native_dir.
  void take(KvStore& store, std::int64_t id, OperatorSnapshot& out) {
    take(id, out, [&](const std::filesystem::path& dir) { store.checkpoint(dir); });
  }
  // The same, with write(dir) making the snapshot's directory.
  template <class Write>
  void take(std::int64_t id, OperatorSnapshot& out, Write&& write) {
    auto dir = reserve(id, out);
    write(dir);
  }
  // The directory of the snapshot for checkpoint `id`, named in
  // out.native_dir, for the caller to make (now or on another thread, before
  // the checkpoint links it).
  std::filesystem::path reserve(std::int64_t id, OperatorSnapshot& out) {
    const std::int64_t done = settled_ ? settled_->load() : 0;
    std::error_code ec;
    while (!taken_.empty() && taken_.front().first <= done) {
      std::filesystem::remove_all(taken_.front().second, ec);
      taken_.pop_front();
    }
    // Unique per call: the snapshot an instance takes when it finishes may
    // carry the id of one it took just before, still being linked.
    auto dir = state_dir_ / (prefix_ + std::to_string(id) + "-" + std::to_string(++seq_));
    taken_.emplace_back(id, dir);
    out.native_dir = dir.string();
    return dir;
  }

 private:
  std::filesystem::path state_dir_;
  std::string prefix_;
  const std::atomic<std::int64_t>* settled_;
  std::deque<std::pair<std::int64_t, std::filesystem::path>> taken_;
  std::uint64_t seq_ = 0;
};

}  // namespace runnel::detail

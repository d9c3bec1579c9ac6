#pragma once
// A member's standby replicas (--standby-replicas N): copies, on this
// member's disk, of the latest checkpoints of shards other members run, kept
// fresh by a thread of their own (state/standby_copy.hpp), so that when the
// group gives this member one of those shards its restore reads the local
// copy. Which shards: for each shard a live member runs, the N other live
// members that run the fewest shards, as the group's cooperative-sticky
// assignor gives a dead member's shards to the members with the fewest (ties
// broken by a hash of shard and member, so the copies spread).
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace runnel::api {

// A live member (one that reported lately and did not leave) and the shards it runs.
struct MemberShards {
  std::string key;
  std::vector<int> shards;
};

// The shards member `me` (one of `live`) keeps standby copies of.
std::set<int> standby_shards(const std::vector<MemberShards>& live, const std::string& me,
                             int replicas);

class StandbyCopies {
 public:
  // `checkpoints`: the job's --checkpoint-dir (a shard's are under
  // shard-NN); `copies`: where this member keeps its copies (removed when
  // this is destroyed).
  StandbyCopies(std::filesystem::path checkpoints, std::filesystem::path copies);
  ~StandbyCopies();
  StandbyCopies(const StandbyCopies&) = delete;
  StandbyCopies& operator=(const StandbyCopies&) = delete;

  // The shards to keep copies of from now on.
  void want(std::set<int> shards);
  // Shard `s` is this member's now: a copy of it being made is abandoned and
  // the copies it has are left for the restore (without waiting); returns
  // where its copies are.
  std::filesystem::path take(int s);
  // The run of `s` restored (its copy may go), or `s` is no longer this member's.
  void restored(int s);
  void release(int s);
  // The newest checkpoint copied for each shard, for reports.
  std::map<int, std::int64_t> held() const;

 private:
  std::filesystem::path dir_of(int s) const;
  void loop();

  std::filesystem::path checkpoints_, copies_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<int> wanted_;
  std::map<int, bool> taken_;  // shard -> restored
  std::map<int, std::int64_t> held_;
  int copying_ = -1;  // the shard the thread copies now
  std::atomic<bool> cancel_{false};
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace runnel::api

#include "api/standby_copies.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "core/log.hpp"
#include "runnel/hash.hpp"
#include "state/standby_copy.hpp"

namespace runnel::api {
namespace fs = std::filesystem;

std::set<int> standby_shards(const std::vector<MemberShards>& live, const std::string& me,
                             int replicas) {
  std::set<int> out;
  if (replicas <= 0) return out;
  for (const MemberShards& owner : live) {
    for (int s : owner.shards) {
      std::vector<std::tuple<std::size_t, std::uint64_t, const std::string*>> others;
      for (const MemberShards& m : live) {
        if (&m == &owner) continue;
        const std::string mixed = fmt::format("{}/{}", s, m.key);
        others.emplace_back(m.shards.size(), hash_bytes(mixed.data(), mixed.size()), &m.key);
      }
      std::sort(others.begin(), others.end());
      const std::size_t n = std::min(others.size(), static_cast<std::size_t>(replicas));
      for (std::size_t i = 0; i < n; ++i)
        if (*std::get<2>(others[i]) == me) out.insert(s);
    }
  }
  return out;
}

StandbyCopies::StandbyCopies(fs::path checkpoints, fs::path copies)
    : checkpoints_(std::move(checkpoints)), copies_(std::move(copies)) {
  std::error_code ec;
  fs::create_directories(copies_, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("standby replicas: cannot create '{}': {}", copies_.string(), ec.message()));
  thread_ = std::thread([this] { loop(); });
}

StandbyCopies::~StandbyCopies() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    cancel_ = true;
  }
  cv_.notify_all();
  thread_.join();
  std::error_code ec;
  fs::remove_all(copies_, ec);
}

fs::path StandbyCopies::dir_of(int s) const { return copies_ / fmt::format("shard-{:02d}", s); }

void StandbyCopies::want(std::set<int> shards) {
  std::lock_guard lock(mu_);
  wanted_ = std::move(shards);
  cv_.notify_all();
}

fs::path StandbyCopies::take(int s) {
  // Not waited for: a copy being made is renamed into place whole, and no
  // copy of a taken shard is removed until its run restored.
  std::lock_guard lock(mu_);
  taken_[s] = false;
  if (copying_ == s) cancel_ = true;
  return dir_of(s);
}

void StandbyCopies::restored(int s) {
  std::lock_guard lock(mu_);
  if (auto it = taken_.find(s); it != taken_.end()) it->second = true;
  cv_.notify_all();
}

void StandbyCopies::release(int s) {
  std::lock_guard lock(mu_);
  taken_.erase(s);
  cv_.notify_all();
}

std::map<int, std::int64_t> StandbyCopies::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

void StandbyCopies::loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    // Copies no longer wanted, of shards not being restored from them.
    std::vector<fs::path> unwanted;
    for (auto it = held_.begin(); it != held_.end();) {
      const auto t = taken_.find(it->first);
      const bool restoring = t != taken_.end() && !t->second;
      if (wanted_.count(it->first) || restoring) {
        ++it;
        continue;
      }
      unwanted.push_back(dir_of(it->first));
      it = held_.erase(it);
    }
    if (!unwanted.empty()) {
      // Outside the lock: a copy of hundreds of MB takes a while to remove,
      // and take() (a takeover) and held() (the member's report) must not
      // wait on it. Only this thread writes into the copies.
      lock.unlock();
      for (const auto& dir : unwanted) {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
      lock.lock();
    }
    for (int s : std::vector<int>(wanted_.begin(), wanted_.end())) {
      if (stop_) break;
      if (taken_.count(s) || !wanted_.count(s)) continue;
      copying_ = s;
      cancel_ = false;  // a cancel was for the shard copied before
      lock.unlock();
      std::int64_t id = 0;
      try {
        id = state::refresh_standby_copy(checkpoints_ / fmt::format("shard-{:02d}", s), dir_of(s),
                                         cancel_);
      } catch (const std::exception& e) {
        log_warn(fmt::format("standby copy of shard {}: {}", s, e.what()));
      }
      lock.lock();
      copying_ = -1;
      // The copies before the newest go, unless a restore may be reading one.
      if (id > 0 && !taken_.count(s)) {
        try {
          state::remove_older_copies(dir_of(s), id);
        } catch (const std::exception& e) {
          log_warn(fmt::format("standby copy of shard {}: {}", s, e.what()));
        }
      }
      if (id > 0 && !held_.count(s))
        log_info(fmt::format("standby copy of shard {}: checkpoint {}, in {}", s, id,
                             dir_of(s).string()));
      if (id > 0) held_[s] = id;
      cv_.notify_all();
    }
    cv_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stop_; });
  }
}

}  // namespace runnel::api

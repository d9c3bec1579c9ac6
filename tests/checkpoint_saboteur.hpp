#pragma once
// Makes checkpoints fail while a job runs, as a full disk would: once the
// checkpoint directory holds a complete checkpoint (a chk-N directory, not
// chk-N.inprogress), it is moved aside and a file takes its place, so every
// later checkpoint fails to be written. put_back() (or the destructor) undoes it.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace runnel::testing {

class CheckpointSaboteur {
 public:
  // ck: the job's checkpoint directory; saved: where it goes while in the
  // way; ready: when to move it (default: once it holds a complete
  // checkpoint; a job whose sinks write into it after a checkpoint completes
  // waits for that, or the move fails them first).
  CheckpointSaboteur(std::filesystem::path ck, std::filesystem::path saved,
                     std::function<bool()> ready = {})
      : ck_(std::move(ck)),
        saved_(std::move(saved)),
        ready_(ready ? std::move(ready) : [this] { return holds_complete_checkpoint(); }),
        thread_([this] { watch(); }) {}
  ~CheckpointSaboteur() { put_back(); }
  CheckpointSaboteur(const CheckpointSaboteur&) = delete;
  CheckpointSaboteur& operator=(const CheckpointSaboteur&) = delete;

  void put_back() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    if (std::filesystem::is_regular_file(ck_)) {
      std::filesystem::remove(ck_);
      std::filesystem::rename(saved_, ck_);
    }
  }

 private:
  bool holds_complete_checkpoint() const {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(ck_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("chk-", 0) == 0 && name.find('.') == std::string::npos) return true;
    }
    return false;
  }
  void watch() {
    while (!done_) {
      if (ready_()) {
        std::filesystem::rename(ck_, saved_);
        std::ofstream(ck_) << "in the way\n";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  std::filesystem::path ck_, saved_;
  std::function<bool()> ready_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace runnel::testing

#pragma once
// Makes checkpoints fail while a job runs, as a full disk would: once the
// checkpoint directory holds two complete checkpoints (chk-N directories, not
// chk-N.inprogress: the first is then certainly durable and committed), it is
// moved aside and a file takes its place, so every later checkpoint fails to
// be written. put_back() (or the destructor) undoes it.
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
  // way; ready: when to move it (default: once it holds two complete
  // checkpoints; a job whose sinks write into it after a checkpoint completes
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
    int complete = 0;
    for (const auto& e : std::filesystem::directory_iterator(ck_, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("chk-", 0) == 0 && name.find('.') == std::string::npos) ++complete;
    }
    return complete >= 2;
  }
  void watch() {
    while (!done_ && !ready_()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (done_) return;
    // The file is made first and renamed into place: the job may create the
    // directory again between the two renames (a checkpoint starting), and
    // that checkpoint fails anyway. No exception may leave this thread.
    const std::filesystem::path file = saved_.string() + ".file";
    std::ofstream(file) << "in the way\n";
    std::error_code ec;
    std::filesystem::rename(ck_, saved_, ec);
    if (ec) return;  // put_back() finds no file and leaves the directory
    for (int tries = 0; tries < 1000; ++tries) {
      std::filesystem::rename(file, ck_, ec);
      if (!ec) return;
      std::filesystem::remove_all(ck_, ec);
    }
  }

  std::filesystem::path ck_, saved_;
  std::function<bool()> ready_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace runnel::testing

#pragma once
// A progress bar on stderr for bounded jobs: bytes read of the total, rate
// and ETA, redrawn a few times a second by its own thread. Drawn only when
// stderr is a terminal, so logs and pipes stay clean.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace runnel::observe {

class ProgressBar {
 public:
  ProgressBar(std::uint64_t total_bytes, const std::atomic<std::uint64_t>& done_bytes,
              bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Stops drawing and clears the line.
  void stop();

 private:
  void loop();
  void draw(std::chrono::steady_clock::time_point start) const;
  std::uint64_t total_;
  const std::atomic<std::uint64_t>& done_;
  bool active_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// "1.5 GB", "12.0 MB": bytes for people.
std::string human_bytes(double bytes);

}  // namespace runnel::observe

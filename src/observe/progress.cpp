#include "observe/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace runnel::observe {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u])
                : fmt::format("{:.1f} {}", bytes, units[u]);
}

ProgressBar::ProgressBar(std::uint64_t total_bytes, const std::atomic<std::uint64_t>& done_bytes,
                         bool enabled)
    : total_(total_bytes), done_(done_bytes) {
  active_ = enabled && total_ > 0 && ::isatty(STDERR_FILENO) == 1;
  if (active_) thread_ = std::thread([this] { loop(); });
}

ProgressBar::~ProgressBar() { stop(); }

void ProgressBar::stop() {
  if (!active_) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  active_ = false;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

void ProgressBar::draw(std::chrono::steady_clock::time_point start) const {
  double done = static_cast<double>(done_.load(std::memory_order_relaxed));
  double total = static_cast<double>(total_);
  double frac = std::min(1.0, done / total);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rate = secs > 0 ? done / secs : 0;
  constexpr int kWidth = 30;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<std::size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  std::string eta = rate > 0 ? fmt::format("{:.0f}s", (total - done) / rate) : "?";
  auto line = fmt::format("\r[{}] {:3.0f}% {} / {}  {}/s  ETA {}\033[K", bar, frac * 100,
                          human_bytes(done), human_bytes(total), human_bytes(rate), eta);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void ProgressBar::loop() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  // Drawn at once, then redrawn until stopped: even a short job shows its total.
  do {
    draw(start);
  } while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping_; }));
}

}  // namespace runnel::observe

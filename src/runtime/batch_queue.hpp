#pragma once
// A bounded multi-producer, single-consumer queue of batches and control
// messages: one per task instance. A full queue blocks its producers, which is
// how backpressure travels upstream. Locked once per batch, never per record.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "runnel/detail/batch.hpp"

namespace runnel::runtime {

struct Message {
  // kWatermark (streaming mode): no element of this channel will have an
  // event time at or before `watermark` any more.
  // kBarrier (checkpoints): everything this channel sent before belongs to
  // checkpoint `checkpoint`, everything after to the next.
  enum class Kind { kData, kWatermark, kEndOfInput, kBarrier };
  Kind kind = Kind::kData;
  int input = 0;    // which input of the consuming operator
  int channel = 0;  // which producer instance sent it (its slot at the consumer)
  BatchPtr batch;
  Timestamp watermark = kMinTimestamp;
  std::int64_t checkpoint = 0;
};

// Thrown out of push/pop once the queue is closed because the job failed.
struct Cancelled {};

class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

  void push(Message m);
  Message pop();
  // Like pop, but gives up at `deadline` (streaming mode: timers must run).
  std::optional<Message> pop_until(std::chrono::steady_clock::time_point deadline);
  // Wakes every waiter; later push/pop throw Cancelled.
  void close();

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }
  // Kept equal to size() under the queue's own lock, for the metrics
  // (queue fill shows backpressure); set before the queue is used.
  void set_fill_gauge(std::atomic<std::uint32_t>* gauge) { fill_gauge_ = gauge; }

 private:
  // Called with the lock held and an item (or closed_); releases the lock.
  Message take_front(std::unique_lock<std::mutex>& lock);

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Message> items_;
  bool closed_ = false;
  std::atomic<std::uint32_t>* fill_gauge_ = nullptr;
  void publish_fill() {
    if (fill_gauge_)
      fill_gauge_->store(static_cast<std::uint32_t>(items_.size()), std::memory_order_relaxed);
  }
};

}  // namespace runnel::runtime

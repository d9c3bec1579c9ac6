#pragma once
// A bounded multi-producer, single-consumer queue of batches and control
// messages: one per task instance. A full queue blocks its producers, which is
// how backpressure travels upstream. Locked once per batch, never per record.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

#include "runnel/batch.hpp"

namespace runnel::runtime {

struct Message {
  enum class Kind { kData, kEndOfInput };
  Kind kind = Kind::kData;
  int input = 0;  // which input of the consuming operator
  BatchPtr batch;
};

// Thrown out of push/pop once the queue is closed because the job failed.
struct Cancelled {};

class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity ? capacity : 1) {}

  void push(Message m);
  Message pop();
  // Wakes every waiter; later push/pop throw Cancelled.
  void close();

  std::size_t size() const;
  std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Message> items_;
  bool closed_ = false;
};

}  // namespace runnel::runtime

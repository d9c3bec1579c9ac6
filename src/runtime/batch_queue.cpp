#include "runtime/batch_queue.hpp"

namespace runnel::runtime {

void BatchQueue::push(Message m) {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
  if (closed_) throw Cancelled{};
  items_.push_back(std::move(m));
  publish_fill();
  lock.unlock();
  not_empty_.notify_one();
}

Message BatchQueue::pop() {
  std::unique_lock lock(mu_);
  not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
  return take_front(lock);
}

std::optional<Message> BatchQueue::pop_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!not_empty_.wait_until(lock, deadline, [&] { return closed_ || !items_.empty(); })) {
    return std::nullopt;
  }
  return take_front(lock);
}

Message BatchQueue::take_front(std::unique_lock<std::mutex>& lock) {
  if (closed_) throw Cancelled{};
  Message m = std::move(items_.front());
  items_.pop_front();
  publish_fill();
  lock.unlock();
  not_full_.notify_one();
  return m;
}

void BatchQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  not_full_.notify_all();
  not_empty_.notify_all();
}

std::size_t BatchQueue::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

}  // namespace runnel::runtime

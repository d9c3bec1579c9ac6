#include "runtime/exchange.hpp"

#include <algorithm>

namespace runnel::runtime {

ExchangeOutput::ExchangeOutput(ExchangeKind kind, const Partitioner* partitioner,
                               std::vector<BatchQueue*> targets, int to_input, int channel,
                               std::size_t batch_size, int max_parallelism,
                               KeyGroupRange key_groups)
    : kind_(kind),
      partitioner_(partitioner),
      targets_(std::move(targets)),
      to_input_(to_input),
      channel_(channel),
      batch_size_(batch_size),
      max_parallelism_(max_parallelism),
      key_groups_(key_groups) {}

void ExchangeOutput::send(std::size_t target, BatchPtr batch) {
  targets_[target]->push(Message{Message::Kind::kData, to_input_, channel_, std::move(batch)});
}

void ExchangeOutput::push(BatchBase& batch) {
  if (batch.size() == 0) return;
  switch (kind_) {
    case ExchangeKind::kForward:
      send(0, batch.take());
      break;
    case ExchangeKind::kRebalance:
      send(next_, batch.take());
      next_ = (next_ + 1) % targets_.size();
      break;
    case ExchangeKind::kBroadcast:
      for (std::size_t t = 0; t + 1 < targets_.size(); ++t) send(t, batch.clone());
      send(targets_.size() - 1, batch.take());
      break;
    case ExchangeKind::kHash: {
      if (buffers_.empty()) {
        for (std::size_t t = 0; t < targets_.size(); ++t) buffers_.push_back(batch.make_empty());
      }
      partitioner_->split(batch, buffers_, max_parallelism_, key_groups_);
      for (std::size_t t = 0; t < targets_.size(); ++t) {
        if (buffers_[t]->size() >= batch_size_) send(t, buffers_[t]->take());
      }
      break;
    }
  }
}

void ExchangeOutput::flush() {
  for (std::size_t t = 0; t < buffers_.size(); ++t) {
    if (buffers_[t]->size() > 0) send(t, buffers_[t]->take());
  }
}

void ExchangeOutput::watermark(Timestamp wm) {
  if (wm == kIdleWatermark) {
    if (sent_idle_) return;
    sent_idle_ = true;
  } else {
    if (wm <= sent_watermark_ && !sent_idle_) return;
    sent_idle_ = false;
    sent_watermark_ = std::max(sent_watermark_, wm);
    wm = sent_watermark_;
  }
  flush();  // data before the watermark stays before it
  for (auto* q : targets_) {
    Message m{Message::Kind::kWatermark, to_input_, channel_, nullptr};
    m.watermark = wm;
    q->push(std::move(m));
  }
}

void ExchangeOutput::barrier(std::int64_t id) {
  flush();
  for (auto* q : targets_) {
    Message m{Message::Kind::kBarrier, to_input_, channel_, nullptr};
    m.checkpoint = id;
    q->push(std::move(m));
  }
}

void ExchangeOutput::finish() {
  flush();
  for (auto* q : targets_)
    q->push(Message{Message::Kind::kEndOfInput, to_input_, channel_, nullptr});
}

}  // namespace runnel::runtime

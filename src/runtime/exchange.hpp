#pragma once
// The producing end of an edge between tasks: routes each batch to consumer
// queues by the edge's kind, and ends with an end-of-input to each of them.
#include <vector>

#include "runnel/detail/node_spec.hpp"
#include "runnel/detail/operator.hpp"
#include "runtime/batch_queue.hpp"

namespace runnel::runtime {

class ExchangeOutput final : public Output {
 public:
  // `targets` are the consumer instances this producer instance feeds (one
  // for kForward, all of them otherwise).
  ExchangeOutput(ExchangeKind kind, const Partitioner* partitioner,
                 std::vector<BatchQueue*> targets, int to_input, int channel,
                 std::size_t batch_size, int max_parallelism, KeyGroupRange key_groups);

  void push(BatchBase& batch) override;
  // Sends what is buffered (streaming mode: bounds how long a record waits).
  void flush();
  // Streaming mode: sends what is buffered, then the watermark to every
  // target, if it rose since the last one sent (or kIdleWatermark, once,
  // when the producer goes quiet).
  void watermark(Timestamp wm);
  // Sends what is buffered, then the barrier of checkpoint `id` to every target.
  void barrier(std::int64_t id);
  // Sends what is buffered, then end-of-input to every target.
  void finish();

 private:
  void send(std::size_t target, BatchPtr batch);

  ExchangeKind kind_;
  const Partitioner* partitioner_;
  std::vector<BatchQueue*> targets_;
  int to_input_;
  int channel_;
  Timestamp sent_watermark_ = kMinTimestamp;
  bool sent_idle_ = false;
  std::size_t batch_size_;
  int max_parallelism_;
  KeyGroupRange key_groups_;       // the ones this run owns, spread over the targets
  std::size_t next_ = 0;           // kRebalance: next target
  std::vector<BatchPtr> buffers_;  // kHash: one per target
};

}  // namespace runnel::runtime

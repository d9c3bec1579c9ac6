#include "runtime/batch_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace {
using namespace runnel;
using namespace runnel::runtime;

Message data(int v) {
  auto b = std::make_unique<Batch<int>>();
  b->values.push_back(v);
  return Message{Message::Kind::kData, 0, 0, std::move(b)};
}

TEST(BatchQueue, FullQueueBlocksTheProducerUntilTheConsumerTakes) {
  BatchQueue q(2);
  q.push(data(1));
  q.push(data(2));
  std::atomic<bool> pushed{false};
  std::thread producer([&] {
    q.push(data(3));  // blocks: the queue is full
    pushed = true;
  });
  // The producer cannot finish while the queue stays full. Poll rather than
  // sleep for a fixed time: the check is that it has not finished *before* a pop.
  for (int i = 0; i < 50 && !pushed; ++i) std::this_thread::yield();
  EXPECT_FALSE(pushed.load());
  EXPECT_EQ(q.size(), 2u);
  Message m = q.pop();
  producer.join();
  EXPECT_TRUE(pushed.load());
  EXPECT_EQ(batch_cast<int>(*m.batch).values[0], 1);
  EXPECT_EQ(batch_cast<int>(*q.pop().batch).values[0], 2);
  EXPECT_EQ(batch_cast<int>(*q.pop().batch).values[0], 3);
}

TEST(BatchQueue, CloseWakesBlockedProducersAndConsumers) {
  BatchQueue full(1);
  full.push(data(1));
  BatchQueue empty(1);
  std::atomic<int> cancelled{0};
  std::thread producer([&] {
    try {
      full.push(data(2));
    } catch (const Cancelled&) {
      ++cancelled;
    }
  });
  std::thread consumer([&] {
    try {
      empty.pop();
    } catch (const Cancelled&) {
      ++cancelled;
    }
  });
  full.close();
  empty.close();
  producer.join();
  consumer.join();
  EXPECT_EQ(cancelled.load(), 2);
}

TEST(BatchQueue, KeepsOrderPerProducer) {
  BatchQueue q(4);
  constexpr int kN = 10000;
  std::thread a([&] {
    for (int i = 0; i < kN; ++i) q.push(data(i));
  });
  std::thread b([&] {
    for (int i = 0; i < kN; ++i) q.push(data(-i - 1));
  });
  int next_pos = 0, next_neg = -1;
  for (int n = 0; n < 2 * kN; ++n) {
    int v = batch_cast<int>(*q.pop().batch).values[0];
    if (v >= 0) {
      ASSERT_EQ(v, next_pos++);
    } else {
      ASSERT_EQ(v, next_neg--);
    }
  }
  a.join();
  b.join();
}

}  // namespace

#pragma once
// A repartition topic's two ends over librdkafka: the writer a producing
// shard runs, the reader of one partition a consuming shard runs. The
// protocol (markers, epochs, what a reader may take) is RepartitionInbox's.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/kafka/repartition_inbox.hpp"
#include "runnel/kafka.hpp"

namespace runnel::io {

// Thread-safe: the parallel instances of a shard's producing step share one.
class RepartitionWriter {
 public:
  // `topic` (in `topic.topic`) has `partitions` partitions, one per shard;
  // this is shard `producer`'s run, restored from checkpoint
  // `restored_checkpoint` (0: none). Writes the run's marker to every
  // partition.
  RepartitionWriter(const KafkaIO& topic, int producer, int partitions,
                    std::int64_t restored_checkpoint);
  ~RepartitionWriter();
  RepartitionWriter(const RepartitionWriter&) = delete;
  RepartitionWriter& operator=(const RepartitionWriter&) = delete;

  // What one sender (a parallel instance) has sent and not yet seen
  // acknowledged, so that it can wait for its own records only.
  struct InFlight {
    std::atomic<std::int64_t> records{0};
  };

  // Records for the shard that owns `partition` (one encoded batch), sent
  // before the barrier of checkpoint `epoch` (the first that covers them).
  void send(int partition, std::int64_t epoch, std::string_view payload,
            InFlight* in_flight = nullptr);
  // The producer's watermark (RepartitionInbox::kIdle: idle), to every partition.
  void watermark(std::int64_t epoch, std::int64_t time);
  // Waits until everything sent is acknowledged (or throws): at a barrier,
  // before the checkpoint can complete. With `in_flight`, only what that
  // sender sent (the others may go on sending meanwhile).
  void flush(InFlight* in_flight = nullptr);
  // Checkpoint `id` completed: its records may be read.
  void committed(std::int64_t id);
  // The input ended: everything sent may be read; flushed.
  void end();

  std::uint64_t run() const;
  std::uint64_t bytes_sent() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class RepartitionReader {
 public:
  // Reads partition `partition` of `topic.topic`, written by `producers`
  // shards; keeps at most `buffer_bytes` of records it cannot take yet.
  RepartitionReader(const KafkaIO& topic, int partition, int producers,
                    std::size_t buffer_bytes = 64 << 20);
  ~RepartitionReader();
  RepartitionReader(const RepartitionReader&) = delete;
  RepartitionReader& operator=(const RepartitionReader&) = delete;

  // Resumes from a snapshot() taken before.
  void restore(std::string_view snapshot);
  // Reads what arrived, waiting up to `wait` for the first record.
  void poll(std::chrono::milliseconds wait);
  // The next record to take (data, watermark or a producer's end), in order.
  bool pop(RepartitionInbox::Item& out) { return inbox_.pop(out); }
  std::int64_t watermark() const { return inbox_.watermark(); }
  bool ended() const { return inbox_.ended(); }
  std::string snapshot() const { return inbox_.snapshot(); }
  const RepartitionInbox& inbox() const { return inbox_; }

 private:
  void assign(std::int64_t offset);

  KafkaIO topic_;
  int partition_;
  RepartitionInbox inbox_;
  struct Client;
  std::unique_ptr<Client> client_;
  std::int64_t assigned_from_ = -1;
  std::uint64_t errors_ = 0;
  bool sought_ = false;  // reading again from assigned_from_
};

}  // namespace runnel::io

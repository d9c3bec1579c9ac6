#pragma once
// The consumer side of a repartition topic, without Kafka: which records of
// one partition a downstream shard may take, and when.
//
// A repartition topic carries a job's keyed exchange between shards that may
// run in different members: each producer shard writes the records of key
// group g to partition shard_of(g), without transactions (the development
// cluster has none, and a transaction per checkpoint per shard would cost a
// round trip each). Exactly once comes from markers instead, in band:
//   - a producer's run begins with a Run marker (its random id and the
//     checkpoint it restored, 0 for none) in every partition;
//   - a data or watermark record carries its epoch: the id of the first
//     checkpoint that covers it;
//   - once checkpoint N completed, the run writes Commit N to every
//     partition: its records of epochs <= N may be taken;
//   - a new run of the producer (after a failure or a move) settles the older
//     runs: their records of epochs <= the checkpoint it restored were covered
//     by that checkpoint (taken), the rest will be produced again (dropped);
//   - End: the run produced all its input; all its records may be taken, and
//     later runs of that producer (a rerun of a shard whose input had ended)
//     are ignored.
// Records are taken in partition order, so a watermark or end never
// overtakes the data before it; a record whose fate is not known yet holds
// the ones behind it (the latency of a repartition is up to a checkpoint
// interval, as with Kafka Streams' or Flink's exactly-once Kafka exchange).
// The inbox keeps at most `buffer_bytes` of undecided records; past that it
// reads on only for markers, and asks to read the rest again.
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace runnel::io {

enum class RepartitionKind : std::uint8_t {
  kData = 0,
  kWatermark = 1,
  kCommit = 2,
  kRun = 3,
  kEnd = 4
};

// A repartition record's header (its Kafka key).
struct RepartitionHeader {
  RepartitionKind kind = RepartitionKind::kData;
  std::uint32_t producer = 0;  // the producing shard
  std::uint64_t run = 0;       // the producer's run id
  std::int64_t epoch = 0;      // data, watermark: first checkpoint that covers it
  std::int64_t value = 0;      // watermark: its time; Commit: N; Run: restored checkpoint

  std::string encode() const;
  // nullopt for bytes that are not a header of this format.
  static std::optional<RepartitionHeader> decode(std::string_view bytes);
};

class RepartitionInbox {
 public:
  static constexpr std::int64_t kNoWatermark = std::numeric_limits<std::int64_t>::min();
  // A watermark record of this value: the producer is idle (holds no one back).
  static constexpr std::int64_t kIdle = std::numeric_limits<std::int64_t>::min();

  // What the inbox hands on, in partition order.
  struct Item {
    RepartitionKind kind = RepartitionKind::kData;  // kData, kWatermark or kEnd
    std::uint32_t producer = 0;
    std::int64_t offset = 0;
    std::int64_t watermark = 0;  // kWatermark
    std::string payload;         // kData
  };

  // `runs_kept`: runs known per producer before settled ones are forgotten
  // (only those settled before the first record the inbox may read again).
  RepartitionInbox(int producers, std::size_t buffer_bytes, std::size_t runs_kept = 16);

  // The offset the partition must be read from next. It moves back when the
  // inbox dropped records it could not keep and must read them again; the
  // reader checks it after each take().
  std::int64_t read_from() const { return read_from_; }
  // The record at `offset` (>= read_from()); a bad header is dropped and
  // counted.
  void take(std::int64_t offset, std::string_view key, std::string_view payload);
  // The next record decided to be taken, or false.
  bool pop(Item& out);

  // Minimum over the producers neither ended nor idle of the watermarks
  // popped (kNoWatermark until each gave one); the greatest time if none.
  std::int64_t watermark() const;
  // Every producer not ended is idle (and one is not ended).
  bool idle() const;
  // Every producer's end popped.
  bool ended() const;
  std::uint64_t bad_headers() const { return bad_headers_; }
  std::uint64_t dropped() const { return dropped_; }
  // Records decided and not popped yet.
  std::size_t ready() const { return ready_.size(); }

  // Where to resume: the first record not popped yet, and what is known of
  // each producer's runs (knowledge only grows, so knowing more than a
  // re-read shows is safe).
  std::string snapshot() const;
  void restore(std::string_view bytes);

 private:
  enum class Fate { kTake, kDrop, kWait };
  struct Run {
    std::uint64_t order = 0;      // when first seen
    std::int64_t committed = 0;   // epochs <= this are taken
    bool settled = false;         // no more commits: the rest is dropped
    std::int64_t settled_at = 0;  // offset of the marker that settled it
  };
  struct Producer {
    std::map<std::uint64_t, Run> runs;
    std::uint64_t ended_run = 0;            // nonzero once its End was read
    std::int64_t watermark = kNoWatermark;  // as popped
    bool idle = false;
    bool end_popped = false;
  };
  struct Pending {
    std::int64_t offset;
    RepartitionHeader header;
    std::string payload;
  };

  void learn(std::int64_t offset, const RepartitionHeader& h);
  Fate fate(const RepartitionHeader& h) const;
  void decide();
  void forget_old_runs(Producer& p);
  std::int64_t position() const;

  std::vector<Producer> producers_;
  std::size_t buffer_bytes_;
  std::size_t runs_kept_;
  std::deque<Pending> pending_;  // undecided, contiguous from the first
  std::size_t pending_bytes_ = 0;
  std::int64_t gap_from_ = -1;  // first record not kept (the buffer was full)
  std::deque<Item> ready_;
  std::int64_t read_from_ = 0;
  std::uint64_t next_order_ = 1;
  std::uint64_t bad_headers_ = 0, dropped_ = 0;
};

}  // namespace runnel::io

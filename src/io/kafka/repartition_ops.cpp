#include "io/kafka/repartition_ops.hpp"

#include <algorithm>
#include <mutex>

#include "io/kafka/job_topics.hpp"
#include "io/kafka/kafka_client.hpp"
#include "io/kafka/repartition_topic.hpp"
#include "runnel/window.hpp"

namespace runnel::io {
namespace {

// What a shard's writer instances share: one producer, and the lowest of
// their watermarks.
struct WriterShared final : SharedState {
  std::mutex mu;
  // Each instance's count of records not yet delivered. Kept here, declared
  // before the writer so they outlive it: its delivery reports (the last
  // ones when it is destroyed, after the instances are) count them down.
  std::unique_ptr<RepartitionWriter::InFlight[]> in_flight;
  std::unique_ptr<RepartitionWriter> writer;
  std::int64_t restored = 0;
  std::vector<Timestamp> watermarks;  // per instance; kIdleWatermark: idle
  std::vector<std::int64_t> epochs;   // per instance
  Timestamp sent = kMinTimestamp;
  bool sent_idle = false;
  int finished = 0;
};

class WriterInstance final : public OperatorInstance {
 public:
  // Streaming without checkpoints has no commits to wait for: its records
  // are readable at once (epoch 0), as a one-process run without
  // checkpoints promises nothing across a failure either. Batch records wait
  // for the end (a failed shard runs again from its beginning).
  WriterInstance(const RepartitionEdge& edge, const InstanceContext& ctx)
      : edge_(edge),
        ctx_(ctx),
        shared_(ctx.shared->as<WriterShared>()),
        epoch_(ctx.streaming && !ctx.checkpointing ? 0 : ctx.first_checkpoint_id) {}

  void open() override {
    std::lock_guard lock(shared_.mu);
    if (!shared_.writer)
      shared_.writer = std::make_unique<RepartitionWriter>(edge_.topic, edge_.shard, edge_.shards,
                                                           shared_.restored);
    if (shared_.watermarks.empty()) {
      shared_.watermarks.assign(static_cast<std::size_t>(ctx_.parallelism), kMinTimestamp);
      shared_.epochs.assign(static_cast<std::size_t>(ctx_.parallelism), epoch_);
      shared_.in_flight = std::make_unique<RepartitionWriter::InFlight[]>(
          static_cast<std::size_t>(ctx_.parallelism));
    }
    writer_ = shared_.writer.get();
    in_flight_ = &shared_.in_flight[static_cast<std::size_t>(ctx_.instance)];
  }

  void process(int, BatchBase& batch) override {
    if (batch.size() == 0) return;
    if (outs_.empty())
      for (int s = 0; s < edge_.shards; ++s) outs_.push_back(batch.make_empty());
    edge_.partitioner->split(batch, outs_, ctx_.max_parallelism,
                             KeyGroupRange::all(ctx_.max_parallelism));
    for (int s = 0; s < edge_.shards; ++s) {
      BatchBase& out = *outs_[static_cast<std::size_t>(s)];
      if (out.size() == 0) continue;
      bytes_.clear();
      edge_.partitioner->encode(out, bytes_);
      writer_->send(s, epoch_, bytes_, in_flight_);
      out.clear();
    }
  }

  // The shard's watermark, the lowest of its instances'. Its epoch is the
  // latest of theirs: it may stand on records an instance sent after a
  // barrier, and must not be taken before they are.
  Timestamp on_watermark(Timestamp input) override {
    std::lock_guard lock(shared_.mu);
    shared_.watermarks[static_cast<std::size_t>(ctx_.instance)] = input;
    const std::int64_t epoch = *std::max_element(shared_.epochs.begin(), shared_.epochs.end());
    Timestamp low = kMaxTimestamp;
    bool active = false;
    for (Timestamp w : shared_.watermarks) {
      if (w == kIdleWatermark) continue;
      active = true;
      low = std::min(low, w);
    }
    if (!active) {
      if (!shared_.sent_idle) writer_->watermark(epoch, RepartitionInbox::kIdle);
      shared_.sent_idle = true;
    } else if (low > shared_.sent || shared_.sent_idle) {
      shared_.sent = std::max(shared_.sent, low);
      shared_.sent_idle = false;
      writer_->watermark(epoch, shared_.sent);
    }
    return input;
  }

  // What was sent before the barrier is acknowledged before this instance
  // acknowledges it; what comes after belongs to the next checkpoint.
  void snapshot(std::int64_t id, OperatorSnapshot&) override {
    writer_->flush(in_flight_);
    epoch_ = id + 1;
    std::lock_guard lock(shared_.mu);
    shared_.epochs[static_cast<std::size_t>(ctx_.instance)] = epoch_;
  }

  void finish() override {
    std::lock_guard lock(shared_.mu);
    if (++shared_.finished == ctx_.parallelism) writer_->end();
  }

 private:
  const RepartitionEdge& edge_;
  InstanceContext ctx_;
  WriterShared& shared_;
  RepartitionWriter* writer_ = nullptr;
  std::int64_t epoch_;
  RepartitionWriter::InFlight* in_flight_ = nullptr;  // in shared_
  std::vector<BatchPtr> outs_;
  std::string bytes_;
};

class WriterOp final : public Operator {
 public:
  explicit WriterOp(RepartitionEdge edge) : edge_(std::move(edge)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*>) const override {
    return std::make_unique<WriterInstance>(edge_, ctx);
  }
  std::shared_ptr<SharedState> make_shared_state(const SharedStateContext&) const override {
    return std::make_shared<WriterShared>();
  }
  // Stateful (with nothing to save) so that the coordinator tells it when a
  // checkpoint completed (commit_checkpoint): the readers wait for that.
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  void recover(SharedState* shared, std::int64_t id,
               const std::vector<std::string>&) const override {
    shared->as<WriterShared>().restored = id;
  }
  void commit_checkpoint(SharedState* shared, std::int64_t id,
                         const std::vector<std::string>&) const override {
    auto& s = shared->as<WriterShared>();
    std::lock_guard lock(s.mu);
    if (s.writer) s.writer->committed(id);
  }

 private:
  RepartitionEdge edge_;
};

class ReaderInstance final : public SourceInstance {
 public:
  ReaderInstance(const RepartitionEdge& edge, const InstanceContext& ctx,
                 std::vector<Output*> outputs)
      : edge_(edge), ctx_(ctx), outputs_(std::move(outputs)) {}

  void open() override {
    // One reader per shard: the first instance reads the shard's partition.
    if (ctx_.instance == 0)
      reader_ = std::make_unique<RepartitionReader>(edge_.topic, edge_.shard, edge_.shards);
  }
  void restore(const RestoredState& in) override {
    if (reader_ && !in.operator_states.empty() && !in.operator_states[0].empty())
      reader_->restore(in.operator_states[0]);
  }

  bool produce() override {
    if (!reader_) return false;
    reader_->poll(std::chrono::milliseconds(10));
    RepartitionInbox::Item item;
    while (reader_->pop(item)) {
      if (item.kind != RepartitionKind::kData) continue;
      BatchPtr batch = edge_.partitioner->decode(item.payload);
      if (batch->size() == 0) continue;
      for (auto* out : outputs_) out->push(*batch);
    }
    return !reader_->ended();
  }

  Timestamp on_watermark(Timestamp) override {
    if (!reader_) return kMaxTimestamp;
    if (reader_->inbox().idle()) return kIdleWatermark;
    const std::int64_t w = reader_->watermark();
    if (w == RepartitionInbox::kNoWatermark) return kMinTimestamp;
    return std::clamp<std::int64_t>(w, kMinTimestamp, kMaxTimestamp);
  }

  void snapshot(std::int64_t, OperatorSnapshot& out) override {
    if (reader_) out.operator_state = reader_->snapshot();
  }

 private:
  const RepartitionEdge& edge_;
  InstanceContext ctx_;
  std::vector<Output*> outputs_;
  std::unique_ptr<RepartitionReader> reader_;
};

class ReaderOp final : public Operator {
 public:
  explicit ReaderOp(RepartitionEdge edge) : edge_(std::move(edge)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<ReaderInstance>(edge_, ctx, std::move(outputs));
  }
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }

 private:
  RepartitionEdge edge_;
};

}  // namespace

std::shared_ptr<const Operator> repartition_writer(RepartitionEdge edge) {
  return std::make_shared<WriterOp>(std::move(edge));
}

std::shared_ptr<const Operator> repartition_reader(RepartitionEdge edge) {
  return std::make_shared<ReaderOp>(std::move(edge));
}

std::vector<int> ensure_job_topics(const KafkaIO& cluster,
                                   const std::vector<std::pair<std::string, int>>& topics) {
  auto producer = kafka_client::make_client(RD_KAFKA_PRODUCER, cluster, {{"log_level", "3"}});
  return ensure_topics(producer.get(), cluster, topics);
}

}  // namespace runnel::io

#pragma once
// The operators behind io::kafka (see runnel/kafka.hpp). The source and the
// producer live in src/io/kafka/ (librdkafka stays out of the headers); the
// sink is a template only to turn each record into bytes.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runnel/detail/file_io_ops.hpp"
#include "runnel/kafka.hpp"
#include "runnel/operator.hpp"

namespace runnel::detail {

// Emits io::KafkaRecord, or (values_only) each record's value as a std::string line.
std::shared_ptr<Operator> make_kafka_source(const io::KafkaIO& io, bool values_only);

// A producer for one sink instance. send() queues a record (copied);
// flush() returns once the broker acknowledged every queued record, and
// throws if any could not be delivered.
class KafkaProducer {
 public:
  explicit KafkaProducer(const io::KafkaIO& io);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;
  void send(std::string_view key, std::string_view value);
  // Serves delivery reports without waiting (once per batch).
  void poll();
  void flush();

  struct Impl;  // (its delivery callback needs the name)

 private:
  std::unique_ptr<Impl> impl_;
};

// kKeyValue: T is std::pair<std::string, std::string> (key, value); else each
// record is one value: a string as it is (raw_text) or a CSV line.
template <class T, bool kKeyValue>
class KafkaSinkOp final : public Operator {
 public:
  KafkaSinkOp(io::KafkaIO io, bool raw_text) : io_(std::move(io)), raw_text_(raw_text) {}
  // At least once: a checkpoint waits for the acknowledgements (snapshot).
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*>) const override {
    return std::make_unique<Instance>(*this, ctx);
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(const KafkaSinkOp& op, const InstanceContext& ctx)
        : op_(op), producer_(op.io_), counters_(ctx.counters) {}
    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<T>(batch).values;
      for (const auto& v : values) {
        if constexpr (kKeyValue) {
          producer_.send(v.first, v.second);
        } else {
          line_.clear();
          append_line(line_, v, op_.raw_text_);
          line_.pop_back();  // the '\n'
          producer_.send({}, line_);
        }
      }
      producer_.poll();
      if (counters_) counters_->records_in += values.size();
    }
    void snapshot(std::int64_t, OperatorSnapshot&) override { producer_.flush(); }
    void finish() override { producer_.flush(); }

   private:
    const KafkaSinkOp& op_;
    KafkaProducer producer_;
    InstanceCounters* counters_;
    std::string line_;
  };
  io::KafkaIO io_;
  bool raw_text_;
};

}  // namespace runnel::detail

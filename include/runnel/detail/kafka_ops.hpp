#pragma once
// The operators behind io::kafka (see runnel/kafka.hpp). The source and the
// producer live in src/io/kafka/ (librdkafka stays out of the headers); the
// sink is a template only to turn each record into bytes.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/csv.hpp"
#include "runnel/dead_letter.hpp"
#include "runnel/detail/element_ops.hpp"
#include "runnel/detail/file_io_ops.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/json.hpp"
#include "runnel/kafka.hpp"

namespace runnel::detail {

// Record timestamps the sink passes on: up to the year 5000 (ms since the epoch).
inline constexpr Timestamp kMaxKafkaTimestamp = 95'617'584'000'000;

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
  // `time`: the record's timestamp (ms since the epoch); 0: the producer's clock.
  void send(std::string_view key, std::string_view value, Timestamp time = 0);
  // Serves delivery reports without waiting (once per batch).
  void poll();
  void flush();

  struct Impl;  // (its delivery callback needs the name)

 private:
  std::unique_ptr<Impl> impl_;
};

// Exactly-once output: the transactional producers of one sink operator
// (one per instance), shared by its instances, which send, and the checkpoint
// coordinator, which commits. A transaction per checkpoint: prepare() at the
// barrier flushes it; commit() when the checkpoint is durable commits it, logs
// it in CHECKPOINT_DIR/_kafka_transactions.log and begins the next. An
// instance that sends while its prepared transaction waits for the commit
// waits too (librdkafka has one open transaction per producer).
class KafkaTransactions final : public SharedState {
 public:
  KafkaTransactions(const io::KafkaIO& io, const SharedStateContext& ctx);
  ~KafkaTransactions();
  KafkaTransactions(const KafkaTransactions&) = delete;
  KafkaTransactions& operator=(const KafkaTransactions&) = delete;

  // Instance side. open() fences earlier producers of the instance's
  // transactional.id (aborting their open transaction) and begins one.
  void open(int instance, std::int64_t first_checkpoint);
  void send(int instance, std::string_view key, std::string_view value, Timestamp time = 0);
  void poll(int instance);
  // At the barrier of checkpoint `id`: flushes; returns the operator state,
  // which holds the transaction's records, so that a restore can produce
  // them again if the job stopped before this transaction was committed.
  std::string prepare(int instance, std::int64_t id);
  // After finish(): flushes; the state the instance ended in.
  std::string finish(int instance);

  // Coordinator side.
  void commit(std::int64_t id);
  void commit_all();  // the job succeeded
  void abort_all();   // the job failed
  void cancel();      // the job is failing: wake instances waiting for a commit

  // A problem only for states that keep no records (older checkpoints).
  std::string restore_problem(std::int64_t id, const std::vector<std::string>& states) const;
  // Produces and commits again each saved transaction the log does not list
  // as committed; fences the instances the restored job no longer has.
  void recover(std::int64_t id, const std::vector<std::string>& states);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// kKeyValue: T is std::pair<std::string, std::string> (key, value); else each
// record is one value: in kFormat (for kCsv a string is taken as it is if raw_text).
template <class T, bool kKeyValue, io::KafkaFormat kFormat = io::KafkaFormat::kCsv>
class KafkaSinkOp final : public Operator {
 public:
  KafkaSinkOp(io::KafkaIO io, bool raw_text) : io_(std::move(io)), raw_text_(raw_text) {}
  // At least once: a checkpoint waits for the acknowledgements (snapshot).
  // Exactly once: the transactions' two phases follow the checkpoints.
  CheckpointSupport checkpoint_support() const override {
    return io_.exactly_once_write ? CheckpointSupport::kStateful : CheckpointSupport::kStateless;
  }
  std::shared_ptr<SharedState> make_shared_state(const SharedStateContext& ctx) const override {
    if (!io_.exactly_once_write) return nullptr;
    return std::make_shared<KafkaTransactions>(io_, ctx);
  }
  void commit_checkpoint(SharedState* shared, std::int64_t id,
                         const std::vector<std::string>&) const override {
    if (shared) shared->as<KafkaTransactions>().commit(id);
  }
  // Exactly once (shared transactions): a barrier's transaction is committed
  // by its checkpoint, and the next record waits for that.
  bool outlives_failed_checkpoint(SharedState* shared) const override { return shared == nullptr; }
  void on_job_success(SharedState* shared) const override {
    if (shared) shared->as<KafkaTransactions>().commit_all();
  }
  void on_job_failure(SharedState* shared) const override {
    if (shared) shared->as<KafkaTransactions>().abort_all();
  }
  void on_job_cancel(SharedState* shared) const override {
    if (shared) shared->as<KafkaTransactions>().cancel();
  }
  std::string restore_problem(SharedState* shared, std::int64_t id,
                              const std::vector<std::string>& states) const override {
    return shared ? shared->as<KafkaTransactions>().restore_problem(id, states) : "";
  }
  void recover(SharedState* shared, std::int64_t id,
               const std::vector<std::string>& states) const override {
    if (shared) shared->as<KafkaTransactions>().recover(id, states);
  }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*>) const override {
    return std::make_unique<Instance>(*this, ctx);
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(const KafkaSinkOp& op, const InstanceContext& ctx)
        : op_(op),
          tx_(ctx.shared ? &ctx.shared->as<KafkaTransactions>() : nullptr),
          instance_(ctx.instance),
          counters_(ctx.counters) {
      if (tx_) {
        tx_->open(instance_, ctx.checkpointing ? ctx.first_checkpoint_id : 0);
      } else {
        producer_ = std::make_unique<KafkaProducer>(op.io_);
      }
    }
    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<T>(batch).values;
      // Records carry the elements' event time as their timestamp, as
      // Flink's Kafka sink does (else the producer's clock).
      const bool timed = batch.timed();
      for (std::size_t i = 0; i < values.size(); ++i) {
        const T& v = values[i];
        // (Not the ends of time: a global window's results are stamped at
        // its end, which no broker takes as a record time.)
        const Timestamp t = timed ? batch.timestamps[i] : 0;
        const Timestamp time = t > 0 && t < kMaxKafkaTimestamp ? t : 0;
        if constexpr (kKeyValue) {
          send(v.first, v.second, time);
        } else {
          line_.clear();
          if constexpr (kFormat == io::KafkaFormat::kJson) {
            json::append(line_, v);
          } else if constexpr (kFormat == io::KafkaFormat::kCoder) {
            ByteWriter w(line_);
            Coder<T>::encode(v, w);
          } else {
            append_line(line_, v, op_.raw_text_ ? LineFormat::kText : LineFormat::kCsv);
            line_.pop_back();  // the '\n'
          }
          send({}, line_, time);
        }
      }
      if (tx_) {
        tx_->poll(instance_);
      } else {
        producer_->poll();
      }
      if (counters_) counters_->records_in += values.size();
    }
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      if (!tx_) {
        producer_->flush();
      } else if (finished_) {
        out.operator_state = tx_->finish(instance_);
      } else {
        out.operator_state = tx_->prepare(instance_, id);
      }
    }
    void finish() override {
      finished_ = true;
      if (tx_) {
        tx_->finish(instance_);
      } else {
        producer_->flush();
      }
    }

   private:
    void send(std::string_view key, std::string_view value, Timestamp time) {
      if (tx_) {
        tx_->send(instance_, key, value, time);
      } else {
        producer_->send(key, value, time);
      }
    }
    const KafkaSinkOp& op_;
    KafkaTransactions* tx_;  // exactly once; else producer_
    std::unique_ptr<KafkaProducer> producer_;
    int instance_;
    InstanceCounters* counters_;
    std::string line_;
    bool finished_ = false;
  };
  io::KafkaIO io_;
  bool raw_text_;
};

// Record values decoded as T (output 0); those that do not decode go to
// output 1 as dead letters: "TOPIC-PARTITION", the offset, the reason, the value.
template <class T, io::KafkaFormat kFormat>
class KafkaDecodeOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(ctx, outputs.at(0), outputs.at(1));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(const InstanceContext& ctx, Output* out, Output* rejected)
        : counters_(ctx.counters), out_(out, ctx.batch_size), rejected_(rejected, ctx.batch_size) {}
    void process(int, BatchBase& batch) override {
      auto& records = batch_cast<io::KafkaRecord>(batch).values;
      rejected_.carry_split(batch);
      for_each_element(batch, out_, [&](std::size_t i) {
        io::KafkaRecord& r = records[i];
        T value{};
        std::string err = decode(r.value, value);
        if (err.empty()) {
          out_.emit(std::move(value));
        } else {
          rejected_.emit(DeadLetter{r.topic + "-" + std::to_string(r.partition),
                                    static_cast<std::uint64_t>(r.offset), std::move(err),
                                    std::move(r.value)});
        }
      });
      out_.flush();
      rejected_.flush();
      if (counters_) counters_->dead_letters = rejected_.emitted();
    }

   private:
    std::string decode(std::string_view bytes, T& value) {
      if constexpr (kFormat == io::KafkaFormat::kJson) {
        return json::from_json(bytes, value, doc_);
      } else if constexpr (kFormat == io::KafkaFormat::kCsv) {
        return csv::parse_record(bytes, value, cols_, scratch_);
      } else {
        try {
          ByteReader r(bytes);
          value = Coder<T>::decode(r);
          if (!r.empty()) return "not a coded value: bytes left over after it";
          return {};
        } catch (const DecodeError& e) {
          return std::string("not a coded value: ") + e.what();
        }
      }
    }
    InstanceCounters* counters_;
    Emitter<T> out_;
    Emitter<DeadLetter> rejected_;
    json::Document doc_;
    std::vector<std::string_view> cols_;
    std::string scratch_;
  };
};

}  // namespace runnel::detail

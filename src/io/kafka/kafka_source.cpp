// The Kafka source (see include/runnel/kafka.hpp): each instance assigns
// itself its share of the topic's partitions (no consumer group: the job's
// checkpoints, not Kafka, hold its positions) and emits a batch per partition,
// so each partition is a source split with its own watermark.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "io/kafka/kafka_client.hpp"
#include "runnel/coder.hpp"
#include "runnel/detail/kafka_ops.hpp"
#include "runnel/emitter.hpp"
#include "runnel/error.hpp"

namespace runnel::detail {
namespace {

// A partition's low and high offsets. A leader that moves (a broker failed
// and another took over) answers "not leader" until the client's metadata
// follows, and a new leader "offset not available" until it has caught up
// (KIP-207): such answers are asked again until `wait` has passed, as
// librdkafka's own fetches retry them.
rd_kafka_resp_err_t query_offsets(rd_kafka_t* rk, const std::string& topic, std::int32_t partition,
                                  std::chrono::milliseconds wait, std::int64_t& low,
                                  std::int64_t& high) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const rd_kafka_resp_err_t e =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &low, &high,
                                         static_cast<int>(std::max<std::int64_t>(left.count(), 1)));
    const bool retriable = e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                           e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                           e == RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE ||
                           e == RD_KAFKA_RESP_ERR__TRANSPORT ||
                           e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT;
    if (!retriable || std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline)
      return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

using io::kafka_client::Handle;

// The partitions a source instance reads: its splits (see
// InstanceContext::reads_split), numbered by position in the sorted list.
std::vector<std::int32_t> share(const std::vector<std::int32_t>& all, const InstanceContext& ctx) {
  std::vector<std::int32_t> mine;
  for (std::size_t i = 0; i < all.size(); ++i)
    if (ctx.reads_split(i)) mine.push_back(all[i]);
  return mine;
}

template <class T>
class KafkaSourceOp final : public Operator {
 public:
  explicit KafkaSourceOp(io::KafkaIO io) : io_(std::move(io)) {}
  bool bounded() const override { return io_.bounded_read; }
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(io_, ctx, outputs.at(0));
  }

 private:
  struct Partition {
    std::int32_t id = 0;
    std::int64_t next = RD_KAFKA_OFFSET_BEGINNING;  // the next offset to emit
    std::int64_t stop = -1;                         // bounded: the end offset taken at start
    bool done = false;
    bool skip_before_start = false;  // a start time, not restored: before its first record
    std::vector<T> pending;          // read in this poll, not yet emitted
  };

  class Instance final : public SourceInstance {
   public:
    Instance(const io::KafkaIO& io, const InstanceContext& ctx, Output* out)
        : io_(io),
          splits_(ctx),
          batch_size_(ctx.batch_size),
          streaming_(ctx.streaming),
          counters_(ctx.counters),
          figures_(ctx.figures),
          completed_(ctx.checkpointing ? ctx.completed_checkpoint : nullptr),
          out_(out, ctx.batch_size),
          messages_(ctx.batch_size) {}
    ~Instance() override { close(); }
    // Leaves the group while the outputs still exist: closing a group member
    // revokes its partitions through the rebalance callback, which then
    // only commits and unassigns (closing_).
    void close() override {
      closing_ = true;
      if (queue_) rd_kafka_queue_destroy(queue_);
      queue_ = nullptr;
      if (consumer_) rd_kafka_consumer_close(consumer_.get());
      consumer_.reset();
    }

    // Operator state: (partition, next offset) of each partition this instance reads.
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      if (!started_ || waiting_for_topic_) {
        out.operator_state = restored_state_;
        return;
      }
      ByteWriter w(out.operator_state);
      // (A partition of a group still at the group's committed offset has
      // no position of its own yet.)
      std::size_t known = 0;
      for (const auto& p : partitions_) known += p.next >= RD_KAFKA_OFFSET_BEGINNING;
      w.put_varint(known);
      std::vector<std::pair<std::int32_t, std::int64_t>> positions;
      for (const auto& p : partitions_) {
        if (p.next < RD_KAFKA_OFFSET_BEGINNING) continue;
        w.put_varint(static_cast<std::uint64_t>(p.id));
        w.put_varint(static_cast<std::uint64_t>(p.next - RD_KAFKA_OFFSET_BEGINNING));
        if (p.next >= 0) positions.emplace_back(p.id, p.next);
      }
      // Committed to the consumer group once this checkpoint completes.
      if (completed_ && !positions.empty()) to_commit_.emplace_back(id, std::move(positions));
    }
    // Every old instance's positions; this one takes those of its partitions.
    void restore(const RestoredState& in) override {
      for (const auto& bytes : in.operator_states) {
        if (bytes.empty()) continue;
        ByteReader r(bytes);
        for (auto n = r.get_varint(); n > 0; --n) {
          auto id = static_cast<std::int32_t>(r.get_varint());
          const auto next = static_cast<std::int64_t>(r.get_varint()) + RD_KAFKA_OFFSET_BEGINNING;
          // Several old instances may list a partition (one that had not
          // started repeats what it restored): the furthest position wins.
          auto [it, fresh] = restored_.emplace(id, next);
          if (!fresh) it->second = std::max(it->second, next);
        }
      }
      // Until it starts, a snapshot repeats the restored positions of the
      // partitions it will read (its share of those restored).
      std::vector<std::int32_t> ids;
      for (const auto& [id, next] : restored_) ids.push_back(id);
      // (Spread over members, the restored list holds only this share's
      // partitions, so positions in it are not split numbers: every
      // instance repeats them all; a restore takes the furthest position.)
      const auto mine = splits_.shares > 1 ? ids : share(ids, splits_);
      ByteWriter w(restored_state_);
      w.put_varint(mine.size());
      for (std::int32_t id : mine) {
        w.put_varint(static_cast<std::uint64_t>(id));
        w.put_varint(static_cast<std::uint64_t>(restored_[id] - RD_KAFKA_OFFSET_BEGINNING));
      }
    }

    bool produce() override {
      if (!started_) start();
      if (waiting_for_topic_) {
        begin_reading();
        if (waiting_for_topic_) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          return true;
        }
      }
      commit_completed();
      if (active_ == 0 && !io_.subscribe_group) return false;
      const ssize_t n =
          rd_kafka_consume_batch_queue(queue_, 10, messages_.data(), messages_.size());
      const auto now = std::chrono::steady_clock::now();
      if (n > 0) last_record_ = now;
      if (n < 0)
        throw std::runtime_error(fmt::format("Kafka source, {}: {}", io::kafka_client::where(io_),
                                             rd_kafka_err2str(rd_kafka_last_error())));
      for (ssize_t i = 0; i < n; ++i) {
        rd_kafka_message_t* m = messages_[static_cast<std::size_t>(i)];
        bytes_in_ += m->len;
        take(m);
        rd_kafka_message_destroy(m);
      }
      for (auto& p : partitions_) {
        if (!p.pending.empty()) {
          out_.from_split(p.id);
          for (auto& v : p.pending) out_.emit(std::move(v));
          emitted_ += p.pending.size();
          p.pending.clear();
          out_.flush();
        }
        if (!p.done && io_.bounded_read && p.next >= p.stop) finish_partition(p);
      }
      if (counters_) {
        counters_->records_out = emitted_;
        counters_->bytes_in = bytes_in_;
      }
      if (figures_ && now >= next_lag_report_) report_lag(now);
      // (A group member is idle only once the group gave it partitions: a
      // join takes seconds.)
      if (io_.idle_stop.count() > 0 && (active_ > 0 || (io_.subscribe_group && assigned_)) &&
          now - last_record_ >= io_.idle_stop) {
        for (auto& p : partitions_)
          if (!p.done) finish_partition(p);
        if (io_.subscribe_group) return false;
      }
      return active_ > 0 || io_.subscribe_group;
    }

   private:
    // Lag per partition: the high watermark librdkafka last saw (kept from
    // fetch responses: no request) minus the next offset to emit.
    void report_lag(std::chrono::steady_clock::time_point now) {
      bool reported = false;
      for (const auto& p : partitions_) {
        std::int64_t low = -1, high = -1;
        if (rd_kafka_get_watermark_offsets(consumer_.get(), io_.topic.c_str(), p.id, &low, &high) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            high < 0)
          continue;
        std::int64_t at = p.next >= 0 ? std::max(p.next, low) : low;
        if (at < 0) continue;
        figures_->set_consumer_lag(io_.topic, p.id, std::max<std::int64_t>(0, high - at));
        reported = true;
      }
      // Until a fetch response told librdkafka the high watermarks, try again.
      if (reported) next_lag_report_ = now + std::chrono::seconds(1);
    }

    void start() {
      started_ = true;
      // librdkafka 2.0 pauses fetching for about a second once this many
      // messages wait in a consumer (default 100,000): a fast pipeline would
      // stall on it.
      consumer_ = io::kafka_client::make_client(
          RD_KAFKA_CONSUMER, io_,
          {{"group.id", io_.group.empty() ? "runnel-" + io_.topic : io_.group},
           {"enable.auto.commit", "false"},
           {"enable.auto.offset.store", "false"},
           {"auto.offset.reset", "earliest"},
           {"fetch.wait.max.ms", "10"},
           {"queued.min.messages", "1000000"},
           {"log_level", "3"}},
          io_.subscribe_group ? &set_rebalance_callback : nullptr,
          io_.subscribe_group ? this : nullptr);
      if (io_.subscribe_group) check_subscription();
      begin_reading();
    }

    // Whether the topic exists; if not, an error, or (wait_for_topic) a
    // warning now and then and false (produce() asks again).
    bool topic_exists() {
      const auto now = std::chrono::steady_clock::now();
      if (waiting_for_topic_ && now < next_topic_check_) return false;
      std::string trouble;
      try {
        // Once waiting, a check holds the task thread (barriers, a stop)
        // for at most a second.
        topic_partitions_ = io::kafka_client::find_partitions(
            consumer_.get(), io_,
            waiting_for_topic_
                ? std::min<std::chrono::milliseconds>(io_.metadata_wait, std::chrono::seconds(1))
                : io_.metadata_wait);
      } catch (const UserError& e) {
        // Told to wait, a cluster that does not answer for a moment (or a
        // topic still being created) is waited out as well.
        if (!io_.wait_topic) throw;
        topic_partitions_.reset();
        trouble = e.what();
      }
      if (topic_partitions_) {
        if (waiting_for_topic_ && splits_.instance == 0)
          log_info(
              fmt::format("Kafka source: {} exists now; reading it", io::kafka_client::where(io_)));
        waiting_for_topic_ = false;
        return true;
      }
      if (!io_.wait_topic)
        throw UserError(io::kafka_client::missing_topic(consumer_.get(), io_, io_.metadata_wait));
      // One instance speaks for all (each checks for itself).
      if (splits_.instance == 0 && (!waiting_for_topic_ || now >= next_topic_warning_)) {
        log_warn(fmt::format(
            "Kafka source: {}{}; waiting for it (--wait-for-topic)",
            trouble.empty() ? io::kafka_client::where(io_) + " does not exist" : trouble,
            waiting_for_topic_
                ? fmt::format(" after {} s",
                              std::chrono::duration_cast<std::chrono::seconds>(now - waiting_since_)
                                  .count())
                : ""));
        next_topic_warning_ = now + std::chrono::seconds(10);
      }
      if (!waiting_for_topic_) waiting_since_ = now;
      waiting_for_topic_ = true;
      // Every instance asks: every two seconds, not to load a large cluster.
      next_topic_check_ = now + std::chrono::seconds(2);
      return false;
    }

    void begin_reading() {
      if (!topic_exists()) return;
      if (io_.subscribe_group) {
        subscribe();
        return;
      }
      std::vector<std::int32_t> all = std::move(*topic_partitions_);
      if (!io_.partitions.empty()) {
        for (std::int32_t id : io_.partitions)
          if (!std::binary_search(all.begin(), all.end(), id))
            throw UserError(
                fmt::format("Kafka source, {}: only_partitions() names partition {}, "
                            "but the topic has {} partitions",
                            io::kafka_client::where(io_), id, all.size()));
        all = io_.partitions;
        std::sort(all.begin(), all.end());
      }
      const auto mine = share(all, splits_);
      const auto from_time = start_offsets(mine);
      rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(4);
      for (std::int32_t id : mine) {
        Partition p;
        p.id = id;
        if (auto it = restored_.find(id); it != restored_.end()) {
          p.next = it->second;
        } else if (auto t = from_time.find(id); t != from_time.end()) {
          p.next = t->second;
          p.skip_before_start = true;
        }
        if (!io_.bounded_read && p.next == RD_KAFKA_OFFSET_BEGINNING) {
          // A logical offset makes librdkafka look it up before the first
          // fetch (about half a second on the development cluster): resolve it here.
          std::int64_t low = 0, high = 0;
          if (query_offsets(consumer_.get(), io_.topic, id, io_.metadata_wait, low, high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR)
            p.next = low;
        }
        if (io_.bounded_read) {
          std::int64_t low = 0, high = 0;
          const rd_kafka_resp_err_t e =
              query_offsets(consumer_.get(), io_.topic, id, io_.metadata_wait, low, high);
          if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_topic_partition_list_destroy(assignment);
            throw UserError(fmt::format("cannot read the end offset of {} partition {}: {}",
                                        io::kafka_client::where(io_), id, rd_kafka_err2str(e)));
          }
          if (p.next == RD_KAFKA_OFFSET_BEGINNING) p.next = low;
          p.stop = high;
          if (auto it = io_.stop_offsets.find(id); it != io_.stop_offsets.end())
            p.stop = std::min(high, it->second);
          p.done = p.next >= p.stop;
        }
        if (!p.done) {
          rd_kafka_topic_partition_list_add(assignment, io_.topic.c_str(), id)->offset = p.next;
          ++active_;
          if (streaming_) out_.start_split(id);
        }
        partitions_.push_back(std::move(p));
      }
      rd_kafka_resp_err_t e = rd_kafka_assign(consumer_.get(), assignment);
      rd_kafka_topic_partition_list_destroy(assignment);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(fmt::format("Kafka source, {}: cannot assign partitions: {}",
                                             io::kafka_client::where(io_), rd_kafka_err2str(e)));
      rd_kafka_poll_set_consumer(consumer_.get());
      queue_ = rd_kafka_queue_get_consumer(consumer_.get());
      for (std::size_t i = 0; i < partitions_.size(); ++i) index_[partitions_[i].id] = i;
      last_record_ = std::chrono::steady_clock::now();
    }

    static void set_rebalance_callback(rd_kafka_conf_t* conf) {
      rd_kafka_conf_set_rebalance_cb(conf, &on_rebalance);
    }
    static void on_rebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* partitions, void* opaque) {
      static_cast<Instance*>(opaque)->rebalance(err, partitions);
    }

    // What subscribe() cannot do, said at the start (not once a topic waited
    // for appears).
    void check_subscription() const {
      if (splits_.shares > 1)
        throw UserError(fmt::format(
            "Kafka source, {}: subscribe() lets a consumer group spread the partitions, and "
            "--job-id spreads them by the job's shards; drop subscribe() in a job spread over "
            "members",
            io::kafka_client::where(io_)));
      if (io_.bounded_read || !io_.partitions.empty() || io_.start_time >= 0)
        throw UserError(fmt::format(
            "Kafka source, {}: subscribe() reads what the consumer group assigns, unbounded, "
            "from the group's offsets; drop bounded(), only_partitions() and starting_at() "
            "(or a history-then-live switch), or drop subscribe()",
            io::kafka_client::where(io_)));
    }

    void subscribe() {
      rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(topics, io_.topic.c_str(), RD_KAFKA_PARTITION_UA);
      rd_kafka_resp_err_t e = rd_kafka_subscribe(consumer_.get(), topics);
      rd_kafka_topic_partition_list_destroy(topics);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw std::runtime_error(fmt::format("Kafka source, {}: cannot subscribe: {}",
                                             io::kafka_client::where(io_), rd_kafka_err2str(e)));
      rd_kafka_poll_set_consumer(consumer_.get());
      queue_ = rd_kafka_queue_get_consumer(consumer_.get());
      last_record_ = std::chrono::steady_clock::now();
    }

    // The group gave this consumer partitions, or takes them away (called
    // from within consume_batch_queue, on this instance's thread).
    void rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
      if (closing_) {  // leaving: commit (without checkpoints) and let go, emit nothing
        if (err != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && !completed_) {
          rd_kafka_topic_partition_list_t* done = rd_kafka_topic_partition_list_new(4);
          for (const auto& p : partitions_)
            if (p.next >= 0)
              rd_kafka_topic_partition_list_add(done, io_.topic.c_str(), p.id)->offset = p.next;
          if (done->cnt > 0) rd_kafka_commit(consumer_.get(), done, 0);
          rd_kafka_topic_partition_list_destroy(done);
        }
        rd_kafka_assign(consumer_.get(), nullptr);
        return;
      }
      if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        assigned_ = true;
        for (int i = 0; i < list->cnt; ++i) {
          Partition p;
          p.id = list->elems[i].partition;
          if (auto it = restored_.find(p.id); it != restored_.end()) {
            // Once: a partition that leaves and comes back resumes from the group's offset.
            p.next = it->second;
            list->elems[i].offset = p.next;
            restored_.erase(it);
          } else {
            p.next = RD_KAFKA_OFFSET_INVALID;  // the group's committed offset
          }
          ++active_;
          if (streaming_) out_.start_split(p.id);
          partitions_.push_back(std::move(p));
        }
        rd_kafka_assign(consumer_.get(), list);
      } else {
        // Without checkpoints the positions are committed now, so the next
        // owner reads on from here.
        rd_kafka_topic_partition_list_t* done = rd_kafka_topic_partition_list_new(list->cnt);
        for (int i = 0; i < list->cnt; ++i) {
          auto it = std::find_if(partitions_.begin(), partitions_.end(), [&](const Partition& p) {
            return p.id == list->elems[i].partition;
          });
          if (it == partitions_.end()) continue;
          if (!completed_ && it->next >= 0)
            rd_kafka_topic_partition_list_add(done, io_.topic.c_str(), it->id)->offset = it->next;
          if (!it->done) finish_partition(*it);
          partitions_.erase(it);
        }
        if (done->cnt > 0) rd_kafka_commit(consumer_.get(), done, 0);
        rd_kafka_topic_partition_list_destroy(done);
        rd_kafka_assign(consumer_.get(), nullptr);
      }
      index_.clear();
      for (std::size_t i = 0; i < partitions_.size(); ++i) index_[partitions_[i].id] = i;
      last_record_ = std::chrono::steady_clock::now();
    }

    // With a start time: per partition (not restored), the offset of the
    // first record at or after it (its end offset if there is none). An
    // answer that the record before it contradicts (the development
    // cluster answers every time query with the end offset) is replaced by
    // the partition's beginning: the source then skips records before the
    // time itself (skip_before_start).
    std::map<std::int32_t, std::int64_t> start_offsets(const std::vector<std::int32_t>& ids) {
      std::map<std::int32_t, std::int64_t> out;
      if (io_.start_time < 0) return out;
      const int wait = static_cast<int>(io_.metadata_wait.count());
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
      for (std::int32_t id : ids)
        if (!restored_.count(id))
          rd_kafka_topic_partition_list_add(l, io_.topic.c_str(), id)->offset = io_.start_time;
      if (l->cnt > 0) {
        rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(consumer_.get(), l, wait);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
          rd_kafka_topic_partition_list_destroy(l);
          throw UserError(fmt::format("cannot find the offsets of {} at time {}: {}",
                                      io::kafka_client::where(io_), io_.start_time,
                                      rd_kafka_err2str(e)));
        }
      }
      Handle checker;
      for (int i = 0; i < l->cnt; ++i) {
        const std::int32_t id = l->elems[i].partition;
        std::int64_t low = 0, high = 0;
        rd_kafka_query_watermark_offsets(consumer_.get(), io_.topic.c_str(), id, &low, &high, wait);
        std::int64_t offset = l->elems[i].offset < 0 ? high : l->elems[i].offset;
        if (offset > low) {
          if (!checker)
            checker = io::kafka_client::make_client(RD_KAFKA_CONSUMER, io_, {{"log_level", "3"}});
          if (timestamp_at(checker.get(), id, offset - 1) >= io_.start_time) offset = low;
        }
        out[id] = offset;
      }
      rd_kafka_topic_partition_list_destroy(l);
      return out;
    }

    // The timestamp of the record at `offset`: kMaxTimestamp if it cannot be
    // read, kMinTimestamp if the next record is past it.
    Timestamp timestamp_at(rd_kafka_t* rk, std::int32_t partition, std::int64_t offset) {
      rd_kafka_topic_t* t = rd_kafka_topic_new(rk, io_.topic.c_str(), nullptr);
      Timestamp ts = kMaxTimestamp;
      if (rd_kafka_consume_start(t, partition, offset) == 0) {
        if (rd_kafka_message_t* m =
                rd_kafka_consume(t, partition, static_cast<int>(io_.metadata_wait.count()))) {
          rd_kafka_timestamp_type_t type;
          if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
            // At the offset: its time. Past it (a transaction marker or a
            // compacted record was there): nothing contradicts the answer.
            ts = m->offset == offset ? rd_kafka_message_timestamp(m, &type) : kMinTimestamp;
          rd_kafka_message_destroy(m);
        }
        rd_kafka_consume_stop(t, partition);
      }
      rd_kafka_topic_destroy(t);
      return ts;
    }

    // Offsets of checkpoints that completed go to the consumer group, for
    // lag monitoring (asynchronously: nothing waits for it).
    void commit_completed() {
      if (!completed_ || to_commit_.empty()) return;
      const std::int64_t done = completed_->load(std::memory_order_acquire);
      const std::vector<std::pair<std::int32_t, std::int64_t>>* newest = nullptr;
      while (!to_commit_.empty() && to_commit_.front().first <= done) {
        committed_.swap(to_commit_.front().second);
        newest = &committed_;
        to_commit_.pop_front();
      }
      if (newest == nullptr) return;
      rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(4);
      for (auto [id, next] : *newest)
        if (index_.count(id))  // not one a group has moved to another member since
          rd_kafka_topic_partition_list_add(l, io_.topic.c_str(), id)->offset = next;
      if (l->cnt > 0) rd_kafka_commit(consumer_.get(), l, 1);
      rd_kafka_topic_partition_list_destroy(l);
    }

    void take(rd_kafka_message_t* m) {
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
        if (rd_kafka_fatal_error(consumer_.get(), nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
            m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
          throw UserError(fmt::format("Kafka source, {} partition {}: {}",
                                      io::kafka_client::where(io_), m->partition,
                                      rd_kafka_message_errstr(m)));
        // Transient (a broker down, a leader moving): librdkafka retries.
        log_warn(fmt::format("Kafka source, {} partition {}: {} (retrying)",
                             io::kafka_client::where(io_), m->partition,
                             rd_kafka_message_errstr(m)));
        return;
      }
      auto it = index_.find(m->partition);
      if (it == index_.end()) return;
      Partition& p = partitions_[it->second];
      if (p.done || (io_.bounded_read && m->offset >= p.stop) ||
          (p.next >= 0 && m->offset < p.next))
        return;
      if (p.skip_before_start) {
        // Also client-side: a cluster whose offsets-for-times answer is coarse
        // (the development cluster's) still starts at the first record at or
        // after the start time.
        rd_kafka_timestamp_type_t type;
        if (rd_kafka_message_timestamp(m, &type) < io_.start_time) {
          p.next = m->offset + 1;
          return;
        }
        p.skip_before_start = false;
      }
      if (io_.stop_time >= 0) {
        // bounded_until: the partition ends before its first record at or after the time.
        rd_kafka_timestamp_type_t type;
        if (rd_kafka_message_timestamp(m, &type) >= io_.stop_time) {
          p.stop = m->offset;
          return;
        }
      }
      p.next = m->offset + 1;
      const char* value = static_cast<const char*>(m->payload);
      if constexpr (std::is_same_v<T, std::string>) {
        p.pending.emplace_back(value ? value : "", m->len);
      } else {
        rd_kafka_timestamp_type_t type;
        const std::int64_t ts = rd_kafka_message_timestamp(m, &type);
        const char* key = static_cast<const char*>(m->key);
        io::KafkaRecord rec{io_.topic,
                            m->partition,
                            m->offset,
                            ts,
                            std::string(key ? key : "", m->key_len),
                            std::string(value ? value : "", m->len),
                            {}};
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name = nullptr;
          const void* bytes = nullptr;
          std::size_t size = 0;
          for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &bytes, &size) ==
                                  RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i)
            rec.headers.emplace_back(name, std::string(static_cast<const char*>(bytes), size));
        }
        p.pending.push_back(std::move(rec));
      }
    }

    void finish_partition(Partition& p) {
      p.done = true;
      --active_;
      if (streaming_) {
        out_.from_split(p.id);
        out_.end_split();
      }
    }

    const io::KafkaIO& io_;
    InstanceContext splits_;  // which partitions are this instance's
    std::size_t batch_size_;
    bool streaming_;
    InstanceCounters* counters_;
    FigureReporter* figures_;
    std::uint64_t bytes_in_ = 0;
    std::chrono::steady_clock::time_point next_lag_report_{};
    const std::atomic<std::int64_t>* completed_;  // checkpoints on: the last completed one
    Emitter<T> out_;
    std::vector<rd_kafka_message_t*> messages_;
    Handle consumer_;
    rd_kafka_queue_t* queue_ = nullptr;
    bool started_ = false;
    // The topic does not exist yet (wait_for_topic): produce() asks again.
    bool waiting_for_topic_ = false;
    std::chrono::steady_clock::time_point waiting_since_, next_topic_check_, next_topic_warning_;
    std::optional<std::vector<std::int32_t>> topic_partitions_;
    bool assigned_ = false;  // a group member: the group has given it partitions
    bool closing_ = false;
    std::vector<Partition> partitions_;
    std::map<std::int32_t, std::size_t> index_;
    std::map<std::int32_t, std::int64_t> restored_;
    std::string restored_state_;
    int active_ = 0;
    std::uint64_t emitted_ = 0;
    std::chrono::steady_clock::time_point last_record_ = std::chrono::steady_clock::now();
    // Positions snapshotted for checkpoints not yet complete; the last committed.
    std::deque<std::pair<std::int64_t, std::vector<std::pair<std::int32_t, std::int64_t>>>>
        to_commit_;
    std::vector<std::pair<std::int32_t, std::int64_t>> committed_;
  };

  io::KafkaIO io_;
};

}  // namespace

std::shared_ptr<Operator> make_kafka_source(const io::KafkaIO& io, bool values_only) {
  if (values_only) return std::make_shared<KafkaSourceOp<std::string>>(io);
  return std::make_shared<KafkaSourceOp<io::KafkaRecord>>(io);
}

}  // namespace runnel::detail

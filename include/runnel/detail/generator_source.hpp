#pragma once
// The operator behind io::generator: instance i of p runs shards i, i+p, ...,
// a batch from each in turn, paced to its share of the rate.
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/emitter.hpp"
#include "runnel/generator.hpp"

namespace runnel::detail {

template <class T, class F>
class GeneratorSource final : public Operator {
 public:
  explicit GeneratorSource(io::GeneratorIO<T, F> spec) : spec_(std::move(spec)) {}
  bool bounded() const override { return spec_.options.events > 0; }
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(spec_, ctx, outputs.at(0));
  }

 private:
  class Instance final : public SourceInstance {
   public:
    Instance(const io::GeneratorIO<T, F>& spec, const InstanceContext& ctx, Output* out)
        : o_(spec.options),
          make_(spec.make),
          // Spread over members, a job has as many shards whatever each
          // member's parallelism (the events are the same at any count).
          shards_(o_.shards > 0    ? o_.shards
                  : ctx.shares > 1 ? ctx.shares * kShardsPerShare
                                   : ctx.parallelism),
          batch_size_(ctx.batch_size),
          streaming_(ctx.streaming),
          counters_(ctx.counters),
          splits_(ctx),
          out_(out, ctx.batch_size) {
      assign_shards({});
    }

    // Operator state: the shard count, then (shard, next event number) for
    // each shard this instance ran, finished ones too.
    void snapshot(std::int64_t, OperatorSnapshot& out) override {
      ByteWriter w(out.operator_state);
      w.put_varint(static_cast<std::uint64_t>(shards_));
      w.put_varint(all_.size());
      for (auto [shard, next] : all_) {
        w.put_varint(static_cast<std::uint64_t>(shard));
        w.put_varint(next);
      }
    }
    // Every old instance's positions; this one keeps its shards' (the shard
    // count stays what it was, so the events are the same at any parallelism).
    void restore(const RestoredState& in) override {
      std::vector<std::pair<int, std::uint64_t>> positions;
      for (const auto& bytes : in.operator_states) {
        if (bytes.empty()) continue;
        ByteReader r(bytes);
        shards_ = static_cast<int>(r.get_varint());
        for (auto n = r.get_varint(); n > 0; --n) {
          int shard = static_cast<int>(r.get_varint());
          positions.emplace_back(shard, r.get_varint());
        }
      }
      assign_shards(positions);
    }

    bool produce() override {
      if (ids_.empty()) return false;
      if (streaming_ && !announced_) {
        // Every shard holds the watermark from the start, not from its first batch.
        announced_ = true;
        for (int id : ids_) out_.start_split(id);
      }
      if (rate_ > 0) {
        // Ahead of schedule: wait a little (not long: timers must run).
        auto due = start_ + std::chrono::duration<double>(static_cast<double>(emitted_) / rate_);
        auto now = std::chrono::steady_clock::now();
        if (due > now) {
          std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(due - now),
              std::chrono::milliseconds(2)));
          return true;
        }
      }
      std::size_t k = turn_ % ids_.size();
      ++turn_;
      out_.from_split(ids_[k]);
      const auto step = static_cast<std::uint64_t>(shards_);
      for (std::size_t n = 0; n < batch_size_ && (o_.events == 0 || next_[k] < o_.events); ++n) {
        out_.emit(make_(io::generated_event(o_, shards_, next_[k])));
        next_[k] += step;
        ++emitted_;
      }
      out_.flush();
      all_[static_cast<std::size_t>(slot_[k])].second = next_[k];
      if (o_.events != 0 && next_[k] >= o_.events) {  // the shard is done
        if (streaming_) out_.end_split();
        ids_.erase(ids_.begin() + static_cast<std::ptrdiff_t>(k));
        next_.erase(next_.begin() + static_cast<std::ptrdiff_t>(k));
        slot_.erase(slot_.begin() + static_cast<std::ptrdiff_t>(k));
      }
      if (counters_) counters_->records_out = emitted_;
      return !ids_.empty();
    }

   private:
    void assign_shards(const std::vector<std::pair<int, std::uint64_t>>& positions) {
      ids_.clear();
      next_.clear();
      slot_.clear();
      all_.clear();
      for (int s = 0; s < shards_; ++s) {
        if (!splits_.reads_split(static_cast<std::uint64_t>(s))) continue;
        auto next = static_cast<std::uint64_t>(s);
        for (auto [shard, pos] : positions) {
          if (shard == s) next = pos;
        }
        all_.emplace_back(s, next);
        if (o_.events != 0 && next >= o_.events) continue;
        ids_.push_back(s);
        next_.push_back(next);
        slot_.push_back(static_cast<int>(all_.size()) - 1);
      }
      // This instance's share of the rate: its shards out of all.
      if (o_.rate > 0) rate_ = o_.rate * static_cast<double>(ids_.size()) / shards_;
      start_ = std::chrono::steady_clock::now();
      emitted_ = 0;
    }

    static constexpr int kShardsPerShare = 8;
    io::GeneratorOptions o_;
    F make_;
    int shards_;
    std::size_t batch_size_;
    bool streaming_;
    InstanceCounters* counters_;
    InstanceContext splits_;  // which shards are this instance's
    Emitter<T> out_;
    std::vector<std::pair<int, std::uint64_t>> all_;  // every shard of this instance, and its next
    std::vector<int> slot_;                           // per running shard: its index in all_
    std::vector<int> ids_;                            // shards this instance runs
    std::vector<std::uint64_t> next_;                 // next event number per shard
    std::size_t turn_ = 0;
    bool announced_ = false;
    std::uint64_t emitted_ = 0;
    double rate_ = 0;
    std::chrono::steady_clock::time_point start_;
  };
  io::GeneratorIO<T, F> spec_;
};

}  // namespace runnel::detail

#pragma once
// In-memory source and sink: Pipeline::create and PCollection::collect.
#include <memory>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/batch.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/emitter.hpp"

namespace runnel::detail {

// Instance i of n emits elements [i*size/n, (i+1)*size/n) of its share's
// (share s of S: [s*size/S, (s+1)*size/S), see InstanceContext::share).
template <class T>
class CreateSource final : public Operator {
 public:
  explicit CreateSource(std::vector<T> values) : values_(std::move(values)) {}
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    const auto shares = static_cast<std::size_t>(ctx.shares);
    const auto s = static_cast<std::size_t>(ctx.share);
    const std::size_t first = values_.size() * s / shares;
    const std::size_t n = values_.size() * (s + 1) / shares - first;
    auto p = static_cast<std::size_t>(ctx.parallelism);
    auto i = static_cast<std::size_t>(ctx.instance);
    return std::make_unique<Instance>(values_, first + n * i / p, first + n * (i + 1) / p, ctx,
                                      outputs.at(0));
  }

 private:
  class Instance final : public SourceInstance {
   public:
    Instance(const std::vector<T>& values, std::size_t begin, std::size_t end,
             const InstanceContext& ctx, Output* out)
        : values_(values),
          begin_(begin),
          next_(begin),
          end_(end),
          batch_size_(ctx.batch_size),
          counters_(ctx.counters),
          streaming_(ctx.streaming),
          out_(out, ctx.batch_size) {
      out_.from_split(ctx.instance);  // each instance's slice is one split
    }
    // Operator state: (begin, next, end) of the slice; at a restore each
    // instance resumes the old slices whose begin falls in its own slice.
    void snapshot(std::int64_t, OperatorSnapshot& out) override {
      ByteWriter w(out.operator_state);
      w.put_varint(begin_);
      w.put_varint(next_);
      w.put_varint(end_);
    }
    void restore(const RestoredState& in) override {
      std::vector<std::pair<std::size_t, std::size_t>> todo;
      for (const auto& bytes : in.operator_states) {
        ByteReader r(bytes);
        if (r.empty()) continue;
        auto b = r.get_varint();
        auto n = r.get_varint();
        auto e = r.get_varint();
        if (b >= begin_ && b < std::max(end_, begin_ + 1) && n < e) todo.emplace_back(n, e);
      }
      ranges_ = std::move(todo);
      next_ = end_ = 0;
      next_range();
    }
    bool produce() override {
      if (next_ >= end_ && !next_range()) {
        if (streaming_) out_.end_split();
        return false;
      }
      std::size_t stop = std::min(end_, next_ + batch_size_);
      for (; next_ < stop; ++next_) out_.emit(values_[next_]);
      out_.flush();
      if (counters_) counters_->records_out = out_.emitted();
      if (next_ < end_ || !ranges_.empty()) return true;
      if (streaming_) out_.end_split();
      return false;
    }

   private:
    bool next_range() {
      if (ranges_.empty()) return false;
      std::tie(next_, end_) = ranges_.back();
      ranges_.pop_back();
      return true;
    }
    const std::vector<T>& values_;
    std::size_t begin_, next_, end_, batch_size_;
    std::vector<std::pair<std::size_t, std::size_t>> ranges_;  // restored slices still to read
    InstanceCounters* counters_;
    bool streaming_;
    Emitter<T> out_;
  };
  std::vector<T> values_;
};

// What collect() fills: every value the collection held in the last run.
template <class T>
struct CollectStore {
  std::mutex mu;
  std::vector<T> values;
  std::vector<Timestamp> timestamps;  // in step with values, if the collection has event time
  std::vector<Window> windows;
  std::vector<PaneInfo> panes;  // in step with values, if they are streaming results
};

// A sink that counts its input and keeps none of it (a benchmark's end: the
// pipeline's work without a sink's). Its records_in and records_out are the count.
class DiscardSink final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*>) const override {
    return std::make_unique<Instance>(ctx.counters);
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    explicit Instance(InstanceCounters* counters) : counters_(counters) {}
    void process(int, BatchBase& batch) override {
      if (counters_) counters_->records_in += batch.size();
      batch.clear();
    }

   private:
    InstanceCounters* counters_;
  };
};

template <class T>
class CollectSink final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  explicit CollectSink(std::shared_ptr<CollectStore<T>> store) : store_(std::move(store)) {}
  std::shared_ptr<SharedState> make_shared_state(const SharedStateContext&) const override {
    std::lock_guard lock(store_->mu);
    store_->values.clear();  // a pipeline run again collects afresh
    store_->timestamps.clear();
    store_->windows.clear();
    store_->panes.clear();
    return nullptr;
  }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*>) const override {
    return std::make_unique<Instance>(store_, ctx.counters);
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(std::shared_ptr<CollectStore<T>> store, InstanceCounters* counters)
        : store_(std::move(store)), counters_(counters) {}
    void process(int, BatchBase& batch) override {
      auto& v = batch_cast<T>(batch).values;
      if (counters_) counters_->records_in += v.size();
      if (batch.timed()) {
        timestamps_.resize(local_.size(), kMinTimestamp);
        windows_.resize(local_.size());
        timestamps_.insert(timestamps_.end(), batch.timestamps.begin(), batch.timestamps.end());
        windows_.insert(windows_.end(), batch.windows.begin(), batch.windows.end());
        if (!batch.panes.empty()) {
          panes_.resize(local_.size());
          panes_.insert(panes_.end(), batch.panes.begin(), batch.panes.end());
        }
      }
      local_.insert(local_.end(), std::make_move_iterator(v.begin()),
                    std::make_move_iterator(v.end()));
      batch.clear();
    }
    void finish() override {
      std::lock_guard lock(store_->mu);  // once per instance, at the end
      if (!timestamps_.empty() || !store_->timestamps.empty()) {
        // Event time in step with the values, whichever instance had it.
        timestamps_.resize(local_.size(), kMinTimestamp);
        windows_.resize(local_.size());
        store_->timestamps.resize(store_->values.size(), kMinTimestamp);
        store_->windows.resize(store_->values.size());
        store_->timestamps.insert(store_->timestamps.end(), timestamps_.begin(), timestamps_.end());
        store_->windows.insert(store_->windows.end(), windows_.begin(), windows_.end());
      }
      if (!panes_.empty() || !store_->panes.empty()) {
        panes_.resize(local_.size());
        store_->panes.resize(store_->values.size());
        store_->panes.insert(store_->panes.end(), panes_.begin(), panes_.end());
      }
      store_->values.insert(store_->values.end(), std::make_move_iterator(local_.begin()),
                            std::make_move_iterator(local_.end()));
      local_.clear();
    }

   private:
    std::shared_ptr<CollectStore<T>> store_;
    InstanceCounters* counters_;
    std::vector<T> local_;
    std::vector<Timestamp> timestamps_;
    std::vector<Window> windows_;
    std::vector<PaneInfo> panes_;
  };
  std::shared_ptr<CollectStore<T>> store_;
};

}  // namespace runnel::detail

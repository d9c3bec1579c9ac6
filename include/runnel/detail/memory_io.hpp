#pragma once
// In-memory source and sink: Pipeline::create and PCollection::collect.
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "runnel/batch.hpp"
#include "runnel/emitter.hpp"
#include "runnel/operator.hpp"

namespace runnel::detail {

// Instance i of n emits elements [i*size/n, (i+1)*size/n).
template <class T>
class CreateSource final : public Operator {
 public:
  explicit CreateSource(std::vector<T> values) : values_(std::move(values)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    std::size_t n = values_.size();
    auto p = static_cast<std::size_t>(ctx.parallelism);
    auto i = static_cast<std::size_t>(ctx.instance);
    return std::make_unique<Instance>(values_, n * i / p, n * (i + 1) / p, ctx, outputs.at(0));
  }

 private:
  class Instance final : public SourceInstance {
   public:
    Instance(const std::vector<T>& values, std::size_t begin, std::size_t end,
             const InstanceContext& ctx, Output* out)
        : values_(values),
          next_(begin),
          end_(end),
          batch_size_(ctx.batch_size),
          counters_(ctx.counters),
          streaming_(ctx.streaming),
          out_(out, ctx.batch_size) {
      out_.from_split(ctx.instance);  // each instance's slice is one split
    }
    bool produce() override {
      std::size_t stop = std::min(end_, next_ + batch_size_);
      for (; next_ < stop; ++next_) out_.emit(values_[next_]);
      out_.flush();
      if (counters_) counters_->records_out = out_.emitted();
      if (next_ < end_) return true;
      if (streaming_) out_.end_split();
      return false;
    }

   private:
    const std::vector<T>& values_;
    std::size_t next_, end_, batch_size_;
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

template <class T>
class CollectSink final : public Operator {
 public:
  explicit CollectSink(std::shared_ptr<CollectStore<T>> store) : store_(std::move(store)) {}
  std::shared_ptr<void> make_shared_state(int) const override {
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

#pragma once
// Event time: with_timestamps sets each element's timestamp; window_into
// assigns its windows. Both work on the batch in place when one window per
// element is all that is needed.
#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/batch.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/split_watermarks.hpp"
#include "runnel/emitter.hpp"
#include "runnel/error.hpp"
#include "runnel/window.hpp"
#include "runnel/windows.hpp"

namespace runnel::detail {

// Sets event times and, in streaming mode, generates the watermark from them
// (replacing the input's: the timestamps it was based on are gone).
template <class T, class F>
class WithTimestampsOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  WithTimestampsOp(F f, WatermarkStrategy strategy) : f_(std::move(f)), strategy_(strategy) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(f_, strategy_, ctx, outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(F f, WatermarkStrategy strategy, const InstanceContext& ctx, Output* out)
        : f_(std::move(f)), streaming_(ctx.streaming), watermarks_(strategy), out_(out) {}
    bool on_split_event(const SplitEvent& e) override {
      if (!streaming_) return true;
      if (e.kind == SplitEvent::Kind::kStart) {
        watermarks_.begin(e.split, now_);
      } else {
        watermarks_.end(e.split);
      }
      return true;  // from here on the watermark speaks for the splits
    }
    void process(int, BatchBase& batch) override {
      const auto& values = batch_cast<T>(batch).values;
      // Elements keep the windows they have; without any they are in the global window.
      if (!batch.timed()) batch.windows.assign(values.size(), kGlobalWindow);
      batch.timestamps.resize(values.size());
      Timestamp max_ts = kMinTimestamp;
      for (std::size_t i = 0; i < values.size(); ++i) {
        Timestamp t = static_cast<Timestamp>(std::invoke(f_, values[i]));
        batch.timestamps[i] = t;
        max_ts = std::max(max_ts, t);
      }
      if (streaming_) watermarks_.observe(batch.split, max_ts, now_);
      out_->push(batch);
    }
    void on_processing_time(Timestamp now) override { now_ = now; }
    Timestamp on_watermark(Timestamp input) override {
      if (input == kMaxTimestamp) return input;  // the end of the input
      return watermarks_.current(now_);
    }

   private:
    F f_;
    bool streaming_;
    SplitWatermarks watermarks_;
    Output* out_;
    Timestamp now_ = wall_clock_ms();
  };
  F f_;
  WatermarkStrategy strategy_;
};

// Assigns windows. In streaming mode an element whose window is already past
// its allowed lateness (max_timestamp + lateness <= the watermark) goes to
// output 1, the late output, and is counted: no grouping would take it.
template <class T, class WindowFn>
class WindowIntoOp final : public Operator {
 public:
  WindowIntoOp(WindowFn fn, Timestamp lateness_ms) : fn_(std::move(fn)), lateness_(lateness_ms) {}
  // It saves the watermark it judges lateness by, so a restore does not let
  // in data the first run had sent to the late output.
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(fn_, lateness_, ctx, outputs.at(0), outputs.at(1));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(WindowFn fn, Timestamp lateness, const InstanceContext& ctx, Output* out, Output* late)
        : fn_(std::move(fn)),
          lateness_(lateness),
          counters_(ctx.counters),
          instance_(ctx.instance),
          parallelism_(ctx.parallelism),
          out_(out),
          emitter_(out, ctx.batch_size),
          late_(late, ctx.batch_size) {}

    void snapshot(std::int64_t, OperatorSnapshot& out) override {
      ByteWriter w(out.operator_state);
      w.put_varint(static_cast<std::uint64_t>(watermark_));
    }
    // Its own watermark at the same parallelism; else the lowest of all.
    void restore(const RestoredState& in) override {
      if (auto wm = restored_watermark(in, instance_, parallelism_))
        watermark_ = std::max(watermark_, *wm);
    }

    Timestamp on_watermark(Timestamp input) override {
      if (input != kIdleWatermark) watermark_ = std::max(watermark_, input);
      return input;
    }

    void process(int, BatchBase& batch) override {
      if (batch.size() == 0) return;
      if (!batch.timed()) {
        throw UserError(
            "window_into: the collection has no event time; give it timestamps first "
            "with with_timestamps(...)");
      }
      auto& values = batch_cast<T>(batch).values;
      batch.panes.clear();  // new windows start new panes
      bool one_each = true;
      std::size_t n_late = 0;
      for (std::size_t i = 0; i < values.size() && one_each; ++i) {
        assigned_.clear();
        fn_.assign(batch.timestamps[i], assigned_);
        if (assigned_.size() == 1 && !is_late(assigned_[0])) {
          batch.windows[i] = assigned_[0];
        } else {
          one_each = false;
          // From here on, copies: element i and the rest go out once per window.
          for (std::size_t k = 0; k < i; ++k) {
            emitter_.at(batch.timestamps[k], batch.windows[k]);
            emitter_.emit(std::move(values[k]));
          }
          for (std::size_t k = i; k < values.size(); ++k) {
            if (k != i) {
              assigned_.clear();
              fn_.assign(batch.timestamps[k], assigned_);
            }
            // Late in one window, late in all: a sliding element is diverted
            // once, whole, if any of its windows has closed.
            bool late = false;
            for (const auto& w : assigned_) late = late || is_late(w);
            if (late) {
              late_.at(batch.timestamps[k], kGlobalWindow);
              late_.emit(std::move(values[k]));
              ++n_late;
              continue;
            }
            for (std::size_t w = 0; w < assigned_.size(); ++w) {
              emitter_.at(batch.timestamps[k], assigned_[w]);
              if (w + 1 == assigned_.size()) {
                emitter_.emit(std::move(values[k]));
              } else {
                emitter_.emit(values[k]);
              }
            }
          }
        }
      }
      if (one_each) {
        out_->push(batch);
      } else {
        emitter_.flush();
        late_.flush();
        if (counters_) counters_->late_records += n_late;
      }
    }

   private:
    bool is_late(const Window& w) const {
      return watermark_ != kMinTimestamp && !w.is_global() &&
             w.max_timestamp() + lateness_ <= watermark_;
    }
    WindowFn fn_;
    Timestamp lateness_;
    InstanceCounters* counters_;
    int instance_, parallelism_;
    Output* out_;
    Emitter<T> emitter_;
    Emitter<T> late_;
    std::vector<Window> assigned_;
    Timestamp watermark_ = kMinTimestamp;  // streaming only; stays minimal in batch mode
  };
  WindowFn fn_;
  Timestamp lateness_;
};

}  // namespace runnel::detail

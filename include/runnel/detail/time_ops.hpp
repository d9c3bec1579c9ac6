#pragma once
// Event time: with_timestamps sets each element's timestamp; window_into
// assigns its windows. Both work on the batch in place when one window per
// element is all that is needed.
#include <memory>
#include <vector>

#include "runnel/batch.hpp"
#include "runnel/emitter.hpp"
#include "runnel/error.hpp"
#include "runnel/operator.hpp"
#include "runnel/window.hpp"
#include "runnel/windows.hpp"

namespace runnel::detail {

template <class T, class F>
class WithTimestampsOp final : public Operator {
 public:
  explicit WithTimestampsOp(F f) : f_(std::move(f)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext&,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(f_, outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(F f, Output* out) : f_(std::move(f)), out_(out) {}
    void process(int, BatchBase& batch) override {
      const auto& values = batch_cast<T>(batch).values;
      // Elements keep the windows they have; without any they are in the global window.
      if (!batch.timed()) batch.windows.assign(values.size(), kGlobalWindow);
      batch.timestamps.resize(values.size());
      for (std::size_t i = 0; i < values.size(); ++i) {
        batch.timestamps[i] = static_cast<Timestamp>(f_(values[i]));
      }
      out_->push(batch);
    }

   private:
    F f_;
    Output* out_;
  };
  F f_;
};

template <class T, class WindowFn>
class WindowIntoOp final : public Operator {
 public:
  explicit WindowIntoOp(WindowFn fn) : fn_(std::move(fn)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(fn_, ctx, outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(WindowFn fn, const InstanceContext& ctx, Output* out)
        : fn_(std::move(fn)), out_(out), emitter_(out, ctx.batch_size) {}
    void process(int, BatchBase& batch) override {
      if (batch.size() == 0) return;
      if (!batch.timed()) {
        throw UserError(
            "window_into: the collection has no event time; give it timestamps first "
            "with with_timestamps(...)");
      }
      auto& values = batch_cast<T>(batch).values;
      bool one_each = true;
      for (std::size_t i = 0; i < values.size() && one_each; ++i) {
        assigned_.clear();
        fn_.assign(batch.timestamps[i], assigned_);
        if (assigned_.size() == 1) {
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
      }
    }

   private:
    WindowFn fn_;
    Output* out_;
    Emitter<T> emitter_;
    std::vector<Window> assigned_;
  };
  WindowFn fn_;
};

}  // namespace runnel::detail

#pragma once
// The element-wise operators: map, filter, flat_map, par_do, flatten. They
// are fused into their producer's task by the planner, so a chain of them is
// a chain of direct calls, one per batch.
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/batch.hpp"
#include "runnel/detail/batch_coder.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/do_fn.hpp"
#include "runnel/element_context.hpp"
#include "runnel/emitter.hpp"

namespace runnel::detail {

// Calls f with the element as an rvalue when f accepts one (the batch is the
// operator's to consume), else as an lvalue.
template <class F, class T>
decltype(auto) invoke_element(F& f, T& v) {
  if constexpr (std::is_invocable_v<F&, T&&>) {
    return f(std::move(v));
  } else {
    return f(v);
  }
}

template <class F, class T>
inline constexpr bool element_invocable_v =
    std::is_invocable_v<F&, T&&> || std::is_invocable_v<F&, T&>;

template <class F, class T>
using element_result_t =
    std::conditional_t<std::is_invocable_v<F&, T&&>, std::invoke_result<F&, T&&>,
                       std::invoke_result<F&, T&>>;

// Runs body(i) for every element of `batch`, with what it emits carrying
// element i's event time and window. The check is made once per batch, so a
// collection without event time pays nothing per element. The source split
// (and its end) is passed on, so a watermark made downstream is still per split.
template <class E, class Body>
void for_each_element(const BatchBase& batch, E& out, Body&& body) {
  out.carry_split(batch);
  const std::size_t n = batch.size();
  if (!batch.timed()) {
    out.untimed();
    for (std::size_t i = 0; i < n; ++i) body(i);
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      out.at(batch, i);
      body(i);
    }
  }
}

template <class In, class Out, class F>
class MapOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  explicit MapOp(F f) : f_(std::move(f)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(f_, ctx, outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(F f, const InstanceContext& ctx, Output* out)
        : f_(std::move(f)), out_(out, ctx.batch_size) {}
    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<In>(batch).values;
      for_each_element(batch, out_,
                       [&](std::size_t i) { out_.emit(invoke_element(f_, values[i])); });
      out_.flush();
    }

   private:
    F f_;
    Emitter<Out> out_;
  };
  F f_;
};

// Filters in place and passes the same batch on: no record is copied.
template <class T, class F>
class FilterOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  explicit FilterOp(F f) : f_(std::move(f)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext&,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(f_, outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(F f, Output* out) : f_(std::move(f)), out_(out) {}
    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<T>(batch).values;
      const bool timed = batch.timed();
      std::size_t kept = 0;
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (f_(std::as_const(values[i]))) {
          if (kept != i) {
            values[kept] = std::move(values[i]);
            if (timed) {
              batch.timestamps[kept] = batch.timestamps[i];
              batch.windows[kept] = batch.windows[i];
              if (!batch.panes.empty()) batch.panes[kept] = batch.panes[i];
            }
          }
          ++kept;
        }
      }
      values.erase(values.begin() + static_cast<std::ptrdiff_t>(kept), values.end());
      if (timed) {
        batch.timestamps.resize(kept);
        batch.windows.resize(kept);
        if (!batch.panes.empty()) batch.panes.resize(kept);
      }
      if (!values.empty()) out_->push(batch);
    }

   private:
    F f_;
    Output* out_;
  };
  F f_;
};

// f(x, emitter) emits any number of outputs; or f(x) returns a range of them.
template <class In, class Out, class F>
class FlatMapOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  explicit FlatMapOp(F f) : f_(std::move(f)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(f_, ctx, outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(F f, const InstanceContext& ctx, Output* out)
        : f_(std::move(f)), out_(out, ctx.batch_size) {}
    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<In>(batch).values;
      for_each_element(batch, out_, [&](std::size_t i) {
        if constexpr (std::is_invocable_v<F&, In&&, Emitter<Out>&>) {
          f_(std::move(values[i]), out_);  // the batch is the operator's to consume
        } else if constexpr (std::is_invocable_v<F&, const In&, Emitter<Out>&>) {
          f_(std::as_const(values[i]), out_);
        } else {
          for (auto&& o : invoke_element(f_, values[i])) out_.emit(std::forward<decltype(o)>(o));
        }
      });
      out_.flush();
    }

   private:
    F f_;
    Emitter<Out> out_;
  };
  F f_;
};

template <class Fn>
using do_fn_emitters_t = typename EmittersFor<typename Fn::OutputTypes>::type;

// Runs a DoFn's optional hooks: setup/teardown per instance, start_bundle and
// finish_bundle around each input batch.
template <class Fn>
struct DoFnHooks {
  using E = do_fn_emitters_t<Fn>;
  static void setup(Fn& fn) {
    if constexpr (requires { fn.setup(); }) fn.setup();
  }
  static void teardown(Fn& fn) {
    if constexpr (requires { fn.teardown(); }) fn.teardown();
  }
  static void start_bundle(Fn& fn) {
    if constexpr (requires { fn.start_bundle(); }) fn.start_bundle();
  }
  static void finish_bundle(Fn& fn, E& out) {
    if constexpr (requires { fn.finish_bundle(out); }) {
      fn.finish_bundle(out);
    } else if constexpr (requires { fn.finish_bundle(); }) {
      fn.finish_bundle();
    }
  }
};

template <class Fn>
std::unique_ptr<do_fn_emitters_t<Fn>> make_do_fn_emitters(const std::vector<Output*>& outputs,
                                                          std::size_t batch_size) {
  using E = do_fn_emitters_t<Fn>;
  if constexpr (std::tuple_size_v<typename Fn::OutputTypes> == 1) {
    return std::make_unique<E>(outputs.at(0), batch_size);
  } else {
    return std::make_unique<E>(outputs, batch_size);
  }
}

template <class Fn>
class ParDoOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  using In = typename Fn::InputType;
  using E = do_fn_emitters_t<Fn>;
  explicit ParDoOp(Fn fn) : fn_(std::move(fn)) {}
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(fn_, make_do_fn_emitters<Fn>(outputs, ctx.batch_size));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(Fn fn, std::unique_ptr<E> out) : fn_(std::move(fn)), out_(std::move(out)) {}
    void open() override { DoFnHooks<Fn>::setup(fn_); }
    void process(int, BatchBase& batch) override {
      DoFnHooks<Fn>::start_bundle(fn_);
      auto& values = batch_cast<In>(batch).values;
      if constexpr (requires(Fn & f, const In& x, const ElementContext& c, E& e) {
                      f.process(x, c, e);
                    }) {
        ElementContext c;
        const bool timed = batch.timed();
        const bool panes = !batch.panes.empty();
        for_each_element(batch, *out_, [&](std::size_t i) {
          if (timed) {
            c.timestamp = batch.timestamps[i];
            c.window = batch.windows[i];
          }
          if (panes) c.pane = batch.panes[i];
          fn_.process(std::as_const(values[i]), std::as_const(c), *out_);
        });
      } else {
        // The batch is the operator's to consume: process(In&&, ...) may move
        // from it; process(const In&, ...) binds as well.
        for_each_element(batch, *out_,
                         [&](std::size_t i) { fn_.process(std::move(values[i]), *out_); });
      }
      DoFnHooks<Fn>::finish_bundle(fn_, *out_);
      out_->flush();
    }
    void close() override { DoFnHooks<Fn>::teardown(fn_); }

   private:
    Fn fn_;
    std::unique_ptr<E> out_;
  };
  Fn fn_;
};

// A DoFn with a side input: input 1 (broadcast) is collected whole before any
// element of input 0 is processed; main batches that come first wait in memory.
// Checkpoints hold the side input collected so far and the waiting batches,
// when both element types have a Coder.
template <class Fn, class S>
class SideInputParDoOp final : public Operator {
 public:
  using In = typename Fn::InputType;
  using E = do_fn_emitters_t<Fn>;
  static constexpr bool kCheckpointable = coder_defined_v<S> && coder_defined_v<In>;
  explicit SideInputParDoOp(Fn fn) : fn_(std::move(fn)) {}
  CheckpointSupport checkpoint_support() const override {
    return kCheckpointable ? CheckpointSupport::kStateful : CheckpointSupport::kUnsupported;
  }
  std::string checkpoint_unsupported_reason() const override {
    return "its side input's or main input's element type has no Coder (a type with its own "
           "Coder<T> specialisation also specialises CoderDefined<T>, see runnel/coder.hpp)";
  }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(fn_, make_do_fn_emitters<Fn>(outputs, ctx.batch_size), ctx);
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(Fn fn, std::unique_ptr<E> out, const InstanceContext& ctx)
        : fn_(std::move(fn)),
          out_(std::move(out)),
          instance_(ctx.instance),
          parallelism_(ctx.parallelism) {}
    void open() override { DoFnHooks<Fn>::setup(fn_); }
    void process(int input, BatchBase& batch) override {
      if (input == 1) {
        auto& side = batch_cast<S>(batch).values;
        side_.insert(side_.end(), std::make_move_iterator(side.begin()),
                     std::make_move_iterator(side.end()));
        side.clear();
      } else if (!side_ready_) {
        waiting_.push_back(batch.take());
      } else {
        run(batch);
      }
    }
    void end_of_input(int input) override {
      if (input != 1) return;
      side_ready_ = true;
      for (auto& b : waiting_) run(*b);
      waiting_.clear();
    }
    void close() override { DoFnHooks<Fn>::teardown(fn_); }

    // Every instance received the same side input (broadcast); the main
    // batches waiting for it are this instance's own.
    void snapshot(std::int64_t, OperatorSnapshot& out) override {
      if constexpr (kCheckpointable) {
        ByteWriter w(out.operator_state);
        w.put_varint(side_ready_ ? 1 : 0);
        Coder<std::vector<S>>::encode(side_, w);
        w.put_varint(waiting_.size());
        for (const auto& b : waiting_) encode_batch(batch_cast<In>(*b), w);
      }
    }
    // The side input from the first old instance that wrote one (each holds
    // all of it); old instance i's waiting batches go to instance i mod
    // parallelism.
    void restore(const RestoredState& in) override {
      if constexpr (kCheckpointable) {
        bool have_side = false;
        for (std::size_t i = 0; i < in.operator_states.size(); ++i) {
          if (in.operator_states[i].empty()) continue;
          ByteReader r(in.operator_states[i]);
          const bool ready = r.get_varint() != 0;
          auto side = Coder<std::vector<S>>::decode(r);
          if (!have_side) {
            have_side = true;
            side_ready_ = ready;
            side_ = std::move(side);
          }
          auto waiting = r.get_varint();
          if (static_cast<int>(i % static_cast<std::size_t>(parallelism_)) != instance_) continue;
          for (; waiting > 0; --waiting) waiting_.push_back(decode_batch<In>(r));
        }
      }
    }

   private:
    void run(BatchBase& batch) {
      DoFnHooks<Fn>::start_bundle(fn_);
      const auto& values = batch_cast<In>(batch).values;
      for_each_element(batch, *out_,
                       [&](std::size_t i) { fn_.process(values[i], std::as_const(side_), *out_); });
      DoFnHooks<Fn>::finish_bundle(fn_, *out_);
      out_->flush();
    }
    Fn fn_;
    std::unique_ptr<E> out_;
    int instance_, parallelism_;
    std::vector<S> side_;
    bool side_ready_ = false;
    std::vector<BatchPtr> waiting_;
  };
  Fn fn_;
};

// Merges its inputs into one collection: batches pass through untouched.
class FlattenOp final : public Operator {
 public:
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext&,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(outputs.at(0));
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    explicit Instance(Output* out) : out_(out) {}
    void process(int, BatchBase& batch) override { out_->push(batch); }

   private:
    Output* out_;
  };
};

}  // namespace runnel::detail

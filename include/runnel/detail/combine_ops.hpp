#pragma once
// The operators behind group_by_key and combine_per_key. KeyOf and ValueOf
// pick the key and value out of an input record without copying them, so
// count_per_element over words hashes and compares each word in place and
// copies it only when it is new.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/combine_fn.hpp"
#include "runnel/detail/batch.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/memory_size.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/spilling_aggregator.hpp"
#include "runnel/detail/split_watermarks.hpp"
#include "runnel/detail/window_state.hpp"
#include "runnel/detail/windowed_key.hpp"
#include "runnel/emitter.hpp"
#include "runnel/hash.hpp"
#include "runnel/trigger.hpp"
#include "runnel/watermarks.hpp"

namespace runnel::detail {

inline std::string instance_name(const void* op, int instance) {
  return "agg-" + std::to_string(reinterpret_cast<std::uintptr_t>(op)) + "-" +
         std::to_string(instance);
}

// Before the shuffle: folds inputs into per-key accumulators and sends
// (key, accumulator) pairs on when the table is full or at the end. No
// spill: a flushed partial is merged downstream. The table is a cache for
// the hot keys, so it is kept small (kPartialTableBytes): a large one would
// hold a second copy of every key next to the merging table's, for little
// more reduction.
inline constexpr std::size_t kPartialTableBytes = std::size_t{16} << 20;

template <class In, class K, class CF, class KeyOf, class ValueOf>
class PartialCombineOp final : public Operator {
 public:
  using Acc = typename CF::Accumulator;
  using Out = std::pair<K, Acc>;

  // flush_every_tick (streaming mode): partials may not wait for the
  // watermark, because the trigger fires on processing time or windows merge.
  PartialCombineOp(CF cf, KeyOf key_of, ValueOf value_of, bool flush_every_tick = false)
      : cf_(std::move(cf)),
        key_of_(std::move(key_of)),
        value_of_(std::move(value_of)),
        flush_every_tick_(flush_every_tick) {}

  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(*this, ctx, outputs.at(0));
  }
  // It saves nothing: at a barrier it sends its partials on (snapshot).
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateless; }

 private:
  class Instance final : public OperatorInstance {
   public:
    // Not a share of the memory budget: a fixed small table per instance.
    Instance(const PartialCombineOp& op, const InstanceContext& ctx, Output* out)
        : op_(op), budget_(kPartialTableBytes), out_(out, ctx.batch_size) {}

    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<In>(batch).values;
      auto create = [&] { return op_.cf_.create_accumulator(); };
      if (!batch.timed()) {
        for (auto& v : values) {
          const auto& key = op_.key_of_(v);
          auto [acc, inserted] = table_.find_or_insert(
              key, Hash<K>{}(key), [&] { return K(key); }, create);
          op_.cf_.add_input(*acc, op_.value_of_(v));
          if (inserted) heap_ += heap_bytes(table_.entries().back().key);
        }
      } else {
        // A table per window: small tables are cache friendly, and a
        // watermark (streaming) flushes just the windows it completes.
        for (std::size_t i = 0; i < values.size(); ++i) {
          const auto& key = op_.key_of_(values[i]);
          const Window& w = batch.windows[i];
          if (last_table_ == nullptr || !(w == last_window_)) {
            last_table_ = &by_window_[w];
            last_window_ = w;
          }
          auto [acc, inserted] = last_table_->find_or_insert(
              key, Hash<K>{}(key), [&] { return K(key); }, create);
          op_.cf_.add_input(*acc, op_.value_of_(values[i]));
          if (inserted) by_window_bytes_ += FlatTable<K, Acc>::bytes_per_entry() + heap_bytes(key);
        }
      }
      if (table_.footprint() + heap_ + by_window_bytes_ > budget_) {
        flush_table();
      }
    }

    void finish() override {
      flush_table();
      out_.flush();
    }
    // The partials go ahead of the barrier, into the state of the merge.
    void snapshot(std::int64_t, OperatorSnapshot&) override {
      flush_table();
      out_.flush();
    }
    // Streaming: a window's partials must reach the merge before the
    // watermark that completes it does.
    Timestamp on_watermark(Timestamp input) override {
      if (op_.flush_every_tick_) {
        flush_table();
      } else if (input != kIdleWatermark) {
        while (!by_window_.empty() && by_window_.begin()->first.max_timestamp() <= input) {
          auto it = by_window_.begin();
          by_window_bytes_ -=
              std::min(by_window_bytes_, it->second.size() * FlatTable<K, Acc>::bytes_per_entry());
          flush_window(it->first, it->second);
          by_window_.erase(it);
          last_table_ = nullptr;
        }
      }
      out_.flush();
      return input;
    }

   private:
    void flush_window(const Window& w, FlatTable<K, Acc>& table) {
      out_.at(w.max_timestamp(), w);
      for (auto& e : table.entries()) out_.emplace(std::move(e.key), std::move(e.value));
    }
    void flush_table() {
      out_.untimed();
      for (auto& e : table_.entries()) out_.emplace(std::move(e.key), std::move(e.value));
      table_.clear_and_release();
      heap_ = 0;
      // A partial of a window travels with the window in the batch metadata.
      for (auto& [w, table] : by_window_) flush_window(w, table);
      by_window_.clear();
      by_window_bytes_ = 0;
      last_table_ = nullptr;
    }
    const PartialCombineOp& op_;
    std::size_t budget_;
    Emitter<Out> out_;
    FlatTable<K, Acc> table_;
    std::size_t heap_ = 0;
    std::map<Window, FlatTable<K, Acc>, WindowByEnd> by_window_;
    std::size_t by_window_bytes_ = 0;
    FlatTable<K, Acc>* last_table_ = nullptr;  // by_window_[last_window_]: runs share a window
    Window last_window_;
  };

  CF cf_;
  KeyOf key_of_;
  ValueOf value_of_;
  bool flush_every_tick_;
};

// After the shuffle: aggregates every key's values (kMergePartials: merges
// (key, accumulator) pairs from PartialCombineOp), spilling past the budget,
// and emits (key, output) at the end.
template <class In, class K, class CF, class KeyOf, class ValueOf, bool kMergePartials>
class FinalCombineOp final : public Operator {
 public:
  using Acc = typename CF::Accumulator;
  using Out = std::pair<K, combine_output_t<CF>>;

  // ws: how the input is windowed (sessions merge per key; the trigger and
  // lateness apply in streaming mode).
  FinalCombineOp(CF cf, KeyOf key_of, ValueOf value_of, WindowingStrategy ws)
      : cf_(std::move(cf)), key_of_(std::move(key_of)), value_of_(std::move(value_of)), ws_(ws) {}

  bool uses_memory_budget() const override { return true; }
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  // 2: on RocksDB the timers are in the native snapshots (an operator-state
  // flag says so); a version that expects them in key-group records refuses it.
  std::uint32_t state_format() const override { return 2; }

  // Streaming mode keeps its state on the job's backend (WindowState);
  // batch mode in spilling tables whatever the backend: it takes no checkpoints.
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    if (!ctx.streaming) return std::make_unique<BatchInstance>(*this, ctx, outputs.at(0));
    if (ws_.merging) return std::make_unique<StreamingInstance<true>>(*this, ctx, outputs.at(0));
    return std::make_unique<StreamingInstance<false>>(*this, ctx, outputs.at(0));
  }

 private:
  // Streaming mode: panes as the trigger fires them, state by key group on
  // the backend, checkpointed.
  template <bool kMerging>
  class StreamingInstance final : public OperatorInstance {
   public:
    StreamingInstance(const FinalCombineOp& op, const InstanceContext& ctx, Output* out)
        : op_(op), state_(op.cf_, op.ws_, ctx), out_(out, ctx.batch_size) {}

    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<In>(batch).values;
      const bool timed = batch.timed();
      auto emit = emit_fn();
      for (std::size_t i = 0; i < values.size(); ++i) {
        In& v = values[i];
        if constexpr (kMergePartials) {
          const K& key = v.first;
          auto add = [&](Acc& acc) { op_.cf_.merge_accumulators(acc, std::move(v.second)); };
          auto make = [&] { return std::move(v.first); };
          if (timed) {
            state_.add(batch.windows[i], key, Hash<K>{}(key), make, add, now_, emit);
          } else {
            state_.add_untimed(key, Hash<K>{}(key), make, add);
          }
        } else {
          auto&& value = op_.value_of_(v);
          const auto& key = op_.key_of_(v);
          auto add = [&](Acc& acc) { op_.cf_.add_input(acc, std::move(value)); };
          auto make = [&] { return K(key); };
          if (timed) {
            state_.add(batch.windows[i], key, Hash<K>{}(key), make, add, now_, emit);
          } else {
            state_.add_untimed(key, Hash<K>{}(key), make, add);
          }
        }
      }
      out_.flush();  // early and late panes go out now
    }
    Timestamp on_watermark(Timestamp input) override {
      if (input != kIdleWatermark) {
        state_.on_watermark(input, emit_fn());
        out_.flush();
      }
      return input;
    }
    void on_processing_time(Timestamp now) override {
      now_ = now;
      state_.on_processing_time(now, emit_fn());
      out_.flush();
    }
    void finish() override {
      out_.untimed();
      state_.finish_untimed([&](K&& key, Acc&& acc) {
        out_.emplace(std::move(key), op_.cf_.extract_output(std::move(acc)));
      });
      out_.flush();
    }
    void snapshot(std::int64_t id, OperatorSnapshot& out) override { state_.snapshot(id, out); }
    void restore(const RestoredState& in) override { state_.restore(in); }

   private:
    // Panes go out as (key, output) at the window's end.
    auto emit_fn() {
      return [this](const Window& w, const K& key, auto&& acc, const PaneInfo& pane) {
        out_.at(w.max_timestamp(), w, pane);
        out_.emplace(key, extract_output_of(op_.cf_, std::forward<decltype(acc)>(acc)));
      };
    }

    const FinalCombineOp& op_;
    WindowState<K, CF, kMerging> state_;
    Timestamp now_ = wall_clock_ms();
    Emitter<Out> out_;
  };

  // Batch mode: every key's (and window's) accumulator in spilling tables,
  // emitted at the end of the input.
  class BatchInstance final : public OperatorInstance {
   public:
    BatchInstance(const FinalCombineOp& op, const InstanceContext& ctx, Output* out)
        : op_(op),
          agg_(op.cf_, ctx.memory_budget, ctx.temp_dir, instance_name(&op, ctx.instance), 0,
               ctx.counters),
          windowed_(op.cf_, ctx.memory_budget, ctx.temp_dir, instance_name(&op, ctx.instance) + "w",
                    0, ctx.counters),
          out_(out, ctx.batch_size) {}

    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<In>(batch).values;
      const bool timed = batch.timed();
      for (std::size_t i = 0; i < values.size(); ++i) {
        auto& v = values[i];
        if constexpr (kMergePartials) {
          if (!timed) {
            agg_.merge(std::move(v.first), std::move(v.second));
          } else {
            windowed_.merge(std::pair<Window, K>(batch.windows[i], std::move(v.first)),
                            std::move(v.second));
          }
        } else {
          auto&& value = op_.value_of_(v);
          std::size_t extra = 0;
          if constexpr (combine_fn_accumulates_inputs<CF>()) {
            // A growing list holds 1.5x its size on average (capacity doubles).
            extra = sizeof(value) * 3 / 2 + heap_bytes(value);
          }
          const auto& key = op_.key_of_(v);
          auto add = [&](Acc& acc) { op_.cf_.add_input(acc, std::move(value)); };
          if (!timed) {
            agg_.add(
                key, [&] { return K(key); }, add, extra);
          } else {
            const Window& w = batch.windows[i];
            WindowedKeyRef<K> ref{w, key};
            windowed_.add_hashed(
                ref, ref.hash(), [&] { return std::pair<Window, K>(w, K(key)); }, add, extra);
          }
        }
      }
      agg_.check_budget();
      windowed_.check_budget();
    }

    // Results of a window carry the window and its last instant as event time.
    void finish() override {
      out_.untimed();
      agg_.finish([&](K&& key, Acc&& acc) {
        out_.emplace(std::move(key), op_.cf_.extract_output(std::move(acc)));
      });
      if (!op_.ws_.merging) {
        windowed_.finish([&](std::pair<Window, K>&& wk, Acc&& acc) {
          emit(wk.first, std::move(wk.second), std::move(acc));
        });
      } else {
        finish_sessions();
      }
      out_.flush();
    }

   private:
    void emit(const Window& w, K&& key, Acc&& acc) {
      out_.at(w.max_timestamp(), w);
      out_.emplace(std::move(key), op_.cf_.extract_output(std::move(acc)));
    }

    // Sessions: each key's windows, by start; overlapping ones merge, their
    // accumulators too. Held in memory per instance (not spilled yet).
    void finish_sessions() {
      std::unordered_map<K, std::vector<std::pair<Window, Acc>>, Hash<K>> by_key;
      windowed_.finish([&](std::pair<Window, K>&& wk, Acc&& acc) {
        by_key[std::move(wk.second)].emplace_back(wk.first, std::move(acc));
      });
      for (auto& [key, windows] : by_key) {
        std::sort(windows.begin(), windows.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        std::size_t open = 0;
        for (std::size_t i = 1; i < windows.size(); ++i) {
          if (windows[i].first.start < windows[open].first.end) {
            windows[open].first.end = std::max(windows[open].first.end, windows[i].first.end);
            op_.cf_.merge_accumulators(windows[open].second, std::move(windows[i].second));
          } else {
            emit(windows[open].first, K(key), std::move(windows[open].second));
            open = i;
          }
        }
        emit(windows[open].first, K(key), std::move(windows[open].second));
      }
    }

    const FinalCombineOp& op_;
    SpillingAggregator<K, CF> agg_;
    SpillingAggregator<std::pair<Window, K>, CF> windowed_;
    Emitter<Out> out_;
  };

  CF cf_;
  KeyOf key_of_;
  ValueOf value_of_;
  WindowingStrategy ws_;
};

}  // namespace runnel::detail

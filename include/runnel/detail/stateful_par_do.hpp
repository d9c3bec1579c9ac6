#pragma once
// The operator behind par_do of a stateful DoFn (see state.hpp): a keyed
// operator holding, per key and window, one cell per declared state, and the
// key's timers in time order. Checkpointed by key group.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/element_ops.hpp"
#include "runnel/hash.hpp"
#include "runnel/key_groups.hpp"
#include "runnel/operator.hpp"
#include "runnel/state.hpp"

namespace runnel::detail {

template <class Fn>
using state_tuple_t = decltype(std::declval<Fn&>().state());

template <class Tuple>
struct CellsFor;
template <class... Hs>
struct CellsFor<std::tuple<Hs&...>> {
  using type = std::tuple<StateCell<typename std::remove_cvref_t<Hs>::Storage>...>;
};

template <class Fn, class K, class V>
class StatefulParDoOp final : public Operator {
 public:
  using In = std::pair<K, V>;
  using E = do_fn_emitters_t<Fn>;
  // lateness: the input's allowed lateness; a window's state is dropped once
  // the watermark passes its end plus this.
  StatefulParDoOp(Fn fn, Timestamp lateness) : fn_(std::move(fn)), lateness_(lateness) {}
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(*this, ctx, make_do_fn_emitters<Fn>(outputs, ctx.batch_size));
  }

 private:
  using Cells = typename CellsFor<state_tuple_t<Fn>>::type;
  static constexpr std::size_t kStates = std::tuple_size_v<Cells>;
  using RowKey = std::pair<Window, K>;
  struct RowHash {
    std::uint64_t operator()(const RowKey& k) const {
      return hash_combine(Hash<K>{}(k.second),
                          hash_mix(static_cast<std::uint64_t>(k.first.start) * 31 +
                                   static_cast<std::uint64_t>(k.first.end)));
    }
  };
  struct Row {
    Cells cells;
    std::uint32_t timers = 0;
  };
  using Timer = std::tuple<Timestamp, Window, K>;

  class Instance final : public OperatorInstance {
   public:
    Instance(const StatefulParDoOp& op, const InstanceContext& ctx, std::unique_ptr<E> out)
        : op_(op),
          fn_(op.fn_),
          out_(std::move(out)),
          streaming_(ctx.streaming),
          max_parallelism_(ctx.max_parallelism),
          instance_(ctx.instance),
          parallelism_(ctx.parallelism),
          context_([this](TimeDomain d, Timestamp t) { set_timer(d, t); },
                   [this](TimeDomain d, Timestamp t) { delete_timer(d, t); }) {
      std::size_t i = 0;
      std::apply([&](auto&... h) { ((ttl_[i++] = h.ttl().count()), ...); }, fn_.state());
    }

    void open() override { DoFnHooks<Fn>::setup(fn_); }
    void close() override { DoFnHooks<Fn>::teardown(fn_); }

    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<In>(batch).values;
      const bool timed = batch.timed();
      if (!values.empty()) timed_ = timed;
      DoFnHooks<Fn>::start_bundle(fn_);
      for (std::size_t i = 0; i < values.size(); ++i) {
        const Window& w = timed ? batch.windows[i] : kGlobalWindow;
        const Timestamp ts = timed ? batch.timestamps[i] : kMinTimestamp;
        if (timed) {
          out_->at(ts, w);
        } else {
          out_->untimed();
        }
        auto [it, inserted] = rows_.try_emplace(RowKey{w, values[i].first});
        if (inserted && !w.is_global()) gc_.emplace(w.max_timestamp() + op_.lateness_, it->first);
        enter(it, ts);
        fn_.process(std::as_const(values[i]), context_, *out_);
        leave(it);
      }
      DoFnHooks<Fn>::finish_bundle(fn_, *out_);
      out_->flush();
    }

    Timestamp on_watermark(Timestamp input) override {
      if (input == kIdleWatermark || input <= watermark_) return input;
      watermark_ = input;
      fire(event_timers_, TimeDomain::kEventTime, input);
      // Windows past their lateness: their state goes.
      while (!gc_.empty() && gc_.begin()->first <= input) {
        auto it = rows_.find(gc_.begin()->second);
        if (it != rows_.end() && it->second.timers == 0) rows_.erase(it);
        gc_.erase(gc_.begin());
      }
      out_->flush();
      return input;
    }
    void on_processing_time(Timestamp now) override {
      now_ = now;
      fire(processing_timers_, TimeDomain::kProcessingTime, now);
      out_->flush();
    }
    // Bounded input: every event-time timer fires (batch mode has no watermarks before this).
    void finish() override {
      watermark_ = kMaxTimestamp;
      fire(event_timers_, TimeDomain::kEventTime, kMaxTimestamp);
      out_->flush();
    }

    // Keyed state by key group: rows (tag 0: window, key, then per state its
    // last write time and value) and timers (tag 1: domain, time, window, key).
    // Operator state: the watermark.
    void snapshot(std::int64_t, OperatorSnapshot& out) override {
      auto group = [&](const K& key) -> std::string& {
        return out.key_group(key_group_of(Hash<K>{}(key), max_parallelism_), max_parallelism_);
      };
      for (auto& [rk, row] : rows_) {
        expire(row);
        ByteWriter w(group(rk.second));
        w.put_varint(0);
        Coder<Window>::encode(rk.first, w);
        Coder<K>::encode(rk.second, w);
        std::apply(
            [&](auto&... c) {
              ((w.put_varint(static_cast<std::uint64_t>(c.written)),
                Coder<std::remove_cvref_t<decltype(c.value)>>::encode(c.value, w)),
               ...);
            },
            row.cells);
      }
      for (int d = 0; d < 2; ++d) {
        for (const auto& [t, win, key] : d == 0 ? event_timers_ : processing_timers_) {
          ByteWriter w(group(key));
          w.put_varint(1);
          w.put_varint(static_cast<std::uint64_t>(d));
          w.put_varint(static_cast<std::uint64_t>(t));
          Coder<Window>::encode(win, w);
          Coder<K>::encode(key, w);
        }
      }
      ByteWriter w(out.operator_state);
      w.put_varint(static_cast<std::uint64_t>(watermark_));
    }

    void restore(const RestoredState& in) override {
      const bool same = in.operator_states.size() == static_cast<std::size_t>(parallelism_);
      Timestamp wm = kMaxTimestamp;
      for (std::size_t i = 0; i < in.operator_states.size(); ++i) {
        ByteReader r(in.operator_states[i]);
        if (r.empty() || (same && i != static_cast<std::size_t>(instance_))) continue;
        wm = std::min(wm, static_cast<Timestamp>(r.get_varint()));
      }
      if (wm != kMaxTimestamp) watermark_ = wm;
      for (const auto& [kg, bytes] : in.key_groups) {
        ByteReader r(bytes);
        while (!r.empty()) {
          auto tag = r.get_varint();
          if (tag == 0) {
            Window w = Coder<Window>::decode(r);
            K key = Coder<K>::decode(r);
            auto [it, inserted] = rows_.try_emplace(RowKey{w, std::move(key)});
            if (inserted && !w.is_global()) gc_.emplace(w.max_timestamp() + op_.lateness_, it->first);
            std::apply(
                [&](auto&... c) {
                  ((c.written = static_cast<Timestamp>(r.get_varint()),
                    c.value = Coder<std::remove_cvref_t<decltype(c.value)>>::decode(r)),
                   ...);
                },
                it->second.cells);
          } else {
            auto d = r.get_varint();
            auto t = static_cast<Timestamp>(r.get_varint());
            Window w = Coder<Window>::decode(r);
            K key = Coder<K>::decode(r);
            auto [it, inserted] = rows_.try_emplace(RowKey{w, key});
            if (inserted && !w.is_global()) gc_.emplace(w.max_timestamp() + op_.lateness_, it->first);
            if ((d == 0 ? event_timers_ : processing_timers_).emplace(t, w, std::move(key)).second)
              ++it->second.timers;
          }
        }
      }
    }

   private:
    using RowIt = typename std::unordered_map<RowKey, Row, RowHash>::iterator;

    // Binds the states and the context to a row before calling the DoFn.
    void enter(RowIt it, Timestamp ts) {
      current_ = it;
      bind_states(it->second, std::make_index_sequence<kStates>{});
      context_.bind({&it->first.second, &it->first.first, ts, watermark_, now_});
    }
    template <std::size_t... I>
    void bind_states(Row& row, std::index_sequence<I...>) {
      auto handles = fn_.state();
      (std::get<I>(handles).bind(&std::get<I>(row.cells), &now_), ...);
    }
    template <class S>
    static bool holds_nothing(const std::optional<S>& v) {
      return !v.has_value();
    }
    template <class S>
    static bool holds_nothing(const S& container) {
      return container.empty();
    }
    // Drops the row when it holds nothing and no timer.
    void leave(RowIt it) {
      Row& row = it->second;
      bool empty = row.timers == 0;
      std::apply([&](auto&... c) { ((empty = empty && holds_nothing(c.value)), ...); }, row.cells);
      if (empty) rows_.erase(it);
    }
    // TTL: clears cells past their time.
    void expire(Row& row) {
      std::size_t i = 0;
      std::apply(
          [&](auto&... c) {
            (([&] {
               Timestamp ttl = ttl_[i++];
               if (ttl > 0 && c.written != 0 && now_ - c.written >= ttl) c = {};
             }()),
             ...);
          },
          row.cells);
    }

    void set_timer(TimeDomain d, Timestamp t) {
      auto& timers = d == TimeDomain::kEventTime ? event_timers_ : processing_timers_;
      if (timers.emplace(t, current_->first.first, current_->first.second).second)
        ++current_->second.timers;
    }
    void delete_timer(TimeDomain d, Timestamp t) {
      auto& timers = d == TimeDomain::kEventTime ? event_timers_ : processing_timers_;
      if (timers.erase(Timer{t, current_->first.first, current_->first.second}) > 0)
        --current_->second.timers;
    }

    // Fires the timers at or before `limit`, in time order; a timer set while
    // firing fires too if it is due.
    void fire(std::set<Timer>& timers, TimeDomain domain, Timestamp limit) {
      while (!timers.empty() && std::get<0>(*timers.begin()) <= limit) {
        auto node = timers.extract(timers.begin());
        auto& [t, w, key] = node.value();
        auto it = rows_.find(RowKey{w, key});
        if (it == rows_.end()) continue;
        --it->second.timers;
        if (timed_) {
          out_->at(t, w);
        } else {
          out_->untimed();
        }
        enter(it, t);
        if constexpr (requires(Fn& f, const K& k, KeyedContext<K>& c, E& e) {
                        f.on_timer(k, Timestamp{}, TimeDomain::kEventTime, c, e);
                      }) {
          fn_.on_timer(std::as_const(it->first.second), t, domain, context_, *out_);
        }
        leave(it);
      }
    }

    const StatefulParDoOp& op_;
    Fn fn_;
    std::unique_ptr<E> out_;
    bool streaming_;
    int max_parallelism_, instance_, parallelism_;
    bool timed_ = false;
    Timestamp now_ = wall_clock_ms();
    Timestamp watermark_ = kMinTimestamp;
    std::unordered_map<RowKey, Row, RowHash> rows_;
    std::set<Timer> event_timers_, processing_timers_;
    std::multimap<Timestamp, RowKey> gc_;  // non-global windows, by when their state goes
    std::array<Timestamp, kStates> ttl_{};
    KeyedContext<K> context_;
    RowIt current_{};
  };

  Fn fn_;
  Timestamp lateness_;
};

}  // namespace runnel::detail

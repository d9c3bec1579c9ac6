#pragma once
// The operator behind par_do of a stateful DoFn (see state.hpp): a keyed
// operator holding, per key and window, one cell per declared state, and the
// key's timers in time order. Checkpointed by key group.
#include <array>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/element_ops.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/keyed_rows.hpp"
#include "runnel/detail/kv_store.hpp"
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
    auto out = make_do_fn_emitters<Fn>(outputs, ctx.batch_size);
    return std::make_unique<Instance>(*this, ctx, std::move(out));
  }

 private:
  using Cells = typename CellsFor<state_tuple_t<Fn>>::type;
  static constexpr std::size_t kStates = std::tuple_size_v<Cells>;
  using RowKey = std::pair<Window, K>;  // a row's namespace (its window) and key
  struct Row {
    Cells cells;
    std::uint32_t timers = 0;
  };
  using Timer = std::tuple<Timestamp, Window, K>;

  // A row as bytes (the RocksDB backend's values, and rows read from its
  // snapshots): its timer count, then per state its last write time and value.
  static void encode_row(const Row& row, std::string& out) {
    out.clear();
    ByteWriter w(out);
    w.put_varint(row.timers);
    encode_cells(row.cells, w);
  }
  static void decode_row(std::string_view bytes, Row& row) {
    ByteReader r(bytes);
    row.timers = static_cast<std::uint32_t>(r.get_varint());
    decode_cells(r, row.cells);
  }
  static void encode_cells(const Cells& cells, ByteWriter& w) {
    std::apply(
        [&](const auto&... c) {
          ((w.put_varint(static_cast<std::uint64_t>(c.written)),
            Coder<std::remove_cvref_t<decltype(c.value)>>::encode(c.value, w)),
           ...);
        },
        cells);
  }
  static void decode_cells(ByteReader& r, Cells& cells) {
    std::apply(
        [&](auto&... c) {
          ((c.written = static_cast<Timestamp>(r.get_varint()),
            c.value = Coder<std::remove_cvref_t<decltype(c.value)>>::decode(r)),
           ...);
        },
        cells);
  }
  // A RocksDB key: key group and hash (append_kv_prefix), window, key.
  static void encode_key(const Window& win, const K& key, int max_parallelism, std::string& out) {
    out.clear();
    const std::uint64_t h = Hash<K>{}(key);
    const std::uint64_t row_hash = hash_combine(
        h,
        hash_mix(static_cast<std::uint64_t>(win.start) * 31 + static_cast<std::uint64_t>(win.end)));
    append_kv_prefix(out, key_group_of(h, max_parallelism), row_hash);
    ByteWriter w(out);
    Coder<Window>::encode(win, w);
    Coder<K>::encode(key, w);
  }
  static RowKey decode_key(std::string_view bytes) {
    ByteReader r(bytes.substr(kKvPrefixBytes));
    Window w = Coder<Window>::decode(r);
    return RowKey{w, Coder<K>::decode(r)};
  }

  // How rows are hashed and stored (KeyedRows' codec).
  struct RowCodec {
    static std::uint64_t hash(const K& key) { return Hash<K>{}(key); }
    static void encode_key(const Window& w, const K& key, int max_parallelism, std::string& out) {
      StatefulParDoOp::encode_key(w, key, max_parallelism, out);
    }
    static RowKey decode_key(std::string_view bytes) { return StatefulParDoOp::decode_key(bytes); }
    static void encode_row(const Window&, const Row& row, std::string& out) {
      StatefulParDoOp::encode_row(row, out);
    }
    static void decode_row(const Window&, std::string_view bytes, Row& row) {
      StatefulParDoOp::decode_row(bytes, row);
    }
  };
  using Rows = KeyedRows<Window, K, Row, RowCodec>;

  class Instance final : public OperatorInstance {
   public:
    Instance(const StatefulParDoOp& op, const InstanceContext& ctx, std::unique_ptr<E> out)
        : op_(op),
          rows_(ctx),
          fn_(op.fn_),
          out_(std::move(out)),
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
        bool created = false;
        Row& row = rows_.acquire(w, values[i].first, created);
        if (created && !w.is_global())
          gc_.emplace(w.max_timestamp() + op_.lateness_, RowKey{w, rows_.key()});
        enter(row, ts);
        fn_.process(std::as_const(values[i]), context_, *out_);
        leave(row);
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
        const auto& [w, key] = gc_.begin()->second;
        Row* row = rows_.find(w, key);
        if (row != nullptr && row->timers == 0) rows_.drop();
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

    // Keyed state by key group. Memory backend: rows (tag 0: window, key,
    // then per state its last write time and value). RocksDB backend: its
    // own checkpoint (native_dir), rows stay there. Both: timers (tag 1:
    // domain, time, window, key). Operator state: the watermark.
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      auto group = [&](const K& key) -> std::string& {
        return out.key_group(key_group_of(Hash<K>{}(key), max_parallelism_), max_parallelism_);
      };
      if (rows_.native()) {
        rows_.snapshot_native(id, out);
      } else {
        rows_.for_each([&](const Window& win, const K& key, Row& row, std::uint64_t hash) {
          expire(row);
          ByteWriter w(out.key_group(key_group_of(hash, max_parallelism_), max_parallelism_));
          w.put_varint(0);
          Coder<Window>::encode(win, w);
          Coder<K>::encode(key, w);
          encode_cells(row.cells, w);
        });
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
      w.put_varint(gc_.empty() ? 0 : 1);  // whether rows of windows (not global) are held
      w.put_varint(timed_ ? 1 : 0);       // whether outputs carry timestamps and windows
    }

    // Either backend restores either kind of checkpoint: rows from key-group
    // bytes or from the native snapshots of the old instances whose key
    // groups overlap this one's.
    void restore(const RestoredState& in) override {
      if (auto wm = restored_watermark(in, instance_, parallelism_)) watermark_ = *wm;
      bool windowed = false;
      for (const std::string& state : in.operator_states) {
        ByteReader r(state);
        if (r.empty()) continue;
        r.get_varint();  // the watermark
        windowed = windowed || r.empty() || r.get_varint() != 0;
        if (!r.empty()) timed_ = timed_ || r.get_varint() != 0;
      }
      // Native rows carry their timer counts; rows from bytes count their timers below.
      const bool native = rows_.restore_native(in, windowed, [&](const Window& w, const K& key) {
        if (!w.is_global()) gc_.emplace(w.max_timestamp() + op_.lateness_, RowKey{w, key});
      });
      for (const auto& [kg, bytes] : in.key_groups) {
        ByteReader r(bytes);
        while (!r.empty()) {
          auto tag = r.get_varint();
          auto d = tag == 0 ? 0 : r.get_varint();
          auto t = tag == 0 ? 0 : static_cast<Timestamp>(r.get_varint());
          Window w = Coder<Window>::decode(r);
          K key = Coder<K>::decode(r);
          if (tag != 0 && native) {  // the row and its count came with the native snapshot
            (d == 0 ? event_timers_ : processing_timers_).emplace(t, w, std::move(key));
            continue;
          }
          bool created = false;
          Row& row = rows_.acquire(w, key, created);
          if (created && !w.is_global())
            gc_.emplace(w.max_timestamp() + op_.lateness_, RowKey{w, rows_.key()});
          if (tag == 0) {
            decode_cells(r, row.cells);
          } else if ((d == 0 ? event_timers_ : processing_timers_)
                         .emplace(t, w, std::move(key))
                         .second) {
            ++row.timers;
          }
          rows_.store();
        }
      }
    }

   private:
    // Binds the states and the context to the current row before calling the DoFn.
    void enter(Row& row, Timestamp ts) {
      current_ = &row;
      bind_states(row, std::make_index_sequence<kStates>{});
      context_.bind({&rows_.key(), &rows_.ns(), ts, watermark_, now_});
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
    // Keeps the row, or drops it when it holds nothing and no timer.
    void leave(Row& row) {
      bool empty = row.timers == 0;
      std::apply([&](auto&... c) { ((empty = empty && holds_nothing(c.value)), ...); }, row.cells);
      if (empty) {
        rows_.drop();
      } else {
        rows_.store();
      }
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
      if (timers.emplace(t, rows_.ns(), rows_.key()).second) ++current_->timers;
    }
    void delete_timer(TimeDomain d, Timestamp t) {
      auto& timers = d == TimeDomain::kEventTime ? event_timers_ : processing_timers_;
      if (timers.erase(Timer{t, rows_.ns(), rows_.key()}) > 0) --current_->timers;
    }

    // Fires the timers at or before `limit`, in time order; a timer set while
    // firing fires too if it is due.
    void fire(std::set<Timer>& timers, TimeDomain domain, Timestamp limit) {
      while (!timers.empty() && std::get<0>(*timers.begin()) <= limit) {
        auto node = timers.extract(timers.begin());
        auto& [t, w, key] = node.value();
        Row* row = rows_.find(w, key);
        if (row == nullptr) continue;
        --row->timers;
        if (timed_) {
          out_->at(t, w);
        } else {
          out_->untimed();
        }
        enter(*row, t);
        if constexpr (requires(Fn & f, const K& k, KeyedContext<K>& c, E& e) {
                        f.on_timer(k, Timestamp{}, TimeDomain::kEventTime, c, e);
                      }) {
          fn_.on_timer(std::as_const(rows_.key()), t, domain, context_, *out_);
        }
        // A window whose cleanup time passed while this timer was pending:
        // its state goes with its last timer.
        const Window& fired = rows_.ns();
        if (!fired.is_global() && fired.max_timestamp() + op_.lateness_ <= watermark_ &&
            row->timers == 0) {
          rows_.drop();
        } else {
          leave(*row);
        }
      }
    }

    const StatefulParDoOp& op_;
    Rows rows_;
    Fn fn_;
    std::unique_ptr<E> out_;
    int max_parallelism_, instance_, parallelism_;
    bool timed_ = false;
    Timestamp now_ = wall_clock_ms();
    Timestamp watermark_ = kMinTimestamp;
    std::set<Timer> event_timers_, processing_timers_;
    std::multimap<Timestamp, RowKey> gc_;  // non-global windows, by when their state goes
    std::array<Timestamp, kStates> ttl_{};
    KeyedContext<K> context_;
    Row* current_ = nullptr;
  };

  Fn fn_;
  Timestamp lateness_;
};

}  // namespace runnel::detail

#pragma once
// The operator behind par_do of a stateful DoFn (see state.hpp): a keyed
// operator holding, per key and window, one cell per declared state, and the
// key's timers in time order. Checkpointed by key group.
#include <algorithm>
#include <array>
#include <filesystem>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/element_ops.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/keyed_rows.hpp"
#include "runnel/detail/keyed_timers.hpp"
#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/memory_size.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/hash.hpp"
#include "runnel/state.hpp"

namespace runnel::detail {

template <class Fn>
using state_tuple_t = decltype(std::declval<Fn&>().state());

template <class Tuple>
struct StateValuesFor;
template <class... Hs>
struct StateValuesFor<std::tuple<Hs&...>> {
  using type = std::tuple<typename std::remove_cvref_t<Hs>::Storage...>;
};
struct NoWriteTimes {};

template <class Fn, class K, class V>
class StatefulParDoOp final : public Operator {
 public:
  using In = std::pair<K, V>;
  using E = do_fn_emitters_t<Fn>;
  // lateness: the input's allowed lateness; a window's state is dropped once
  // the watermark passes its end plus this.
  StatefulParDoOp(Fn fn, Timestamp lateness) : fn_(std::move(fn)), lateness_(lateness) {
    std::size_t i = 0;
    std::apply([&](auto&... h) { ((ttl_[i++] = h.ttl().count()), ...); }, fn_.state());
  }
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  // 2: on RocksDB the timers are in the native snapshots (an operator-state
  // flag says so); a version that expects them in key-group records refuses it.
  std::uint32_t state_format() const override { return 2; }
  bool keeps_keyed_rows() const override { return true; }
  // Rows keep each state's last write time only if some state has a TTL
  // (without one, a ValueState<int64_t> row is 24 bytes, not 32): two
  // layouts, one instance type each.
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    auto out = make_do_fn_emitters<Fn>(outputs, ctx.batch_size);
    if (has_ttl()) return std::make_unique<Instance<true>>(*this, ctx, std::move(out));
    return std::make_unique<Instance<false>>(*this, ctx, std::move(out));
  }

 private:
  using Values = typename StateValuesFor<state_tuple_t<Fn>>::type;
  static constexpr std::size_t kStates = std::tuple_size_v<Values>;
  using RowKey = std::pair<Window, K>;  // a row's namespace (its window) and key
  template <bool kTtl>
  struct Row {
    Values values;
    // Per state, the processing time of its last write (0: none).
    [[no_unique_address]] std::conditional_t<kTtl, std::array<Timestamp, kStates>, NoWriteTimes>
        written{};
    std::uint32_t timers = 0;
  };
  using Timers = KeyedTimers<Window, K>;

  bool has_ttl() const {
    return std::any_of(ttl_.begin(), ttl_.end(), [](Timestamp t) { return t > 0; });
  }

  // A row as bytes (the RocksDB backend's values, and rows read from its
  // snapshots): its timer count, then per state its last write time and value.
  template <bool kTtl>
  static void encode_row(const Row<kTtl>& row, std::string& out) {
    out.clear();
    ByteWriter w(out);
    w.put_varint(row.timers);
    encode_cells(row, w);
  }
  template <bool kTtl>
  static void decode_row(std::string_view bytes, Row<kTtl>& row) {
    ByteReader r(bytes);
    row.timers = static_cast<std::uint32_t>(r.get_varint());
    decode_cells(r, row);
  }
  // Per state, its last write time (0 in rows without) and its value: both
  // layouts read each other's bytes.
  template <bool kTtl>
  static void encode_cells(const Row<kTtl>& row, ByteWriter& w) {
    std::size_t i = 0;
    std::apply(
        [&](const auto&... v) {
          (([&] {
             Timestamp written = 0;
             if constexpr (kTtl) written = row.written[i];
             ++i;
             w.put_varint(static_cast<std::uint64_t>(written));
             Coder<std::remove_cvref_t<decltype(v)>>::encode(v, w);
           }()),
           ...);
        },
        row.values);
  }
  template <bool kTtl>
  static void decode_cells(ByteReader& r, Row<kTtl>& row) {
    std::size_t i = 0;
    std::apply(
        [&](auto&... v) {
          (([&] {
             const auto written = static_cast<Timestamp>(r.get_varint());
             if constexpr (kTtl) row.written[i] = written;
             ++i;
             v = Coder<std::remove_cvref_t<decltype(v)>>::decode(r);
           }()),
           ...);
        },
        row.values);
  }
  // A RocksDB key: key group and hash (append_kv_prefix), window, key.
  static void encode_key(const Window& win, const K& key, int max_parallelism, std::string& out) {
    out.clear();
    const std::uint64_t h = Hash<K>{}(key);
    append_kv_prefix(out, key_group_of(h, max_parallelism), window_row_hash(h, win));
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
  template <bool kTtl>
  struct RowCodec {
    using Row = StatefulParDoOp::Row<kTtl>;
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
    static std::size_t heap_bytes(const Row& row) { return runnel::heap_bytes(row.values); }
  };
  template <bool kTtl>
  using Rows = KeyedRows<Window, K, Row<kTtl>, RowCodec<kTtl>>;

  template <bool kTtl>
  class Instance final : public OperatorInstance {
    using Row = StatefulParDoOp::Row<kTtl>;
    using Rows = StatefulParDoOp::Rows<kTtl>;

   public:
    Instance(const StatefulParDoOp& op, const InstanceContext& ctx, std::unique_ptr<E> out)
        : op_(op),
          rows_(ctx, op.template expiry<kTtl>()),
          fn_(op.fn_),
          out_(std::move(out)),
          max_parallelism_(ctx.max_parallelism),
          instance_(ctx.instance),
          parallelism_(ctx.parallelism),
          owned_(ctx.owned_key_groups()),
          context_([this](TimeDomain d, Timestamp t) { set_timer(d, t); },
                   [this](TimeDomain d, Timestamp t) { delete_timer(d, t); }) {
      rows_.advance_time(now_);
      if (KvStore* kv = rows_.timers_kv()) {  // RocksDB: timers in its database
        const int first = owned_.first_of(instance_, parallelism_);
        const int last = owned_.last_of(instance_, parallelism_);
        for (std::uint8_t tag = 0; tag < 3; ++tag)
          timers(tag).store_in(*kv, tag, first, last, max_parallelism_);
      }
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
        Row& row = row_of(w, values[i].first);
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
      cleanup_.fire(input, [&](const typename Timers::Timer& t) {
        Row* row = rows_.find(t.ns, t.key);
        if (row != nullptr && row->timers == 0) rows_.drop();
      });
      out_->flush();
      return input;
    }
    void on_processing_time(Timestamp now) override {
      now_ = now;
      rows_.advance_time(now);
      fire(processing_timers_, TimeDomain::kProcessingTime, now);
      out_->flush();
    }
    // Bounded input: every event-time timer fires (batch mode has no watermarks before this).
    void finish() override {
      watermark_ = kMaxTimestamp;
      fire(event_timers_, TimeDomain::kEventTime, kMaxTimestamp);
      out_->flush();
    }

    // Keyed state by key group. Rows: native snapshots (RocksDB's, or the
    // memory backend's row logs, in the codec's form), else (memory, no
    // state directory) key-group records (tag 0: window, key, then per
    // state its last write time and value). Timers: in RocksDB's snapshot
    // with the rows, else key-group records (tag 1: domain, time, window,
    // key). Operator state: the watermark, whether rows of windows are
    // held, whether outputs are timed, whether timers are in the native
    // snapshot.
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      rows_.expire(now_);
      for (std::uint8_t tag = 0; tag < 3; ++tag) timers(tag).flush();
      if (rows_.native()) {
        rows_.snapshot_native(id, out);
      } else {
        rows_.for_each([&](const Window& win, const K& key, Row& row, std::uint64_t hash) {
          ByteWriter w(out.key_group(key_group_of(hash, max_parallelism_), max_parallelism_));
          w.put_varint(0);
          Coder<Window>::encode(win, w);
          Coder<K>::encode(key, w);
          encode_cells(row, w);
        });
      }
      for (std::uint64_t d = 0; d < 2; ++d) {
        timers(d).snapshot(out, max_parallelism_, [d](ByteWriter& w) {
          w.put_varint(1);
          w.put_varint(d);
        });
      }
      ByteWriter w(out.operator_state);
      w.put_varint(static_cast<std::uint64_t>(watermark_));
      w.put_varint(cleanup_.empty() ? 0 : 1);  // whether rows of windows (not global) are held
      w.put_varint(timed_ ? 1 : 0);            // whether outputs carry timestamps and windows
      w.put_varint(cleanup_.stored() ? 1 : 0);
    }

    // Either backend restores either kind of checkpoint: rows from key-group
    // bytes or from the native snapshots of the old instances whose key
    // groups overlap this one's.
    void restore(const RestoredState& in) override {
      if (auto wm = restored_watermark(in, instance_, parallelism_)) watermark_ = *wm;
      bool windowed = false, timers_native = false, timers_apart = false;
      for (const std::string& state : in.operator_states) {
        ByteReader r(state);
        if (r.empty()) continue;
        r.get_varint();  // the watermark
        const bool holds_windows = r.empty() || r.get_varint() != 0;
        const bool timed = !r.empty() && r.get_varint() != 0;
        const bool stored = !r.empty() && r.get_varint() != 0;
        windowed = windowed || holds_windows;
        timed_ = timed_ || timed;
        (stored ? timers_native : timers_apart) = true;
      }
      // Timers in the native snapshots (RocksDB's, of a run since they were
      // kept there): restored with the database, or read from it.
      timers_native = timers_native && !timers_apart;
      const bool reload = timers_native && cleanup_.stored();
      // Native rows carry their timer counts; rows from bytes count their timers below.
      const bool native =
          rows_.restore_native(in, windowed && !reload, [&](const Window& w, const K& key) {
            if (!w.is_global()) cleanup_.add(w.max_timestamp() + op_.lateness_, w, key);
          });
      if (timers_native) {
        for (std::uint8_t tag = 0; tag < (reload ? 3 : 2); ++tag)
          timers(tag).restore_stored(in, tag, instance_, parallelism_, owned_);
      }
      for (const auto& [kg, bytes] : in.key_groups) {
        ByteReader r(bytes);
        while (!r.empty()) {
          if (r.get_varint() == 0) {  // a row
            Window w = Coder<Window>::decode(r);
            K key = Coder<K>::decode(r);
            decode_cells(r, row_of(w, key));
            rows_.store();
            continue;
          }
          const std::uint64_t d = r.get_varint();
          const typename Timers::Timer t = Timers::read(r);
          // Native rows came with their timer counts.
          if (native) {
            timers(d).add(t.time, t.ns, t.key);
            continue;
          }
          Row& row = row_of(t.ns, t.key);
          if (timers(d).set(t.time, t.ns, t.key)) ++row.timers;
          rows_.store();
        }
      }
    }

   private:
    // The instance's timer sets: 0 event time, 1 processing time, 2 cleanup.
    Timers& timers(std::uint64_t set) {
      return set == 0 ? event_timers_ : set == 1 ? processing_timers_ : cleanup_;
    }
    // The row of (w, key), made current; a new row of a window gets its cleanup timer.
    Row& row_of(const Window& w, const K& key) {
      bool created = false;
      Row& row = rows_.acquire(w, key, created);
      if (created && !w.is_global()) cleanup_.add(w.max_timestamp() + op_.lateness_, w, key);
      return row;
    }
    // Binds the states and the context to the current row before calling the DoFn.
    void enter(Row& row, Timestamp ts) {
      current_ = &row;
      bind_states(row, std::make_index_sequence<kStates>{});
      context_.bind({&rows_.key(), &rows_.ns(), ts, watermark_, now_});
    }
    template <std::size_t... I>
    void bind_states(Row& row, std::index_sequence<I...>) {
      auto handles = fn_.state();
      if constexpr (kTtl) {
        (std::get<I>(handles).bind(&std::get<I>(row.values), &row.written[I], &now_), ...);
      } else {
        (std::get<I>(handles).bind(&std::get<I>(row.values), nullptr, &now_), ...);
      }
    }
    // Keeps the row, or drops it when it holds nothing and no timer.
    void leave(Row& row) {
      bool empty = row.timers == 0;
      std::apply([&](auto&... v) { ((empty = empty && holds_nothing(v)), ...); }, row.values);
      if (empty) {
        rows_.drop();
      } else {
        rows_.store();
      }
    }
    void set_timer(TimeDomain d, Timestamp t) {
      auto& timers = d == TimeDomain::kEventTime ? event_timers_ : processing_timers_;
      if (current_->timers == 0) {
        // The row has no timer set: this one is new (on RocksDB, without a read).
        timers.add(t, rows_.ns(), rows_.key());
        ++current_->timers;
      } else if (timers.set(t, rows_.ns(), rows_.key())) {
        ++current_->timers;
      }
    }
    void delete_timer(TimeDomain d, Timestamp t) {
      auto& timers = d == TimeDomain::kEventTime ? event_timers_ : processing_timers_;
      if (timers.erase(t, rows_.ns(), rows_.key())) --current_->timers;
    }

    // Fires the timers at or before `limit`, in time order; a timer set while
    // firing fires too if it is due.
    void fire(Timers& timers, TimeDomain domain, Timestamp limit) {
      timers.fire(limit, [&](const typename Timers::Timer& timer) {
        const Timestamp t = timer.time;
        Row* row = rows_.find(timer.ns, timer.key);
        if (row == nullptr) return;
        --row->timers;
        if (timed_) {
          out_->at(t, timer.ns);
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
      });
    }

    const StatefulParDoOp& op_;
    Rows rows_;
    Fn fn_;
    std::unique_ptr<E> out_;
    int max_parallelism_, instance_, parallelism_;
    KeyGroupRange owned_;
    bool timed_ = false;
    Timestamp now_ = wall_clock_ms();
    Timestamp watermark_ = kMinTimestamp;
    Timers event_timers_, processing_timers_;
    Timers cleanup_;  // rows of non-global windows, at the time their state goes
    KeyedContext<K> context_;
    Row* current_ = nullptr;
  };

  template <class S>
  static bool holds_nothing(const std::optional<S>& v) {
    return !v.has_value();
  }
  template <class S>
  static bool holds_nothing(const S& container) {
    return container.empty();
  }
  // The rows' time to live (KeyedRows::Expiry), if any state has one:
  // values past their time are cleared; a row left with nothing and no timer goes.
  template <bool kTtl>
  typename Rows<kTtl>::Expiry expiry() const {
    if constexpr (!kTtl) {
      return {};
    } else {
      return [ttl = ttl_](Row<true>& row, Timestamp now) {
        std::size_t i = 0;
        bool empty = row.timers == 0;
        std::apply(
            [&](auto&... v) {
              (([&] {
                 const Timestamp t = ttl[i];
                 Timestamp& written = row.written[i++];
                 if (t > 0 && written != 0 && now - written >= t) {
                   v = {};
                   written = 0;
                 }
                 empty = empty && holds_nothing(v);
               }()),
               ...);
            },
            row.values);
        return empty;
      };
    }
  }

  Fn fn_;
  Timestamp lateness_;
  std::array<Timestamp, kStates> ttl_{};
};

}  // namespace runnel::detail

#pragma once
// The operator behind par_do of a stateful DoFn (see state.hpp): a keyed
// operator holding, per key and window, one cell per declared state, and the
// key's timers in time order. Checkpointed by key group.
#include <array>
#include <deque>
#include <filesystem>
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
#include "runnel/detail/kv_store.hpp"
#include "runnel/detail/native_snapshots.hpp"
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
    if (ctx.state_backend == StateBackend::kRocksDB)
      return std::make_unique<Instance<RocksRows>>(*this, ctx, std::move(out));
    return std::make_unique<Instance<MemoryRows>>(*this, ctx, std::move(out));
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
  static void encode_key(const RowKey& rk, int max_parallelism, std::string& out) {
    out.clear();
    const std::uint64_t h = Hash<K>{}(rk.second);
    append_kv_prefix(out, key_group_of(h, max_parallelism), RowHash{}(rk));
    ByteWriter w(out);
    Coder<Window>::encode(rk.first, w);
    Coder<K>::encode(rk.second, w);
  }
  static RowKey decode_key(std::string_view bytes) {
    ByteReader r(bytes.substr(kKvPrefixBytes));
    Window w = Coder<Window>::decode(r);
    return RowKey{w, Coder<K>::decode(r)};
  }

  // The memory backend: rows in a hash map. acquire/find make a row
  // current; then store() keeps what the DoFn did to it, or drop() removes it.
  class MemoryRows {
   public:
    explicit MemoryRows(const InstanceContext&) {}
    Row& acquire(const RowKey& rk, bool& created) {
      auto [it, inserted] = map_.try_emplace(rk);
      created = inserted;
      current_ = it;
      return it->second;
    }
    Row* find(const RowKey& rk) {
      auto it = map_.find(rk);
      if (it == map_.end()) return nullptr;
      current_ = it;
      return &it->second;
    }
    const RowKey& key() const { return current_->first; }
    void store() {}
    void drop() { map_.erase(current_); }
    void flush() {}
    template <class F>
    void for_each(F&& f) {
      for (auto& [rk, row] : map_) f(rk, row);
    }
    static constexpr bool kNative = false;

   private:
    std::unordered_map<RowKey, Row, RowHash> map_;
    typename std::unordered_map<RowKey, Row, RowHash>::iterator current_{};
  };

  // The RocksDB backend: rows as bytes in a database of this instance,
  // behind a write-back cache of decoded rows (as Kafka Streams' record
  // cache): a hot key costs a hash lookup, not a RocksDB read and write. The
  // cache is written to RocksDB in one batch when it is full (then emptied)
  // and before a checkpoint.
  class RocksRows {
   public:
    static constexpr std::size_t kCacheRows = std::size_t{1} << 16;
    explicit RocksRows(const InstanceContext& ctx)
        : store_(ctx.state_dir / (ctx.uid + "-" + std::to_string(ctx.instance))),
          max_parallelism_(ctx.max_parallelism) {
      cache_.reserve(kCacheRows);
    }
    Row& acquire(const RowKey& rk, bool& created) {
      current_ = lookup(rk);
      Cached& c = current_->second;
      created = !c.present;
      return c.row;
    }
    Row* find(const RowKey& rk) {
      current_ = lookup(rk);
      return current_->second.present ? &current_->second.row : nullptr;
    }
    const RowKey& key() const { return current_->first; }
    void store() {
      current_->second.present = true;
      current_->second.dirty = true;
    }
    void drop() {
      Cached& c = current_->second;
      c.row = Row{};
      c.present = false;
      c.dirty = true;
    }
    // Writes every changed row to RocksDB.
    void flush() {
      for (auto& [rk, c] : cache_) {
        if (!c.dirty) continue;
        c.dirty = false;
        if (!c.present && !c.stored) continue;  // made and dropped between two flushes
        encode_key(rk, max_parallelism_, key_bytes_);
        if (c.present) {
          encode_row(c.row, value_);
          store_.batch_put(key_bytes_, value_);
        } else {
          store_.batch_remove(key_bytes_);
        }
        c.stored = c.present;
      }
      store_.write_batch();
    }
    KvStore& kv() { return store_; }
    static constexpr bool kNative = true;

   private:
    struct Cached {
      Row row;
      bool present = false;  // false: no row (never was, or dropped)
      bool dirty = false;    // differs from RocksDB
      bool stored = false;   // RocksDB holds a row for it
    };
    using Cache = std::unordered_map<RowKey, Cached, RowHash>;

    typename Cache::iterator lookup(const RowKey& rk) {
      auto it = cache_.find(rk);
      if (it != cache_.end()) return it;
      if (cache_.size() >= kCacheRows) {
        flush();
        cache_.clear();
      }
      encode_key(rk, max_parallelism_, key_bytes_);
      Cached c;
      if (store_.get(key_bytes_, value_)) {
        decode_row(value_, c.row);
        c.present = c.stored = true;
      }
      return cache_.emplace(rk, std::move(c)).first;
    }

    KvStore store_;
    int max_parallelism_;
    Cache cache_;
    typename Cache::iterator current_{};
    std::string key_bytes_, value_;
  };

  template <class Rows>
  class Instance final : public OperatorInstance {
   public:
    Instance(const StatefulParDoOp& op, const InstanceContext& ctx, std::unique_ptr<E> out)
        : op_(op),
          rows_(ctx),
          snapshots_(ctx),
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
        bool created = false;
        Row& row = rows_.acquire(RowKey{w, values[i].first}, created);
        if (created && !w.is_global()) gc_.emplace(w.max_timestamp() + op_.lateness_, rows_.key());
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
        Row* row = rows_.find(gc_.begin()->second);
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
      if constexpr (Rows::kNative) {
        rows_.flush();
        snapshots_.take(rows_.kv(), id, out);
      } else {
        rows_.for_each([&](const RowKey& rk, Row& row) {
          expire(row);
          ByteWriter w(group(rk.second));
          w.put_varint(0);
          Coder<Window>::encode(rk.first, w);
          Coder<K>::encode(rk.second, w);
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
      const bool same = in.operator_states.size() == static_cast<std::size_t>(parallelism_);
      Timestamp wm = kMaxTimestamp;
      bool windowed = false;
      for (std::size_t i = 0; i < in.operator_states.size(); ++i) {
        ByteReader r(in.operator_states[i]);
        if (r.empty()) continue;
        const auto old_wm = static_cast<Timestamp>(r.get_varint());
        windowed = windowed || r.empty() || r.get_varint() != 0;
        if (!r.empty()) timed_ = timed_ || r.get_varint() != 0;
        if (!same || i == static_cast<std::size_t>(instance_)) wm = std::min(wm, old_wm);
      }
      if (wm != kMaxTimestamp) watermark_ = wm;
      // Native rows carry their timer counts; rows from bytes count their timers below.
      bool native = false, adopted = false;
      const int n = static_cast<int>(in.native_dirs.size());
      const int first = first_key_group(instance_, parallelism_, max_parallelism_);
      const int last = last_key_group(instance_, parallelism_, max_parallelism_);
      if constexpr (Rows::kNative) {
        // Same parallelism: this instance's key groups are exactly old
        // instance `instance_`'s, so its snapshot becomes the database (only
        // window rows are read, for their cleanup index).
        if (n == parallelism_ && !in.native_dirs[static_cast<std::size_t>(instance_)].empty()) {
          const std::string& dir = in.native_dirs[static_cast<std::size_t>(instance_)];
          rows_.kv().adopt(dir);
          native = adopted = true;
          if (windowed) {
            scan_kv_snapshot(dir, first, last, [&](std::string_view key, std::string_view) {
              RowKey rk = decode_key(key);
              if (!rk.first.is_global())
                gc_.emplace(rk.first.max_timestamp() + op_.lateness_, std::move(rk));
            });
          }
        }
      }
      for (int j = 0; j < n && !adopted; ++j) {
        if (in.native_dirs[static_cast<std::size_t>(j)].empty()) continue;
        native = true;
        const int from = std::max(first, first_key_group(j, n, max_parallelism_));
        const int to = std::min(last, last_key_group(j, n, max_parallelism_));
        if (from > to) continue;
        scan_kv_snapshot(in.native_dirs[static_cast<std::size_t>(j)], from, to,
                         [&](std::string_view key, std::string_view value) {
                           bool created = false;
                           Row& row = rows_.acquire(decode_key(key), created);
                           decode_row(value, row);
                           rows_.store();
                           const Window& w = rows_.key().first;
                           if (created && !w.is_global())
                             gc_.emplace(w.max_timestamp() + op_.lateness_, rows_.key());
                         });
      }
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
          Row& row = rows_.acquire(RowKey{w, key}, created);
          if (created && !w.is_global())
            gc_.emplace(w.max_timestamp() + op_.lateness_, rows_.key());
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
      const RowKey& rk = rows_.key();
      context_.bind({&rk.second, &rk.first, ts, watermark_, now_});
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
      const RowKey& rk = rows_.key();
      if (timers.emplace(t, rk.first, rk.second).second) ++current_->timers;
    }
    void delete_timer(TimeDomain d, Timestamp t) {
      auto& timers = d == TimeDomain::kEventTime ? event_timers_ : processing_timers_;
      const RowKey& rk = rows_.key();
      if (timers.erase(Timer{t, rk.first, rk.second}) > 0) --current_->timers;
    }

    // Fires the timers at or before `limit`, in time order; a timer set while
    // firing fires too if it is due.
    void fire(std::set<Timer>& timers, TimeDomain domain, Timestamp limit) {
      while (!timers.empty() && std::get<0>(*timers.begin()) <= limit) {
        auto node = timers.extract(timers.begin());
        auto& [t, w, key] = node.value();
        Row* row = rows_.find(RowKey{w, key});
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
          fn_.on_timer(std::as_const(rows_.key().second), t, domain, context_, *out_);
        }
        // A window whose cleanup time passed while this timer was pending:
        // its state goes with its last timer.
        const Window& fired = rows_.key().first;
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
    NativeSnapshots snapshots_;
    Fn fn_;
    std::unique_ptr<E> out_;
    bool streaming_;
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

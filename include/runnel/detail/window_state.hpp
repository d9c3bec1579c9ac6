#pragma once
// Streaming mode's state for one keyed-combine instance, on either backend
// (KeyedRows): an accumulator per window and key, fired as panes by the
// trigger (early, on time when the watermark passes the window's end, late
// within the allowed lateness) and dropped once the watermark passes end +
// lateness (WindowPanes says what happens to a cell; this keeps the cells).
//
// Rows are by namespace and key. A namespace is a window's cells, a key's
// sessions (merging windows: kMerging, the key's disjoint sessions in one
// row), or the accumulators of inputs without event time (untimed, emitted
// when the input ends). Namespaces are ordered by window end, so a watermark
// visits the windows it completes first and stops at the first it does not.
//
// Kept in memory beside the rows, on both backends: which windows hold rows
// (and whether all their on-time panes fired), when each key's sessions are
// due, and the armed processing-time firings (time, window, key): small per
// window; per key for sessions and armed firings (as timers).
//
// Checkpoints: the RocksDB backend's native snapshots; the memory backend's
// records by key group (tag 0: key, accumulator; tag 1: window, key, cell),
// which the RocksDB backend restores as well, and the other way round.
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/keyed_restore.hpp"
#include "runnel/detail/keyed_rows.hpp"
#include "runnel/detail/keyed_timers.hpp"
#include "runnel/detail/memory_size.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/window_panes.hpp"
#include "runnel/hash.hpp"

namespace runnel::detail {

// A namespace of a keyed combine's rows.
struct CombineNs {
  enum Kind : std::uint8_t { kUntimed = 0, kCell = 1, kSessions = 2 };
  Window window;  // a cell's window; the global window for the others
  Kind kind = kCell;
  bool operator==(const CombineNs&) const = default;
};
// By window end (then start, then kind): the windows a watermark completes first.
struct CombineNsByEnd {
  bool operator()(const CombineNs& a, const CombineNs& b) const {
    if (a.window.end != b.window.end) return a.window.end < b.window.end;
    if (a.window.start != b.window.start) return a.window.start < b.window.start;
    return a.kind < b.kind;
  }
};

template <class K, class CF, bool kMerging>
class WindowState : WindowPanes<CF> {
  using Base = WindowPanes<CF>;
  using Base::cf_;
  using Base::lateness_;
  using typename Base::Cell;
  using typename Base::Session;
  using Kind = CombineNs::Kind;

 public:
  using Acc = typename CF::Accumulator;

  // A row: a cell (untimed rows use its accumulator only); with sessions,
  // the key's sessions beside it.
  struct SessionsRow {
    Cell cell;
    std::vector<Session> sessions;
    // The earliest time a timer in due_ is known to look at this key again
    // (kMaxTimestamp: none known, as in a row just read back); not stored.
    Timestamp due = kMaxTimestamp;
  };
  using Row = std::conditional_t<kMerging, SessionsRow, Cell>;

  // cache_bytes: the RocksDB backend's cache (0: no limit);
  // write_back_bytes: changed rows are written back when they reach it.
  WindowState(const CF& cf, const WindowingStrategy& ws, const InstanceContext& ctx,
              std::size_t write_back_bytes = Rows::kWriteBackBytes)
      : Base(cf, ws),
        rows_(ctx, ctx.memory_budget != 0 ? ctx.memory_budget : SIZE_MAX, write_back_bytes),
        max_parallelism_(ctx.max_parallelism),
        instance_(ctx.instance),
        parallelism_(ctx.parallelism),
        owned_(ctx.owned_key_groups()) {
    if (KvStore* kv = rows_.timers_kv()) {  // RocksDB: the indexes in its database
      const int first = owned_.first_of(instance_, parallelism_);
      const int last = owned_.last_of(instance_, parallelism_);
      due_.store_in(*kv, 0, first, last, max_parallelism_);
      deadlines_.store_in(*kv, 1, first, last, max_parallelism_);
    }
  }

  // An input without event time: folded into the key's accumulator
  // (add_fn(acc)), emitted by finish_untimed.
  template <class Q, class MakeKey, class AddFn>
  void add_untimed(const Q& key, std::uint64_t hash, MakeKey&& make_key, AddFn&& add_fn) {
    bool created = false;
    Row& row = rows_.acquire(kUntimedNs, key, hash, make_key, created);
    if (created) cell_of(row).acc = cf_.create_accumulator();
    add_fn(cell_of(row).acc);
    rows_.store();
  }

  // Folds one input (add_fn(acc)) into window w and key; fires a pane through
  // emit(window, key, acc, pane) if the trigger says so. `now` is processing time.
  template <class Q, class MakeKey, class AddFn, class Emit>
  void add(const Window& w, const Q& key, std::uint64_t hash, MakeKey&& make_key, AddFn&& add_fn,
           Timestamp now, Emit&& emit) {
    bool created = false;
    if constexpr (kMerging) {
      SessionsRow& row = rows_.acquire(kSessionsNs, key, hash, make_key, created);
      Session& s = this->merge_session(row.sessions, w, add_fn, watermark_);
      const K& k = rows_.key();
      // One timer at or before the end of each session: one per session
      // end, not per element (a timer fires early if its session grew).
      if (s.window.max_timestamp() < row.due) {
        row.due = s.window.max_timestamp();
        due_.add(row.due, kGlobalWindow, k);
      }
      if (this->after_add(s.cell, now, this->pane_to(emit, s.window, k)))
        deadlines_.add(s.cell.deadline, s.window, k);
    } else {
      Cell& c = rows_.acquire(CombineNs{w, Kind::kCell}, key, hash, make_key, created);
      if (created) {
        c.acc = cf_.create_accumulator();
        c.on_time_done = w.max_timestamp() <= watermark_;
        if (last_window_ == nullptr || !(last_window_->first == w))
          last_window_ = &*windows_.try_emplace(w, c.on_time_done).first;
        // A cell whose on-time pane is still to come, in a window whose
        // others' fired (restored from instances at other watermarks).
        last_window_->second = last_window_->second && c.on_time_done;
      }
      add_fn(c.acc);
      if (this->after_add(c, now, this->pane_to(emit, w, rows_.key())))
        deadlines_.add(c.deadline, w, rows_.key());
    }
    rows_.store();
  }

  // The watermark rose to wm: on-time panes for windows it completes; final
  // panes and state removal for windows past their lateness.
  template <class Emit>
  void on_watermark(Timestamp wm, Emit&& emit) {
    if (wm <= watermark_) return;
    watermark_ = wm;
    if constexpr (kMerging) {
      sessions_on_watermark(emit);
    } else {
      // The windows with a pane to fire or state to drop: not those whose
      // on-time panes all fired and whose lateness still runs (their cells
      // are not visited again at every watermark).
      due_windows_.clear();
      for (auto it = windows_.begin(); it != windows_.end() && it->first.max_timestamp() <= wm;
           ++it) {
        if (!it->second || this->expired_at(it->first, wm)) due_windows_.push_back(it->first);
      }
      if (due_windows_.empty()) return;
      rows_.update(
          [&](const CombineNs& ns) {
            if (ns.kind != Kind::kCell) return Visit::kSkip;
            if (ns.window.max_timestamp() > wm) return Visit::kStop;
            return std::binary_search(due_windows_.begin(), due_windows_.end(), ns.window,
                                      WindowByEnd{})
                       ? Visit::kVisit
                       : Visit::kSkip;
          },
          [&](const CombineNs& ns, const K& key, Cell& c) {
            if (!this->close_cell(c, ns.window, wm, this->pane_to(emit, ns.window, key)))
              return Change::kUnchanged;
            return this->expired_at(ns.window, wm) ? Change::kDropped : Change::kChanged;
          });
      for (auto it = windows_.begin(); it != windows_.end() && it->first.max_timestamp() <= wm;) {
        it->second = true;
        it = this->expired_at(it->first, wm) ? windows_.erase(it) : std::next(it);
      }
      last_window_ = nullptr;
    }
  }

  // Processing-time firings that are due: only the cells (or a key's
  // sessions) whose deadline came are looked up, not every row. (Scanning
  // a window's rows cost O(all keys) a second for upserts over millions of
  // keys: Nexmark q18 slowed as its state grew.)
  template <class Emit>
  void on_processing_time(Timestamp now, Emit&& emit) {
    deadlines_.fire(now, [&](const typename Timers::Timer& d) {
      if constexpr (kMerging) {
        SessionsRow* row = rows_.find(kSessionsNs, d.key);
        if (row == nullptr) return;
        bool fired = false;
        for (auto& s : row->sessions)
          fired = this->fire_if_due(s.cell, now, this->pane_to(emit, s.window, d.key)) || fired;
        if (fired) rows_.store();
      } else {
        if (windows_.find(d.ns) == windows_.end()) return;  // expired: its rows are gone
        Cell* c = rows_.find(CombineNs{d.ns, Kind::kCell}, d.key);
        if (c == nullptr) return;
        if (this->fire_if_due(*c, now, this->pane_to(emit, d.ns, d.key))) rows_.store();
      }
    });
  }

  // Bounded input ended: every untimed accumulator, through emit(key, acc).
  // The rows go as they are emitted: a finished instance's last snapshot
  // stands for it in the checkpoints taken after it ended, and a restore of
  // one of those must not emit them again.
  template <class Emit>
  void finish_untimed(Emit&& emit) {
    rows_.update(
        [](const CombineNs& ns) {
          return ns.kind == Kind::kUntimed ? Visit::kVisit : Visit::kSkip;
        },
        [&](const CombineNs&, K& key, Row& row) {
          emit(std::move(key), std::move(cell_of(row).acc));
          return Change::kDropped;
        });
  }

  // Keyed state (native snapshot or records by key group; RocksDB's holds
  // the indexes too) and as operator state the watermark and whether the
  // native snapshot holds the indexes.
  void snapshot(std::int64_t id, OperatorSnapshot& out) {
    due_.flush();
    deadlines_.flush();
    if (rows_.native()) {
      rows_.snapshot_native(id, out);
    } else {
      rows_.for_each([&](const CombineNs& ns, const K& key, const Row& row, std::uint64_t hash) {
        std::string& bytes = out.key_group(key_group_of(hash, max_parallelism_), max_parallelism_);
        ByteWriter w(bytes);
        auto record = [&](const Window& window, const Cell& c) {
          w.put_varint(1);
          Coder<Window>::encode(window, w);
          Coder<K>::encode(key, w);
          Base::encode_cell(c, w);
        };
        if (ns.kind == Kind::kUntimed) {
          w.put_varint(0);
          Coder<K>::encode(key, w);
          Coder<Acc>::encode(cell_of(row).acc, w);
        } else if constexpr (kMerging) {
          for (const Session& s : row.sessions) record(s.window, s.cell);
        } else {
          record(ns.window, row);
        }
      });
    }
    ByteWriter w(out.operator_state);
    w.put_varint(static_cast<std::uint64_t>(watermark_));
    w.put_varint(due_.stored() ? 1 : 0);
  }

  // Either backend restores either kind of checkpoint. The watermark: this
  // instance's own if the parallelism is unchanged, else the lowest (a
  // window fired by any old instance stays fired, by its state).
  void restore(const RestoredState& in) {
    if (auto wm = restored_watermark(in, instance_, parallelism_))
      watermark_ = std::max(watermark_, *wm);
    // RocksDB restoring its own kind of snapshot, of a run that kept the
    // indexes there: they came with the database.
    bool stored = due_.stored(), any = false;
    for (const std::string& state : in.operator_states) {
      ByteReader r(state);
      if (r.empty()) continue;
      r.get_varint();  // the watermark
      any = true;
      stored = stored && !r.empty() && r.get_varint() != 0;
    }
    stored = stored && any;
    rows_.restore_native(in, false, [](const CombineNs&, const K&) {});
    for (const auto& [kg, bytes] : in.key_groups) {
      ByteReader r(bytes);
      while (!r.empty()) {
        bool created = false;
        if (r.get_varint() == 0) {
          K key = Coder<K>::decode(r);
          Row& row = rows_.acquire(kUntimedNs, key, created);
          if (created) cell_of(row).acc = cf_.create_accumulator();
          cf_.merge_accumulators(cell_of(row).acc, Coder<Acc>::decode(r));
          rows_.store();
          continue;
        }
        const Window w = Coder<Window>::decode(r);
        K key = Coder<K>::decode(r);
        if constexpr (kMerging) {
          SessionsRow& row = rows_.acquire(kSessionsNs, key, created);
          Base::decode_cell(r, row.sessions.emplace_back(Session{w, Cell{}}).cell);
        } else {
          Base::decode_cell(r, rows_.acquire(CombineNs{w, Kind::kCell}, key, created));
        }
        rows_.store();
      }
    }
    rebuild_indexes(!stored);
    if (stored) {
      due_.restore_stored(in, 0, instance_, parallelism_, owned_);
      deadlines_.restore_stored(in, 1, instance_, parallelism_, owned_);
    }
  }

  Timestamp watermark() const { return watermark_; }

  // Rows held in memory (all of them on the memory backend; the cached ones on RocksDB).
  std::size_t rows_in_memory() const { return rows_.rows_in_memory(); }

  // How a row is hashed and stored (KeyedRows' codec). A row's key:
  // key-group prefix, kind, window (cells only), key; its value: the
  // accumulator (untimed), the cell (encode_cell), or the sessions.
  struct Codec {
    static std::uint64_t hash(const K& key) { return Hash<K>{}(key); }
    static void encode_key(const CombineNs& ns, const K& key, int max_parallelism,
                           std::string& out) {
      out.clear();
      const std::uint64_t h = Hash<K>{}(key);
      const Window& w = ns.window;
      const std::uint64_t row_hash =
          ns.kind == Kind::kCell ? window_row_hash(h, w) : hash_combine(h, ns.kind);
      append_kv_prefix(out, key_group_of(h, max_parallelism), row_hash);
      ByteWriter wr(out);
      wr.put_varint(ns.kind);
      if (ns.kind == Kind::kCell) Coder<Window>::encode(w, wr);
      Coder<K>::encode(key, wr);
    }
    static std::pair<CombineNs, K> decode_key(std::string_view bytes) {
      ByteReader r(bytes.substr(kKvPrefixBytes));
      CombineNs ns{kGlobalWindow, static_cast<Kind>(r.get_varint())};
      if (ns.kind == Kind::kCell) ns.window = Coder<Window>::decode(r);
      return {ns, Coder<K>::decode(r)};
    }
    static void encode_row(const CombineNs& ns, const Row& row, std::string& out) {
      out.clear();
      ByteWriter w(out);
      if (ns.kind == Kind::kUntimed) {
        Coder<Acc>::encode(cell_of(row).acc, w);
      } else if constexpr (kMerging) {
        w.put_varint(row.sessions.size());
        for (const Session& s : row.sessions) {
          Coder<Window>::encode(s.window, w);
          Base::encode_cell(s.cell, w);
        }
      } else {
        Base::encode_cell(row, w);
      }
    }
    // What a decoded row holds beyond its own size (the RocksDB backend's cache budget).
    static std::size_t heap_bytes(const Row& row) {
      if constexpr (kMerging) {
        std::size_t n = runnel::heap_bytes(cell_of(row).acc);
        if (row.sessions.capacity() != 0)
          n += malloc_block(row.sessions.capacity() * sizeof(Session));
        for (const Session& s : row.sessions) n += runnel::heap_bytes(s.cell.acc);
        return n;
      } else {
        return runnel::heap_bytes(row.acc);
      }
    }
    static void decode_row(const CombineNs& ns, std::string_view bytes, Row& row) {
      ByteReader r(bytes);
      if (ns.kind == Kind::kUntimed) {
        cell_of(row).acc = Coder<Acc>::decode(r);
      } else if constexpr (kMerging) {
        row.sessions.resize(r.get_varint());
        for (Session& s : row.sessions) {
          s.window = Coder<Window>::decode(r);
          Base::decode_cell(r, s.cell);
        }
      } else {
        Base::decode_cell(r, row);
      }
    }
  };

 private:
  using Rows = KeyedRows<CombineNs, K, Row, Codec, CombineNsByEnd>;
  using Visit = typename Rows::Visit;
  using Change = typename Rows::Change;
  static constexpr CombineNs kUntimedNs{kGlobalWindow, Kind::kUntimed};
  static constexpr CombineNs kSessionsNs{kGlobalWindow, Kind::kSessions};

  static Cell& cell_of(Row& row) {
    if constexpr (kMerging) {
      return row.cell;
    } else {
      return row;
    }
  }
  static const Cell& cell_of(const Row& row) { return cell_of(const_cast<Row&>(row)); }

  template <class Emit>
  void sessions_on_watermark(Emit& emit) {
    due_.fire(watermark_, [&](const typename Timers::Timer& due) {
      const K& key = due.key;
      SessionsRow* row = rows_.find(kSessionsNs, key);
      if (row == nullptr) return;
      row->due = kMaxTimestamp;
      auto look_again = [&](Timestamp t) {
        due_.add(t, kGlobalWindow, key);
        row->due = std::min(row->due, t);
      };
      this->close_sessions(key, row->sessions, watermark_, emit, look_again);
      for (const Session& s : row->sessions) {  // sessions that grew past this timer
        if (s.window.max_timestamp() > watermark_) look_again(s.window.max_timestamp());
      }
      if (row->sessions.empty()) {
        rows_.drop();
      } else {
        rows_.store();
      }
    });
  }

  // After a restore: which windows hold rows and, with `timers`, when
  // sessions are due and the armed processing-time firings, from the rows.
  void rebuild_indexes(bool timers) {
    windows_.clear();
    last_window_ = nullptr;
    if (kMerging && !timers) return;  // sessions keep no window index
    if (timers) {
      due_.clear();
      deadlines_.clear();
    }
    rows_.for_each([&](const CombineNs& ns, const K& key, const Row& row, std::uint64_t) {
      if (ns.kind == Kind::kUntimed) return;
      if (!timers) {
        if constexpr (!kMerging) {
          auto [it, fresh] = windows_.try_emplace(ns.window, row.on_time_done);
          if (!fresh) it->second = it->second && row.on_time_done;
        }
        return;
      }
      if constexpr (kMerging) {
        for (const Session& s : row.sessions) {
          due_.add(
              s.cell.on_time_done ? s.window.max_timestamp() + lateness_ : s.window.max_timestamp(),
              kGlobalWindow, key);
          if (s.cell.deadline != 0) deadlines_.add(s.cell.deadline, s.window, key);
        }
      } else {
        auto [it, fresh] = windows_.try_emplace(ns.window, row.on_time_done);
        if (!fresh) it->second = it->second && row.on_time_done;
        if (row.deadline != 0) deadlines_.add(row.deadline, ns.window, key);
      }
    });
  }

  Rows rows_;
  int max_parallelism_, instance_, parallelism_;
  KeyGroupRange owned_;
  Timestamp watermark_ = kMinTimestamp;
  // Windows holding cells, by end: whether every cell's on-time pane fired.
  std::map<Window, bool, WindowByEnd> windows_;
  typename std::map<Window, bool, WindowByEnd>::value_type* last_window_ = nullptr;
  std::vector<Window> due_windows_;  // on_watermark's, ordered as windows_
  // Keys whose sessions to look at when the watermark reaches a time (in the
  // global namespace: one per key and time). A timer may be stale (its
  // session merged or fired): the row says what is due.
  using Timers = KeyedTimers<Window, K>;
  Timers due_;
  // Armed processing-time firings (window, key; for sessions the session's
  // window), checked against the cell's deadline when they fire.
  Timers deadlines_;
};

}  // namespace runnel::detail

#pragma once
// Streaming mode's window state for one keyed-combine instance: an
// accumulator per window and key, fired as panes by the trigger (early, on
// time when the watermark passes the window's end, late within the allowed
// lateness) and dropped once the watermark passes end + lateness. Fixed and
// sliding windows are kept per window, ordered by end, so a watermark visits
// only the windows it completes; sessions are kept per key and merged as
// elements arrive.
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/hash.hpp"
#include "runnel/pane.hpp"
#include "runnel/trigger.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

// Orders windows by end, so those a watermark completes come first.
struct WindowByEnd {
  bool operator()(const Window& a, const Window& b) const {
    return a.end != b.end ? a.end < b.end : a.start < b.start;
  }
};

template <class K, class CF>
class TriggeredWindows {
 public:
  using Acc = typename CF::Accumulator;

  TriggeredWindows(const CF& cf, const WindowingStrategy& ws)
      : cf_(cf),
        trigger_(ws.windowing.trigger),
        accumulating_(ws.windowing.accumulation == Accumulation::kAccumulating),
        lateness_(ws.windowing.allowed_lateness.count()),
        merging_(ws.merging) {}

  // Folds one input (add_fn(acc)) into window w and key; fires a pane through
  // emit(window, key, acc, pane) if the trigger says so. `now` is processing time.
  template <class Q, class MakeKey, class AddFn, class Emit>
  void add(const Window& w, const Q& key, std::uint64_t hash, MakeKey&& make_key, AddFn&& add_fn,
           Timestamp now, Emit&& emit) {
    if (merging_) {
      add_session(w, make_key(), add_fn, now, emit);
      return;
    }
    if (last_cells_ == nullptr || !(w == last_window_)) {
      auto it = windows_.find(w);
      if (it == windows_.end()) {
        it = windows_.emplace(w, WindowCells{}).first;
        it->second.on_time_done = w.max_timestamp() <= watermark_;
      }
      last_cells_ = &it->second;
      last_window_ = w;
    }
    auto& cells = *last_cells_;
    auto* entry = cells.table
                      .find_or_insert_entry(key, hash, make_key,
                                            [&] { return Cell{cf_.create_accumulator()}; })
                      .first;
    add_fn(entry->value.acc);
    after_add(w, cells.on_time_done, entry->value, now,
              [&](const PaneInfo& p, Acc&& acc) { emit(w, entry->key, std::move(acc), p); });
  }

  // The watermark rose to wm: on-time panes for windows it completes; final
  // panes and state removal for windows past their lateness.
  template <class Emit>
  void on_watermark(Timestamp wm, Emit&& emit) {
    if (wm <= watermark_) return;
    watermark_ = wm;
    if (merging_) {
      sessions_on_watermark(emit);
      return;
    }
    for (auto it = windows_.begin(); it != windows_.end() && it->first.max_timestamp() <= wm;) {
      const Window w = it->first;
      auto& cells = it->second;
      const bool expired = expired_at(w, wm);
      if (!cells.on_time_done || expired) {
        for (auto& e : cells.table.entries()) {
          close_cell(cells.on_time_done, e.value, expired,
                     [&](const PaneInfo& p, Acc&& acc) { emit(w, e.key, std::move(acc), p); });
        }
        cells.on_time_done = true;
      }
      if (expired) {
        it = windows_.erase(it);
        last_cells_ = nullptr;
      } else {
        ++it;
      }
    }
  }

  // Checkpoints: every cell (window, key, accumulator, trigger progress) as
  // one record, handed to out(key, record).
  template <class Out>
  void snapshot(Out&& out) const {
    std::string record;
    auto put = [&](const Window& w, const K& key, const Cell& c, bool on_time_done) {
      record.clear();
      ByteWriter wr(record);
      Coder<Window>::encode(w, wr);
      Coder<K>::encode(key, wr);
      Coder<Acc>::encode(c.acc, wr);
      wr.put_varint(c.pending);
      wr.put_varint(c.panes);
      wr.put_varint(static_cast<std::uint64_t>(c.deadline));
      wr.put_varint(on_time_done ? 1 : 0);
      out(key, std::string_view(record));
    };
    for (const auto& [w, cells] : windows_) {
      for (const auto& e : cells.table.entries()) put(w, e.key, e.value, cells.on_time_done);
    }
    for (const auto& [key, list] : sessions_) {
      for (const auto& s : list) put(s.window, key, s.cell, s.on_time_done);
    }
  }
  // Reads back one record snapshot() wrote.
  void restore_record(ByteReader& r) {
    Window w = Coder<Window>::decode(r);
    K key = Coder<K>::decode(r);
    Cell c{Coder<Acc>::decode(r)};
    c.pending = r.get_varint();
    c.panes = static_cast<std::uint32_t>(r.get_varint());
    c.deadline = static_cast<Timestamp>(r.get_varint());
    bool on_time_done = r.get_varint() != 0;
    if (c.deadline != 0) {
      // Keep the processing-time deadlines in order.
      auto at = std::upper_bound(deadlines_.begin(), deadlines_.end(), c.deadline,
                                 [](Timestamp t, const auto& d) { return t < d.first; });
      deadlines_.emplace(at, c.deadline, w);
    }
    last_cells_ = nullptr;
    if (merging_) {
      due_.emplace(on_time_done ? w.max_timestamp() + lateness_ : w.max_timestamp(), key);
      sessions_[key].push_back(Session{w, std::move(c), on_time_done});
      return;
    }
    auto it = windows_.find(w);
    if (it == windows_.end()) it = windows_.emplace(w, WindowCells{}).first;
    it->second.on_time_done = on_time_done;
    std::uint64_t h = Hash<K>{}(key);
    it->second.table.find_or_insert_entry(
        key, h, [&] { return std::move(key); }, [&] { return std::move(c); });
  }
  Timestamp watermark() const { return watermark_; }
  // At a restore: the watermark the state had seen (fired panes stay fired).
  void restore_watermark(Timestamp wm) { watermark_ = std::max(watermark_, wm); }

  // Processing-time firings that are due.
  template <class Emit>
  void on_processing_time(Timestamp now, Emit&& emit) {
    if (merging_) {
      // Sessions change shape as they merge: scan them once when any is due.
      if (deadlines_.empty() || deadlines_.front().first > now) return;
      while (!deadlines_.empty() && deadlines_.front().first <= now) deadlines_.pop_front();
      sessions_fire_due(now, emit);
      return;
    }
    while (!deadlines_.empty() && deadlines_.front().first <= now) {
      Window w = deadlines_.front().second;
      deadlines_.pop_front();
      auto it = windows_.find(w);
      if (it == windows_.end()) continue;
      auto& cells = it->second;
      for (auto& e : cells.table.entries()) {
        Cell& c = e.value;
        if (c.deadline != 0 && c.deadline <= now && c.pending > 0) {
          fire(c, between_firings(cells.on_time_done), false,
               [&](const PaneInfo& p, Acc&& acc) { emit(w, e.key, std::move(acc), p); });
        }
      }
    }
  }

 private:
  struct Cell {
    Acc acc;
    std::uint64_t pending = 0;  // elements since the last pane
    std::uint32_t panes = 0;    // panes fired so far
    Timestamp deadline = 0;     // processing-time firing armed for this instant; 0 = none
  };
  struct WindowCells {
    FlatTable<K, Cell> table;
    bool on_time_done = false;
  };
  struct Session {
    Window window;
    Cell cell;
    bool on_time_done = false;
  };

  // Past end + allowed lateness: no element of the window is accepted any more.
  bool expired_at(const Window& w, Timestamp wm) const {
    return wm >= kMaxTimestamp || wm >= w.max_timestamp() + lateness_;
  }

  // The condition that fires panes now: early before the window's end, late after.
  const FiringCondition& condition(bool on_time_done) const {
    if (trigger_.kind == Trigger::Kind::kRepeatedly) return trigger_.repeat;
    return on_time_done ? trigger_.late : trigger_.early;
  }

  // A pane fired by the trigger's condition: early before the on-time pane, late after.
  static PaneInfo::Timing between_firings(bool on_time_done) {
    return on_time_done ? PaneInfo::Timing::kLate : PaneInfo::Timing::kEarly;
  }

  template <class Fire>
  void fire(Cell& c, PaneInfo::Timing timing, bool is_last, Fire&& out) {
    PaneInfo pane{timing, c.panes == 0, is_last, c.panes};
    ++c.panes;
    c.pending = 0;
    c.deadline = 0;
    if (accumulating_) {
      Acc copy = c.acc;
      out(pane, std::move(copy));
    } else {
      out(pane, std::move(c.acc));
      c.acc = cf_.create_accumulator();
    }
  }

  template <class Fire>
  void after_add(const Window& w, bool on_time_done, Cell& c, Timestamp now, Fire&& out) {
    ++c.pending;
    const FiringCondition& cond = condition(on_time_done);
    if (cond.count > 0 && c.pending >= cond.count) {
      fire(c, between_firings(on_time_done), false, out);
      return;
    }
    if (cond.delay_ms > 0 && c.deadline == 0) {
      c.deadline = now + cond.delay_ms;
      deadlines_.emplace_back(c.deadline, w);
    }
  }

  // The watermark reached the window's end (on-time pane) or passed its
  // lateness (final pane if anything is pending).
  template <class Fire>
  void close_cell(bool on_time_done, Cell& c, bool expired, Fire&& out) {
    if (!on_time_done) {
      // after_watermark fires on time even without new data (Beam's FIRE_ALWAYS).
      if (trigger_.kind == Trigger::Kind::kAfterWatermark || c.pending > 0) {
        fire(c, PaneInfo::Timing::kOnTime, expired, out);
        return;
      }
    }
    if (expired && c.pending > 0) fire(c, PaneInfo::Timing::kLate, true, out);
  }

  // --- sessions ---------------------------------------------------------

  template <class KK, class AddFn, class Emit>
  void add_session(const Window& w, KK&& key, AddFn& add_fn, Timestamp now, Emit& emit) {
    auto& list = sessions_[key];
    Session merged{w, Cell{cf_.create_accumulator()}, false};
    add_fn(merged.cell.acc);
    bool any_on_time = false;
    // Absorb every session the new window overlaps (the list is kept disjoint).
    for (auto it = list.begin(); it != list.end();) {
      if (it->window.start < merged.window.end && merged.window.start < it->window.end) {
        merged.window.start = std::min(merged.window.start, it->window.start);
        merged.window.end = std::max(merged.window.end, it->window.end);
        cf_.merge_accumulators(merged.cell.acc, std::move(it->cell.acc));
        merged.cell.pending += it->cell.pending;
        merged.cell.panes = std::max(merged.cell.panes, it->cell.panes);
        any_on_time = any_on_time || it->on_time_done;
        it = list.erase(it);
      } else {
        ++it;
      }
    }
    merged.on_time_done = any_on_time && merged.window.max_timestamp() <= watermark_;
    list.push_back(std::move(merged));
    Session& s = list.back();
    due_.emplace(s.window.max_timestamp(), key);
    after_add(s.window, s.on_time_done, s.cell, now,
              [&](const PaneInfo& p, Acc&& acc) { emit(s.window, key, std::move(acc), p); });
  }

  template <class Emit>
  void sessions_on_watermark(Emit& emit) {
    while (!due_.empty() && due_.top().first <= watermark_) {
      K key = due_.top().second;
      due_.pop();
      auto it = sessions_.find(key);
      if (it == sessions_.end()) continue;
      auto& list = it->second;
      for (auto s = list.begin(); s != list.end();) {
        if (s->window.max_timestamp() > watermark_) {
          ++s;
          continue;
        }
        const bool expired = expired_at(s->window, watermark_);
        if (!s->on_time_done || expired) {
          close_cell(s->on_time_done, s->cell, expired, [&](const PaneInfo& p, Acc&& acc) {
            emit(s->window, key, std::move(acc), p);
          });
          s->on_time_done = true;
        }
        if (expired) {
          s = list.erase(s);
        } else {
          // Come back when its lateness has passed.
          due_.emplace(s->window.max_timestamp() + lateness_, key);
          ++s;
        }
      }
      if (list.empty()) sessions_.erase(it);
    }
  }

  template <class Emit>
  void sessions_fire_due(Timestamp now, Emit& emit) {
    for (auto& [key, list] : sessions_) {
      for (auto& s : list) {
        if (s.cell.deadline != 0 && s.cell.deadline <= now && s.cell.pending > 0) {
          fire(s.cell, between_firings(s.on_time_done), false,
               [&](const PaneInfo& p, Acc&& acc) { emit(s.window, key, std::move(acc), p); });
        }
      }
    }
  }

  const CF& cf_;
  Trigger trigger_;
  bool accumulating_;
  Timestamp lateness_;
  bool merging_;
  Timestamp watermark_ = kMinTimestamp;
  std::map<Window, WindowCells, WindowByEnd> windows_;
  WindowCells* last_cells_ = nullptr;  // windows_[last_window_]: runs share a window
  Window last_window_;
  std::unordered_map<K, std::vector<Session>, Hash<K>> sessions_;
  // Sessions to look at when the watermark reaches the time (min-heap).
  struct LaterFirst {  // keys need not be ordered: compare times only
    bool operator()(const std::pair<Timestamp, K>& a, const std::pair<Timestamp, K>& b) const {
      return a.first > b.first;
    }
  };
  std::priority_queue<std::pair<Timestamp, K>, std::vector<std::pair<Timestamp, K>>, LaterFirst>
      due_;
  std::deque<std::pair<Timestamp, Window>> deadlines_;  // processing-time firings, in order
};

}  // namespace runnel::detail

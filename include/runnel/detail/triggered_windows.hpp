#pragma once
// Streaming mode's window state for one keyed-combine instance: an
// accumulator per window and key, fired as panes by the trigger (early, on
// time when the watermark passes the window's end, late within the allowed
// lateness) and dropped once the watermark passes end + lateness. Fixed and
// sliding windows are kept per window, ordered by end, so a watermark visits
// only the windows it completes; sessions are kept per key and merged as
// elements arrive.
#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/window_panes.hpp"
#include "runnel/hash.hpp"

namespace runnel::detail {

template <class K, class CF>
class TriggeredWindows : WindowPanes<CF> {
  using Base = WindowPanes<CF>;
  using Base::cf_;
  using Base::lateness_;
  using Base::merging_;
  using typename Base::Cell;
  using typename Base::Session;

 public:
  using Acc = typename CF::Accumulator;

  TriggeredWindows(const CF& cf, const WindowingStrategy& ws) : Base(cf, ws) {}

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
    if (this->after_add(cells.on_time_done, entry->value, now, this->pane_to(emit, w, entry->key)))
      deadlines_.push(Deadline{entry->value.deadline, w, entry_index(cells, entry)});
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
      const bool expired = this->expired_at(w, wm);
      if (!cells.on_time_done || expired) {
        for (auto& e : cells.table.entries()) {
          this->close_cell(cells.on_time_done, e.value, expired, this->pane_to(emit, w, e.key));
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
      Base::encode_cell(c, on_time_done, wr);
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
    bool on_time_done = false;
    Cell c = Base::decode_cell(r, on_time_done);
    restore_cell(w, std::move(key), std::move(c), on_time_done);
  }
  // One cell of a restored checkpoint.
  void restore_cell(const Window& w, K key, Cell c, bool on_time_done) {
    const Timestamp deadline = c.deadline;
    last_cells_ = nullptr;
    if (merging_) {
      arm_restored(deadline, w, 0);
      due_.emplace(on_time_done ? w.max_timestamp() + lateness_ : w.max_timestamp(), key);
      sessions_[key].push_back(Session{w, std::move(c), on_time_done});
      return;
    }
    auto it = windows_.find(w);
    if (it == windows_.end()) it = windows_.emplace(w, WindowCells{}).first;
    it->second.on_time_done = on_time_done;
    std::uint64_t h = Hash<K>{}(key);
    auto* entry = it->second.table
                      .find_or_insert_entry(
                          key, h, [&] { return std::move(key); }, [&] { return std::move(c); })
                      .first;
    arm_restored(deadline, w, entry_index(it->second, entry));
  }
  Timestamp watermark() const { return watermark_; }
  // At a restore: the watermark the state had seen (fired panes stay fired).
  void restore_watermark(Timestamp wm) { watermark_ = std::max(watermark_, wm); }

  // Processing-time firings that are due.
  template <class Emit>
  void on_processing_time(Timestamp now, Emit&& emit) {
    if (merging_) {
      // Sessions change shape as they merge: scan them once when any is due.
      if (deadlines_.empty() || deadlines_.top().at > now) return;
      while (!deadlines_.empty() && deadlines_.top().at <= now) deadlines_.pop();
      sessions_fire_due(now, emit);
      return;
    }
    // Each deadline names its cell: a firing visits the keys that armed one
    // (those that changed), not every key of the window. Scanning the window
    // cost O(all keys) a second for upserts over millions of keys (Nexmark
    // q18 slowed as its state grew).
    if (deadlines_.empty() || deadlines_.top().at > now) return;
    std::vector<Deadline> due;
    while (!deadlines_.empty() && deadlines_.top().at <= now) {
      due.push_back(deadlines_.top());
      deadlines_.pop();
    }
    WindowCells* cells = nullptr;  // of cells_window: runs of deadlines share a window
    Window cells_window;
    for (const Deadline& d : due) {
      if (cells == nullptr || !(d.window == cells_window)) {
        auto it = windows_.find(d.window);
        cells = it == windows_.end() ? nullptr : &it->second;
        cells_window = d.window;
        if (cells == nullptr) continue;
      }
      auto& entries = cells->table.entries();
      // Gone with its window, or the window's table was rebuilt: nothing to fire
      // (a cell's own deadline says whether it is due, so a stale index is harmless).
      if (d.entry >= entries.size()) continue;
      auto& e = entries[d.entry];
      this->fire_if_due(e.value, cells->on_time_done, now, this->pane_to(emit, d.window, e.key));
    }
  }

 private:
  struct WindowCells {
    FlatTable<K, Cell> table;
    bool on_time_done = false;
  };

  // --- sessions ---------------------------------------------------------

  template <class KK, class AddFn, class Emit>
  void add_session(const Window& w, KK&& key, AddFn& add_fn, Timestamp now, Emit& emit) {
    Session& s = this->merge_session(sessions_[key], w, add_fn, watermark_);
    due_.emplace(s.window.max_timestamp(), key);
    if (this->after_add(s.on_time_done, s.cell, now, this->pane_to(emit, s.window, key)))
      deadlines_.push(Deadline{s.cell.deadline, s.window, 0});
  }

  template <class Emit>
  void sessions_on_watermark(Emit& emit) {
    while (!due_.empty() && due_.top().first <= watermark_) {
      K key = due_.top().second;
      due_.pop();
      auto it = sessions_.find(key);
      if (it == sessions_.end()) continue;
      auto& list = it->second;
      this->close_sessions(key, list, watermark_, emit, [&](Timestamp t) { due_.emplace(t, key); });
      if (list.empty()) sessions_.erase(it);
    }
  }

  template <class Emit>
  void sessions_fire_due(Timestamp now, Emit& emit) {
    for (auto& [key, list] : sessions_) {
      for (auto& s : list) {
        this->fire_if_due(s.cell, s.on_time_done, now, this->pane_to(emit, s.window, key));
      }
    }
  }

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
  // A processing-time firing: when, and which cell (its entry in the
  // window's table; entries are never removed one by one). Sessions scan.
  struct Deadline {
    Timestamp at;
    Window window;
    std::uint32_t entry;
  };
  struct LaterDeadlineFirst {
    bool operator()(const Deadline& a, const Deadline& b) const { return a.at > b.at; }
  };
  // A min-heap on `at`: deadlines are armed out of order when early and late
  // firings have different delays (or the clock steps back), so the front of
  // a queue in arrival order need not be the earliest.
  std::priority_queue<Deadline, std::vector<Deadline>, LaterDeadlineFirst> deadlines_;

  static std::uint32_t entry_index(WindowCells& cells,
                                   const typename FlatTable<K, Cell>::Entry* e) {
    return static_cast<std::uint32_t>(e - cells.table.entries().data());
  }
  // A restored cell's deadline.
  void arm_restored(Timestamp deadline, const Window& w, std::uint32_t entry) {
    if (deadline != 0) deadlines_.push(Deadline{deadline, w, entry});
  }
};

}  // namespace runnel::detail

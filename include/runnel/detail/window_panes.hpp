#pragma once
// What the window state of a keyed combine does with one cell (a window and
// key's accumulator and trigger progress): when the trigger fires a pane
// (early, on time, late), how sessions merge, and how a cell is written to
// bytes. WindowState keeps the cells (on either backend); this says what
// happens to them.
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
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

template <class CF>
class WindowPanes {
 public:
  using Acc = typename CF::Accumulator;

  struct Cell {
    Acc acc;
    std::uint64_t pending = 0;  // elements since the last pane
    std::uint32_t panes = 0;    // panes fired so far
    bool on_time_done = false;  // the watermark passed the window's end (late panes from now)
    Timestamp deadline = 0;     // processing-time firing armed for this instant; 0 = none
  };
  struct Session {
    Window window;
    Cell cell;
  };

  WindowPanes(const CF& cf, const WindowingStrategy& ws)
      : cf_(cf),
        trigger_(ws.windowing.trigger),
        accumulating_(ws.windowing.accumulation == Accumulation::kAccumulating),
        lateness_(ws.windowing.allowed_lateness.count()),
        merging_(ws.merging) {}

  // A cell as bytes: accumulator, trigger progress, whether its on-time pane is done.
  static void encode_cell(const Cell& c, ByteWriter& w) {
    Coder<Acc>::encode(c.acc, w);
    w.put_varint(c.pending);
    w.put_varint(c.panes);
    w.put_varint(static_cast<std::uint64_t>(c.deadline));
    w.put_varint(c.on_time_done ? 1 : 0);
  }
  static void decode_cell(ByteReader& r, Cell& c) {
    c.acc = Coder<Acc>::decode(r);
    c.pending = r.get_varint();
    c.panes = static_cast<std::uint32_t>(r.get_varint());
    c.deadline = static_cast<Timestamp>(r.get_varint());
    c.on_time_done = r.get_varint() != 0;
  }

 protected:
  // The pane callback of a cell: emit(window, key, accumulator, pane). The
  // accumulator is forwarded as given (const& when accumulating, moved out
  // when discarding). Called only while the firing runs: it holds references.
  template <class Emit, class Q>
  static auto pane_to(Emit& emit, const Window& w, const Q& key) {
    return [&emit, &w, &key](const PaneInfo& p, auto&& acc) {
      emit(w, key, std::forward<decltype(acc)>(acc), p);
    };
  }

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
      // The cell keeps its accumulator: the pane reads it (extract_output of
      // a const Accumulator& when the CombineFn has one, else of a copy).
      out(pane, std::as_const(c.acc));
    } else {
      out(pane, std::move(c.acc));
      c.acc = cf_.create_accumulator();
    }
  }

  // After an element was added to c: fires a pane if the count is reached.
  // True when it armed a processing-time firing (c.deadline), which the
  // caller must remember.
  template <class Fire>
  bool after_add(Cell& c, Timestamp now, Fire&& out) {
    ++c.pending;
    const FiringCondition& cond = condition(c.on_time_done);
    if (cond.count > 0 && c.pending >= cond.count) {
      fire(c, between_firings(c.on_time_done), false, out);
      return false;
    }
    if (cond.delay_ms > 0 && c.deadline == 0) {
      c.deadline = now + cond.delay_ms;
      return true;
    }
    return false;
  }

  // A processing-time firing that is due; true if it fired.
  template <class Fire>
  bool fire_if_due(Cell& c, Timestamp now, Fire&& out) {
    if (c.deadline == 0 || c.deadline > now || c.pending == 0) return false;
    fire(c, between_firings(c.on_time_done), false, out);
    return true;
  }

  // The watermark wm reached the end of the cell's window w: its on-time
  // pane, or past the lateness its final pane if anything is pending.
  // Returns whether the cell changed.
  template <class Fire>
  bool close_cell(Cell& c, const Window& w, Timestamp wm, Fire&& out) {
    const bool expired = expired_at(w, wm);
    if (c.on_time_done && !expired) return false;
    const bool was_on_time_done = c.on_time_done;
    c.on_time_done = true;
    if (!was_on_time_done) {
      // after_watermark fires on time even without new data (Beam's FIRE_ALWAYS).
      if (trigger_.kind == Trigger::Kind::kAfterWatermark || c.pending > 0) {
        fire(c, PaneInfo::Timing::kOnTime, expired, out);
        return true;
      }
    }
    if (expired && c.pending > 0) fire(c, PaneInfo::Timing::kLate, true, out);
    return true;
  }

  // Adds an element (add_fn) in window w to a key's sessions, merging every
  // session w overlaps (the list is kept disjoint); returns the session it is in.
  template <class AddFn>
  Session& merge_session(std::vector<Session>& list, const Window& w, AddFn& add_fn,
                         Timestamp watermark) {
    Session merged{w, Cell{cf_.create_accumulator()}};
    add_fn(merged.cell.acc);
    bool any_on_time = false;
    for (auto it = list.begin(); it != list.end();) {
      if (it->window.start < merged.window.end && merged.window.start < it->window.end) {
        merged.window.start = std::min(merged.window.start, it->window.start);
        merged.window.end = std::max(merged.window.end, it->window.end);
        cf_.merge_accumulators(merged.cell.acc, std::move(it->cell.acc));
        merged.cell.pending += it->cell.pending;
        merged.cell.panes = std::max(merged.cell.panes, it->cell.panes);
        // The earliest armed processing-time firing stays armed (as Beam
        // merges the trigger state of merged windows); re-arming from now
        // would put off a due early pane for as long as the session grows.
        if (it->cell.deadline != 0 &&
            (merged.cell.deadline == 0 || it->cell.deadline < merged.cell.deadline))
          merged.cell.deadline = it->cell.deadline;
        any_on_time = any_on_time || it->cell.on_time_done;
        it = list.erase(it);
      } else {
        ++it;
      }
    }
    merged.cell.on_time_done = any_on_time && merged.window.max_timestamp() <= watermark;
    list.push_back(std::move(merged));
    return list.back();
  }

  // The watermark rose: fires and drops a key's sessions it completes.
  // again(t): look at this key again when the watermark reaches t.
  template <class Emit, class Again>
  void close_sessions(const auto& key, std::vector<Session>& list, Timestamp watermark, Emit& emit,
                      Again&& again) {
    for (auto s = list.begin(); s != list.end();) {
      if (s->window.max_timestamp() > watermark) {
        ++s;
        continue;
      }
      close_cell(s->cell, s->window, watermark, pane_to(emit, s->window, key));
      if (expired_at(s->window, watermark)) {
        s = list.erase(s);
      } else {
        again(s->window.max_timestamp() + lateness_);
        ++s;
      }
    }
  }

  const CF& cf_;
  Trigger trigger_;
  bool accumulating_;
  Timestamp lateness_;
  bool merging_;
};

}  // namespace runnel::detail

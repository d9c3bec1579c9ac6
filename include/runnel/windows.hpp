#pragma once
// Window functions for PCollection::window_into. A WindowFn assigns each
// element, by its event time, to one or more windows:
//
//   struct MyWindows {
//     void assign(Timestamp t, std::vector<Window>& out) const;  // append t's windows
//   };
//
// Built in: fixed (tumbling), sliding, and the global window. Grouping and
// combining after window_into work per window.
#include <chrono>
#include <stdexcept>
#include <vector>

#include "runnel/window.hpp"

namespace runnel::windows {

namespace detail {
// The start of the window of `size` (with `offset`) that holds t, rounding
// toward minus infinity for times before the epoch too.
inline Timestamp window_start(Timestamp t, Timestamp size, Timestamp offset) {
  Timestamp r = (t - offset) % size;
  if (r < 0) r += size;
  return t - r;
}
}  // namespace detail

// Tumbling windows [k*size + offset, (k+1)*size + offset).
struct Fixed {
  Timestamp size_ms;
  Timestamp offset_ms = 0;
  void assign(Timestamp t, std::vector<Window>& out) const {
    Timestamp start = detail::window_start(t, size_ms, offset_ms);
    out.push_back(Window{start, start + size_ms});
  }
};

// Windows of `size` starting every `period`: each element is in size/period of them.
struct Sliding {
  Timestamp size_ms;
  Timestamp period_ms;
  Timestamp offset_ms = 0;
  void assign(Timestamp t, std::vector<Window>& out) const {
    // Latest window start at or before t, then earlier ones while t is inside.
    for (Timestamp start = detail::window_start(t, period_ms, offset_ms); start > t - size_ms;
         start -= period_ms) {
      out.push_back(Window{start, start + size_ms});
    }
  }
};

// Session windows: an element opens [t, t + gap); a key's overlapping windows
// merge into one session when the key is grouped or combined.
struct Sessions {
  Timestamp gap_ms;
  static constexpr bool kMerging = true;
  void assign(Timestamp t, std::vector<Window>& out) const { out.push_back(Window{t, t + gap_ms}); }
};

// True for WindowFns whose windows merge per key (kMerging = true).
template <class WindowFn>
constexpr bool is_merging() {
  if constexpr (requires { WindowFn::kMerging; }) {
    return WindowFn::kMerging;
  } else {
    return false;
  }
}

struct Global {
  void assign(Timestamp, std::vector<Window>& out) const { out.push_back(kGlobalWindow); }
};

inline Fixed fixed(std::chrono::milliseconds size, std::chrono::milliseconds offset = {}) {
  if (size.count() <= 0) throw std::invalid_argument("windows::fixed: the size must be positive");
  return Fixed{size.count(), offset.count()};
}

inline Sliding sliding(std::chrono::milliseconds size, std::chrono::milliseconds period,
                       std::chrono::milliseconds offset = {}) {
  if (size.count() <= 0 || period.count() <= 0) {
    throw std::invalid_argument("windows::sliding: size and period must be positive");
  }
  return Sliding{size.count(), period.count(), offset.count()};
}

inline Global global() { return {}; }

inline Sessions sessions(std::chrono::milliseconds gap) {
  if (gap.count() <= 0) throw std::invalid_argument("windows::sessions: the gap must be positive");
  return Sessions{gap.count()};
}

}  // namespace runnel::windows

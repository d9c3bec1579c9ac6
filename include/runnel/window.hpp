#pragma once
// Event time and windows. A timestamp is milliseconds since the epoch; a
// window is the half-open interval [start, end) of event time its elements
// belong to. The global window spans all of time: what an element is in
// before window_into, and always in a collection without event time.
#include <chrono>
#include <cstdint>
#include <limits>

#include "runnel/coder.hpp"
#include "runnel/hash.hpp"

namespace runnel {

using Timestamp = std::int64_t;  // milliseconds since the epoch

inline constexpr Timestamp kMinTimestamp = std::numeric_limits<Timestamp>::min() / 2;
inline constexpr Timestamp kMaxTimestamp = std::numeric_limits<Timestamp>::max() / 2;
// A watermark that says "this input has gone quiet" (streaming mode): the
// channel is left out of its consumers' minimum until it sends one again.
inline constexpr Timestamp kIdleWatermark = std::numeric_limits<Timestamp>::min();

struct Window {
  Timestamp start = kMinTimestamp;
  Timestamp end = kMaxTimestamp;  // exclusive

  // The last instant inside the window: the timestamp of its results (as in Beam).
  constexpr Timestamp max_timestamp() const { return end - 1; }
  constexpr bool is_global() const { return start == kMinTimestamp && end == kMaxTimestamp; }
  constexpr bool contains(Timestamp t) const { return start <= t && t < end; }
  constexpr bool operator==(const Window&) const = default;
  constexpr bool operator<(const Window& o) const {
    return start != o.start ? start < o.start : end < o.end;
  }
};

inline constexpr Window kGlobalWindow{};

namespace detail {
// Processing time, in the unit of event time (ms since the epoch).
inline Timestamp wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace detail

template <>
struct Hash<Window> {
  std::uint64_t operator()(const Window& w) const noexcept {
    return hash_combine(hash_mix(static_cast<std::uint64_t>(w.start)),
                        static_cast<std::uint64_t>(w.end));
  }
};

template <>
struct Coder<Window> {
  static void encode(const Window& w, ByteWriter& out) {
    Coder<Timestamp>::encode(w.start, out);
    Coder<Timestamp>::encode(w.end, out);
  }
  static Window decode(ByteReader& in) {
    Window w;
    w.start = Coder<Timestamp>::decode(in);
    w.end = Coder<Timestamp>::decode(in);
    return w;
  }
};
template <>
struct CoderDefined<Window> : std::true_type {};

}  // namespace runnel

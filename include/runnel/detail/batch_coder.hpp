#pragma once
// A whole batch as bytes (values, event times, windows, panes, source
// split), for operators that hold batches across a checkpoint (the
// side-input par_do's main input, waiting for its side input).
#include <cstdint>
#include <limits>
#include <memory>

#include "runnel/coder.hpp"
#include "runnel/detail/batch.hpp"
#include "runnel/pane.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

template <class T>
void encode_batch(const Batch<T>& b, ByteWriter& w) {
  w.put_varint(static_cast<std::uint64_t>(b.split + 1));  // -1: no split
  // Once the split markers' flags (bits 1 and 2); they are SplitEvents now,
  // never in a batch. Kept as 0 so checkpoints keep their format.
  w.put_varint(0);
  Coder<std::vector<T>>::encode(b.values, w);
  Coder<std::vector<Timestamp>>::encode(b.timestamps, w);
  Coder<std::vector<Window>>::encode(b.windows, w);
  w.put_varint(b.panes.size());
  for (const PaneInfo& p : b.panes) {
    w.put_varint(static_cast<std::uint64_t>(p.timing) | (p.is_first ? 4u : 0u) |
                 (p.is_last ? 8u : 0u));
    w.put_varint(p.index);
  }
}

template <class T>
std::unique_ptr<Batch<T>> decode_batch(ByteReader& r) {
  auto b = std::make_unique<Batch<T>>();
  const std::uint64_t split = r.get_varint();
  if (split > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()))
    throw DecodeError("a batch's split index is out of range");
  b->split = static_cast<std::int32_t>(split) - 1;
  r.get_varint();  // the old split markers' flags (see encode_batch)
  b->values = Coder<std::vector<T>>::decode(r);
  b->timestamps = Coder<std::vector<Timestamp>>::decode(r);
  b->windows = Coder<std::vector<Window>>::decode(r);
  // Each pane takes two bytes or more: a count past the input's end is damage,
  // not an allocation to make.
  const std::uint64_t panes = r.get_varint();
  if (panes > r.remaining() / 2) throw DecodeError("a batch's pane count is past its end");
  b->panes.resize(panes);
  for (PaneInfo& p : b->panes) {
    const auto bits = r.get_varint();
    p.timing = static_cast<PaneInfo::Timing>(bits & 3);
    p.is_first = (bits & 4) != 0;
    p.is_last = (bits & 8) != 0;
    p.index = static_cast<std::uint32_t>(r.get_varint());
  }
  return b;
}

}  // namespace runnel::detail

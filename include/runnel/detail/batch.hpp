#pragma once
// A batch of records: the unit that crosses every operator boundary. Operators
// see batches through BatchBase (one virtual call per batch) and cast to the
// typed Batch<T> once, then loop over values without further indirection.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "runnel/detail/check.hpp"
#include "runnel/pane.hpp"
#include "runnel/window.hpp"

namespace runnel {

class BatchBase {
 public:
  // Event time and window of each value, in step with the values; both
  // empty when the collection has no event time (every value is then at
  // kMinTimestamp in the global window). Kept beside the values, not in
  // them, so a collection's element type stays the user's T.
  std::vector<Timestamp> timestamps;
  std::vector<Window> windows;
  // Which firing each value is part of; empty unless the values are results
  // of a grouping in streaming mode (then in step with the values).
  std::vector<PaneInfo> panes;

  // Set by sources in streaming mode: which source split (file split, Kafka
  // partition, generator shard) the values come from, so that watermarks
  // are tracked per split (its beginning and end are SplitEvents, operator.hpp).
  std::int32_t split = -1;

  bool timed() const { return !timestamps.empty(); }

  virtual ~BatchBase() = default;
  virtual std::size_t size() const = 0;
  virtual void clear() = 0;
  // A deep copy, used where one batch feeds several consumers (fan-out, broadcast).
  virtual std::unique_ptr<BatchBase> clone() const = 0;
  // An empty batch of the same element type.
  virtual std::unique_ptr<BatchBase> make_empty() const = 0;
  // Moves the values into a new batch, leaving this one empty with room for
  // as many values as it held.
  virtual std::unique_ptr<BatchBase> take() = 0;
};

using BatchPtr = std::unique_ptr<BatchBase>;

template <class T>
class Batch final : public BatchBase {
 public:
  std::vector<T> values;

  std::size_t size() const override { return values.size(); }
  void clear() override {
    values.clear();
    timestamps.clear();
    windows.clear();
    panes.clear();
  }
  BatchPtr clone() const override { return std::make_unique<Batch<T>>(*this); }
  BatchPtr make_empty() const override { return std::make_unique<Batch<T>>(); }
  BatchPtr take() override {
    auto out = std::make_unique<Batch<T>>();
    out->values.swap(values);
    // Room for as many as were taken, not the old capacity: a batch of a few
    // large elements flushed early (a rare kind of event, a timer) would
    // otherwise allocate a whole batch's worth, hundreds of KiB, per send,
    // and freeing blocks that large makes malloc consolidate its free lists.
    values.reserve(out->values.size());
    out->timestamps.swap(timestamps);
    out->windows.swap(windows);
    out->panes.swap(panes);
    out->split = split;
    return out;
  }
};

// The one checked-by-construction downcast: the planner wires edges by type, so
// the dynamic type always matches; debug builds verify it and name both types.
template <class T>
Batch<T>& batch_cast(BatchBase& b) {
#ifndef NDEBUG
  if (dynamic_cast<Batch<T>*>(&b) == nullptr)
    detail::check_failed(
        __FILE__, __LINE__, "batch_cast: the batch's element type",
        std::string(typeid(b).name()) + " where " + typeid(Batch<T>).name() + " was expected");
#endif
  return static_cast<Batch<T>&>(b);
}

}  // namespace runnel

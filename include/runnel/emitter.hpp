#pragma once
// Emitter<T>: how user code hands records to the next operator. Records go
// into a batch owned by the emitter; a full batch is pushed (one virtual call)
// and the batch reused. Inline, no virtual call per record.
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "runnel/detail/batch.hpp"
#include "runnel/detail/operator.hpp"

namespace runnel {

template <class T>
class Emitter {
 public:
  Emitter(Output* out, std::size_t batch_size)
      : out_(out), batch_size_(batch_size ? batch_size : 1) {
    batch_.values.reserve(batch_size_);
  }
  Emitter(const Emitter&) = delete;
  Emitter& operator=(const Emitter&) = delete;

  // What is emitted next carries the event time and window of element i of
  // `in` (operators call this per input element; nothing if `in` has none).
  void at(const BatchBase& in, std::size_t i) {
    if (in.timed()) {
      at(in.timestamps[i], in.windows[i]);
      if (!in.panes.empty()) {
        has_pane_ = true;
        pane_ = in.panes[i];
      }
    } else {
      untimed();
    }
  }
  // ... or this event time, window and pane (a grouping's result in streaming mode).
  void at(Timestamp ts, const Window& window, const PaneInfo& pane) {
    at(ts, window);
    has_pane_ = true;
    pane_ = pane;
  }
  // ... or none (a collection without event time).
  void untimed() {
    timed_ = false;
    has_pane_ = false;
    metadata_ = !batch_.timestamps.empty();
  }
  // ... or this explicit event time and window.
  void at(Timestamp ts, const Window& window) {
    has_pane_ = false;
    timed_ = true;
    metadata_ = true;
    ts_ = ts;
    window_ = window;
  }

  void emit(const T& v) {
    batch_.values.push_back(v);
    after_add();
  }
  void emit(T&& v) {
    batch_.values.push_back(std::move(v));
    after_add();
  }
  template <class... Args>
  void emplace(Args&&... args) {
    batch_.values.emplace_back(std::forward<Args>(args)...);
    after_add();
  }
  // Pushes whatever is buffered; operators call it at the end of each input batch.
  void flush() {
    if (batch_.values.empty()) return;
    emitted_ += batch_.values.size();
    out_->push(batch_);
    batch_.clear();
    metadata_ = timed_;
  }
  std::uint64_t emitted() const { return emitted_ + batch_.values.size(); }

  // Element-wise operators: what is emitted next comes from the split `in`
  // came from (its batch is flushed before the next input batch).
  void carry_split(const BatchBase& in) { batch_.split = in.split; }

  // Sources: what is emitted next comes from source split `id`.
  void from_split(std::int32_t id) {
    if (batch_.split == id) return;
    flush();
    batch_.split = id;
  }
  // Sources, streaming mode: split `id` begins (a SplitEvent, operator.hpp).
  void start_split(std::int32_t id) {
    flush();
    out_->split_event({SplitEvent::Kind::kStart, id});
    batch_.split = id;
  }
  // Sources, streaming mode: the current split has no more records; its
  // watermark no longer holds the others back.
  void end_split() {
    flush();
    out_->split_event({SplitEvent::Kind::kEnd, batch_.split});
  }

 private:
  // Kept small so emit() inlines: the event-time bookkeeping is out of line,
  // behind one flag that is false for collections without event time.
  void after_add() {
    if (metadata_) [[unlikely]]
      add_metadata();
    if (batch_.values.size() >= batch_size_) flush();
  }
  [[gnu::noinline]] void add_metadata() {
    auto& b = batch_;
    // Keep the metadata in step with the values even if this batch mixes
    // timed and untimed elements (the resizes are no-ops otherwise).
    b.timestamps.resize(b.values.size() - 1, kMinTimestamp);
    b.windows.resize(b.values.size() - 1);
    b.timestamps.push_back(timed_ ? ts_ : kMinTimestamp);
    b.windows.push_back(timed_ ? window_ : kGlobalWindow);
    if (has_pane_ || !b.panes.empty()) {
      b.panes.resize(b.values.size() - 1);
      b.panes.push_back(has_pane_ ? pane_ : PaneInfo{});
    }
  }
  Output* out_;
  std::size_t batch_size_;
  Batch<T> batch_;
  std::uint64_t emitted_ = 0;
  bool timed_ = false;     // what comes next has event time
  bool metadata_ = false;  // the batch being built carries event time
  bool has_pane_ = false;
  Timestamp ts_ = kMinTimestamp;
  Window window_;
  PaneInfo pane_;
};

// Several tagged outputs of one DoFn: emit<0>(a), emit<1>(b), or get<I>().
template <class... Ts>
class Emitters {
 public:
  Emitters(const std::vector<Output*>& outs, std::size_t batch_size)
      : emitters_(make(outs, batch_size, std::index_sequence_for<Ts...>{})) {}

  template <std::size_t I>
  auto& get() {
    return *std::get<I>(emitters_);
  }
  template <std::size_t I, class V>
  void emit(V&& v) {
    std::get<I>(emitters_)->emit(std::forward<V>(v));
  }
  void flush() {
    std::apply([](auto&... e) { (e->flush(), ...); }, emitters_);
  }
  void untimed() {
    std::apply([](auto&... e) { (e->untimed(), ...); }, emitters_);
  }
  void carry_split(const BatchBase& in) {
    std::apply([&](auto&... e) { (e->carry_split(in), ...); }, emitters_);
  }
  void start_split(std::int32_t id) {
    std::apply([&](auto&... e) { (e->start_split(id), ...); }, emitters_);
  }
  void end_split() {
    std::apply([](auto&... e) { (e->end_split(), ...); }, emitters_);
  }
  void at(const BatchBase& in, std::size_t i) {
    std::apply([&](auto&... e) { (e->at(in, i), ...); }, emitters_);
  }
  void at(Timestamp ts, const Window& window) {
    std::apply([&](auto&... e) { (e->at(ts, window), ...); }, emitters_);
  }
  std::uint64_t emitted() const {
    return std::apply([](const auto&... e) { return (e->emitted() + ... + 0); }, emitters_);
  }

 private:
  using Tuple = std::tuple<std::unique_ptr<Emitter<Ts>>...>;
  template <std::size_t... I>
  static Tuple make(const std::vector<Output*>& outs, std::size_t bs, std::index_sequence<I...>) {
    return Tuple{std::make_unique<Emitter<Ts>>(outs.at(I), bs)...};
  }
  Tuple emitters_;
};

}  // namespace runnel

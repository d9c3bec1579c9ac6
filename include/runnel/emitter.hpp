#pragma once
// Emitter<T>: how user code hands records to the next operator. Records go
// into a batch owned by the emitter; a full batch is pushed (one virtual call)
// and the batch reused. Inline, no virtual call per record.
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <utility>

#include "runnel/batch.hpp"
#include "runnel/operator.hpp"

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
    batch_.values.clear();
  }
  std::uint64_t emitted() const { return emitted_ + batch_.values.size(); }

 private:
  void after_add() {
    if (batch_.values.size() >= batch_size_) flush();
  }
  Output* out_;
  std::size_t batch_size_;
  Batch<T> batch_;
  std::uint64_t emitted_ = 0;
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

#pragma once
// Keyed state and timers for a stateful DoFn (as Beam's and Flink's):
// state lives per key and window, is checkpointed by key group, and survives
// a restore at any parallelism.
//
//   struct Detector : DoFn<std::pair<std::string, Txn>, Alert> {
//     ValueState<Timestamp> small_at{"small_at"};
//     ListState<double> amounts{"amounts", std::chrono::hours(1)};  // with a TTL
//     auto state() { return std::tie(small_at, amounts); }   // every state, once
//
//     void process(const std::pair<std::string, Txn>& kv, KeyedContext<std::string>& ctx,
//                  Emitter<Alert>& out) {
//       small_at.write(kv.second.time);
//       ctx.set_timer(TimeDomain::kEventTime, kv.second.time + 60'000);
//     }
//     // Optional: a timer of this key and window fired.
//     void on_timer(const std::string& key, Timestamp time, TimeDomain domain,
//                   KeyedContext<std::string>& ctx, Emitter<Alert>& out) {
//       small_at.clear();
//     }
//   };
//   auto alerts = txns.map(by_account).par_do(Detector{});   // a collection of (key, value) pairs
//
// State handles read and write the state of the key (and window) being
// processed; outside process and on_timer they are not bound. Event-time
// timers fire when the watermark passes them (all of them at the end of
// bounded input), in time order; processing-time timers fire on the wall
// clock (in streaming mode) and are dropped at the end of the input. A TTL
// makes a state read as empty once that long (processing time) has passed
// since it was last written; expired state is dropped at the next access or
// checkpoint.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runnel/window.hpp"

namespace runnel {

enum class TimeDomain { kEventTime, kProcessingTime };

namespace detail {
// One state's value for one key and window, with its last write time (for the TTL).
template <class S>
struct StateCell {
  S value{};
  Timestamp written = 0;  // processing time of the last write; 0: never written
};

// What every state handle shares: its name, its TTL, and the value (and
// last write time) it is bound to.
template <class S>
class StateHandle {
 public:
  using Storage = S;
  StateHandle(std::string name, std::chrono::milliseconds ttl)
      : name_(std::move(name)), ttl_(ttl) {}
  const std::string& name() const { return name_; }
  std::chrono::milliseconds ttl() const { return ttl_; }
  // Called by the operator before each process or on_timer call. written
  // is null where no state of the DoFn has a TTL (rows then keep no write
  // times).
  void bind(S* value, Timestamp* written, const Timestamp* now) {
    value_ = value;
    written_ = written;
    now_ = now;
  }
  void bind(StateCell<S>* cell, const Timestamp* now) { bind(&cell->value, &cell->written, now); }

 protected:
  // The value, emptied first if its TTL has passed.
  S& value() const {
    if (written_ != nullptr && ttl_.count() > 0 && *written_ != 0 &&
        *now_ - *written_ >= ttl_.count())
      reset();
    return *value_;
  }
  void touched() const {
    if (written_ != nullptr) *written_ = *now_;
  }
  void reset() const {
    *value_ = S{};
    if (written_ != nullptr) *written_ = 0;
  }

 private:
  std::string name_;
  std::chrono::milliseconds ttl_;
  S* value_ = nullptr;
  Timestamp* written_ = nullptr;
  const Timestamp* now_ = nullptr;
};
}  // namespace detail

// One value per key and window.
template <class T>
class ValueState : public detail::StateHandle<std::optional<T>> {
 public:
  explicit ValueState(std::string name = "value", std::chrono::milliseconds ttl = {})
      : detail::StateHandle<std::optional<T>>(std::move(name), ttl) {}
  const std::optional<T>& read() const { return this->value(); }
  T value_or(T fallback) const { return read().value_or(std::move(fallback)); }
  void write(T v) {
    this->value() = std::move(v);
    this->touched();
  }
  void clear() { this->reset(); }
};

// A list per key and window, appended to.
template <class T>
class ListState : public detail::StateHandle<std::vector<T>> {
 public:
  explicit ListState(std::string name = "list", std::chrono::milliseconds ttl = {})
      : detail::StateHandle<std::vector<T>>(std::move(name), ttl) {}
  const std::vector<T>& read() const { return this->value(); }
  void add(T v) {
    this->value().push_back(std::move(v));
    this->touched();
  }
  void clear() { this->reset(); }
};

// A map per key and window.
template <class K, class V>
class MapState : public detail::StateHandle<std::map<K, V>> {
 public:
  explicit MapState(std::string name = "map", std::chrono::milliseconds ttl = {})
      : detail::StateHandle<std::map<K, V>>(std::move(name), ttl) {}
  const std::map<K, V>& entries() const { return this->value(); }
  const V* get(const K& k) const {
    const auto& m = this->value();
    auto it = m.find(k);
    return it == m.end() ? nullptr : &it->second;
  }
  bool contains(const K& k) const { return get(k) != nullptr; }
  void put(K k, V v) {
    this->value().insert_or_assign(std::move(k), std::move(v));
    this->touched();
  }
  void remove(const K& k) {
    this->value().erase(k);
    this->touched();
  }
  void clear() { this->reset(); }
};

// A value per key and window that each add folds in with reduce(old, new).
template <class T>
class ReducingState : public detail::StateHandle<std::optional<T>> {
 public:
  ReducingState(std::string name, std::function<T(const T&, const T&)> reduce,
                std::chrono::milliseconds ttl = {})
      : detail::StateHandle<std::optional<T>>(std::move(name), ttl), reduce_(std::move(reduce)) {}
  const std::optional<T>& read() const { return this->value(); }
  void add(const T& v) {
    auto& cur = this->value();
    cur = cur ? reduce_(*cur, v) : v;
    this->touched();
  }
  void clear() { this->reset(); }

 private:
  std::function<T(const T&, const T&)> reduce_;
};

// A CombineFn's accumulator per key and window: add inputs, read the output.
template <class CF>
class CombiningState : public detail::StateHandle<std::optional<typename CF::Accumulator>> {
 public:
  explicit CombiningState(std::string name = "combining", CF fn = {},
                          std::chrono::milliseconds ttl = {})
      : detail::StateHandle<std::optional<typename CF::Accumulator>>(std::move(name), ttl),
        fn_(std::move(fn)) {}
  template <class In>
  void add(In&& v) {
    auto& acc = this->value();
    if (!acc) acc = fn_.create_accumulator();
    fn_.add_input(*acc, std::forward<In>(v));
    this->touched();
  }
  // The CombineFn's output for what was added (its empty output if nothing).
  auto read() const {
    const auto& acc = this->value();
    return fn_.extract_output(acc ? typename CF::Accumulator(*acc) : fn_.create_accumulator());
  }
  void clear() { this->reset(); }

 private:
  CF fn_;
};

// What process and on_timer of a stateful DoFn see besides the element.
template <class K>
class KeyedContext {
 public:
  const K& key() const { return *key_; }
  // The element's event time (in on_timer: the timer's time) and window.
  Timestamp timestamp() const { return timestamp_; }
  const Window& window() const { return *window_; }
  // The input watermark (kMinTimestamp in batch mode until the end).
  Timestamp watermark() const { return watermark_; }
  // Processing time, milliseconds since the epoch.
  Timestamp processing_time() const { return now_; }

  // Sets a timer for this key and window at `time` (one per time and domain:
  // setting it again is a no-op); on_timer is called when it fires.
  void set_timer(TimeDomain domain, Timestamp time) { set_(domain, time); }
  void delete_timer(TimeDomain domain, Timestamp time) { delete_(domain, time); }

  // For the operator.
  struct Binding {
    const K* key;
    const Window* window;
    Timestamp timestamp, watermark, now;
  };
  KeyedContext(std::function<void(TimeDomain, Timestamp)> set,
               std::function<void(TimeDomain, Timestamp)> del)
      : set_(std::move(set)), delete_(std::move(del)) {}
  void bind(const Binding& b) {
    key_ = b.key;
    window_ = b.window;
    timestamp_ = b.timestamp;
    watermark_ = b.watermark;
    now_ = b.now;
  }

 private:
  std::function<void(TimeDomain, Timestamp)> set_, delete_;
  const K* key_ = nullptr;
  const Window* window_ = nullptr;
  Timestamp timestamp_ = 0, watermark_ = kMinTimestamp, now_ = 0;
};

}  // namespace runnel

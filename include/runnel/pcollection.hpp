#pragma once
// PCollection<T>: a typed handle to one output of a pipeline node: a bag of
// T. Transforms return new collections and chain:
//
//   p.read(io::text("in/*.txt"))
//       .flat_map([](const std::string& line, Emitter<std::string>& out) { ... })
//       .count_per_element()
//       .write(io::csv("out"));
//
// Nothing runs until Pipeline::run(). Lambdas take the element by const
// reference (or by value / rvalue reference to consume it).
#include <functional>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/combiners.hpp"
#include "runnel/csv.hpp"
#include "runnel/detail/callable_traits.hpp"
#include "runnel/detail/combine_ops.hpp"
#include "runnel/detail/descriptor_nodes.hpp"
#include "runnel/detail/distinct_op.hpp"
#include "runnel/detail/element_ops.hpp"
#include "runnel/detail/file_io_ops.hpp"
#include "runnel/detail/kafka_ops.hpp"
#include "runnel/detail/memory_io.hpp"
#include "runnel/detail/node_builder.hpp"
#include "runnel/detail/stateful_par_do.hpp"
#include "runnel/detail/time_ops.hpp"
#include "runnel/io.hpp"
#include "runnel/kafka.hpp"
#include "runnel/trigger.hpp"
#include "runnel/unit.hpp"
#include "runnel/watermarks.hpp"

namespace runnel {

class Pipeline;
template <class T>
class PCollection;

namespace detail {
// Adds a node to the pipeline's graph; returns its id.
int add_node(Pipeline& p, NodeSpec spec);
// Gives node its uid (PCollection::uid); throws on an empty one.
void set_uid(Pipeline& p, int node, std::string uid);
// The pipeline's default of the file sinks' overwrite flag (from --overwrite).
bool overwrite_default(const Pipeline& p);

struct FirstOf {
  template <class P>
  auto& operator()(P& p) const {
    return p.first;
  }
};
struct SecondOf {
  template <class P>
  auto& operator()(P& p) const {
    return p.second;
  }
};
struct Identity {
  template <class T>
  T& operator()(T& v) const {
    return v;
  }
};
// f(const T&, Emitter<V>&) is valid (false for V = void, without forming Emitter<void>).
template <class F, class T, class V>
constexpr bool invocable_with_emitter() {
  if constexpr (std::is_void_v<V>) {
    return false;
  } else {
    return std::is_invocable_v<F&, const T&, Emitter<V>&> ||
           std::is_invocable_v<F&, T&&, Emitter<V>&>;
  }
}
struct UnitKey {
  template <class T>
  const Unit& operator()(const T&) const {
    static const Unit unit;
    return unit;
  }
};
}  // namespace detail

// What write() and discard() return: the sink, to give it a uid().
class SinkRef {
 public:
  SinkRef(Pipeline* p, int node) : p_(p), node_(node) {}
  // As PCollection::uid(): the id this sink's state (pending output) is saved
  // under in checkpoints and savepoints.
  SinkRef uid(std::string id) const {
    detail::set_uid(*p_, node_, std::move(id));
    return *this;
  }

 private:
  Pipeline* p_;
  int node_;
};

// What collect() returns: filled by Pipeline::run().
template <class T>
class Collected {
 public:
  explicit Collected(std::shared_ptr<detail::CollectStore<T>> store) : store_(std::move(store)) {}
  const std::vector<T>& values() const { return store_->values; }
  // Each value's event time and window, in step with values(); empty if the
  // collection had no event time.
  const std::vector<Timestamp>& timestamps() const { return store_->timestamps; }
  const std::vector<Window>& windows() const { return store_->windows; }
  // Each value's pane, in step with values(); empty unless the values are
  // results of a grouping in streaming mode.
  const std::vector<PaneInfo>& panes() const { return store_->panes; }
  std::size_t size() const { return store_->values.size(); }
  // A sorted copy: the order of a parallel run is not defined.
  std::vector<T> sorted() const {
    auto v = store_->values;
    std::sort(v.begin(), v.end());
    return v;
  }

 private:
  std::shared_ptr<detail::CollectStore<T>> store_;
};

template <class T>
class PCollection {
 public:
  using value_type = T;

  PCollection(Pipeline* p, PortRef ref, WindowingStrategy ws = {}, int late_port = -1)
      : p_(p), ref_(ref), ws_(ws), late_port_(late_port) {}
  // True after window_into with merging windows (sessions), until a grouping
  // merges them.
  bool merging_windows() const { return ws_.merging; }
  // The windowing (trigger, accumulation, lateness) a grouping of this collection uses.
  const WindowingStrategy& windowing() const { return ws_; }
  Pipeline& pipeline() const { return *p_; }
  PortRef ref() const { return ref_; }

  // Names the transform that produced this collection for checkpoints and
  // savepoints (Flink's uid()): a restore gives its saved state to the
  // transform with the same uid, whatever else changed in the pipeline. Give
  // every stateful transform one before its first deployment; without, its id
  // is derived from its name and the stateful transforms and sources upstream
  // of it (see the guide's "Savepoints and upgrades"). On a collection a
  // stateless step made (the last step of count() or of a Kafka read of JSON,
  // or a map) it names the nearest stateful transform upstream, unless that
  // has a uid already. Unique within the pipeline; one line of text.
  PCollection<T> uid(std::string id) const {
    detail::set_uid(*p_, ref_.node, std::move(id));
    return *this;
  }

  // --- element-wise -------------------------------------------------------

  // f(const T&) -> U, for every element.
  template <class F>
  auto map(F f) const {
    static_assert(detail::element_invocable_v<F, T>,
                  "map(f): f must be callable as f(const T&) and return the new element");
    using U = std::decay_t<typename detail::element_result_t<F, T>::type>;
    static_assert(!std::is_void_v<U>,
                  "map(f): f must return a value (use par_do for side effects)");
    return element_wise<U>("map", std::make_shared<detail::MapOp<T, U, F>>(std::move(f)));
  }

  // pred(const T&) -> bool: keeps the elements for which it is true.
  template <class F>
  PCollection<T> filter(F pred) const {
    static_assert(std::is_invocable_r_v<bool, F&, const T&>,
                  "filter(pred): pred must be callable as pred(const T&) and return bool");
    return element_wise<T>("filter", std::make_shared<detail::FilterOp<T, F>>(std::move(pred)));
  }

  // Either f(const T&, Emitter<U>& out) calling out.emit(u) any number of
  // times, or f(const T&) returning a range of U. f may take T&& instead, to
  // move parts of the element out.
  template <class U = void, class F>
  auto flat_map(F f) const {
    using Deduced = typename detail::emitted_type<F>::type;
    using V = std::conditional_t<std::is_void_v<U>, Deduced, U>;
    if constexpr (detail::invocable_with_emitter<F, T, V>()) {
      return element_wise<V>("flat_map",
                             std::make_shared<detail::FlatMapOp<T, V, F>>(std::move(f)));
    } else if constexpr (detail::element_invocable_v<F, T>) {
      using R = std::decay_t<typename detail::element_result_t<F, T>::type>;
      static_assert(std::ranges::range<R>,
                    "flat_map(f): f(const T&) must return a range (e.g. a vector) of outputs, "
                    "or take (const T&, Emitter<U>&)");
      using W = std::decay_t<std::ranges::range_value_t<R>>;
      return element_wise<W>("flat_map",
                             std::make_shared<detail::FlatMapOp<T, W, F>>(std::move(f)));
    } else {
      static_assert(sizeof(F) == 0,
                    "flat_map(f): f must be callable as f(const T&, Emitter<U>&) or f(const T&) "
                    "returning a range; with a generic lambda, name U: flat_map<U>(f)");
    }
  }

  // A DoFn (see do_fn.hpp). One output type: returns PCollection<Out>;
  // several: a tuple of collections, one per tagged output.
  template <class Fn>
  auto par_do(Fn fn) const {
    static_assert(
        std::is_same_v<typename Fn::InputType, T>,
        "par_do(fn): the DoFn's input type (DoFn<In, ...>) must be the collection's type");
    if constexpr (requires(Fn & f) { f.state(); }) {
      return stateful_par_do(std::move(fn));
    } else {
      return stateless_par_do(std::move(fn));
    }
  }

 private:
  // A DoFn that declares state() (see state.hpp): keyed by the pair's first
  // member, so each key's elements meet its state in one instance.
  template <class Fn>
  auto stateful_par_do(Fn fn) const {
    static_assert(detail::is_pair<T>::value,
                  "par_do(fn) with state: the collection must hold (key, value) pairs; "
                  "make them with map() first");
    using K = typename T::first_type;
    using V = typename T::second_type;
    using E = detail::do_fn_emitters_t<Fn>;
    static_assert(std::is_invocable_v<decltype(&Fn::process), Fn&, const T&, KeyedContext<K>&, E&>,
                  "par_do(fn) with state: the DoFn needs process(const std::pair<K, V>&, "
                  "KeyedContext<K>&, Emitter<Out>&)");
    auto key_of = [](const T& kv) -> const K& { return kv.first; };
    return outputs_of<typename Fn::OutputTypes>(
        add(NodeBuilder("par_do (stateful)", OperatorKind::kKeyed,
                        std::make_shared<detail::StatefulParDoOp<Fn, K, V>>(
                            std::move(fn), ws_.windowing.allowed_lateness.count()))
                .partitioned_by(std::make_shared<KeyPartitioner<T, decltype(key_of)>>(key_of))
                .outputs(static_cast<int>(std::tuple_size_v<typename Fn::OutputTypes>))));
  }

  template <class Fn>
  auto stateless_par_do(Fn fn) const {
    using E = detail::do_fn_emitters_t<Fn>;
    static_assert(
        requires(Fn & f, T && x, E & e) { f.process(std::move(x), e); } ||
            requires(Fn & f, const T& x, const ElementContext& c, E& e) { f.process(x, c, e); },
        "par_do(fn): the DoFn needs process(const In&, Emitter<Out>&) (one output) or "
        "process(const In&, Emitters<Out...>&) (several), optionally with a "
        "const ElementContext& before the emitter, or process(In&&, ...) to move from x");
    return outputs_of<typename Fn::OutputTypes>(
        add(NodeBuilder("par_do", OperatorKind::kElementWise,
                        std::make_shared<detail::ParDoOp<Fn>>(std::move(fn)))
                .outputs(static_cast<int>(std::tuple_size_v<typename Fn::OutputTypes>))));
  }

 public:
  // A DoFn with a side input: process(const In&, const std::vector<S>&, Emitter<Out>&)
  // sees the whole side collection, broadcast to every instance.
  template <class Fn, class S>
  auto par_do(Fn fn, const PCollection<S>& side) const {
    static_assert(std::is_same_v<typename Fn::InputType, T>,
                  "par_do(fn, side): the DoFn's input type must be the collection's type");
    using E = detail::do_fn_emitters_t<Fn>;
    static_assert(
        std::is_invocable_v<decltype(&Fn::process), Fn&, const T&, const std::vector<S>&, E&>,
        "par_do(fn, side): the DoFn needs process(const In&, const std::vector<S>& side, "
        "Emitter<Out>&)");
    if (&side.pipeline() != p_)
      throw std::invalid_argument("par_do(fn, side): the side input is from another pipeline");
    return outputs_of<typename Fn::OutputTypes>(detail::add_node(
        *p_, NodeBuilder("par_do (side input)", OperatorKind::kMultiInput,
                         std::make_shared<detail::SideInputParDoOp<Fn, S>>(std::move(fn)))
                 .outputs(static_cast<int>(std::tuple_size_v<typename Fn::OutputTypes>))
                 .input(ref_, ExchangeKind::kForward)
                 .input(side.ref(), ExchangeKind::kBroadcast)
                 .build()));
  }

  // --- event time ------------------------------------------------------------

  // ts_fn(const T&) -> milliseconds since the epoch: each element's event
  // time (ts_fn may be a member pointer). In streaming mode the watermark
  // follows `strategy` (default: timestamps ascend within each source split).
  template <class F>
  PCollection<T> with_timestamps(F ts_fn,
                                 WatermarkStrategy strategy = watermarks::ascending()) const {
    static_assert(std::is_invocable_v<F&, const T&> &&
                      std::is_convertible_v<std::invoke_result_t<F&, const T&>, Timestamp>,
                  "with_timestamps(f): f must be callable as f(const T&) and return the event time "
                  "in milliseconds since the epoch (an integer)");
    return element_wise<T>("with_timestamps", std::make_shared<detail::WithTimestampsOp<T, F>>(
                                                  std::move(ts_fn), strategy));
  }

  // Assigns each element to windows by its event time (windows::fixed,
  // windows::sliding, windows::sessions, windows::global, or a WindowFn of
  // your own); grouping and combining then work per window, and their results
  // carry the window. `windowing` says when a window's results are emitted in
  // streaming mode (trigger, accumulation) and how late its data may be.
  template <class WindowFn>
  PCollection<T> window_into(WindowFn fn, Windowing windowing = {}) const {
    static_assert(std::is_invocable_v<decltype(&WindowFn::assign), const WindowFn&, Timestamp,
                                      std::vector<Window>&>,
                  "window_into(fn): fn needs assign(Timestamp, std::vector<Window>&) const");
    if (windowing.allowed_lateness.count() < 0) {
      throw std::invalid_argument("window_into: allowed_lateness must be >= 0");
    }
    const int node = add(NodeBuilder("window_into", OperatorKind::kElementWise,
                                     std::make_shared<detail::WindowIntoOp<T, WindowFn>>(
                                         std::move(fn), windowing.allowed_lateness.count()))
                             .outputs(2));
    WindowingStrategy ws{windowing, windows::is_merging<WindowFn>()};
    return PCollection<T>(p_, PortRef{node, 0}, ws, node);
  }

  // Streaming mode: the elements window_into found later than the allowed
  // lateness (their window's end + lateness <= the watermark), which no
  // grouping will count. Only for a collection window_into returned. Late
  // elements nobody reads are counted (RunResult::late_records), not kept.
  PCollection<T> late() const {
    if (late_port_ < 0) {
      throw std::logic_error("late(): only the collection window_into returns has a late output");
    }
    return PCollection<T>(p_, PortRef{late_port_, 1});
  }

  // --- keys ------------------------------------------------------------------

  // (key_fn(x), x) for every element; key_fn may be a member pointer.
  template <class F>
  auto key_by(F key_fn) const {
    static_assert(std::is_invocable_v<F&, const T&>,
                  "key_by(f): f must be callable as f(const T&) (or be a member pointer of T)");
    using K = std::decay_t<std::invoke_result_t<F&, const T&>>;
    return map([key_fn](T&& v) mutable {
      K k = std::invoke(key_fn, std::as_const(v));
      return std::pair<K, T>(std::move(k), std::move(v));
    });
  }

  // (key, all values of the key), for a collection of (key, value) pairs.
  auto group_by_key() const {
    static_assert(detail::is_pair<T>::value,
                  "group_by_key(): needs a collection of std::pair<K, V>");
    using V = typename T::second_type;
    return keyed_combine("group_by_key", combiners::ToList<V>{});
  }

  // (key, fn over all values of the key), lifted before the shuffle when the
  // CombineFn allows it.
  template <class CF>
  auto combine_per_key(CF fn) const {
    static_assert(detail::is_pair<T>::value,
                  "combine_per_key(fn): needs a collection of std::pair<K, V>");
    static_assert(
        CombineFnFor<CF, typename T::second_type>,
        "combine_per_key(fn): fn must be a CombineFn over the values (see combine_fn.hpp)");
    return keyed_combine("combine_per_key", std::move(fn));
  }

  // Each element once per window (Beam's Distinct): the first copy, at its
  // window's last instant (end - 1); in streaming mode as soon as it arrives. Needs Hash<T>
  // and ==; checkpoints need a Coder<T>. Not for merging windows (sessions).
  PCollection<T> distinct() const {
    if (ws_.merging)
      throw std::invalid_argument(
          "distinct(): not for merging windows (sessions) yet; use fixed or sliding windows, "
          "or count_per_element() and keep the keys");
    const int node = add(
        NodeBuilder("distinct", OperatorKind::kKeyed,
                    std::make_shared<detail::DistinctOp<T>>(ws_.windowing.allowed_lateness.count()))
            .partitioned_by(
                std::make_shared<KeyPartitioner<T, detail::Identity>>(detail::Identity{})));
    return PCollection<T>(p_, PortRef{node, 0}, ws_);
  }

  // (element, how many times it occurs).
  auto count_per_element() const {
    return combine<T>("count_per_element", combiners::Count{}, detail::Identity{},
                      detail::Identity{});
  }

  auto sum_per_key() const { return combine_per_key(combiners::Sum<typename T::second_type>{}); }
  auto min_per_key() const { return combine_per_key(combiners::Min<typename T::second_type>{}); }
  auto max_per_key() const { return combine_per_key(combiners::Max<typename T::second_type>{}); }
  auto mean_per_key() const { return combine_per_key(combiners::Mean<typename T::second_type>{}); }
  auto count_per_key() const {
    return combine<typename T::first_type>("count_per_key", combiners::Count{}, detail::FirstOf{},
                                           detail::SecondOf{});
  }
  auto top_k_per_key(std::size_t k) const {
    combiners::TopK<typename T::second_type> fn;
    fn.k = k;
    return combine_per_key(fn);
  }

  // One element: fn over the whole collection (nothing if it is empty).
  template <class CF>
  auto combine_globally(CF fn) const {
    static_assert(CombineFnFor<CF, T>,
                  "combine_globally(fn): fn must be a CombineFn over the elements");
    return combine<Unit>("combine_globally", std::move(fn), detail::UnitKey{}, detail::Identity{})
        .map([](auto&& kv) { return std::move(kv.second); });
  }
  auto count() const { return combine_globally(combiners::Count{}); }
  auto sum() const { return combine_globally(combiners::Sum<T>{}); }
  auto min() const { return combine_globally(combiners::Min<T>{}); }
  auto max() const { return combine_globally(combiners::Max<T>{}); }
  auto mean() const { return combine_globally(combiners::Mean<T>{}); }
  auto top_k(std::size_t k) const {
    combiners::TopK<T> fn;
    fn.k = k;
    return combine_globally(fn);
  }

  // --- sinks -----------------------------------------------------------------

  // To files (one line per element) or, for a kafka:// path, to a topic.
  SinkRef write(const io::TextIO& out) const {
    return add_sink(detail::sink_for<T>(out, detail::overwrite_default(*p_)));
  }
  // As CSV or JSON lines (io::csv(dir), io::json(dir)), or values of a topic.
  template <class U>
  SinkRef write(const io::RecordsIO<U>& out) const {
    static_assert(std::is_void_v<U>,
                  "write(io::csv(dir)) or write(io::json(dir)): name no type when writing");
    return add_sink(detail::sink_for<T>(out, detail::overwrite_default(*p_)));
  }
  // To a Kafka topic, at least once: std::string elements are record values,
  // std::pair<std::string, std::string> elements are (key, value).
  SinkRef write(const io::KafkaIO& out) const {
    constexpr bool kKeyValue = std::is_same_v<T, std::pair<std::string, std::string>>;
    static_assert(kKeyValue || std::is_same_v<T, std::string>,
                  "write(io::kafka(...)): map the elements to std::string values or to "
                  "std::pair<std::string, std::string> (key, value) first");
    return add_kafka_sink(std::make_shared<detail::KafkaSinkOp<T, kKeyValue>>(out, true), out);
  }
  // To a Kafka topic, each element a record value in the format
  // (io::kafka(...).json<T>(), .csv<T>(), .coded<T>()).
  template <io::KafkaFormat F>
  SinkRef write(const io::KafkaValuesIO<T, F>& out) const {
    static_assert(F != io::KafkaFormat::kCsv || csv::writable_v<T>,
                  "write(io::kafka(...).csv<T>()): T has no CSV form");
    return add_kafka_sink(std::make_shared<detail::KafkaSinkOp<T, false, F>>(out.io, false),
                          out.io);
  }

  // Consumes the elements and keeps none (counted as written: RunResult::records_out).
  SinkRef discard() const {
    return SinkRef(p_, add(NodeBuilder("discard", OperatorKind::kSink,
                                       std::make_shared<detail::DiscardSink>())));
  }

  // Every element, in memory, once the pipeline has run (for tests and small results).
  Collected<T> collect() const {
    auto store = std::make_shared<detail::CollectStore<T>>();
    add(NodeBuilder("collect", OperatorKind::kSink,
                    std::make_shared<detail::CollectSink<T>>(store)));
    return Collected<T>(store);
  }

 private:
  template <class U>
  PCollection<U> element_wise(const char* name, std::shared_ptr<const Operator> op) const {
    return PCollection<U>(p_, PortRef{add(NodeBuilder(name, OperatorKind::kElementWise, op)), 0},
                          ws_);
  }

  // Adds a node this collection feeds (its input 0); returns the node's id.
  int add(NodeBuilder& node) const { return detail::add_node(*p_, node.input(ref_).build()); }
  int add(NodeBuilder&& node) const { return add(node); }

  template <class Tuple>
  auto outputs_of(int node) const {
    if constexpr (std::tuple_size_v<Tuple> == 1) {
      return PCollection<std::tuple_element_t<0, Tuple>>(p_, PortRef{node, 0}, ws_);
    } else {
      return [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::make_tuple(PCollection<std::tuple_element_t<I, Tuple>>(
            p_, PortRef{node, static_cast<int>(I)}, ws_)...);
      }
      (std::make_index_sequence<std::tuple_size_v<Tuple>>{});
    }
  }

  template <class CF>
  auto keyed_combine(const char* name, CF fn) const {
    return combine<typename T::first_type>(name, std::move(fn), detail::FirstOf{},
                                           detail::SecondOf{});
  }

  // The keyed aggregation node: the raw path (hash on KeyOf, FinalCombineOp
  // adding inputs) and, for liftable CombineFns, the lifted path (partial
  // aggregation, hash on the key of the pairs, FinalCombineOp merging).
  template <class K, class CF, class KeyOf, class ValueOf>
  auto combine(const char* name, CF fn, KeyOf key_of, ValueOf value_of) const {
    using Acc = typename CF::Accumulator;
    using Out = std::pair<K, combine_output_t<CF>>;
    NodeBuilder node(name, OperatorKind::kKeyed,
                     std::make_shared<detail::FinalCombineOp<T, K, CF, KeyOf, ValueOf, false>>(
                         fn, key_of, value_of, ws_));
    node.partitioned_by(std::make_shared<KeyPartitioner<T, KeyOf>>(key_of));
    if constexpr (combine_fn_liftable<CF>()) {
      // Streaming: partials wait for the watermark, unless the trigger fires
      // on processing time or a window may merge with one the watermark
      // completes (sessions).
      const auto& t = ws_.windowing.trigger;
      const bool flush_every_tick =
          ws_.merging || t.early.delay_ms > 0 || t.late.delay_ms > 0 || t.repeat.delay_ms > 0;
      node.liftable(
          std::make_shared<detail::PartialCombineOp<T, K, CF, KeyOf, ValueOf>>(fn, key_of, value_of,
                                                                               flush_every_tick),
          std::make_shared<KeyPartitioner<std::pair<K, Acc>, detail::FirstOf>>(detail::FirstOf{}),
          std::make_shared<detail::FinalCombineOp<std::pair<K, Acc>, K, CF, detail::FirstOf,
                                                  detail::SecondOf, true>>(
              fn, detail::FirstOf{}, detail::SecondOf{}, ws_));
    }
    // A trigger that counts elements must see them, not partial aggregates:
    // the planner then keeps the raw path.
    node.needs_raw_input(ws_.windowing.trigger.counts_elements());
    return PCollection<Out>(p_, PortRef{add(node), 0});
  }

  SinkRef add_sink(detail::NamedOperator sink) const {
    return SinkRef(p_,
                   add(NodeBuilder(std::move(sink.name), OperatorKind::kSink, std::move(sink.op))));
  }
  SinkRef add_kafka_sink(std::shared_ptr<Operator> op, const io::KafkaIO& io) const {
    return SinkRef(
        p_, add(NodeBuilder("write kafka '" + io.topic + "'", OperatorKind::kSink, std::move(op))));
  }

  Pipeline* p_;
  PortRef ref_;
  WindowingStrategy ws_;
  int late_port_ = -1;  // the window_into node whose port 1 is the late output
};

// One collection holding every element of the inputs.
template <class T>
PCollection<T> flatten(const std::vector<PCollection<T>>& inputs) {
  if (inputs.empty()) throw std::invalid_argument("flatten: needs at least one collection");
  NodeBuilder node("flatten", OperatorKind::kMultiInput, std::make_shared<detail::FlattenOp>());
  for (const auto& c : inputs) {
    if (&c.pipeline() != &inputs[0].pipeline())
      throw std::invalid_argument("flatten: the collections are from different pipelines");
    node.input(c.ref(), ExchangeKind::kForward);
  }
  WindowingStrategy ws = inputs.empty() ? WindowingStrategy{} : inputs[0].windowing();
  for (const auto& c : inputs) ws.merging = ws.merging || c.merging_windows();
  return PCollection<T>(&inputs[0].pipeline(),
                        PortRef{detail::add_node(inputs[0].pipeline(), node.build()), 0}, ws);
}

template <class T, class... More>
PCollection<T> flatten(const PCollection<T>& first, const More&... more) {
  return flatten(std::vector<PCollection<T>>{first, more...});
}

// For each key of either input: (key, (values from a, values from b)).
template <class K, class V1, class V2>
auto co_group_by_key(const PCollection<std::pair<K, V1>>& a,
                     const PCollection<std::pair<K, V2>>& b) {
  using Sides = std::pair<std::vector<V1>, std::vector<V2>>;
  using Tagged = std::pair<K, Sides>;
  auto ta = a.map([](std::pair<K, V1>&& kv) {
    Tagged t(std::move(kv.first), Sides());
    t.second.first.push_back(std::move(kv.second));
    return t;
  });
  auto tb = b.map([](std::pair<K, V2>&& kv) {
    Tagged t(std::move(kv.first), Sides());
    t.second.second.push_back(std::move(kv.second));
    return t;
  });
  return flatten(ta, tb).combine_per_key(combiners::ConcatSides<V1, V2>{});
}

// Inner join on the key: (key, (a value, b value)) for every matching pair.
template <class K, class V1, class V2>
auto join_inner(const PCollection<std::pair<K, V1>>& a, const PCollection<std::pair<K, V2>>& b) {
  using Out = std::pair<K, std::pair<V1, V2>>;
  return co_group_by_key(a, b).template flat_map<Out>(
      [](const std::pair<K, std::pair<std::vector<V1>, std::vector<V2>>>& g, Emitter<Out>& out) {
        for (const auto& x : g.second.first) {
          for (const auto& y : g.second.second) out.emit(Out(g.first, {x, y}));
        }
      });
}

// Left outer join: every a value, with each matching b value or nullopt.
template <class K, class V1, class V2>
auto join_left(const PCollection<std::pair<K, V1>>& a, const PCollection<std::pair<K, V2>>& b) {
  using Out = std::pair<K, std::pair<V1, std::optional<V2>>>;
  return co_group_by_key(a, b).template flat_map<Out>(
      [](const std::pair<K, std::pair<std::vector<V1>, std::vector<V2>>>& g, Emitter<Out>& out) {
        for (const auto& x : g.second.first) {
          if (g.second.second.empty()) {
            out.emit(Out(g.first, {x, std::nullopt}));
          } else {
            for (const auto& y : g.second.second) out.emit(Out(g.first, {x, y}));
          }
        }
      });
}

}  // namespace runnel

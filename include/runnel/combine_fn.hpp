#pragma once
// A CombineFn folds the values of one key (or of a whole collection) into an
// output, in a way the engine may split: instances pre-aggregate before the
// shuffle (combiner lifting) and merge accumulators after it.
//
//   struct MyFn {
//     using Accumulator = ...;
//     Accumulator create_accumulator() const;
//     void add_input(Accumulator& acc, const V& value) const;
//     void merge_accumulators(Accumulator& acc, Accumulator&& other) const;
//     Out extract_output(Accumulator&& acc) const;
//     Out extract_output(const Accumulator& acc) const; // optional: accumulating
//         // panes read the accumulator they keep through it instead of a copy
//     static constexpr bool kLiftable = false;        // optional: never pre-aggregate
//     static constexpr bool kAccumulatesInputs = true; // optional: acc grows per input
//   };
//
// Accumulator needs a Coder (it is spilled to disk when over the memory budget).
#include <concepts>
#include <type_traits>
#include <utility>

namespace runnel {

template <class CF, class V>
concept CombineFnFor = requires(const CF& cf, typename CF::Accumulator& acc,
                                typename CF::Accumulator&& other, const V& v) {
  typename CF::Accumulator;
  { cf.create_accumulator() } -> std::convertible_to<typename CF::Accumulator>;
  cf.add_input(acc, v);
  cf.merge_accumulators(acc, std::move(other));
  cf.extract_output(std::move(acc));
};

template <class CF>
constexpr bool combine_fn_liftable() {
  if constexpr (requires { CF::kLiftable; }) {
    return CF::kLiftable;
  } else {
    return true;
  }
}

template <class CF>
constexpr bool combine_fn_accumulates_inputs() {
  if constexpr (requires { CF::kAccumulatesInputs; }) {
    return CF::kAccumulatesInputs;
  } else {
    return false;
  }
}

template <class CF>
using combine_output_t = std::decay_t<decltype(std::declval<const CF&>().extract_output(
    std::declval<typename CF::Accumulator&&>()))>;

// The output of an accumulator the caller keeps (an accumulating pane): read
// in place when the CombineFn can, else extracted from a copy.
template <class CF>
combine_output_t<CF> extract_output_of(const CF& cf, const typename CF::Accumulator& acc) {
  if constexpr (requires { cf.extract_output(acc); }) {
    return cf.extract_output(acc);
  } else {
    return cf.extract_output(typename CF::Accumulator(acc));
  }
}
template <class CF>
combine_output_t<CF> extract_output_of(const CF& cf, typename CF::Accumulator&& acc) {
  return cf.extract_output(std::move(acc));
}

}  // namespace runnel

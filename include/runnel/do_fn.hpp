#pragma once
// DoFn: a user class processing one element at a time, with optional
// lifecycle hooks, like Beam's DoFn. Derive from DoFn<In, Out...> and define
//
//   void process(const In& x, Emitter<Out>& out);            // one output
//   void process(const In& x, Emitters<Out1, Out2>& outs);    // tagged outputs
//   void process(const In& x, const ElementContext& c, Emitter<Out>& out);
//                          // ... also given x's event time, window and pane
//   void process(In&& x, Emitters<Out1, Out2>& outs);        // moves parts of x out
//                          // (x is not used again: no copy of what is moved)
//
// and any of setup() / teardown() (once per parallel instance),
// start_bundle() / finish_bundle(out) (around each batch of input).
// Every parallel instance works on its own copy of the DoFn.
// With a side input (in.par_do(fn, side)), process also receives the whole
// side collection: void process(const In& x, const std::vector<S>& side, Emitter<Out>& out).
#include <tuple>

#include "runnel/emitter.hpp"

namespace runnel {

template <class In, class... Outs>
struct DoFn {
  static_assert(sizeof...(Outs) >= 1, "a DoFn has at least one output type: DoFn<In, Out...>");
  using InputType = In;
  using OutputTypes = std::tuple<Outs...>;
};

namespace detail {
template <class Tuple>
struct EmittersFor;
template <class Out>
struct EmittersFor<std::tuple<Out>> {
  using type = Emitter<Out>;
};
template <class O1, class O2, class... Os>
struct EmittersFor<std::tuple<O1, O2, Os...>> {
  using type = Emitters<O1, O2, Os...>;
};
}  // namespace detail

}  // namespace runnel

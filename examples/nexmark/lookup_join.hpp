#pragma once
// A join of two keyed streams as their elements arrive (Flink's regular
// join), for a left side with at most one element per key (a person by id,
// an auction by id): the left element is kept in state; right elements that
// come before it wait in state, later ones join at once and are not kept.
#include <variant>

#include "nexmark/query.hpp"

namespace runnel::nexmark {

template <class K, class L, class R, class Out, class F>
struct LookupJoinFn : DoFn<std::pair<K, std::variant<L, R>>, Out> {
  ValueState<L> left{"left"};
  ListState<R> waiting{"waiting"};
  F f;  // f(const L&, const R&, Emitter<Out>&)
  explicit LookupJoinFn(F fn) : f(std::move(fn)) {}
  auto state() { return std::tie(left, waiting); }

  void process(const std::pair<K, std::variant<L, R>>& kv, KeyedContext<K>&, Emitter<Out>& out) {
    if (const L* l = std::get_if<L>(&kv.second)) {
      for (const R& r : waiting.read()) f(*l, r, out);
      waiting.clear();
      left.write(*l);
    } else if (const auto& l = left.read()) {
      f(*l, std::get<R>(kv.second), out);
    } else {
      waiting.add(std::get<R>(kv.second));
    }
  }
};

// (key_of_left(l), l) and (key_of_right(r), r), joined by f.
template <class Out, class L, class R, class KL, class KR, class F>
PCollection<Out> lookup_join(const PCollection<L>& lefts, KL key_of_left,
                             const PCollection<R>& rights, KR key_of_right, F f) {
  using K = std::decay_t<std::invoke_result_t<KL&, const L&>>;
  using Tagged = std::pair<K, std::variant<L, R>>;
  auto l = lefts.map([key_of_left](L&& x) mutable {
    K k = key_of_left(x);
    return Tagged(std::move(k), std::variant<L, R>(std::in_place_index<0>, std::move(x)));
  });
  auto r = rights.map([key_of_right](R&& x) mutable {
    K k = key_of_right(x);
    return Tagged(std::move(k), std::variant<L, R>(std::in_place_index<1>, std::move(x)));
  });
  return flatten(l, r).par_do(LookupJoinFn<K, L, R, Out, F>(std::move(f)));
}

}  // namespace runnel::nexmark

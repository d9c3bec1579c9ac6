#pragma once
// The parameter types of a non-generic callable, to deduce what a lambda
// emits from its signature (e.g. flat_map's Emitter<U>& parameter).
#include <tuple>
#include <type_traits>

namespace runnel::detail {

template <class F, class = void>
struct callable_args {
  static constexpr bool known = false;
};
template <class F>
struct callable_args<F, std::void_t<decltype(&F::operator())>>
    : callable_args<decltype(&F::operator())> {};
template <class C, class R, class... A>
struct callable_args<R (C::*)(A...) const, void> {
  static constexpr bool known = true;
  using type = std::tuple<A...>;
};
template <class C, class R, class... A>
struct callable_args<R (C::*)(A...), void> {
  static constexpr bool known = true;
  using type = std::tuple<A...>;
};
template <class R, class... A>
struct callable_args<R (*)(A...), void> {
  static constexpr bool known = true;
  using type = std::tuple<A...>;
};

template <class E>
struct emitter_value {
  using type = void;
};
template <template <class> class Em, class U>
struct emitter_value<Em<U>&> {
  using type = U;
};

// U if F's second parameter is Emitter<U>&, else void.
template <class F, class = void>
struct emitted_type {
  using type = void;
};
template <class F>
struct emitted_type<
    F, std::enable_if_t<callable_args<std::decay_t<F>>::known &&
                        (std::tuple_size_v<typename callable_args<std::decay_t<F>>::type> == 2)>> {
  using type = typename emitter_value<
      std::tuple_element_t<1, typename callable_args<std::decay_t<F>>::type>>::type;
};

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};

}  // namespace runnel::detail

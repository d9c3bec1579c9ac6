#pragma once
// heap_bytes(v): an estimate of the heap memory v owns beyond sizeof(v), used
// to keep hash aggregations inside their memory budget. Cheap, not exact.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "runnel/fields.hpp"

namespace runnel {

template <class T>
std::size_t heap_bytes(const T& v);

namespace detail {
// What malloc takes for a block of n bytes: a header, rounded to 16, at least 32.
constexpr std::size_t malloc_block(std::size_t n) {
  std::size_t b = (n + 8 + 15) & ~std::size_t{15};
  return b < 32 ? 32 : b;
}

template <class T>
struct HeapBytes {
  static std::size_t of(const T& v) {
    if constexpr (has_fields_v<T>) {
      return std::apply([](const auto&... f) { return (heap_bytes(f) + ... + std::size_t{0}); },
                        fields_of(v));
    } else {
      return 0;  // arithmetic, enums, and types we know nothing about
    }
  }
};
template <>
struct HeapBytes<std::string> {
  static std::size_t of(const std::string& s) {
    return s.capacity() > 15 ? malloc_block(s.capacity() + 1)
                             : 0;  // beyond the small-string buffer
  }
};
template <class A, class B>
struct HeapBytes<std::pair<A, B>> {
  static std::size_t of(const std::pair<A, B>& p) {
    return heap_bytes(p.first) + heap_bytes(p.second);
  }
};
template <class... Ts>
struct HeapBytes<std::tuple<Ts...>> {
  static std::size_t of(const std::tuple<Ts...>& t) {
    return std::apply([](const auto&... f) { return (heap_bytes(f) + ... + std::size_t{0}); }, t);
  }
};
template <class T>
struct HeapBytes<std::vector<T>> {
  static std::size_t of(const std::vector<T>& v) {
    std::size_t n = v.capacity() == 0 ? 0 : malloc_block(v.capacity() * sizeof(T));
    if constexpr (!std::is_arithmetic_v<T>) {
      for (const auto& x : v) n += heap_bytes(x);
    }
    return n;
  }
};
template <class T>
struct HeapBytes<std::optional<T>> {
  static std::size_t of(const std::optional<T>& v) { return v ? heap_bytes(*v) : 0; }
};
template <class... Ts>
struct HeapBytes<std::variant<Ts...>> {
  static std::size_t of(const std::variant<Ts...>& v) {
    return std::visit([](const auto& x) { return heap_bytes(x); }, v);
  }
};
template <class Map>
struct MapHeapBytes {
  static std::size_t of(const Map& m) {
    std::size_t n = m.size() * (sizeof(typename Map::value_type) + 32);  // node overhead
    for (const auto& [k, v] : m) n += heap_bytes(k) + heap_bytes(v);
    return n;
  }
};
template <class K, class V, class C, class A>
struct HeapBytes<std::map<K, V, C, A>> : MapHeapBytes<std::map<K, V, C, A>> {};
template <class K, class V, class H, class E, class A>
struct HeapBytes<std::unordered_map<K, V, H, E, A>>
    : MapHeapBytes<std::unordered_map<K, V, H, E, A>> {};
}  // namespace detail

template <class T>
std::size_t heap_bytes(const T& v) {
  return detail::HeapBytes<T>::of(v);
}

}  // namespace runnel

#pragma once
// runnel::Hash<T>: the 64-bit hash used for keys, hash tables and key groups.
// Fast (XXH3 for bytes, a multiply-xorshift mix for integers) and stable across
// runs and processes, so key groups mean the same thing in every process.
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/fields.hpp"

namespace runnel {

std::uint64_t hash_bytes(const void* data, std::size_t len) noexcept;

inline std::uint64_t hash_mix(std::uint64_t x) noexcept {
  // Murmur3's 64-bit finalizer: every input bit affects every output bit.
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

inline std::uint64_t hash_combine(std::uint64_t seed, std::uint64_t h) noexcept {
  return hash_mix(seed ^ (h + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2)));
}

template <class T, class Enable = void>
struct Hash;

template <class T>
struct Hash<T, std::enable_if_t<std::is_integral_v<T> || std::is_enum_v<T>>> {
  std::uint64_t operator()(T v) const noexcept { return hash_mix(static_cast<std::uint64_t>(v)); }
};

template <class T>
struct Hash<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  std::uint64_t operator()(T v) const noexcept {
    if (v == T(0)) v = T(0);  // +0 and -0 are equal keys
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(v));
    return hash_mix(bits);
  }
};

template <>
struct Hash<std::string_view> {
  using is_transparent = void;
  std::uint64_t operator()(std::string_view s) const noexcept {
    return hash_bytes(s.data(), s.size());
  }
};

template <>
struct Hash<std::string> : Hash<std::string_view> {};

template <class A, class B>
struct Hash<std::pair<A, B>> {
  std::uint64_t operator()(const std::pair<A, B>& p) const noexcept {
    return hash_combine(Hash<A>{}(p.first), Hash<B>{}(p.second));
  }
};

template <class... Ts>
struct Hash<std::tuple<Ts...>> {
  std::uint64_t operator()(const std::tuple<Ts...>& t) const noexcept {
    std::uint64_t h = 0x51ed27;
    std::apply(
        [&](const auto&... v) {
          ((h = hash_combine(h, Hash<std::decay_t<decltype(v)>>{}(v))), ...);
        },
        t);
    return h;
  }
};

template <class T>
struct Hash<std::vector<T>> {
  std::uint64_t operator()(const std::vector<T>& v) const noexcept {
    std::uint64_t h = hash_mix(v.size());
    for (const auto& x : v) h = hash_combine(h, Hash<T>{}(x));
    return h;
  }
};

template <class T>
struct Hash<std::optional<T>> {
  std::uint64_t operator()(const std::optional<T>& v) const noexcept {
    return v ? hash_combine(1, Hash<T>{}(*v)) : 0x0badc0deULL;
  }
};

template <class K, class V>
struct Hash<std::map<K, V>> {
  std::uint64_t operator()(const std::map<K, V>& m) const noexcept {
    std::uint64_t h = hash_mix(m.size());
    for (const auto& kv : m) h = hash_combine(h, Hash<std::pair<K, V>>{}(kv));
    return h;
  }
};

// User structs that list their fields (RUNNEL_FIELDS or a fields() member).
template <class T>
struct Hash<T, std::enable_if_t<has_fields_v<T>>> {
  std::uint64_t operator()(const T& v) const noexcept {
    std::uint64_t h = 0x5eed;
    std::apply(
        [&](const auto&... f) {
          ((h = hash_combine(h, Hash<std::decay_t<decltype(f)>>{}(f))), ...);
        },
        fields_of(v));
    return h;
  }
};

}  // namespace runnel

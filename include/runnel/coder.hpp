#pragma once
// Coder<T>: how a T becomes bytes and back, for spill files, and later for
// checkpoints and Kafka. Built in for arithmetic types, strings, pairs, tuples,
// vectors, optionals, maps and user structs that list their fields
// (RUNNEL_FIELDS or fields()). Specialise runnel::Coder<T> for anything else.
//
// Encoding: integers as LEB128 varints (signed ones zigzagged), floating point
// as fixed little-endian, sizes as varints, then the elements.
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "runnel/fields.hpp"

namespace runnel {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}
  void put_bytes(const void* p, std::size_t n) { out_.append(static_cast<const char*>(p), n); }
  void put_varint(std::uint64_t v) {
    char buf[10];
    int n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }

 private:
  std::string& out_;
};

// Thrown when bytes do not decode: truncated or corrupt input.
class DecodeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : p_(in.data()), end_(in.data() + in.size()) {}
  bool empty() const { return p_ == end_; }
  std::size_t remaining() const { return static_cast<std::size_t>(end_ - p_); }
  void get_bytes(void* dst, std::size_t n) {
    need(n);
    std::memcpy(dst, p_, n);
    p_ += n;
  }
  std::string_view get_view(std::size_t n) {
    need(n);
    std::string_view v(p_, n);
    p_ += n;
    return v;
  }
  std::uint64_t get_varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      auto byte = static_cast<std::uint8_t>(*p_++);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return v;
    }
    throw DecodeError("varint longer than 10 bytes");
  }

 private:
  void need(std::size_t n) const {
    if (static_cast<std::size_t>(end_ - p_) < n) throw DecodeError("truncated input");
  }
  const char* p_;
  const char* end_;
};

template <class T, class Enable = void>
struct Coder {
  static_assert(sizeof(T) == 0,
                "runnel::Coder<T> is not defined for this type: list the struct's fields with "
                "RUNNEL_FIELDS(Type, field1, field2, ...) or specialise runnel::Coder<T>");
};

template <>
struct Coder<bool> {
  static void encode(bool v, ByteWriter& w) { w.put_varint(v ? 1 : 0); }
  static bool decode(ByteReader& r) { return r.get_varint() != 0; }
};

template <class T>
struct Coder<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static void encode(T v, ByteWriter& w) {
    if constexpr (std::is_signed_v<T>) {
      auto s = static_cast<std::int64_t>(v);
      w.put_varint((static_cast<std::uint64_t>(s) << 1) ^ static_cast<std::uint64_t>(s >> 63));
    } else {
      w.put_varint(static_cast<std::uint64_t>(v));
    }
  }
  static T decode(ByteReader& r) {
    std::uint64_t u = r.get_varint();
    if constexpr (std::is_signed_v<T>) {
      return static_cast<T>(static_cast<std::int64_t>((u >> 1) ^ (~(u & 1) + 1)));
    } else {
      return static_cast<T>(u);
    }
  }
};

template <class T>
struct Coder<T, std::enable_if_t<std::is_enum_v<T>>> {
  using U = std::underlying_type_t<T>;
  static void encode(T v, ByteWriter& w) { Coder<U>::encode(static_cast<U>(v), w); }
  static T decode(ByteReader& r) { return static_cast<T>(Coder<U>::decode(r)); }
};

template <class T>
struct Coder<T, std::enable_if_t<std::is_floating_point_v<T>>> {
  static void encode(T v, ByteWriter& w) { w.put_bytes(&v, sizeof(v)); }
  static T decode(ByteReader& r) {
    T v;
    r.get_bytes(&v, sizeof(v));
    return v;
  }
};

template <>
struct Coder<std::string> {
  static void encode(const std::string& v, ByteWriter& w) {
    w.put_varint(v.size());
    w.put_bytes(v.data(), v.size());
  }
  static std::string decode(ByteReader& r) {
    auto n = r.get_varint();
    return std::string(r.get_view(n));
  }
};

template <class A, class B>
struct Coder<std::pair<A, B>> {
  static void encode(const std::pair<A, B>& v, ByteWriter& w) {
    Coder<A>::encode(v.first, w);
    Coder<B>::encode(v.second, w);
  }
  static std::pair<A, B> decode(ByteReader& r) {
    A a = Coder<A>::decode(r);  // sequenced: first then second
    B b = Coder<B>::decode(r);
    return {std::move(a), std::move(b)};
  }
};

namespace detail {
template <class Tuple, std::size_t... I>
void decode_into(Tuple& t, ByteReader& r, std::index_sequence<I...>) {
  // A braced list would also sequence, but assignments in a fold are clearer.
  ((std::get<I>(t) = Coder<std::decay_t<std::tuple_element_t<I, Tuple>>>::decode(r)), ...);
}
}  // namespace detail

template <class... Ts>
struct Coder<std::tuple<Ts...>> {
  static void encode(const std::tuple<Ts...>& v, ByteWriter& w) {
    std::apply([&](const auto&... x) { (Coder<std::decay_t<decltype(x)>>::encode(x, w), ...); }, v);
  }
  static std::tuple<Ts...> decode(ByteReader& r) {
    std::tuple<Ts...> t;
    detail::decode_into(t, r, std::index_sequence_for<Ts...>{});
    return t;
  }
};

template <class T>
struct Coder<std::vector<T>> {
  static void encode(const std::vector<T>& v, ByteWriter& w) {
    w.put_varint(v.size());
    for (const auto& x : v) Coder<T>::encode(x, w);
  }
  static std::vector<T> decode(ByteReader& r) {
    auto n = r.get_varint();
    std::vector<T> v;
    v.reserve(n < r.remaining() ? n
                                : r.remaining());  // a corrupt count cannot force a huge reserve
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(Coder<T>::decode(r));
    return v;
  }
};

template <class T>
struct Coder<std::optional<T>> {
  static void encode(const std::optional<T>& v, ByteWriter& w) {
    w.put_varint(v.has_value() ? 1 : 0);
    if (v) Coder<T>::encode(*v, w);
  }
  static std::optional<T> decode(ByteReader& r) {
    if (r.get_varint() == 0) return std::nullopt;
    return Coder<T>::decode(r);
  }
};

namespace detail {
template <class Variant, std::size_t I = 0>
Variant decode_alternative(std::size_t index, ByteReader& r) {
  if constexpr (I < std::variant_size_v<Variant>) {
    if (index == I)
      return Variant(std::in_place_index<I>,
                     Coder<std::variant_alternative_t<I, Variant>>::decode(r));
    return decode_alternative<Variant, I + 1>(index, r);
  } else {
    throw DecodeError("variant index out of range");
  }
}
}  // namespace detail

template <class... Ts>
struct Coder<std::variant<Ts...>> {
  static void encode(const std::variant<Ts...>& v, ByteWriter& w) {
    w.put_varint(v.index());
    std::visit([&](const auto& x) { Coder<std::decay_t<decltype(x)>>::encode(x, w); }, v);
  }
  static std::variant<Ts...> decode(ByteReader& r) {
    return detail::decode_alternative<std::variant<Ts...>>(r.get_varint(), r);
  }
};

namespace detail {
template <class Map>
struct MapCoder {
  using K = typename Map::key_type;
  using V = typename Map::mapped_type;
  static void encode(const Map& m, ByteWriter& w) {
    w.put_varint(m.size());
    for (const auto& [k, v] : m) {
      Coder<K>::encode(k, w);
      Coder<V>::encode(v, w);
    }
  }
  static Map decode(ByteReader& r) {
    auto n = r.get_varint();
    Map m;
    for (std::uint64_t i = 0; i < n; ++i) {
      K k = Coder<K>::decode(r);
      V v = Coder<V>::decode(r);
      m.emplace(std::move(k), std::move(v));
    }
    return m;
  }
};
}  // namespace detail

template <class K, class V, class C, class A>
struct Coder<std::map<K, V, C, A>> : detail::MapCoder<std::map<K, V, C, A>> {};
template <class K, class V, class H, class E, class A>
struct Coder<std::unordered_map<K, V, H, E, A>>
    : detail::MapCoder<std::unordered_map<K, V, H, E, A>> {};

template <class T>
struct Coder<T, std::enable_if_t<has_fields_v<T>>> {
  static void encode(const T& v, ByteWriter& w) {
    std::apply([&](const auto&... f) { (Coder<std::decay_t<decltype(f)>>::encode(f, w), ...); },
               fields_of(v));
  }
  static T decode(ByteReader& r) {
    T v{};
    auto refs = fields_of(v);
    std::apply([&](auto&... f) { ((f = Coder<std::decay_t<decltype(f)>>::decode(r)), ...); }, refs);
    return v;
  }
};

// Whether Coder<T> is defined, asked without tripping the undefined coder's
// error: true for the built-in coders and for structs whose fields all have
// one. An operator that can checkpoint only codable elements asks this. A
// type with its own Coder specialisation says so by specialising
// CoderDefined<T> too (as Window and Unit do). So does a type that contains
// itself (a tree node with a std::vector<Node> field): the check cannot see
// through the recursion and stops with an incomplete-type error.
template <class T, class = void>
struct CoderDefined : std::bool_constant<std::is_arithmetic_v<T> || std::is_enum_v<T>> {};
template <class T>
inline constexpr bool coder_defined_v = CoderDefined<T>::value;
template <>
struct CoderDefined<std::string> : std::true_type {};
template <class A, class B>
struct CoderDefined<std::pair<A, B>>
    : std::bool_constant<coder_defined_v<A> && coder_defined_v<B>> {};
template <class... Ts>
struct CoderDefined<std::tuple<Ts...>> : std::bool_constant<(coder_defined_v<Ts> && ...)> {};
template <class... Ts>
struct CoderDefined<std::variant<Ts...>> : std::bool_constant<(coder_defined_v<Ts> && ...)> {};
template <class T>
struct CoderDefined<std::vector<T>> : CoderDefined<T> {};
template <class T>
struct CoderDefined<std::optional<T>> : CoderDefined<T> {};
template <class K, class V, class C, class A>
struct CoderDefined<std::map<K, V, C, A>>
    : std::bool_constant<coder_defined_v<K> && coder_defined_v<V>> {};
template <class K, class V, class H, class E, class A>
struct CoderDefined<std::unordered_map<K, V, H, E, A>>
    : std::bool_constant<coder_defined_v<K> && coder_defined_v<V>> {};
namespace detail {
template <class Tuple>
struct AllFieldsCodable;
template <class... Fs>
struct AllFieldsCodable<std::tuple<Fs...>>
    : std::bool_constant<(coder_defined_v<std::decay_t<Fs>> && ...)> {};
}  // namespace detail
template <class T>
struct CoderDefined<T, std::enable_if_t<has_fields_v<T>>>
    : detail::AllFieldsCodable<decltype(fields_of(std::declval<T&>()))> {};

// Convenience: encode one value to a fresh string, decode one from bytes.
template <class T>
std::string encode_to_string(const T& v) {
  std::string s;
  ByteWriter w(s);
  Coder<T>::encode(v, w);
  return s;
}

template <class T>
T decode_from_string(std::string_view bytes) {
  ByteReader r(bytes);
  T v = Coder<T>::decode(r);
  if (!r.empty()) throw DecodeError("trailing bytes after value");
  return v;
}

}  // namespace runnel

#pragma once
// User structs list their fields once, and coders, hashing and CSV follow:
//   struct Reading { std::string device; int64_t time_ms; double celsius; };
//   RUNNEL_FIELDS(Reading, device, time_ms, celsius);   // at namespace scope
// or, inside the struct, `auto fields() { return std::tie(a, b); }` plus a const
// overload. Field order is the CSV column order and the encoded order.
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

// A preprocessor map over up to 32 fields.
#define RUNNEL_PP_NARGS(...)                                                                    \
  RUNNEL_PP_NARGS_(__VA_ARGS__, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, \
                   16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
#define RUNNEL_PP_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, \
                         _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30,  \
                         _31, _32, N, ...)                                                      \
  N
#define RUNNEL_PP_CAT(a, b) RUNNEL_PP_CAT_(a, b)
#define RUNNEL_PP_CAT_(a, b) a##b
#define RUNNEL_PP_MAP(m, x, ...) \
  RUNNEL_PP_CAT(RUNNEL_PP_MAP_, RUNNEL_PP_NARGS(__VA_ARGS__))(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_1(m, x, a) m(x, a)
#define RUNNEL_PP_MAP_2(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_1(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_3(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_2(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_4(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_3(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_5(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_4(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_6(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_5(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_7(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_6(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_8(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_7(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_9(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_8(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_10(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_9(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_11(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_10(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_12(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_11(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_13(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_12(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_14(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_13(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_15(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_14(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_16(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_15(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_17(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_16(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_18(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_17(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_19(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_18(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_20(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_19(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_21(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_20(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_22(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_21(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_23(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_22(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_24(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_23(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_25(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_24(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_26(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_25(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_27(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_26(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_28(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_27(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_29(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_28(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_30(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_29(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_31(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_30(m, x, __VA_ARGS__)
#define RUNNEL_PP_MAP_32(m, x, a, ...) m(x, a), RUNNEL_PP_MAP_31(m, x, __VA_ARGS__)
#define RUNNEL_PP_FIELD(v, f) v.f

#define RUNNEL_FIELDS(Type, ...)                                                  \
  [[maybe_unused]] inline auto runnel_fields(Type& v) {                           \
    return std::tie(RUNNEL_PP_MAP(RUNNEL_PP_FIELD, v, __VA_ARGS__));              \
  }                                                                               \
  [[maybe_unused]] inline auto runnel_fields(const Type& v) {                     \
    return std::tie(RUNNEL_PP_MAP(RUNNEL_PP_FIELD, v, __VA_ARGS__));              \
  }                                                                               \
  [[maybe_unused]] inline constexpr const char* runnel_field_names(const Type*) { \
    return #__VA_ARGS__;                                                          \
  }                                                                               \
  static_assert(true, "")

namespace runnel {
namespace detail {
template <class T, class = void>
struct has_adl_fields : std::false_type {};
template <class T>
struct has_adl_fields<T, std::void_t<decltype(runnel_fields(std::declval<T&>()))>>
    : std::true_type {};
template <class T, class = void>
struct has_member_fields : std::false_type {};
template <class T>
struct has_member_fields<T, std::void_t<decltype(std::declval<T&>().fields())>> : std::true_type {};
}  // namespace detail

namespace detail {
// A list of types, for traits that must not look into the same record twice.
template <class... Ts>
struct TypeList {};
template <class T, class List>
struct Contains;
template <class T, class... Ts>
struct Contains<T, TypeList<Ts...>> : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};
template <class T, class List>
struct WithT;
template <class T, class... Ts>
struct WithT<T, TypeList<Ts...>> {
  using type = TypeList<T, Ts...>;
};
template <class T, class List>
using With = typename WithT<T, List>::type;
}  // namespace detail

// True for user structs that list their fields (either way).
template <class T>
inline constexpr bool has_fields_v =
    detail::has_adl_fields<T>::value || detail::has_member_fields<T>::value;

// A tuple of references to the fields of v, in declaration order.
template <class T>
auto fields_of(T& v) {
  if constexpr (detail::has_member_fields<std::remove_const_t<T>>::value) {
    return v.fields();
  } else {
    return runnel_fields(v);
  }
}

// The field names of T (only for RUNNEL_FIELDS; empty for a fields() member).
template <class T>
std::vector<std::string> field_names() {
  std::vector<std::string> names;
  if constexpr (detail::has_adl_fields<T>::value) {
    std::string_view all = runnel_field_names(static_cast<const T*>(nullptr));
    while (!all.empty()) {
      auto comma = all.find(',');
      auto name = all.substr(0, comma);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      names.emplace_back(name);
      if (comma == std::string_view::npos) break;
      all.remove_prefix(comma + 1);
    }
  }
  return names;
}

}  // namespace runnel

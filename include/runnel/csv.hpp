#pragma once
// CSV encoding of records, RFC 4180 style: one record per line, fields
// separated by commas, a field with a comma, quote or line break quoted with
// "" for a quote. A record's columns are its fields flattened: a scalar is one
// column, a pair or tuple or RUNNEL_FIELDS struct is one column per member.
// Vectors and maps are one column, elements joined with ';' (write only).
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/fields.hpp"

namespace runnel::csv {

// Splits one line into its fields, unquoting quoted ones (into `scratch`,
// which the returned views may point into). Returns an error text, or empty.
std::string split_line(std::string_view line, std::vector<std::string_view>& fields,
                       std::string& scratch);

// Appends `s` as one CSV field, quoted if needed.
void append_field(std::string& out, std::string_view s);

template <class T>
struct Column;  // how a T spreads over columns

namespace detail {
template <class T>
struct IsPairOrTuple : std::false_type {};
template <class A, class B>
struct IsPairOrTuple<std::pair<A, B>> : std::true_type {
  using Tuple = std::tuple<A, B>;
};
template <class... Ts>
struct IsPairOrTuple<std::tuple<Ts...>> : std::true_type {
  using Tuple = std::tuple<Ts...>;
};
template <class T>
struct IsSequence : std::false_type {};
template <class T>
struct IsSequence<std::vector<T>> : std::true_type {
  using Element = T;
};
template <class K, class V>
struct IsSequence<std::map<K, V>> : std::true_type {
  using Element = std::pair<K, V>;
};
}  // namespace detail

namespace detail {
template <class T>
void append_scalar(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, end);
  } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    append_field(out, std::string_view(v));
  } else {
    static_assert(sizeof(T) == 0, "this type has no CSV column form");
  }
}

template <class T>
std::string parse_scalar(std::string_view s, T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (s == "true" || s == "1") {
      v = true;
    } else if (s == "false" || s == "0") {
      v = false;
    } else {
      return "'" + std::string(s) + "' is not a boolean (true, false, 1, 0)";
    }
    return {};
  } else if constexpr (std::is_arithmetic_v<T>) {
    std::string_view t = s;
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
      return "'" + std::string(s) + "' is not " +
             (std::is_floating_point_v<T> ? "a number"
              : std::is_signed_v<T>       ? "an integer"
                                          : "a non-negative integer") +
             (ec == std::errc::result_out_of_range ? " in range" : "");
    }
    return {};
  } else if constexpr (std::is_same_v<T, std::string>) {
    v.assign(s);
    return {};
  } else {
    static_assert(sizeof(T) == 0, "this type cannot be parsed from a CSV column");
  }
}
}  // namespace detail

namespace detail {
template <class Tuple>
struct ColumnsOf;
template <class... Ts>
struct ColumnsOf<std::tuple<Ts...>> {
  static constexpr std::size_t value = (Column<std::decay_t<Ts>>::count() + ... + 0);
};
}  // namespace detail

template <class T>
struct Column {
  static constexpr std::size_t count() {
    if constexpr (has_fields_v<T>) {
      return detail::ColumnsOf<decltype(fields_of(std::declval<const T&>()))>::value;
    } else {
      return 1;
    }
  }
  static void append(std::string& out, const T& v, bool& first) {
    if constexpr (has_fields_v<T>) {
      std::apply(
          [&](const auto&... f) {
            (Column<std::decay_t<decltype(f)>>::append(out, f, first), ...);
          },
          fields_of(v));
    } else {
      if (!first) out += ',';
      first = false;
      detail::append_scalar(out, v);
    }
  }
  static std::string parse(const std::vector<std::string_view>& cols, std::size_t& i, T& v) {
    if constexpr (has_fields_v<T>) {
      std::string err;
      std::apply(
          [&](auto&... f) {
            ((err.empty() ? (void)(err = Column<std::decay_t<decltype(f)>>::parse(cols, i, f))
                          : (void)0),
             ...);
          },
          fields_of(v));
      return err;
    } else {
      std::string err = detail::parse_scalar(cols[i], v);
      if (!err.empty()) err = "column " + std::to_string(i + 1) + ": " + err;
      ++i;
      return err;
    }
  }
};

template <class A, class B>
struct Column<std::pair<A, B>> {
  static constexpr std::size_t count() { return Column<A>::count() + Column<B>::count(); }
  static void append(std::string& out, const std::pair<A, B>& v, bool& first) {
    Column<A>::append(out, v.first, first);
    Column<B>::append(out, v.second, first);
  }
  static std::string parse(const std::vector<std::string_view>& cols, std::size_t& i,
                           std::pair<A, B>& v) {
    std::string err = Column<A>::parse(cols, i, v.first);
    return err.empty() ? Column<B>::parse(cols, i, v.second) : err;
  }
};

template <class... Ts>
struct Column<std::tuple<Ts...>> {
  static constexpr std::size_t count() { return (Column<Ts>::count() + ... + 0); }
  static void append(std::string& out, const std::tuple<Ts...>& v, bool& first) {
    std::apply(
        [&](const auto&... f) { (Column<std::decay_t<decltype(f)>>::append(out, f, first), ...); },
        v);
  }
  static std::string parse(const std::vector<std::string_view>& cols, std::size_t& i,
                           std::tuple<Ts...>& v) {
    std::string err;
    std::apply(
        [&](auto&... f) {
          ((err.empty() ? (void)(err = Column<std::decay_t<decltype(f)>>::parse(cols, i, f))
                        : (void)0),
           ...);
        },
        v);
    return err;
  }
};

// An empty column is "no value".
template <class T>
struct Column<std::optional<T>> {
  static_assert(Column<T>::count() == 1,
                "CSV: std::optional of a multi-column type has no column form");
  static constexpr std::size_t count() { return 1; }
  static void append(std::string& out, const std::optional<T>& v, bool& first) {
    if (v) {
      Column<T>::append(out, *v, first);
    } else {
      if (!first) out += ',';
      first = false;
    }
  }
  static std::string parse(const std::vector<std::string_view>& cols, std::size_t& i,
                           std::optional<T>& v) {
    if (cols[i].empty()) {
      v.reset();
      ++i;
      return {};
    }
    v.emplace();
    return Column<T>::parse(cols, i, *v);
  }
};

namespace detail {
template <class Range>
void append_joined(std::string& out, const Range& r, bool& first) {
  if (!first) out += ',';
  first = false;
  // Elements go straight into `out`; only a column that needs quoting (rare)
  // is copied out and back, so a list column costs no allocation per element.
  const std::size_t mark = out.size();
  bool inner_first = true;
  for (const auto& x : r) {
    if (!inner_first) out += ';';
    bool f = true;
    Column<std::decay_t<decltype(x)>>::append(out, x, f);
    inner_first = false;
  }
  if (std::string_view(out).substr(mark).find_first_of(",\"\n\r") != std::string_view::npos) {
    std::string column = out.substr(mark);
    out.resize(mark);
    append_field(out, column);
  }
}
}  // namespace detail

template <class T>
struct Column<std::vector<T>> {
  static constexpr std::size_t count() { return 1; }
  static void append(std::string& out, const std::vector<T>& v, bool& first) {
    detail::append_joined(out, v, first);
  }
};

template <class K, class V>
struct Column<std::map<K, V>> {
  static constexpr std::size_t count() { return 1; }
  static void append(std::string& out, const std::map<K, V>& v, bool& first) {
    detail::append_joined(out, v, first);
  }
};

namespace detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
// `Seen`: the records being looked into (a record that holds a vector of its
// own type is judged by its other fields).
template <class T, bool kWrite, class Seen = runnel::detail::TypeList<>>
constexpr bool has_columns();
template <class Tuple, bool kWrite, class Seen>
struct AllColumns;
template <class... Ts, bool kWrite, class Seen>
struct AllColumns<std::tuple<Ts...>, kWrite, Seen> {
  static constexpr bool value = (has_columns<std::decay_t<Ts>, kWrite, Seen>() && ...);
};
template <class T>
using FieldsTuple = decltype(fields_of(std::declval<T&>()));
template <class T, bool kWrite, class Seen>
constexpr bool has_columns() {
  if constexpr (runnel::detail::Contains<T, Seen>::value) {
    return true;
  } else if constexpr (has_fields_v<T>) {
    return AllColumns<FieldsTuple<T>, kWrite, runnel::detail::With<T, Seen>>::value;
  } else if constexpr (IsOptional<T>::value) {
    using U = typename T::value_type;
    if constexpr (has_columns<U, kWrite, Seen>()) return Column<U>::count() == 1;
    return false;
  } else if constexpr (IsPairOrTuple<T>::value) {
    return AllColumns<typename IsPairOrTuple<T>::Tuple, kWrite, Seen>::value;
  } else if constexpr (IsSequence<T>::value) {
    return kWrite && has_columns<typename IsSequence<T>::Element, kWrite, Seen>();
  } else if constexpr (kWrite) {
    return std::is_arithmetic_v<T> || std::is_convertible_v<const T&, std::string_view>;
  } else {
    return std::is_arithmetic_v<T> || std::is_same_v<T, std::string>;
  }
}
}  // namespace detail

// Whether a T has a CSV form to read, and to write (checked where the format
// is chosen at run time, so a type with only one form still compiles).
template <class T>
inline constexpr bool parsable_v = detail::has_columns<T, false>();
template <class T>
inline constexpr bool writable_v = detail::has_columns<T, true>();

// One record as a CSV line (no line break).
template <class T>
void append_record(std::string& out, const T& v) {
  bool first = true;
  Column<T>::append(out, v, first);
}

// Parses one line into v; returns an error text, or empty on success.
template <class T>
std::string parse_record(std::string_view line, T& v, std::vector<std::string_view>& cols,
                         std::string& scratch) {
  std::string err = split_line(line, cols, scratch);
  if (!err.empty()) return err;
  constexpr std::size_t expected = Column<T>::count();
  if (cols.size() != expected) {
    return "expected " + std::to_string(expected) + " column" + (expected == 1 ? "" : "s") +
           ", found " + std::to_string(cols.size());
  }
  std::size_t i = 0;
  return Column<T>::parse(cols, i, v);
}

}  // namespace runnel::csv

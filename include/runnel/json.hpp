#pragma once
// JSON encoding of records: a RUNNEL_FIELDS struct is an object with its field
// names as keys; nested structs are nested objects, vectors are arrays,
// std::optional is null when empty, std::map<std::string, V> is an object.
//
//   std::string line = json::to_json(reading);       // {"device":"d1","celsius":21.5}
//   std::string err = json::from_json(line, reading);  // empty, or what is wrong
//
// Reading is lenient where JSON producers differ: unknown keys are ignored, and
// a number may come as a string ("42"). A missing field (not std::optional),
// a null one, or a value of the wrong kind is an error naming the field.
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "runnel/csv.hpp"
#include "runnel/fields.hpp"

namespace runnel::json {

// Appends `s` as a JSON string: quoted, with '"', '\\' and control characters escaped.
void append_string(std::string& out, std::string_view s);

// One line of JSON, parsed and flattened: each value under its path (object
// keys joined with '.', array elements by index: "bid.price", "tags.0").
// Objects and arrays are entries too (an array's text is its length). The
// entries keep their memory from one parse to the next.
class Document {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  struct Entry {
    std::string path;
    Kind kind = Kind::kNull;
    std::string text;  // the number as written, the unescaped string, "true"/"false"
  };
  // Empty, or what is wrong with the text and where.
  std::string parse(std::string_view text);
  // The entry at `path`, or nullptr.
  const Entry* find(std::string_view path) const {
    for (std::size_t i = 0; i < size_; ++i)
      if (entries_[i].path == path) return &entries_[i];
    return nullptr;
  }

  struct Builder;  // the parser's handler fills entries_

 private:
  std::vector<Entry> entries_;
  std::size_t size_ = 0;
};

template <class T>
struct Value;  // how a T maps to JSON

namespace detail {
template <class T>
const std::vector<std::string>& names_of() {
  static const std::vector<std::string> names = field_names<T>();
  return names;
}

inline const char* kind_name(Document::Kind k) {
  switch (k) {
    case Document::Kind::kNull:
      return "null";
    case Document::Kind::kBool:
      return "a boolean";
    case Document::Kind::kNumber:
      return "a number";
    case Document::Kind::kString:
      return "a string";
    case Document::Kind::kArray:
      return "an array";
    case Document::Kind::kObject:
      return "an object";
  }
  return "?";
}

inline std::string field_error(const std::string& path, const std::string& what) {
  return "field '" + path + "': " + what;
}

// Appends ".name" (or "name" at the top) to path for the duration of a call.
struct PathScope {
  std::string& path;
  std::size_t size;
  PathScope(std::string& p, std::string_view name) : path(p), size(p.size()) {
    if (!path.empty()) path += '.';
    path += name;
  }
  ~PathScope() { path.resize(size); }
};
}  // namespace detail

template <class T>
struct Value {
  static void append(std::string& out, const T& v) {
    if constexpr (has_fields_v<T>) {
      static_assert(runnel::detail::has_adl_fields<T>::value,
                    "JSON needs the field names: list the fields with RUNNEL_FIELDS(Type, ...)");
      const auto& names = detail::names_of<T>();
      out += '{';
      std::size_t i = 0;
      std::apply(
          [&](const auto&... f) {
            ((out += (i == 0 ? "" : ","), append_string(out, names[i++]), out += ':',
              Value<std::decay_t<decltype(f)>>::append(out, f)),
             ...);
          },
          fields_of(v));
      out += '}';
    } else if constexpr (std::is_same_v<T, bool>) {
      out += v ? "true" : "false";
    } else if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(v)) {
        out += "null";  // JSON has no NaN or infinity
        return;
      }
      if (v == 0 && std::signbit(v)) {
        out += "-0.0";  // "-0" reads back as the integer 0 (found by tests/fuzz/json_fuzz)
        return;
      }
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      out.append(buf, end);
    } else if constexpr (std::is_arithmetic_v<T>) {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      out.append(buf, end);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      append_string(out, std::string_view(v));
    } else {
      static_assert(sizeof(T) == 0, "this type has no JSON form");
    }
  }

  static std::string read(const Document& doc, std::string& path, T& v) {
    if constexpr (has_fields_v<T>) {
      static_assert(runnel::detail::has_adl_fields<T>::value,
                    "JSON needs the field names: list the fields with RUNNEL_FIELDS(Type, ...)");
      if (!path.empty()) {
        const Document::Entry* e = doc.find(path);
        if (e == nullptr) return detail::field_error(path, "missing");
        if (e->kind != Document::Kind::kObject)
          return detail::field_error(
              path, std::string(detail::kind_name(e->kind)) + ", expected an object");
      }
      const auto& names = detail::names_of<T>();
      std::string err;
      std::size_t i = 0;
      std::apply(
          [&](auto&... f) {
            ((err.empty() ? (void)(err =
                                       [&] {
                                         detail::PathScope scope(path, names[i++]);
                                         return Value<std::decay_t<decltype(f)>>::read(doc, path,
                                                                                       f);
                                       }())
                          : (void)0),
             ...);
          },
          fields_of(v));
      return err;
    } else {
      const Document::Entry* e = doc.find(path);
      if (e == nullptr) return detail::field_error(path, "missing");
      if constexpr (std::is_same_v<T, std::string>) {
        if (e->kind == Document::Kind::kString || e->kind == Document::Kind::kNumber ||
            e->kind == Document::Kind::kBool) {
          v = e->text;
          return {};
        }
        return detail::field_error(path,
                                   std::string(detail::kind_name(e->kind)) + ", expected a string");
      } else {
        if (e->kind == Document::Kind::kNull || e->kind == Document::Kind::kArray ||
            e->kind == Document::Kind::kObject)
          return detail::field_error(
              path, std::string(detail::kind_name(e->kind)) +
                        (std::is_same_v<T, bool> ? ", expected a boolean" : ", expected a number"));
        std::string err = csv::detail::parse_scalar(e->text, v);
        return err.empty() ? err : detail::field_error(path, err);
      }
    }
  }
};

template <class T>
struct Value<std::optional<T>> {
  static void append(std::string& out, const std::optional<T>& v) {
    if (v) {
      Value<T>::append(out, *v);
    } else {
      out += "null";
    }
  }
  static std::string read(const Document& doc, std::string& path, std::optional<T>& v) {
    const Document::Entry* e = doc.find(path);
    if (e == nullptr || e->kind == Document::Kind::kNull) {
      v.reset();
      return {};
    }
    return Value<T>::read(doc, path, v.emplace());
  }
};

template <class T>
struct Value<std::vector<T>> {
  static void append(std::string& out, const std::vector<T>& v) {
    out += '[';
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i > 0) out += ',';
      Value<T>::append(out, v[i]);
    }
    out += ']';
  }
  static std::string read(const Document& doc, std::string& path, std::vector<T>& v) {
    const Document::Entry* e = doc.find(path);
    if (e == nullptr) return detail::field_error(path, "missing");
    if (e->kind != Document::Kind::kArray)
      return detail::field_error(path,
                                 std::string(detail::kind_name(e->kind)) + ", expected an array");
    std::size_t n = 0;
    std::from_chars(e->text.data(), e->text.data() + e->text.size(), n);
    v.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      detail::PathScope scope(path, std::to_string(i));
      std::string err = Value<T>::read(doc, path, v[i]);
      if (!err.empty()) return err;
    }
    return {};
  }
};

template <class V>
struct Value<std::map<std::string, V>> {
  static void append(std::string& out, const std::map<std::string, V>& m) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : m) {
      if (!first) out += ',';
      first = false;
      append_string(out, k);
      out += ':';
      Value<V>::append(out, v);
    }
    out += '}';
  }
};

template <class A, class B>
struct Value<std::pair<A, B>> {
  static void append(std::string& out, const std::pair<A, B>& v) {
    out += '[';
    Value<A>::append(out, v.first);
    out += ',';
    Value<B>::append(out, v.second);
    out += ']';
  }
};

namespace detail {
template <class T>
struct Shape {
  static constexpr int kind = 0;  // 0 scalar or struct
};
template <class T>
struct Shape<std::optional<T>> {
  static constexpr int kind = 1;
  using Element = T;
};
template <class T>
struct Shape<std::vector<T>> {
  static constexpr int kind = 1;
  using Element = T;
};
template <class V>
struct Shape<std::map<std::string, V>> {
  static constexpr int kind = 2;  // written, not read
  using Element = V;
};
template <class A, class B>
struct Shape<std::pair<A, B>> {
  static constexpr int kind = 3;  // written, not read
};
// `Seen`: the records being looked into (a record that holds a vector of its
// own type is judged by its other fields).
template <class T, bool kRead, class Seen = runnel::detail::TypeList<>>
constexpr bool has_form();
template <class Tuple, bool kRead, class Seen>
struct AllFields;
template <class... Ts, bool kRead, class Seen>
struct AllFields<std::tuple<Ts...>, kRead, Seen> {
  static constexpr bool value = (has_form<std::decay_t<Ts>, kRead, Seen>() && ...);
};
template <class T, bool kRead, class Seen>
constexpr bool has_form() {
  using S = Shape<T>;
  if constexpr (runnel::detail::Contains<T, Seen>::value) {
    return true;
  } else if constexpr (S::kind == 1) {
    return has_form<typename S::Element, kRead, Seen>();
  } else if constexpr (S::kind == 2) {
    return !kRead && has_form<typename S::Element, kRead, Seen>();
  } else if constexpr (S::kind == 3) {
    return !kRead && has_form<typename T::first_type, kRead, Seen>() &&
           has_form<typename T::second_type, kRead, Seen>();
  } else if constexpr (has_fields_v<T>) {
    if constexpr (runnel::detail::has_adl_fields<T>::value)
      return AllFields<decltype(fields_of(std::declval<T&>())), kRead,
                       runnel::detail::With<T, Seen>>::value;
    return false;  // JSON needs the field names
  } else if constexpr (kRead) {
    return std::is_arithmetic_v<T> || std::is_same_v<T, std::string>;
  } else {
    return std::is_arithmetic_v<T> || std::is_convertible_v<const T&, std::string_view>;
  }
}
}  // namespace detail

// Whether a T has a JSON form to read, and to write (checked where the format
// is chosen at run time, so a type with only one form still compiles).
template <class T>
inline constexpr bool parsable_v = detail::has_form<T, true>();
template <class T>
inline constexpr bool writable_v = detail::has_form<T, false>();

template <class T>
void append(std::string& out, const T& v) {
  Value<T>::append(out, v);
}

template <class T>
std::string to_json(const T& v) {
  std::string out;
  Value<T>::append(out, v);
  return out;
}

// Parses `text` into `v` with `doc` as scratch (reuse it across records).
// Returns empty, or what is wrong.
template <class T>
std::string from_json(std::string_view text, T& v, Document& doc) {
  std::string err = doc.parse(text);
  if (!err.empty()) return err;
  std::string path;
  return Value<T>::read(doc, path, v);
}

template <class T>
std::string from_json(std::string_view text, T& v) {
  Document doc;
  return from_json(text, v, doc);
}

}  // namespace runnel::json

// JSON for runnel/json.hpp: strings escaped by hand; lines parsed with
// nlohmann::json's SAX interface straight into the flat Document (no tree).
#include "runnel/json.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace runnel::json {

void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

struct Document::Builder : nlohmann::json_sax<nlohmann::json> {
  Document& doc;
  std::string path;
  // Per open container: where its path ended before it, whether it is an
  // array, its next index, and its own entry.
  struct Open {
    std::size_t path_size;
    bool array;
    std::size_t next = 0;
    std::size_t entry;
  };
  std::vector<Open> open;
  std::size_t key_path_size = 0;  // in an object: the path before the current key
  std::string error;

  explicit Builder(Document& d) : doc(d) {}

  // The path of the next value: in an array its index, in an object its key (set by key()).
  void begin_value() {
    if (!open.empty() && open.back().array) {
      path.resize(open.back().path_size);
      if (!path.empty()) path += '.';
      path += std::to_string(open.back().next++);
    }
  }
  Entry& add(Kind kind) {
    begin_value();
    if (doc.size_ == doc.entries_.size()) doc.entries_.emplace_back();
    Entry& e = doc.entries_[doc.size_++];
    e.path = path;
    e.kind = kind;
    e.text.clear();
    return e;
  }
  template <class N>
  bool number(N v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    add(Kind::kNumber).text.assign(buf, end);
    return true;
  }

  bool null() override {
    add(Kind::kNull);
    return true;
  }
  bool boolean(bool v) override {
    add(Kind::kBool).text = v ? "true" : "false";
    return true;
  }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override { return number(v); }
  bool number_float(number_float_t, const string_t& s) override {
    add(Kind::kNumber).text = s;
    return true;
  }
  bool string(string_t& s) override {
    add(Kind::kString).text = s;
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return start(Kind::kObject, false); }
  bool start_array(std::size_t) override { return start(Kind::kArray, true); }
  bool start(Kind kind, bool array) {
    add(kind);
    open.push_back(Open{path.size(), array, 0, doc.size_ - 1});
    return true;
  }
  bool key(string_t& k) override {
    path.resize(open.back().path_size);
    if (!path.empty()) path += '.';
    path += k;
    return true;
  }
  bool end_object() override { return end(); }
  bool end_array() override {
    doc.entries_[open.back().entry].text = std::to_string(open.back().next);
    return end();
  }
  bool end() {
    path.resize(open.back().path_size);
    open.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    // nlohmann's message repeats "[json.exception.parse_error.101] parse error at ...".
    std::string what = e.what();
    if (auto colon = what.rfind(": "); colon != std::string::npos) what = what.substr(colon + 2);
    error = fmt::format("not JSON at character {}: {}", position, what);
    return false;
  }
};

std::string Document::parse(std::string_view text) {
  size_ = 0;
  Builder b(*this);
  nlohmann::json::sax_parse(text.begin(), text.end(), &b, nlohmann::json::input_format_t::json,
                            true);
  if (!b.error.empty()) return b.error;
  if (size_ == 0) return "empty: no JSON value";
  return {};
}

}  // namespace runnel::json

#include "runnel/csv.hpp"

namespace runnel::csv {

std::string split_line(std::string_view line, std::vector<std::string_view>& fields,
                       std::string& scratch) {
  fields.clear();
  scratch.clear();
  // Unquoted fields are views into the line; quoted ones are unescaped into
  // scratch. Reserve so appending never moves what earlier views point at.
  scratch.reserve(line.size());
  std::size_t i = 0;
  while (true) {
    if (i < line.size() && line[i] == '"') {
      std::size_t begin = scratch.size();
      ++i;
      while (true) {
        if (i >= line.size()) return "a quoted field is not closed";
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            scratch += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        scratch += line[i++];
      }
      fields.emplace_back(scratch.data() + begin, scratch.size() - begin);
      if (i == line.size()) return {};
      if (line[i] != ',')
        return "unexpected text after a closing quote at byte " + std::to_string(i + 1);
      ++i;
    } else {
      std::size_t comma = line.find(',', i);
      if (comma == std::string_view::npos) {
        fields.push_back(line.substr(i));
        return {};
      }
      fields.push_back(line.substr(i, comma - i));
      i = comma + 1;
    }
  }
}

void append_field(std::string& out, std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(s);
    return;
  }
  out += '"';
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

}  // namespace runnel::csv

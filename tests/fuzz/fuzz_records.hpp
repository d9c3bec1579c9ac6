#pragma once
// Record types the fuzz targets decode into: every kind of field the CSV,
// JSON and Coder<T> formats map (integers of both signs, doubles, booleans,
// strings, a nested struct; for JSON and Coder<T> also optionals and
// vectors).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runnel/fields.hpp"

namespace runnel::fuzz {

struct Place {
  std::string city;
  double lat = 0;
};
RUNNEL_FIELDS(Place, city, lat);

// Flat columns (a nested struct is flattened into its columns in CSV).
struct Row {
  std::int64_t id = 0;
  std::uint32_t count = 0;
  double price = 0;
  bool flag = false;
  std::string name;
  Place place;
};
RUNNEL_FIELDS(Row, id, count, price, flag, name, place);

struct Doc {
  std::int64_t id = 0;
  std::string name;
  std::optional<double> score;
  std::vector<std::string> tags;
  std::vector<Place> places;
  bool ok = false;
};
RUNNEL_FIELDS(Doc, id, name, score, tags, places, ok);

}  // namespace runnel::fuzz

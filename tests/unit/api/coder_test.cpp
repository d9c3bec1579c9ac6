#include "runnel/coder.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "runnel/hash.hpp"

namespace {

struct Reading {
  std::string device;
  std::int64_t time_ms = 0;
  double celsius = 0;
  std::optional<std::string> note;
  bool operator==(const Reading&) const = default;
};
RUNNEL_FIELDS(Reading, device, time_ms, celsius, note);

struct Point {
  int x = 0;
  int y = 0;
  auto fields() { return std::tie(x, y); }
  auto fields() const { return std::tie(x, y); }
  bool operator==(const Point&) const = default;
};

template <class T>
void expect_round_trip(const T& v) {
  std::string bytes = runnel::encode_to_string(v);
  EXPECT_EQ(runnel::decode_from_string<T>(bytes), v);
}

TEST(Coder, Integers) {
  for (std::int64_t v :
       {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{127}, std::int64_t{-128},
        std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()}) {
    expect_round_trip(v);
  }
  expect_round_trip(std::numeric_limits<std::uint64_t>::max());
  expect_round_trip(std::int8_t{-7});
  expect_round_trip(std::uint16_t{65535});
  expect_round_trip(true);
  expect_round_trip(false);
  // Small magnitudes are small on the wire, negative ones too (zigzag).
  EXPECT_EQ(runnel::encode_to_string(std::int64_t{-1}).size(), 1u);
}

TEST(Coder, FloatingPoint) {
  expect_round_trip(3.25);
  expect_round_trip(-0.0f);
  expect_round_trip(std::numeric_limits<double>::infinity());
}

TEST(Coder, StringsWithAnyBytes) {
  expect_round_trip(std::string());
  expect_round_trip(std::string("hello"));
  expect_round_trip(std::string("\0\xff\xfe binary", 10));
  expect_round_trip(std::string(100000, 'x'));
}

TEST(Coder, Containers) {
  expect_round_trip(std::pair<std::string, int>("a", 1));
  expect_round_trip(std::tuple<int, std::string, double>(1, "b", 2.5));
  expect_round_trip(std::vector<std::string>{"a", "", "ccc"});
  expect_round_trip(std::optional<int>());
  expect_round_trip(std::optional<int>(5));
  expect_round_trip(std::map<std::string, std::vector<int>>{{"a", {1, 2}}, {"b", {}}});
  expect_round_trip(std::unordered_map<int, double>{{1, 1.5}, {2, 2.5}});
  expect_round_trip(std::variant<int, std::string>(std::string("v")));
  expect_round_trip(std::variant<int, std::string>(7));
}

TEST(Coder, UserStructs) {
  expect_round_trip(Reading{"dev-1", 1700000000000, 21.5, std::nullopt});
  expect_round_trip(Reading{"dev-2", -5, -3.0, "calibrated"});
  expect_round_trip(Point{3, -4});
  expect_round_trip(std::vector<Reading>{{"a", 1, 1.0, {}}, {"b", 2, 2.0, "n"}});
  EXPECT_EQ(runnel::field_names<Reading>(),
            (std::vector<std::string>{"device", "time_ms", "celsius", "note"}));
}

TEST(Coder, TruncatedOrTrailingInputIsAnError) {
  std::string bytes = runnel::encode_to_string(std::string("hello world"));
  EXPECT_THROW(runnel::decode_from_string<std::string>(bytes.substr(0, 5)), runnel::DecodeError);
  EXPECT_THROW(runnel::decode_from_string<std::string>(bytes + "x"), runnel::DecodeError);
  EXPECT_THROW(runnel::decode_from_string<std::int64_t>(std::string(11, '\xff')),
               runnel::DecodeError);
}

TEST(Hash, EqualValuesHashEqualAndDifferentOnesDiffer) {
  runnel::Hash<std::string> hs;
  EXPECT_EQ(hs("word"), hs(std::string_view("word")));
  EXPECT_NE(hs("word"), hs("wore"));
  runnel::Hash<double> hd;
  EXPECT_EQ(hd(0.0), hd(-0.0));
  runnel::Hash<Reading> hr;
  EXPECT_EQ(hr(Reading{"a", 1, 2, {}}), hr(Reading{"a", 1, 2, {}}));
  EXPECT_NE(hr(Reading{"a", 1, 2, {}}), hr(Reading{"a", 2, 2, {}}));
}

}  // namespace

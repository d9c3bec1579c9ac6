// JSON records (runnel/json.hpp): structs by their field names, nested
// objects, arrays, optional fields, and errors that name the field.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <runnel/json.hpp>

namespace {
using namespace runnel;

struct Place {
  std::string city;
  double lat = 0;
};
RUNNEL_FIELDS(Place, city, lat);

struct Person {
  std::int64_t id = 0;
  std::string name;
  bool active = false;
  std::optional<std::int32_t> age;
  std::vector<std::string> tags;
  Place home;
  bool operator==(const Person&) const = default;
};
bool operator==(const Place& a, const Place& b) { return a.city == b.city && a.lat == b.lat; }
RUNNEL_FIELDS(Person, id, name, active, age, tags, home);

TEST(Json, EncodesFieldsByName) {
  Person p{7, "Ann \"A\"\n", true, std::nullopt, {"x", "y"}, {"Oslo", 59.9}};
  EXPECT_EQ(json::to_json(p),
            R"({"id":7,"name":"Ann \"A\"\n","active":true,"age":null,"tags":["x","y"],)"
            R"("home":{"city":"Oslo","lat":59.9}})");
  EXPECT_EQ(json::to_json(std::string("a\x01")), "\"a\\u0001\"");
  EXPECT_EQ(json::to_json(std::vector<double>{1.5, std::nan("")}), "[1.5,null]");
}

TEST(Json, DecodesWhatItEncodes) {
  Person p{-3, "Bo", false, 41, {}, {"Köln", -1.25}};
  Person back;
  EXPECT_EQ(json::from_json(json::to_json(p), back), "");
  EXPECT_EQ(back, p);
}

// Found by tests/fuzz/json_fuzz: -0.0 was written "-0", which reads back as
// the integer 0, so a record did not read back as itself.
TEST(Json, NegativeZeroReadsBackAsItself) {
  EXPECT_EQ(json::to_json(-0.0), "-0.0");
  Place back;
  EXPECT_EQ(json::from_json(json::to_json(Place{"Null Island", -0.0}), back), "");
  EXPECT_EQ(back.lat, 0.0);
  EXPECT_TRUE(std::signbit(back.lat));
  EXPECT_EQ(json::to_json(0.0), "0");
}

TEST(Json, ReadingIsLenientWhereProducersDiffer) {
  Person p;
  // Keys in any order, unknown keys (even nested objects) ignored, a number as a string,
  // an optional field absent.
  EXPECT_EQ(json::from_json(R"({"home":{"lat":"1.5","city":"X","zip":1},"extra":{"a":[1,2]},)"
                            R"("tags":["t"],"active":true,"name":"N","id":"12"})",
                            p),
            "");
  EXPECT_EQ(p.id, 12);
  EXPECT_EQ(p.home.lat, 1.5);
  EXPECT_EQ(p.tags, std::vector<std::string>{"t"});
  EXPECT_FALSE(p.age.has_value());
}

TEST(Json, ErrorsNameTheField) {
  Person p;
  auto err = [&](std::string_view text) { return json::from_json(text, p); };
  EXPECT_EQ(err(R"({"id":1,"name":"a","active":true,"tags":[],"home":{"city":"c"}})"),
            "field 'home.lat': missing");
  EXPECT_EQ(err(R"({"id":"x1","name":"a","active":true,"tags":[],"home":{"city":"c","lat":1}})"),
            "field 'id': 'x1' is not an integer");
  EXPECT_EQ(err(R"({"id":1,"name":"a","active":null,"tags":[],"home":{"city":"c","lat":1}})"),
            "field 'active': null, expected a boolean");
  EXPECT_EQ(err(R"({"id":1,"name":"a","active":true,"tags":{},"home":{"city":"c","lat":1}})"),
            "field 'tags': an object, expected an array");
  EXPECT_EQ(err(R"({"id":1,"name":"a","active":true,"tags":[],"home":3})"),
            "field 'home': a number, expected an object");
  EXPECT_NE(err(R"({"id":1,)").find("not JSON at character"), std::string::npos)
      << err("{\"id\":1,");
  EXPECT_NE(err("").find("not JSON"), std::string::npos);
  EXPECT_NE(err(R"({"id":1} trailing)").find("not JSON"), std::string::npos);
}

TEST(Json, TopLevelScalarsAndAReusedDocument) {
  json::Document doc;
  std::int64_t n = 0;
  EXPECT_EQ(json::from_json("42", n, doc), "");
  EXPECT_EQ(n, 42);
  std::string s;
  EXPECT_EQ(json::from_json(R"("a\u00e9\"")", s, doc), "");
  EXPECT_EQ(s, "a\xc3\xa9\"");
  Place pl;
  EXPECT_EQ(json::from_json(R"({"city":"c","lat":2})", pl, doc), "");
  EXPECT_EQ(json::from_json(R"({"city":"d"})", pl, doc), "field 'lat': missing");
}

// Any ASCII text (control characters included) and any numbers round-trip.
// (JSON text is UTF-8: bytes that are not are a producer's error, rejected on reading.)
RC_GTEST_PROP(JsonProperty, AnyPersonRoundTrips, ()) {
  auto text = [] { return *rc::gen::container<std::string>(rc::gen::inRange<char>(0, 127)); };
  Person p;
  p.id = *rc::gen::arbitrary<std::int64_t>();
  p.name = text();
  p.active = *rc::gen::arbitrary<bool>();
  if (*rc::gen::arbitrary<bool>()) p.age = *rc::gen::arbitrary<std::int32_t>();
  for (int n = *rc::gen::inRange(0, 4); n > 0; --n) p.tags.push_back(text());
  p.home = {text(), *rc::gen::arbitrary<double>()};
  if (!std::isfinite(p.home.lat)) p.home.lat = 0;
  Person back;
  RC_ASSERT(json::from_json(json::to_json(p), back) == "");
  RC_ASSERT(back == p);
}

}  // namespace

#include "runnel/csv.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {
using namespace runnel;

std::vector<std::string> split(std::string_view line, std::string* err = nullptr) {
  std::vector<std::string_view> cols;
  std::string scratch;
  std::string e = csv::split_line(line, cols, scratch);
  if (err) *err = e;
  return {cols.begin(), cols.end()};
}

TEST(Csv, SplitsPlainAndQuotedFields) {
  EXPECT_EQ(split("a,b,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(split(""), (std::vector<std::string>{""}));
  EXPECT_EQ(split("a,,"), (std::vector<std::string>{"a", "", ""}));
  EXPECT_EQ(split("\"x,y\",\"say \"\"hi\"\"\",z"),
            (std::vector<std::string>{"x,y", "say \"hi\"", "z"}));
  EXPECT_EQ(split("\"\",\"a\""), (std::vector<std::string>{"", "a"}));
}

TEST(Csv, ReportsBrokenQuoting) {
  std::string err;
  split("\"open", &err);
  EXPECT_EQ(err, "a quoted field is not closed");
  split("\"a\"b,c", &err);
  EXPECT_NE(err.find("after a closing quote"), std::string::npos);
}

TEST(Csv, ParsesTypedRecords) {
  std::vector<std::string_view> cols;
  std::string scratch;
  std::tuple<std::string, int, double, bool, std::optional<int>> t;
  EXPECT_EQ(csv::parse_record("name, 42 ,2.5,true,", t, cols, scratch), "");
  EXPECT_EQ(t, std::make_tuple(std::string("name"), 42, 2.5, true, std::optional<int>()));

  std::pair<int, unsigned> p;
  EXPECT_EQ(csv::parse_record("1,2,3", p, cols, scratch), "expected 2 columns, found 3");
  EXPECT_EQ(csv::parse_record("x,2", p, cols, scratch), "column 1: 'x' is not an integer");
  EXPECT_EQ(csv::parse_record("1,-2", p, cols, scratch),
            "column 2: '-2' is not a non-negative integer");
  EXPECT_EQ(csv::parse_record("1,99999999999", p, cols, scratch),
            "column 2: '99999999999' is not a non-negative integer in range");
  std::string s;
  EXPECT_EQ(csv::parse_record("\"a,b\"", s, cols, scratch), "");
  EXPECT_EQ(s, "a,b");
}

TEST(Csv, FormatsRecordsAndQuotesWhenNeeded) {
  std::string out;
  csv::append_record(out, std::make_pair(std::string("hello, world"), 3));
  EXPECT_EQ(out, "\"hello, world\",3");
  out.clear();
  csv::append_record(out, std::make_tuple(1.5, std::string("q\"t"), false, std::optional<int>()));
  EXPECT_EQ(out, "1.5,\"q\"\"t\",false,");
  out.clear();
  csv::append_record(out, std::make_pair(std::string("k"), std::vector<int>{1, 2, 3}));
  EXPECT_EQ(out, "k,1;2;3");
}

TEST(Csv, FormattedRecordsParseBack) {
  std::tuple<std::string, long, double> in{"a \"quoted\", text", -17, 0.125}, back;
  std::string line;
  csv::append_record(line, in);
  std::vector<std::string_view> cols;
  std::string scratch;
  ASSERT_EQ(csv::parse_record(line, back, cols, scratch), "");
  EXPECT_EQ(back, in);
}

}  // namespace

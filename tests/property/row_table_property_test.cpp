// RowTable (the memory backend's rows) against std::unordered_map: random
// inserts, finds and erases give the same contents, with a hash so weak that
// probe runs are long and wrap around the slot array, and with enough rows
// to span several entry chunks and slot-array growths; the marks of the
// entries (rows changed since a checkpoint) stay with their keys as erases
// move entries; and a frozen view (a checkpoint's, read while the table
// changes on) keeps the entries and marks of its moment.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "runnel/detail/row_table.hpp"

namespace {
using runnel::detail::RowTable;

// Few distinct homes: runs of keys share a slot's neighbourhood.
struct WeakHash {
  std::uint64_t operator()(std::int64_t k) const {
    return static_cast<std::uint64_t>(k % 7) * 0x100000001ULL;
  }
};
struct GoodHash {
  std::uint64_t operator()(std::int64_t k) const {
    return static_cast<std::uint64_t>(k) * 0x9e3779b97f4a7c15ULL;
  }
};

template <class Hash>
// One in freeze_one_in of the freeze ops freezes (each copies the model).
void check_against_map(const std::vector<std::pair<int, std::int64_t>>& ops, int freeze_one_in) {
  using Table = RowTable<std::int64_t, std::string, Hash>;
  Table t;
  std::unordered_map<std::int64_t, std::string> want;
  std::set<std::int64_t> want_marked;
  // The last freeze, and what the table held then.
  std::atomic<std::uint64_t> released{0};
  std::uint64_t epoch = 0;
  std::optional<typename Table::Frozen> frozen;
  std::unordered_map<std::int64_t, std::string> frozen_want;
  std::set<std::int64_t> frozen_marked;
  bool frozen_all = false;
  auto check_frozen = [&] {
    if (!frozen) return;
    RC_ASSERT(frozen->size() == frozen_want.size());
    std::set<std::int64_t> marked;
    frozen->for_each_marked([&](std::size_t i) {
      RC_ASSERT(i < frozen->size());
      RC_ASSERT(frozen->captured(i));
      marked.insert(frozen->entry(i).key);
      RC_ASSERT(frozen->entry(i).value == frozen_want.at(frozen->entry(i).key));
    });
    RC_ASSERT(marked == frozen_marked);
    if (frozen_all) {
      std::set<std::int64_t> keys;
      for (std::size_t i = 0; i < frozen->size(); ++i) {
        RC_ASSERT(frozen->captured(i));
        const auto it = frozen_want.find(frozen->entry(i).key);
        RC_ASSERT(it != frozen_want.end());
        RC_ASSERT(it->second == frozen->entry(i).value);
        keys.insert(it->first);
      }
      RC_ASSERT(keys.size() == frozen_want.size());
    }
    released = epoch;  // the reader is done: the table changes in place again
    frozen.reset();
  };
  for (const auto& [op, key] : ops) {
    const std::uint64_t h = Hash{}(key);
    if (op < 30) {  // insert or update, marked or not
      auto [i, inserted] = t.find_or_insert(
          key, h, [&] { return key; }, [] { return std::string(); });
      RC_ASSERT(inserted == (want.count(key) == 0));
      t.entry(i).value += "x";
      want[key] += "x";
      if (op < 15) {
        t.mark(i);
        want_marked.insert(key);
      }
    } else if (op < 39) {  // erase if present
      const std::size_t i = t.find(key, h);
      RC_ASSERT((i == t.npos) == (want.count(key) == 0));
      if (i != t.npos) {
        t.erase(i);
        want.erase(key);
        want_marked.erase(key);
      }
    } else if (op == 39 || key % freeze_one_in != 0) {  // a checkpoint
      t.clear_marks();
      want_marked.clear();
    } else {  // a checkpoint whose log is written while the table changes on
      check_frozen();
      frozen = t.freeze(++epoch, released, op == 40);
      frozen_want = want;
      frozen_marked = want_marked;
      frozen_all = op == 40;
      want_marked.clear();
    }
  }
  check_frozen();
  std::set<std::int64_t> marked;
  t.for_each_marked([&](std::size_t i) {
    RC_ASSERT(i < t.size());
    RC_ASSERT(t.marked(i));
    marked.insert(t.entry(i).key);
  });
  RC_ASSERT(marked == want_marked);
  RC_ASSERT(t.size() == want.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto it = want.find(t.entry(i).key);
    RC_ASSERT(it != want.end());
    RC_ASSERT(it->second == t.entry(i).value);
    RC_ASSERT(t.find(t.entry(i).key, Hash{}(t.entry(i).key)) == i);
    RC_ASSERT(t.marked(i) == (want_marked.count(t.entry(i).key) != 0));
  }
}

// Keys from a small range so that inserts, updates and erases meet.
std::vector<std::pair<int, std::int64_t>> random_ops(int keys, int max_len) {
  const auto len = static_cast<std::size_t>(*rc::gen::inRange(0, max_len));
  return *rc::gen::container<std::vector<std::pair<int, std::int64_t>>>(
      len, rc::gen::pair(rc::gen::inRange(0, 42), rc::gen::inRange<std::int64_t>(0, keys)));
}

RC_GTEST_PROP(RowTable, WeakHashAgreesWithAMap, ()) {
  check_against_map<WeakHash>(random_ops(300, 2000), 1);
}

RC_GTEST_PROP(RowTable, ManyRowsAgreeWithAMap, ()) {
  check_against_map<GoodHash>(random_ops(60000, 80000), 100);
}

}  // namespace

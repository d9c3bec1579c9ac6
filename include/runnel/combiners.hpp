#pragma once
// Ready-made CombineFns: count, sum, min, max, mean, top_k, to_list.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <utility>
#include <vector>

#include "runnel/combine_fn.hpp"

namespace runnel::combiners {

struct Count {
  using Accumulator = std::uint64_t;
  std::uint64_t create_accumulator() const { return 0; }
  template <class V>
  void add_input(std::uint64_t& acc, const V&) const {
    ++acc;
  }
  void merge_accumulators(std::uint64_t& acc, std::uint64_t&& other) const { acc += other; }
  std::uint64_t extract_output(std::uint64_t&& acc) const { return acc; }
};

template <class V>
struct Sum {
  using Accumulator = V;
  V create_accumulator() const { return V{}; }
  void add_input(V& acc, const V& v) const { acc += v; }
  void merge_accumulators(V& acc, V&& other) const { acc += other; }
  V extract_output(V&& acc) const { return acc; }
};

// Min and Max keep an optional so an empty group has no made-up value.
template <class V, class Less = std::less<V>>
struct Min {
  using Accumulator = std::optional<V>;
  Accumulator create_accumulator() const { return std::nullopt; }
  void add_input(Accumulator& acc, const V& v) const {
    if (!acc || Less{}(v, *acc)) acc = v;
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    if (other) add_input(acc, *other);
  }
  V extract_output(Accumulator&& acc) const { return acc ? std::move(*acc) : V{}; }
};

template <class V>
struct Max {
  using Accumulator = std::optional<V>;
  Accumulator create_accumulator() const { return std::nullopt; }
  void add_input(Accumulator& acc, const V& v) const {
    if (!acc || *acc < v) acc = v;
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    if (other) add_input(acc, *other);
  }
  V extract_output(Accumulator&& acc) const { return acc ? std::move(*acc) : V{}; }
};

template <class V>
struct Mean {
  using Accumulator = std::pair<double, std::uint64_t>;  // sum, count
  Accumulator create_accumulator() const { return {0.0, 0}; }
  void add_input(Accumulator& acc, const V& v) const {
    acc.first += static_cast<double>(v);
    ++acc.second;
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    acc.first += other.first;
    acc.second += other.second;
  }
  double extract_output(Accumulator&& acc) const {
    return acc.second == 0 ? 0.0 : acc.first / static_cast<double>(acc.second);
  }
};

// The k largest values (by Less), largest first. Ties keep the larger by value.
template <class V, class Less = std::less<V>>
struct TopK {
  std::size_t k = 10;
  using Accumulator = std::vector<V>;  // a min-heap of at most k values
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const V& v) const {
    auto greater = [](const V& a, const V& b) { return Less{}(b, a); };
    if (acc.size() < k) {
      acc.push_back(v);
      std::push_heap(acc.begin(), acc.end(), greater);
    } else if (k > 0 && Less{}(acc.front(), v)) {
      std::pop_heap(acc.begin(), acc.end(), greater);
      acc.back() = v;
      std::push_heap(acc.begin(), acc.end(), greater);
    }
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    for (auto& v : other) add_input(acc, v);
  }
  std::vector<V> extract_output(Accumulator&& acc) const {
    std::sort(acc.begin(), acc.end(), [](const V& a, const V& b) { return Less{}(b, a); });
    return std::move(acc);
  }
};

// Every value of the group: what group_by_key is built on. Pre-aggregating a
// list saves nothing, so it is never lifted.
template <class V>
struct ToList {
  using Accumulator = std::vector<V>;
  static constexpr bool kLiftable = false;
  static constexpr bool kAccumulatesInputs = true;
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, const V& v) const { acc.push_back(v); }
  void add_input(Accumulator& acc, V&& v) const { acc.push_back(std::move(v)); }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    if (acc.empty()) {
      acc = std::move(other);
    } else {
      acc.insert(acc.end(), std::make_move_iterator(other.begin()),
                 std::make_move_iterator(other.end()));
    }
  }
  std::vector<V> extract_output(Accumulator&& acc) const { return std::move(acc); }
};

// co_group_by_key's grouping: the values of each side, side by side.
template <class V1, class V2>
struct ConcatSides {
  using Accumulator = std::pair<std::vector<V1>, std::vector<V2>>;
  static constexpr bool kLiftable = false;
  static constexpr bool kAccumulatesInputs = true;
  Accumulator create_accumulator() const { return {}; }
  void add_input(Accumulator& acc, Accumulator&& v) const { merge_accumulators(acc, std::move(v)); }
  void add_input(Accumulator& acc, const Accumulator& v) const {
    acc.first.insert(acc.first.end(), v.first.begin(), v.first.end());
    acc.second.insert(acc.second.end(), v.second.begin(), v.second.end());
  }
  void merge_accumulators(Accumulator& acc, Accumulator&& other) const {
    ToList<V1>{}.merge_accumulators(acc.first, std::move(other.first));
    ToList<V2>{}.merge_accumulators(acc.second, std::move(other.second));
  }
  Accumulator extract_output(Accumulator&& acc) const { return std::move(acc); }
};

}  // namespace runnel::combiners

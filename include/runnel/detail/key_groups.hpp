#pragma once
// Keys hash into a fixed number of key groups (the max parallelism); key
// groups, not keys, are assigned to parallel instances, in contiguous ranges,
// so rescaling is a reassignment of key groups (as in Flink).
#include <cstdint>

#include "runnel/hash.hpp"

namespace runnel {

// The most key groups a job may have (Flink's limit too).
constexpr int kMaxKeyGroups = 32768;

inline int key_group_of(std::uint64_t key_hash, int max_parallelism) {
  // Re-mix so key groups do not correlate with the low bits hash tables use.
  return static_cast<int>(hash_mix(key_hash ^ 0x6b657967726f7570ULL) %
                          static_cast<std::uint64_t>(max_parallelism));
}

inline int instance_of_key_group(int key_group, int parallelism, int max_parallelism) {
  return key_group * parallelism / max_parallelism;
}

// The key groups instance `instance` of `parallelism` owns: [first, last]
// (the inverse of instance_of_key_group; empty when last < first).
inline int first_key_group(int instance, int parallelism, int max_parallelism) {
  return (instance * max_parallelism + parallelism - 1) / parallelism;
}
inline int last_key_group(int instance, int parallelism, int max_parallelism) {
  return first_key_group(instance + 1, parallelism, max_parallelism) - 1;
}

// The key groups one run of a job owns: [first, first + count). A job in one
// process owns all of them; a member of a job spread over shares owns its
// share's, and spreads those (not all of them) over its parallel instances,
// so every instance gets some whatever the number of shares.
struct KeyGroupRange {
  int first = 0;
  int count = 0;

  static KeyGroupRange all(int max_parallelism) { return {0, max_parallelism}; }
  // Share `share` of `shares`: the groups a keyed exchange between shares
  // sends it (instance_of_key_group over the shares).
  static KeyGroupRange of_share(int share, int shares, int max_parallelism) {
    const int lo = first_key_group(share, shares, max_parallelism);
    return {lo, last_key_group(share, shares, max_parallelism) - lo + 1};
  }

  int last() const { return first + count - 1; }
  bool contains(int key_group) const { return key_group >= first && key_group <= last(); }
  // Which of `parallelism` instances owns `key_group` (one of this range).
  int instance_of(int key_group, int parallelism) const {
    return instance_of_key_group(key_group - first, parallelism, count);
  }
  // The groups instance `instance` of `parallelism` owns: [first_of, last_of].
  int first_of(int instance, int parallelism) const {
    return first + first_key_group(instance, parallelism, count);
  }
  int last_of(int instance, int parallelism) const {
    return first + last_key_group(instance, parallelism, count);
  }
  bool operator==(const KeyGroupRange&) const = default;
};

}  // namespace runnel

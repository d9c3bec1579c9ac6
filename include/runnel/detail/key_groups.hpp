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

}  // namespace runnel

#pragma once
// Unit: the one key of a global combine (every element in one group).
#include "runnel/coder.hpp"
#include "runnel/hash.hpp"

namespace runnel {

struct Unit {
  bool operator==(const Unit&) const = default;
};

template <>
struct Hash<Unit> {
  std::uint64_t operator()(const Unit&) const noexcept { return 0x756e6974; }
};

template <>
struct Coder<Unit> {
  static void encode(const Unit&, ByteWriter&) {}
  static Unit decode(ByteReader&) { return {}; }
};
template <>
struct CoderDefined<Unit> : std::true_type {};

}  // namespace runnel

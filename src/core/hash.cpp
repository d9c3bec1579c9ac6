#include "runnel/hash.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace runnel {

std::uint64_t hash_bytes(const void* data, std::size_t len) noexcept {
  return XXH3_64bits(data, len);
}

}  // namespace runnel

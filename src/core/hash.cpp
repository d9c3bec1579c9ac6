#include "runnel/hash.hpp"

#include <memory>

#include "core/bytes_hasher.hpp"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace runnel {

std::uint64_t hash_bytes(const void* data, std::size_t len) noexcept {
  return XXH3_64bits(data, len);
}

struct BytesHasher::State {
  XXH3_state_t xxh;
};

BytesHasher::BytesHasher() : state_(std::make_unique<State>()) { reset(); }
BytesHasher::~BytesHasher() = default;
void BytesHasher::reset() { XXH3_64bits_reset(&state_->xxh); }
void BytesHasher::update(const void* data, std::size_t len) {
  XXH3_64bits_update(&state_->xxh, data, len);
}
std::uint64_t BytesHasher::digest() const { return XXH3_64bits_digest(&state_->xxh); }

}  // namespace runnel

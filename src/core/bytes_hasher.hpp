#pragma once
// hash_bytes (runnel/hash.hpp) of bytes that come in pieces: digest() is
// hash_bytes of all the pieces given to update(), one after the other. A
// file's checksum computed as it is written, not by reading it back.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace runnel {

class BytesHasher {
 public:
  BytesHasher();
  ~BytesHasher();
  BytesHasher(const BytesHasher&) = delete;
  BytesHasher& operator=(const BytesHasher&) = delete;
  void reset();
  void update(const void* data, std::size_t len);
  std::uint64_t digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace runnel

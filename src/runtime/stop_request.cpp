#include "runtime/stop_request.hpp"

namespace runnel::runtime {

std::atomic<std::uint64_t>& stop_requests() {
  static std::atomic<std::uint64_t> requests{0};
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "raised from a signal handler");
  return requests;
}

std::atomic<std::uint64_t>& savepoint_requests() {
  static std::atomic<std::uint64_t> requests{0};
  return requests;
}

}  // namespace runnel::runtime

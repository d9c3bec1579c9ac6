#include "runtime/stop_request.hpp"

namespace runnel::runtime {

std::atomic<bool>& stop_request() {
  static std::atomic<bool> requested{false};
  static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");
  return requested;
}

}  // namespace runnel::runtime

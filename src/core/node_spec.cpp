#include "runnel/detail/node_spec.hpp"

namespace runnel {

const char* to_string(ExchangeKind kind) {
  switch (kind) {
    case ExchangeKind::kForward:
      return "forward";
    case ExchangeKind::kHash:
      return "hash(key group)";
    case ExchangeKind::kRebalance:
      return "rebalance";
    case ExchangeKind::kBroadcast:
      return "broadcast";
  }
  return "?";
}

}  // namespace runnel

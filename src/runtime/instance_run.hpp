#pragma once
// One parallel instance of a task as the executor built it: its operators,
// the adapters between them, its exchanges and what its thread keeps while it
// runs. Private to the executor's files.
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/job_metrics.hpp"
#include "runnel/detail/operator.hpp"
#include "runtime/exchange.hpp"

namespace runnel::runtime {

struct InstanceRun {
  int task = 0;
  int instance = 0;
  InstanceFigures* figures = nullptr;  // its counters, watermarks, busy time
  std::vector<std::unique_ptr<OperatorInstance>> ops;
  std::vector<std::unique_ptr<Output>> outputs;  // owned adapters
  std::vector<std::vector<Output*>> ports;       // per op: its output ports, as instantiated
  std::vector<ExchangeOutput*> exchanges;
  std::vector<int> exchange_owner;         // per exchange: the op that feeds it
  std::vector<int> producer;               // per op: the fused op feeding it (-1: the head)
  std::vector<Timestamp> op_watermarks;    // per op: its output watermark
  std::vector<char> op_idle;               // per op: its input went quiet
  std::vector<int> expected_end_of_input;  // per head input
  int num_channels = 0;                    // producer instances feeding this instance
  std::vector<std::optional<RestoredState>> restore;  // per op, when restoring
  std::int64_t injected = 0;                          // sources: the last barrier sent
  double restore_seconds = 0;                         // its operators' restore() calls
};

}  // namespace runnel::runtime

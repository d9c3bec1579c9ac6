#pragma once
// Counts an operator instance keeps while it runs. One thread writes each
// (the instance's own), once per batch; the metrics endpoint reads them from
// another thread while the job runs. So a count is an atomic that its writer
// updates with a relaxed load and store: no locked instruction, no lock, and
// a reader sees a recent value.
#include <atomic>
#include <cstdint>
#include <string>

namespace runnel {

class Counter {
 public:
  Counter() = default;
  Counter(const Counter& other) : value_(other.get()) {}
  Counter& operator=(const Counter& other) { return *this = other.get(); }
  Counter& operator=(std::uint64_t v) {
    value_.store(v, std::memory_order_relaxed);
    return *this;
  }
  // Only the owning thread adds: a load and a store, not a read-modify-write.
  Counter& operator+=(std::uint64_t n) { return *this = get() + n; }
  std::uint64_t get() const { return value_.load(std::memory_order_relaxed); }
  operator std::uint64_t() const { return get(); }  // NOLINT: reads like the integer it was

 private:
  std::atomic<std::uint64_t> value_{0};
};

// Counters an instance bumps once per batch. Sources count what they emit in
// records_out, sinks what they take in records_in; the executor counts the
// rest at the batch boundaries between operators.
struct InstanceCounters {
  Counter records_in;
  Counter records_out;
  Counter bytes_in;   // sources: bytes read (files, Kafka values)
  Counter bytes_out;  // sinks: bytes written, where known
  Counter dead_letters;
  Counter spilled_bytes;
  Counter late_records;  // later than the allowed lateness: sent to the late output
  Counter state_bytes;   // the instance's last checkpoint snapshot of this operator
};

// Figures an operator reports now and then beside its counters, such as a
// Kafka source's lag per partition: a few times a second at most, never per
// batch (a call here may take a lock).
class FigureReporter {
 public:
  virtual ~FigureReporter() = default;
  // Records in `topic`/`partition` after the source's position.
  virtual void set_consumer_lag(const std::string& topic, int partition, std::int64_t records) = 0;
};

}  // namespace runnel

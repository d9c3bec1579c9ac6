#pragma once
// How a keyed exchange routes records: a typed object made by the API layer,
// called once per batch by the runtime's exchange.
#include <memory>
#include <vector>

#include "runnel/detail/batch.hpp"
#include "runnel/detail/key_groups.hpp"

namespace runnel {

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  // Moves every value of `in` to outs[instance owning its key group].
  // outs holds one batch of the right type per target instance.
  virtual void split(BatchBase& in, std::vector<BatchPtr>& outs, int max_parallelism) const = 0;
};

// Routes a Batch<T> by Hash<K> of key_of(value).
template <class T, class KeyOf>
class KeyPartitioner final : public Partitioner {
 public:
  explicit KeyPartitioner(KeyOf key_of) : key_of_(std::move(key_of)) {}
  void split(BatchBase& in, std::vector<BatchPtr>& outs, int max_parallelism) const override {
    auto& values = batch_cast<T>(in).values;
    const int n = static_cast<int>(outs.size());
    const bool timed = in.timed();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto& key = key_of_(values[i]);
      using K = std::decay_t<decltype(key)>;
      int kg = key_group_of(Hash<K>{}(key), max_parallelism);
      int target = instance_of_key_group(kg, n, max_parallelism);
      auto& out = static_cast<Batch<T>&>(*outs[target]);
      out.values.push_back(std::move(values[i]));
      if (timed) {
        out.timestamps.push_back(in.timestamps[i]);
        out.windows.push_back(in.windows[i]);
      }
    }
    in.clear();
  }

 private:
  KeyOf key_of_;
};

}  // namespace runnel

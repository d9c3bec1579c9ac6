#pragma once
// How a keyed exchange routes records: a typed object made by the API layer,
// called once per batch by the runtime's exchange.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runnel/detail/batch.hpp"
#include "runnel/detail/batch_coder.hpp"
#include "runnel/detail/key_groups.hpp"

namespace runnel {

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  // Moves every value of `in` to outs[instance owning its key group], the
  // key groups of `range` (of all max_parallelism) spread over the targets.
  // outs holds one batch of the right type per target instance.
  virtual void split(BatchBase& in, std::vector<BatchPtr>& outs, int max_parallelism,
                     const KeyGroupRange& range) const = 0;

  // A job spread over members sends a keyed exchange between its shards
  // through Kafka, as bytes: whether the records' type has a Coder, and a
  // batch to bytes and back.
  virtual bool encodable() const { return false; }
  virtual void encode(const BatchBase& /*batch*/, std::string& /*out*/) const {}
  virtual BatchPtr decode(std::string_view /*bytes*/) const { return nullptr; }
};

// Routes a Batch<T> by Hash<K> of key_of(value).
template <class T, class KeyOf>
class KeyPartitioner final : public Partitioner {
 public:
  explicit KeyPartitioner(KeyOf key_of) : key_of_(std::move(key_of)) {}
  void split(BatchBase& in, std::vector<BatchPtr>& outs, int max_parallelism,
             const KeyGroupRange& range) const override {
    auto& values = batch_cast<T>(in).values;
    const int n = static_cast<int>(outs.size());
    const bool timed = in.timed();
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto& key = key_of_(values[i]);
      using K = std::decay_t<decltype(key)>;
      int kg = key_group_of(Hash<K>{}(key), max_parallelism);
      int target = range.instance_of(kg, n);
      auto& out = static_cast<Batch<T>&>(*outs[target]);
      out.values.push_back(std::move(values[i]));
      if (timed) {
        out.timestamps.push_back(in.timestamps[i]);
        out.windows.push_back(in.windows[i]);
      }
    }
    in.clear();
  }

  bool encodable() const override { return coder_defined_v<T>; }
  void encode(const BatchBase& batch, std::string& out) const override {
    if constexpr (coder_defined_v<T>) {
      ByteWriter w(out);
      detail::encode_batch(static_cast<const Batch<T>&>(batch), w);
    }
  }
  BatchPtr decode(std::string_view bytes) const override {
    if constexpr (coder_defined_v<T>) {
      ByteReader r(bytes);
      return detail::decode_batch<T>(r);
    } else {
      return nullptr;
    }
  }

 private:
  KeyOf key_of_;
};

}  // namespace runnel

#pragma once
// A hash aggregation that stays inside a memory budget: when the table grows
// past it, every entry goes to one of 16 partition files (by hash bits) and
// the table is cleared. At the end each partition is aggregated on its own,
// recursively with the next hash bits if one partition is still too big
// (grace hash aggregation). Accumulators are merged with the CombineFn, so the
// result is the same as with unlimited memory.
#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "runnel/coder.hpp"
#include "runnel/combine_fn.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/detail/memory_size.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/spill_file.hpp"
#include "runnel/hash.hpp"

namespace runnel::detail {

template <class K, class CF>
class SpillingAggregator {
 public:
  using Acc = typename CF::Accumulator;
  static constexpr int kFanOut = 16;
  static constexpr int kMaxDepth = 8;  // 4 hash bits per level, from the top

  SpillingAggregator(const CF& cf, std::size_t budget, std::filesystem::path dir, std::string name,
                     int depth, InstanceCounters* counters)
      : cf_(cf),
        budget_(budget),
        dir_(std::move(dir)),
        name_(std::move(name)),
        depth_(depth),
        counters_(counters) {}

  ~SpillingAggregator() {
    for (auto& w : writers_) {
      if (w) {
        std::error_code ec;
        std::filesystem::remove(w->path(), ec);
      }
    }
  }

  // Folds one input into the accumulator of `key` (anything hashing and
  // comparing like K). `extra_bytes` is what the accumulator grew by.
  template <class Q, class MakeKey, class AddFn>
  void add(const Q& key, MakeKey&& make_key, AddFn&& add_fn, std::size_t extra_bytes) {
    add_hashed(key, Hash<K>{}(key), make_key, add_fn, extra_bytes);
  }

  // The same, for a key whose hash the caller computed (as Hash<K> would).
  template <class Q, class MakeKey, class AddFn>
  void add_hashed(const Q& key, std::uint64_t h, MakeKey&& make_key, AddFn&& add_fn,
                  std::size_t extra_bytes) {
    auto [acc, inserted] =
        table_.find_or_insert(key, h, make_key, [&] { return cf_.create_accumulator(); });
    add_fn(*acc);
    if (inserted) {
      heap_ += heap_bytes(table_.entries().back().key) + heap_bytes(*acc);
    } else {
      heap_ += extra_bytes;
    }
  }

  // Merges a whole accumulator into that of `key`.
  void merge(K&& key, Acc&& other) {
    std::uint64_t h = Hash<K>{}(key);
    std::size_t other_heap = heap_bytes(other);
    auto [acc, inserted] = table_.find_or_insert(
        key, h, [&] { return std::move(key); }, [&] { return std::move(other); });
    if (inserted) {
      heap_ += heap_bytes(table_.entries().back().key) + other_heap;
    } else {
      if constexpr (combine_fn_accumulates_inputs<CF>()) heap_ += other_heap;
      cf_.merge_accumulators(*acc, std::move(other));
    }
  }

  std::size_t memory_bytes() const { return table_.footprint() + heap_; }

  // Spills if over budget; callers call it once per batch, not per record.
  // A single key cannot be split by hashing, so spilling it would gain nothing.
  void check_budget() {
    if (budget_ != 0 && depth_ < kMaxDepth && table_.size() > 1 && memory_bytes() > budget_)
      spill();
  }

  // Checkpoints: visits every (key, accumulator) held. State past the memory
  // budget (spilled) cannot be checkpointed yet.
  template <class Visit>
  void visit(Visit&& visit) const {
    if (spilled_) {
      throw std::runtime_error(
          "an aggregation grew past its memory budget and spilled to disk; spilled state cannot "
          "be checkpointed yet: raise --memory-budget");
    }
    for (const auto& e : table_.entries()) visit(e.key, e.value);
  }

  // Emits every (key, accumulator) exactly once, then leaves the table empty.
  template <class Emit>
  void finish(Emit&& emit) {
    if (!spilled_) {
      for (auto& e : table_.entries()) emit(std::move(e.key), std::move(e.value));
      table_.clear_and_release();
      heap_ = 0;
      return;
    }
    spill();
    for (int p = 0; p < kFanOut; ++p) {
      if (!writers_[p]) continue;
      auto path = writers_[p]->path();
      writers_[p]->close();
      writers_[p].reset();
      {
        SpillingAggregator child(cf_, budget_, dir_, name_ + "." + std::to_string(p), depth_ + 1,
                                 counters_);
        SpillReader reader(path);
        std::string_view record;
        std::size_t n = 0;
        while (reader.next(record)) {
          ByteReader r(record);
          K key = Coder<K>::decode(r);
          Acc acc = Coder<Acc>::decode(r);
          child.merge(std::move(key), std::move(acc));
          if (++n % 1024 == 0) child.check_budget();
        }
        child.finish(emit);
      }
      std::filesystem::remove(path);
    }
    spilled_ = false;
  }

 private:
  int partition_of(std::uint64_t h) const {
    return static_cast<int>((h >> (60 - 4 * depth_)) & (kFanOut - 1));
  }

  void spill() {
    spilled_ = true;
    const auto& hashes = table_.hashes();
    auto& entries = table_.entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      int p = partition_of(hashes[i]);
      if (!writers_[p]) {
        std::filesystem::create_directories(dir_);
        writers_[p] = std::make_unique<SpillWriter>(
            dir_ / (name_ + "-d" + std::to_string(depth_) + "-p" + std::to_string(p) + ".spill"));
      }
      record_.clear();
      ByteWriter w(record_);
      Coder<K>::encode(entries[i].key, w);
      Coder<Acc>::encode(entries[i].value, w);
      writers_[p]->append(record_);
      if (counters_) counters_->spilled_bytes += record_.size();
    }
    table_.clear_and_release();
    heap_ = 0;
  }

  CF cf_;
  std::size_t budget_;
  std::filesystem::path dir_;
  std::string name_;
  int depth_;
  InstanceCounters* counters_;
  FlatTable<K, Acc> table_;
  std::size_t heap_ = 0;
  bool spilled_ = false;
  std::array<std::unique_ptr<SpillWriter>, kFanOut> writers_;
  std::string record_;
};

}  // namespace runnel::detail

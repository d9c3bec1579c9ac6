#pragma once
// distinct(): each element once per window (Beam's Distinct; Flink's
// deduplication that keeps the first row). Keyed by the element itself, so
// every copy of it meets in one instance. The first copy is emitted at once, in
// its window, with the window's last instant (end - 1) as its time (the same in batch and
// streaming mode, whatever order the copies arrive in); later copies are
// dropped. A window's set is dropped once the watermark passes its end plus
// the allowed lateness: a copy later than that is late data, which
// window_into already sent to the late output. In the global window the set
// lives as long as the job (state grows with the distinct elements).
//
// Checkpoints: keyed state, by key group (the element's), format version 1:
// [version] then (window, element) pairs. Memory state only, with either
// --state-backend: see the structure issue's keyed-state backend.
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runnel/batch.hpp"
#include "runnel/coder.hpp"
#include "runnel/detail/flat_table.hpp"
#include "runnel/hash.hpp"
#include "runnel/key_groups.hpp"
#include "runnel/operator.hpp"
#include "runnel/unit.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

template <class T>
class DistinctOp final : public Operator {
 public:
  static constexpr std::uint64_t kFormatVersion = 1;

  explicit DistinctOp(std::int64_t allowed_lateness_ms) : lateness_(allowed_lateness_ms) {}
  CheckpointSupport checkpoint_support() const override {
    return coder_defined_v<T> ? CheckpointSupport::kStateful : CheckpointSupport::kUnsupported;
  }
  std::string checkpoint_unsupported_reason() const override {
    return "distinct() keeps the elements it has seen, and their type has no Coder "
           "(define one, or RUNNEL_FIELDS for a struct, and CoderDefined; see coder.hpp)";
  }
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(ctx, outputs.at(0), lateness_);
  }

 private:
  // Windows in the order the watermark completes them.
  struct ByExpiry {
    bool operator()(const Window& a, const Window& b) const {
      return a.end != b.end ? a.end < b.end : a.start < b.start;
    }
  };
  using Seen = FlatTable<T, Unit>;

  class Instance final : public OperatorInstance {
   public:
    Instance(const InstanceContext& ctx, Output* out, std::int64_t lateness)
        : out_(out),
          batch_size_(ctx.batch_size),
          max_parallelism_(ctx.max_parallelism),
          lateness_(lateness) {}

    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<T>(batch).values;
      const bool timed = batch.timed();
      for (std::size_t i = 0; i < values.size(); ++i)
        add(timed ? batch.windows[i] : kGlobalWindow, std::move(values[i]), timed);
      flush();
    }
    Timestamp on_watermark(Timestamp input) override {
      // A window's copies stop coming once the watermark passes its end plus
      // the allowed lateness (the global window's never do, until the end).
      while (!seen_.empty()) {
        const Window& w = seen_.begin()->first;
        if (w.is_global() || w.max_timestamp() + lateness_ > input) break;
        seen_.erase(seen_.begin());
      }
      return input;
    }
    void snapshot(std::int64_t, OperatorSnapshot& out) override {
      for (const auto& [window, table] : seen_) {
        const auto& hashes = table.hashes();
        const auto& entries = table.entries();
        for (std::size_t e = 0; e < entries.size(); ++e) {
          std::string& bytes =
              out.key_group(key_group_of(hashes[e], max_parallelism_), max_parallelism_);
          ByteWriter w(bytes);
          if (bytes.empty()) w.put_varint(kFormatVersion);
          Coder<Window>::encode(window, w);
          Coder<T>::encode(entries[e].key, w);
        }
      }
    }
    void restore(const RestoredState& in) override {
      for (const auto& [kg, bytes] : in.key_groups) {
        ByteReader r(bytes);
        const auto version = r.get_varint();
        if (version != kFormatVersion) {
          throw std::runtime_error("distinct(): key group " + std::to_string(kg) +
                                   " was written in format " + std::to_string(version) +
                                   "; this version reads format " + std::to_string(kFormatVersion));
        }
        while (!r.empty()) {
          const Window w = Coder<Window>::decode(r);
          T value = Coder<T>::decode(r);
          const std::uint64_t h = Hash<T>{}(value);
          seen_[w].find_or_insert(
              value, h, [&] { return std::move(value); }, [] { return Unit{}; });
        }
      }
    }

   private:
    void add(const Window& w, T&& value, bool timed) {
      const std::uint64_t h = Hash<T>{}(value);
      bool first = false;
      seen_[w].find_or_insert(
          value, h,
          [&] {
            first = true;
            return value;  // a copy: the original goes out
          },
          [] { return Unit{}; });
      if (!first) return;
      out_batch_.values.push_back(std::move(value));
      if (timed) {
        out_batch_.timestamps.push_back(w.max_timestamp());
        out_batch_.windows.push_back(w);
      }
      if (out_batch_.values.size() >= batch_size_) flush();
    }
    void flush() {
      if (out_batch_.values.empty()) return;
      out_->push(out_batch_);
      out_batch_.clear();
    }

    Output* out_;
    std::size_t batch_size_;
    int max_parallelism_;
    std::int64_t lateness_;
    std::map<Window, Seen, ByExpiry> seen_;
    Batch<T> out_batch_;
  };

  std::int64_t lateness_;
};

}  // namespace runnel::detail

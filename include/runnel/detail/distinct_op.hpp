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
// State: a row per (window, element) in KeyedRows, on either backend.
// Checkpoints: memory backend, keyed state by key group (the element's),
// format version 1: [version] then (window, element) pairs; RocksDB, its
// native snapshot. Both: operator state lists the windows that hold rows (a
// restore reads which windows to drop later without reading every row).
#include <cstdint>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/detail/batch.hpp"
#include "runnel/detail/key_groups.hpp"
#include "runnel/detail/keyed_rows.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/hash.hpp"
#include "runnel/unit.hpp"
#include "runnel/window.hpp"

namespace runnel::detail {

template <class T>
class DistinctOp final : public Operator {
 public:
  static constexpr std::uint64_t kFormatVersion = 1;

  explicit DistinctOp(std::int64_t allowed_lateness_ms) : lateness_(allowed_lateness_ms) {}
  bool keeps_keyed_rows() const override { return true; }
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
  // A row: (window, element), nothing else. RocksDB key: key-group prefix, window, element.
  struct Codec {
    static std::uint64_t hash(const T& v) { return Hash<T>{}(v); }
    static void encode_key(const Window& w, const T& v, int max_parallelism, std::string& out) {
      out.clear();
      const std::uint64_t h = hash(v);
      append_kv_prefix(out, key_group_of(h, max_parallelism), h);
      ByteWriter wr(out);
      Coder<Window>::encode(w, wr);
      Coder<T>::encode(v, wr);
    }
    static std::pair<Window, T> decode_key(std::string_view bytes) {
      ByteReader r(bytes.substr(kKvPrefixBytes));
      Window w = Coder<Window>::decode(r);
      return {w, Coder<T>::decode(r)};
    }
    static void encode_row(const Window&, const Unit&, std::string& out) { out.clear(); }
    static void decode_row(const Window&, std::string_view, Unit&) {}
  };
  using Rows = KeyedRows<Window, T, Unit, Codec, ByExpiry>;

  class Instance final : public OperatorInstance {
   public:
    Instance(const InstanceContext& ctx, Output* out, std::int64_t lateness)
        : out_(out),
          batch_size_(ctx.batch_size),
          max_parallelism_(ctx.max_parallelism),
          lateness_(lateness),
          rows_(backend_for(ctx)) {}

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
      auto done = [&](const Window& w) {
        return !w.is_global() && w.max_timestamp() + lateness_ <= input;
      };
      if (!windows_.empty() && done(*windows_.begin())) {
        rows_.drop_namespaces(done);
        while (!windows_.empty() && done(*windows_.begin())) windows_.erase(windows_.begin());
      }
      return input;
    }
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      if (rows_.native()) {
        rows_.snapshot_native(id, out);
      } else {
        rows_.for_each([&](const Window& window, const T& value, Unit&, std::uint64_t hash) {
          std::string& bytes =
              out.key_group(key_group_of(hash, max_parallelism_), max_parallelism_);
          ByteWriter w(bytes);
          if (bytes.empty()) w.put_varint(kFormatVersion);
          Coder<Window>::encode(window, w);
          Coder<T>::encode(value, w);
        });
      }
      if (windows_.empty()) return;
      ByteWriter w(out.operator_state);
      w.put_varint(windows_.size());
      for (const Window& win : windows_) Coder<Window>::encode(win, w);
    }
    void restore(const RestoredState& in) override {
      // Every old instance's windows: a window without rows here is harmless.
      for (const std::string& state : in.operator_states) {
        ByteReader r(state);
        if (r.empty()) continue;
        for (auto n = r.get_varint(); n > 0; --n) keep_window(Coder<Window>::decode(r));
      }
      rows_.restore_native(in, false, [&](const Window& w, const T&) { keep_window(w); });
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
          const T value = Coder<T>::decode(r);
          bool created = false;
          rows_.acquire(w, value, created);
          rows_.store();
          keep_window(w);
        }
      }
    }

   private:
    // Elements without a Coder stay in memory (the RocksDB backend stores
    // rows as bytes); such a job takes no checkpoints (checkpoint_support).
    static InstanceContext backend_for(InstanceContext ctx) {
      if constexpr (!coder_defined_v<T>) ctx.state_backend = StateBackend::kMemory;
      return ctx;
    }

    // Notes that w holds rows (the global window's are never dropped).
    void keep_window(const Window& w) {
      if (!w.is_global() && (windows_.empty() || !(*windows_.rbegin() == w))) windows_.insert(w);
    }

    void add(const Window& w, T&& value, bool timed) {
      bool first = false;
      rows_.acquire(w, value, first);  // a copy of the key: the original goes out
      if (!first) return;
      rows_.store();
      keep_window(w);
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
    Rows rows_;
    std::set<Window, ByExpiry> windows_;  // windows (not global) that hold rows
    Batch<T> out_batch_;
  };

  std::int64_t lateness_;
};

}  // namespace runnel::detail

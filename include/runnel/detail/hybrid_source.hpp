#pragma once
// The operator behind io::history_then_live (see runnel/hybrid.hpp): one
// source whose instances each read their share of the history, then their
// share of the live topic. Inside an instance the two readers are chained
// instances of the ordinary source operators (and their decoders), so files,
// Kafka and formats behave exactly as when read alone.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runnel/coder.hpp"
#include "runnel/dead_letter.hpp"
#include "runnel/detail/element_ops.hpp"
#include "runnel/detail/operator.hpp"

namespace runnel::detail {

// A source of T as the ordinary operators make it: `source`, and if it emits
// raw records, `decode` turning them into T (output 0) and dead letters (output 1).
struct TypedSource {
  std::shared_ptr<const Operator> source;
  std::shared_ptr<const Operator> decode;  // null: source has the outputs (T, DeadLetter)
};

// A reader of one TypedSource, for one instance: its operator instances
// wired to `out` and `rejected`, with counters of their own.
class TypedReader {
 public:
  TypedReader(const TypedSource& s, const InstanceContext& ctx, SharedState* shared,
              const Operator* cut, Output* out, Output* rejected) {
    InstanceContext c = ctx;
    c.shared = shared;
    c.counters = &source_counters_;
    Output* into = out;
    if (cut) {
      cut_ = cut->instantiate(c, {out});
      cut_input_ = std::make_unique<InstanceInput>(cut_.get(), std::vector<Output*>{out});
      into = cut_input_.get();
    }
    if (s.decode) {
      InstanceContext d = ctx;
      d.shared = nullptr;
      d.counters = &decode_counters_;
      decode_ = s.decode->instantiate(d, {into, rejected});
      decode_input_ =
          std::make_unique<InstanceInput>(decode_.get(), std::vector<Output*>{into, rejected});
      source_ = s.source->instantiate(c, {decode_input_.get()});
    } else {
      source_ = s.source->instantiate(c, {into, rejected});
    }
    reader_ = static_cast<SourceInstance*>(source_.get());
  }
  void open() {
    for (auto* i : chain()) i->open();
  }
  bool produce() { return reader_->produce(); }
  void finish() {
    for (auto* i : chain()) i->finish();
  }
  void close() {
    for (auto* i : chain()) i->close();
  }
  void restore(const RestoredState& in) { source_->restore(in); }
  std::string snapshot(std::int64_t id) {
    OperatorSnapshot snap;
    source_->snapshot(id, snap);
    return std::move(snap.operator_state);
  }
  // Records read that decoded (the source counts every record it read).
  std::uint64_t records() const {
    return source_counters_.records_out - decode_counters_.dead_letters;
  }
  std::uint64_t dead_letters() const {
    return source_counters_.dead_letters + decode_counters_.dead_letters;
  }

 private:
  std::vector<OperatorInstance*> chain() {
    std::vector<OperatorInstance*> c{source_.get()};
    if (decode_) c.push_back(decode_.get());
    if (cut_) c.push_back(cut_.get());
    return c;
  }
  InstanceCounters source_counters_, decode_counters_;
  std::unique_ptr<OperatorInstance> cut_, decode_, source_;
  std::unique_ptr<InstanceInput> cut_input_, decode_input_;
  SourceInstance* reader_ = nullptr;
};

// Operator state of an instance: its phase (0 history, 1 live), then the
// history reader's state (for an instance gone live: the history's final
// state) and the live reader's.
struct HybridState {
  int phase = 0;
  std::string history, live;
  std::string encode() const {
    std::string out;
    ByteWriter w(out);
    w.put_varint(static_cast<std::uint64_t>(phase));
    w.put_varint(history.size());
    w.put_bytes(history.data(), history.size());
    w.put_varint(live.size());
    w.put_bytes(live.data(), live.size());
    return out;
  }
  static HybridState decode(std::string_view bytes) {
    HybridState s;
    if (bytes.empty()) return s;
    ByteReader r(bytes);
    s.phase = static_cast<int>(r.get_varint());
    s.history = std::string(r.get_view(r.get_varint()));
    s.live = std::string(r.get_view(r.get_varint()));
    return s;
  }
};

template <class T, class TimeFn>
class HybridSourceOp final : public Operator {
 public:
  HybridSourceOp(TypedSource history, TypedSource live, TimeFn time_of, Timestamp switch_time)
      : history_(std::move(history)), live_(std::move(live)), switch_time_(switch_time) {
    // The history keeps what is before the switch; the live topic starts at
    // it (by record timestamps) and keeps what is at or after it (by event
    // time: a record stamped later than its event, by a producer's clock or
    // the broker's, may still belong to the history).
    auto before_switch = [time_of, switch_time](const T& v) { return time_of(v) < switch_time; };
    auto from_switch = [time_of, switch_time](const T& v) { return time_of(v) >= switch_time; };
    cut_ = std::make_shared<FilterOp<T, decltype(before_switch)>>(std::move(before_switch));
    live_cut_ = std::make_shared<FilterOp<T, decltype(from_switch)>>(std::move(from_switch));
  }

  bool bounded() const override { return live_.source->bounded(); }
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }

  std::shared_ptr<SharedState> make_shared_state(const SharedStateContext& ctx) const override {
    auto s = std::make_shared<Shared>();
    s->history = history_.source->make_shared_state(ctx);
    s->live = live_.source->make_shared_state(ctx);
    return s;
  }
  std::uint64_t expected_bytes(SharedState* shared) const override {
    return history_.source->expected_bytes(shared->as<Shared>().history.get());
  }
  void recover(SharedState* shared, std::int64_t id,
               const std::vector<std::string>& states) const override {
    auto* s = &shared->as<Shared>();
    std::vector<std::string> history, live;
    for (const auto& bytes : states) {
      HybridState h = HybridState::decode(bytes);
      history.push_back(std::move(h.history));
      live.push_back(std::move(h.live));
    }
    history_.source->recover(s->history.get(), id, history);
    live_.source->recover(s->live.get(), id, live);
  }

  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(*this, ctx, outputs.at(0), outputs.at(1));
  }

 private:
  struct Shared final : SharedState {
    std::shared_ptr<SharedState> history, live;
  };

  class Instance final : public SourceInstance {
   public:
    Instance(const HybridSourceOp& op, const InstanceContext& ctx, Output* out, Output* rejected)
        : counters_(ctx.counters),
          history_(op.history_, ctx, ctx.shared->as<Shared>().history.get(), op.cut_.get(), out,
                   rejected),
          live_(op.live_, ctx, ctx.shared->as<Shared>().live.get(), op.live_cut_.get(), out,
                rejected) {}

    void open() override {
      history_.open();
      live_.open();
    }
    // Every old instance's state: the history reader gets the history parts
    // (it resumes, or is done if every instance had gone live), the live
    // reader the live parts (partitions no one read yet start at the switch).
    void restore(const RestoredState& in) override {
      RestoredState history = in, live = in;
      history.operator_states.clear();
      live.operator_states.clear();
      bool all_live = true;
      for (const auto& bytes : in.operator_states) {
        if (bytes.empty()) continue;
        HybridState s = HybridState::decode(bytes);
        all_live = all_live && s.phase == 1;
        history.operator_states.push_back(std::move(s.history));
        live.operator_states.push_back(std::move(s.live));
      }
      history_.restore(history);
      live_.restore(live);
      if (all_live && !in.operator_states.empty()) phase_ = 1;
    }
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      HybridState s;
      s.phase = phase_;
      s.history = phase_ == 0 ? history_.snapshot(id) : history_final_;
      s.live = live_.snapshot(id);
      out.operator_state = s.encode();
    }
    bool produce() override {
      bool more = true;
      if (phase_ == 0) {
        if (!history_.produce()) {
          history_final_ = history_.snapshot(0);
          go_live();
        }
      } else {
        more = live_.produce();
      }
      if (counters_) {
        counters_->records_out = history_.records() + live_.records();
        counters_->dead_letters = history_.dead_letters() + live_.dead_letters();
      }
      return more;
    }
    void finish() override { live_.finish(); }
    void close() override {
      history_.close();
      live_.close();
    }

   private:
    void go_live() {
      history_.finish();
      phase_ = 1;
    }
    InstanceCounters* counters_;
    TypedReader history_, live_;
    int phase_ = 0;
    std::string history_final_;
  };

  TypedSource history_, live_;
  Timestamp switch_time_;
  std::shared_ptr<const Operator> cut_, live_cut_;
};

}  // namespace runnel::detail

#include "runnel/detail/file_io_ops.hpp"

namespace runnel::detail {
namespace {

class TextSourceInstance final : public LineSourceInstance {
 public:
  TextSourceInstance(const InstanceContext& ctx, Output* out)
      : LineSourceInstance(ctx), out_(out), batch_size_(ctx.batch_size) {}

 protected:
  void end_split() override { out_->split_event({SplitEvent::Kind::kEnd, split_id_}); }
  void on_lines(const std::vector<std::string_view>& lines, LineReader&) override {
    // Lines are assigned into strings kept from the previous batch when the
    // consumer left them in place, so steady state allocates little.
    auto& values = batch_.values;
    batch_.split = split_id_;
    // Operators downstream set times and windows on this batch in place: the
    // values are kept for their strings' capacity, the rest goes.
    batch_.timestamps.clear();
    batch_.windows.clear();
    batch_.panes.clear();
    std::size_t i = 0;
    while (i < lines.size()) {
      std::size_t n = std::min(batch_size_, lines.size() - i);
      values.resize(n);
      for (std::size_t k = 0; k < n; ++k) values[k].assign(lines[i + k]);
      i += n;
      emitted_ += n;
      out_->push(batch_);
    }
    if (ctx_.counters) ctx_.counters->records_out = emitted_;
  }

 private:
  Output* out_;
  std::size_t batch_size_;
  Batch<std::string> batch_;
  std::uint64_t emitted_ = 0;
};

}  // namespace

std::unique_ptr<OperatorInstance> TextSourceOp::instantiate(const InstanceContext& ctx,
                                                            std::vector<Output*> outputs) const {
  return std::make_unique<TextSourceInstance>(ctx, outputs.at(0));
}

}  // namespace runnel::detail

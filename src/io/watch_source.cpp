#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "runnel/detail/file_io_ops.hpp"
#include "runnel/error.hpp"
#include "runnel/hash.hpp"

namespace runnel::detail {
namespace {

namespace fs = std::filesystem;

class WatchSourceInstance final : public SourceInstance {
 public:
  WatchSourceInstance(const InstanceContext& ctx, Output* out, std::string dir,
                      std::chrono::milliseconds poll, std::chrono::milliseconds idle)
      : ctx_(ctx), out_(out), dir_(std::move(dir)), poll_(poll), idle_stop_(idle) {
    last_new_ = std::chrono::steady_clock::now();
  }

  bool produce() override {
    if (reader_) {
      if (reader_->next_block(lines_)) {
        emit_lines();
        return true;
      }
      end_file();
    }
    if (pending_.empty()) scan();
    if (!pending_.empty()) {
      open_next();
      return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (idle_stop_.count() > 0 && now - last_new_ >= idle_stop_) return false;
    // Nothing new: wait a little (short sleeps, so timers keep running).
    std::this_thread::sleep_for(std::min(poll_, std::chrono::milliseconds(5)));
    return true;
  }

 private:
  void scan() {
    auto now = std::chrono::steady_clock::now();
    if (now < next_scan_) return;
    next_scan_ = now + poll_;
    std::error_code ec;
    std::set<std::string> found;  // sorted: files are read in name order
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      auto name = entry.path().filename().string();
      if (name.empty() || name[0] == '.' || name[0] == '_' || !entry.is_regular_file()) continue;
      if (seen_.count(name)) continue;
      if (!ctx_.reads_split(Hash<std::string>{}(name))) continue;
      found.insert(name);
    }
    if (ec) throw UserError("cannot list watched directory '" + dir_ + "': " + ec.message());
    for (const auto& name : found) {
      seen_.insert(name);
      pending_.push_back(name);
    }
  }

  void open_next() {
    fs::path path = fs::path(dir_) / pending_.front();
    pending_.erase(pending_.begin());
    last_new_ = std::chrono::steady_clock::now();
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) return;  // gone again before it could be read
    split_ = FileSplit{path.string(), 0, size, size};
    split_id_ = next_split_id_++ * ctx_.parallelism + ctx_.instance;  // unique over instances
    reader_ = std::make_unique<LineReader>(split_);
  }

  void emit_lines() {
    batch_.values.resize(lines_.size());
    for (std::size_t k = 0; k < lines_.size(); ++k) batch_.values[k].assign(lines_[k]);
    batch_.split = split_id_;
    // Operators downstream set times and windows on this batch in place: the
    // values are kept for their strings' capacity, the rest goes.
    batch_.timestamps.clear();
    batch_.windows.clear();
    batch_.panes.clear();
    emitted_ += lines_.size();
    if (ctx_.counters) ctx_.counters->records_out = emitted_;
    out_->push(batch_);
  }

  void end_file() {
    reader_.reset();
    out_->split_event({SplitEvent::Kind::kEnd, split_id_});
  }

  InstanceContext ctx_;
  Output* out_;
  std::string dir_;
  std::chrono::milliseconds poll_;
  std::chrono::milliseconds idle_stop_;
  std::set<std::string> seen_;
  std::vector<std::string> pending_;
  std::chrono::steady_clock::time_point next_scan_{};
  std::chrono::steady_clock::time_point last_new_;
  FileSplit split_;
  std::int32_t split_id_ = 0;
  std::int32_t next_split_id_ = 0;
  std::unique_ptr<LineReader> reader_;
  std::vector<std::string_view> lines_;
  Batch<std::string> batch_;
  std::uint64_t emitted_ = 0;
};

}  // namespace

std::shared_ptr<SharedState> WatchTextSourceOp::make_shared_state(const SharedStateContext&) const {
  std::error_code ec;
  if (!fs::is_directory(dir_, ec)) {
    throw UserError("watched input '" + dir_ + "' is not a directory (create it first)");
  }
  return nullptr;
}

std::unique_ptr<OperatorInstance> WatchTextSourceOp::instantiate(
    const InstanceContext& ctx, std::vector<Output*> outputs) const {
  return std::make_unique<WatchSourceInstance>(ctx, outputs.at(0), dir_, poll_, idle_stop_);
}

}  // namespace runnel::detail

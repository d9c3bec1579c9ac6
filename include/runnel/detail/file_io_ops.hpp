#pragma once
// File sources and sinks: text lines in, CSV or JSON records in (bad lines to
// the dead-letter port), text, CSV or JSON lines out.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "runnel/csv.hpp"
#include "runnel/dead_letter.hpp"
#include "runnel/detail/file_splits.hpp"
#include "runnel/detail/operator.hpp"
#include "runnel/detail/output_files.hpp"
#include "runnel/emitter.hpp"
#include "runnel/io.hpp"
#include "runnel/json.hpp"

namespace runnel::detail {

// Shared by file sources: the splits, and the pattern for error messages.
class FileSourceBase : public Operator {
 public:
  explicit FileSourceBase(std::string pattern) : pattern_(std::move(pattern)) {}
  std::shared_ptr<SharedState> make_shared_state(const SharedStateContext& ctx) const override {
    return std::make_shared<FileSplitSet>(pattern_, ctx.parallelism, ctx.share, ctx.shares);
  }
  std::uint64_t expected_bytes(SharedState* shared) const override {
    return shared->as<FileSplitSet>().total_bytes();
  }
  // Readers checkpoint the splits they read; a restore reads only the rest.
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  void recover(SharedState* shared, std::int64_t id,
               const std::vector<std::string>& states) const override {
    if (id > 0) shared->as<FileSplitSet>().keep_unread(states);
  }

 protected:
  std::string pattern_;
};

// Reads splits one after another, a block of lines at a time; subclasses turn
// each block of lines into records.
class LineSourceInstance : public SourceInstance {
 public:
  explicit LineSourceInstance(const InstanceContext& ctx)
      : splits_(ctx.shared ? &ctx.shared->as<FileSplitSet>() : nullptr), ctx_(ctx) {}

  // Operator state: the splits read to the end, and where the current one is
  // at. Instance 0 also lists what earlier runs read (a restore hands every
  // instance every state).
  void snapshot(std::int64_t, OperatorSnapshot& out) override {
    std::vector<FileSplit> read = done_;
    if (ctx_.instance == 0)
      read.insert(read.end(), splits_->read_before().begin(), splits_->read_before().end());
    out.operator_state = encode_read_position(read, reader_ ? &reader_->split() : nullptr,
                                              reader_ ? reader_->resume_offset() : 0);
  }

  bool produce() final {
    while (!reader_ || !reader_->next_block(lines_)) {
      if (reader_) done_.push_back(reader_->split());
      if (reader_ && ctx_.streaming) end_split();
      const FileSplit* split = splits_->next();
      if (split == nullptr) {
        reader_.reset();
        return false;
      }
      split_id_ = static_cast<std::int32_t>(split - splits_->splits().data());
      reader_ = std::make_unique<LineReader>(*split);
    }
    on_lines(lines_, *reader_);
    const std::uint64_t consumed = reader_->take_consumed_bytes();
    if (ctx_.counters) ctx_.counters->bytes_in += consumed;
    if (ctx_.progress_bytes) ctx_.progress_bytes->fetch_add(consumed, std::memory_order_relaxed);
    return true;
  }

 protected:
  virtual void on_lines(const std::vector<std::string_view>& lines, LineReader& reader) = 0;
  // Streaming mode: split `split_id_` has been read to its end.
  virtual void end_split() = 0;
  FileSplitSet* splits_;
  std::int32_t split_id_ = -1;
  InstanceContext ctx_;

 private:
  std::unique_ptr<LineReader> reader_;
  std::vector<std::string_view> lines_;
  std::vector<FileSplit> done_;  // splits read to the end
};

// io::text: every line as a std::string (bytes as they are; no UTF-8 check).
class TextSourceOp final : public FileSourceBase {
 public:
  using FileSourceBase::FileSourceBase;
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override;
};

// io::text(dir).watch(): each file that appears in `dir` is read once, as a
// split of its own; instance i of p reads the files whose names hash to i.
class WatchTextSourceOp final : public Operator {
 public:
  WatchTextSourceOp(std::string dir, std::chrono::milliseconds poll, std::chrono::milliseconds idle)
      : dir_(std::move(dir)), poll_(poll), idle_stop_(idle) {}
  bool bounded() const override { return false; }
  std::shared_ptr<SharedState> make_shared_state(
      const SharedStateContext&) const override;  // checks the directory
  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override;

 private:
  std::string dir_;
  std::chrono::milliseconds poll_;
  std::chrono::milliseconds idle_stop_;
};

// io::csv<T>, io::json<T>: each line parsed into a T; a line that does not
// parse goes to output 1 as a DeadLetter (file, line number, reason) and is counted.
template <class T, io::RecordFormat kFormat>
class RecordFileSourceOp final : public FileSourceBase {
 public:
  RecordFileSourceOp(std::string pattern, bool skip_header)
      : FileSourceBase(std::move(pattern)), skip_header_(skip_header) {}

  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*> outputs) const override {
    return std::make_unique<Instance>(ctx, outputs.at(0), outputs.at(1), skip_header_);
  }

 private:
  class Instance final : public LineSourceInstance {
   public:
    Instance(const InstanceContext& ctx, Output* out, Output* rejected, bool skip_header)
        : LineSourceInstance(ctx),
          out_(out, ctx.batch_size),
          rejected_(rejected, ctx.batch_size),
          skip_header_(skip_header) {}

   protected:
    void end_split() override { out_.end_split(); }
    void on_lines(const std::vector<std::string_view>& lines, LineReader& reader) override {
      out_.from_split(split_id_);
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (skip_header_ && reader.split().start == 0 && reader.line_number(i) == 1) continue;
        T value{};
        std::string err;
        if constexpr (kFormat == io::RecordFormat::kJson)
          err = json::from_json(lines[i], value, doc_);
        else
          err = csv::parse_record(lines[i], value, cols_, scratch_);
        if (err.empty()) {
          out_.emit(std::move(value));
        } else {
          rejected_.emit(DeadLetter{reader.split().path, reader.line_number(i), std::move(err),
                                    std::string(lines[i])});
        }
      }
      out_.flush();
      rejected_.flush();
      if (ctx_.counters) {
        ctx_.counters->records_out = out_.emitted();
        ctx_.counters->dead_letters = rejected_.emitted();
      }
    }

   private:
    Emitter<T> out_;
    Emitter<DeadLetter> rejected_;
    bool skip_header_;
    std::vector<std::string_view> cols_;
    std::string scratch_;
    json::Document doc_;
  };
  bool skip_header_;
};

// How a sink writes each record as a line.
enum class LineFormat { kText, kCsv, kJson };

// Appends one record as a line: strings as they are for text, else CSV or JSON.
template <class T>
void append_line(std::string& out, const T& v, LineFormat format) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    if (format == LineFormat::kText) {
      out.append(std::string_view(v));
      out += '\n';
      return;
    }
  }
  if constexpr (json::writable_v<T>) {
    if (format == LineFormat::kJson) {
      json::append(out, v);
      out += '\n';
      return;
    }
  }
  if constexpr (csv::writable_v<T>) {
    csv::append_record(out, v);
    out += '\n';
  } else {
    // line_sink refuses the format before the job runs.
    throw std::logic_error("append_line: a record type with no CSV form");
  }
}

// The pending parts a checkpointed sink's operator state lists: (instance, epoch).
std::string encode_pending_parts(const std::vector<std::pair<int, std::int64_t>>& parts);
std::vector<std::pair<int, std::int64_t>> decode_pending_parts(
    const std::vector<std::string>& states);

template <class T>
class FileSinkOp final : public Operator {
 public:
  FileSinkOp(OutputSpec spec, LineFormat format) : spec_(std::move(spec)), format_(format) {}

  std::shared_ptr<SharedState> make_shared_state(const SharedStateContext& ctx) const override {
    return std::make_shared<OutputDirectory>(spec_, ctx.restoring);
  }
  void on_job_success(SharedState* shared) const override {
    shared->as<OutputDirectory>().commit();
  }
  void on_job_failure(SharedState* shared) const override { shared->as<OutputDirectory>().abort(); }
  // Two-phase commit: parts are published when the checkpoint closing them completes.
  CheckpointSupport checkpoint_support() const override { return CheckpointSupport::kStateful; }
  void commit_checkpoint(SharedState* shared, std::int64_t,
                         const std::vector<std::string>& states) const override {
    shared->as<OutputDirectory>().commit_epochs(decode_pending_parts(states));
  }
  void recover(SharedState* shared, std::int64_t id,
               const std::vector<std::string>& states) const override {
    shared->as<OutputDirectory>().recover(id, decode_pending_parts(states));
  }

  std::unique_ptr<OperatorInstance> instantiate(const InstanceContext& ctx,
                                                std::vector<Output*>) const override {
    return std::make_unique<Instance>(ctx.shared->as<OutputDirectory>(), ctx, format_);
  }

 private:
  class Instance final : public OperatorInstance {
   public:
    Instance(OutputDirectory& dir, const InstanceContext& ctx, LineFormat format)
        : dir_(dir),
          instance_(ctx.instance),
          counters_(ctx.counters),
          format_(format),
          checkpointing_(ctx.checkpointing),
          epoch_(ctx.first_checkpoint_id),
          completed_(ctx.completed_checkpoint) {}
    void process(int, BatchBase& batch) override {
      auto& values = batch_cast<T>(batch).values;
      if (values.empty()) return;
      if (!writer_) {
        // Registered first, so a failure while writing still removes the file.
        if (checkpointing_) {
          dir_.register_epoch_part(instance_, epoch_);
          writer_ = std::make_unique<PartWriter>(dir_.pending_path(instance_, epoch_));
        } else {
          dir_.register_part(instance_);
          writer_ = std::make_unique<PartWriter>(dir_.temp_path(instance_));
        }
      }
      auto& buf = writer_->buffer();
      const std::size_t before = buf.size();
      for (const auto& v : values) append_line(buf, v, format_);
      if (counters_) {
        counters_->records_in += values.size();
        counters_->bytes_out += buf.size() - before;
      }
      writer_->maybe_flush();
    }
    // Closes this epoch's part; the state lists the parts not yet published.
    void snapshot(std::int64_t id, OperatorSnapshot& out) override {
      // The part being written belongs to checkpoint epoch_: an earlier id
      // (the final snapshot of a finished instance) does not close it.
      if (id >= epoch_) {
        close_part(true);
        epoch_ = id + 1;
      }
      const std::int64_t done = completed_ ? completed_->load(std::memory_order_acquire) : 0;
      std::erase_if(pending_, [&](const auto& p) { return p.second <= done; });
      out.operator_state = encode_pending_parts(pending_);
    }
    void finish() override { close_part(checkpointing_); }

   private:
    void close_part(bool synced) {
      if (!writer_) return;
      if (synced) {
        writer_->close_synced();
      } else {
        writer_->close();
      }
      writer_.reset();
      if (checkpointing_) pending_.emplace_back(instance_, epoch_);
    }
    OutputDirectory& dir_;
    int instance_;
    InstanceCounters* counters_;
    LineFormat format_;
    bool checkpointing_;
    std::int64_t epoch_;  // the checkpoint that will close the part being written
    const std::atomic<std::int64_t>* completed_;
    std::vector<std::pair<int, std::int64_t>> pending_;  // closed, not known published
    std::unique_ptr<PartWriter> writer_;
  };
  OutputSpec spec_;
  LineFormat format_;
};

}  // namespace runnel::detail

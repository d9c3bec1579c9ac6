#pragma once
// How a pipeline runs (PipelineOptions::mode; the planner decides kAuto).
namespace runnel {

// Batch mode runs each stage over all of its input and emits results at the
// end; streaming mode pipelines the stages, with watermarks in band, and emits
// a window's results when the watermark passes it. Both give the same final
// results. kAuto: streaming if any source is unbounded, else batch.
enum class ExecutionMode { kAuto, kBatch, kStreaming };

}  // namespace runnel

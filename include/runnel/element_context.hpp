#pragma once
// What a DoFn may know about the element it processes besides its value:
// its event time, its window, and (for results of a grouping in streaming
// mode) which pane it belongs to. Declare process with it to receive it:
//
//   void process(const In& x, const ElementContext& c, Emitter<Out>& out);
#include "runnel/pane.hpp"
#include "runnel/window.hpp"

namespace runnel {

struct ElementContext {
  Timestamp timestamp = kMinTimestamp;  // kMinTimestamp without event time
  Window window = kGlobalWindow;
  PaneInfo pane;  // on-time, first and last unless the element is a streaming result
};

}  // namespace runnel

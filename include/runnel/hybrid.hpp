#pragma once
// History, then live: one source that reads a bounded history (CSV files, or
// a Kafka topic up to offsets or a time) and then a live Kafka topic, as
// Flink's HybridSource does, for pipelines that join what happened with what
// happens now:
//
//   auto purchases = p.read(io::history_then_live(
//       io::csv<Purchase>("history/*.csv"),                   // the past
//       io::kafka(bootstrap, "purchases").json<Purchase>(),   // the present
//       &Purchase::time, switch_time));
//
// The switch is a time: the history contributes its events before
// `switch_time` (by `time_of`; later ones are dropped: the live topic has
// them), and the live topic those at or after it. Each live partition starts
// at its first record whose Kafka timestamp is at or after the switch
// (offsets for times) and drops the events before it. So where history and
// live data overlap, each event is read once, and nothing between them is
// missed, as long as the history holds every event before the switch and
// the topic's record timestamps are not earlier than the events' times (the
// producer's event time, or the time it was produced or appended, all
// qualify). Each parallel instance reads its
// share of the history, then its share of the live partitions; its
// watermark carries across the switch (it never goes back). Checkpoints
// record which side each instance is on and the position there, so a
// restore resumes in the history or in the live topic, at any parallelism.
#include <functional>
#include <type_traits>
#include <utility>

#include "runnel/io.hpp"
#include "runnel/kafka.hpp"
#include "runnel/window.hpp"

namespace runnel::io {

template <class T, class History, class Live, class TimeFn>
struct HybridIO {
  History history;
  Live live;
  TimeFn time_of;  // an element's event time (ms), for the switch
  Timestamp switch_time;
};

// `time_of`: a member pointer (&Purchase::time) or a callable T -> Timestamp.
template <class T, class History, KafkaFormat F, class TimeOf>
auto history_then_live(History history, KafkaValuesIO<T, F> live, TimeOf time_of,
                       Timestamp switch_time) {
  auto fn = [f = std::move(time_of)](const T& v) -> Timestamp { return std::invoke(f, v); };
  static_assert(std::is_same_v<History, CsvIO<T>> ||
                    std::is_same_v<History, KafkaValuesIO<T, KafkaFormat::kJson>> ||
                    std::is_same_v<History, KafkaValuesIO<T, KafkaFormat::kCsv>> ||
                    std::is_same_v<History, KafkaValuesIO<T, KafkaFormat::kCoder>>,
                "history_then_live: the history is io::csv<T>(files), io::json<T>(files) or a "
                "Kafka topic's values as T (io::kafka(...).bounded().json<T>(), ...)");
  return HybridIO<T, History, KafkaValuesIO<T, F>, decltype(fn)>{
      std::move(history), std::move(live), std::move(fn), switch_time};
}

}  // namespace runnel::io

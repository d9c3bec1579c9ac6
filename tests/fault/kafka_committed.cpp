// What a read_committed consumer of a real broker would see of a topic the
// exactly-once Kafka sink wrote: the development cluster (librdkafka 2.0.2's
// mock) does not enforce read_committed, so this keeps only the records whose
// headers (runnel.sink, runnel.epoch, runnel.checkpoint) name a transaction the
// job's log lists as committed, and prints their values.
//
//   kafka_committed BOOTSTRAP TOPIC CHECKPOINT_DIR/_kafka_transactions.log
#include <runnel/runnel.hpp>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: kafka_committed BOOTSTRAP TOPIC LOG\n");
    return 2;
  }
  // "commit UID INSTANCE CHECKPOINT EPOCH" -> ("UID/INSTANCE", epoch, checkpoint)
  std::set<std::tuple<std::string, std::string, std::string>> committed;
  std::ifstream log(argv[3]);
  for (std::string line; std::getline(log, line);) {
    std::istringstream in(line);
    std::string verb, uid, instance, checkpoint, epoch;
    if (in >> verb >> uid >> instance >> checkpoint >> epoch && verb == "commit")
      committed.emplace(uid + "/" + instance, epoch, checkpoint);
  }
  runnel::PipelineOptions o;
  o.parallelism = 1;
  o.mode = runnel::ExecutionMode::kBatch;
  o.progress = false;
  runnel::Pipeline p(o);
  // Every record, as the mock keeps them: the filtering is done here.
  auto records = p.read(runnel::io::kafka(argv[1], argv[2])
                            .bounded()
                            .property("isolation.level", "read_uncommitted"))
                     .collect();
  p.run();
  std::size_t kept = 0, dropped = 0;
  for (const auto& r : records.values()) {
    std::string sink, epoch, checkpoint;
    for (const auto& [name, value] : r.headers) {
      if (name == "runnel.sink") sink = value;
      if (name == "runnel.epoch") epoch = value;
      if (name == "runnel.checkpoint") checkpoint = value;
    }
    if (committed.count({sink, epoch, checkpoint}) == 0) {
      ++dropped;
      continue;
    }
    ++kept;
    std::printf("%s\n", r.value.c_str());
  }
  std::fprintf(stderr,
               "kafka_committed: %s: %zu records of committed transactions, %zu of others\n",
               argv[2], kept, dropped);
  return 0;
}

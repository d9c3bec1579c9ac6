#pragma once
// Kafka in and out, through librdkafka (the only Kafka client runnel uses).
//
//   auto records = p.read(io::kafka("127.0.0.1:9092", "events").bounded());
//   records.map([](const io::KafkaRecord& r) { return r.value; })...
//   lines.write(io::kafka("127.0.0.1:9092", "results"));
//
// Reading: every partition of the topic (or the ones named), spread over the
// source's parallel instances (partition i goes to instance i % parallelism).
// Each partition is a source split with its own watermark, as a generator
// shard is. Bounded: stops at the end offsets taken when the job starts (a
// topic's history as batch input); unbounded: runs until stopped. Offsets are
// part of checkpoints; a restored job resumes at them.
//
// Writing: a collection of std::string (record values) or of
// std::pair<std::string, std::string> (key, value). At least once by default:
// at each checkpoint and at the end the sink waits until the brokers
// acknowledged all it sent, so a checkpoint covers only acknowledged records.
// .exactly_once(): each sink instance is a transactional producer (its
// transactional.id derived from the checkpoint directory, the operator and
// the instance); a transaction per checkpoint, committed when the checkpoint
// completes (without checkpoints: one per run, committed at its end); a
// restored job fences the producers of the run before and aborts their open
// transactions. Each record carries the headers runnel.sink (operator/instance),
// runnel.epoch (the run) and runnel.checkpoint (its transaction's checkpoint);
// CHECKPOINT_DIR/_kafka_transactions.log lists what was committed and aborted.
//
// Typed values: .json<T>(), .csv<T>() or .coded<T>() reads each record value
// as a T (a record that does not decode goes to Pipeline::dead_letters() with
// "TOPIC-PARTITION" as its source, its offset as its line and the reason), and
// writes a collection of T the same way:
//   auto clicks = p.read(io::kafka(b, "clicks").bounded().json<Click>());
//   profiles.write(io::kafka(b, "profiles").json<Profile>());
//
// Paths: the CLI's --input and --output (and io::text) take kafka://HOST:PORT/TOPIC.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runnel/fields.hpp"
#include "runnel/window.hpp"

namespace runnel::io {

// One record as read: where it came from, its timestamp (ms since the epoch,
// as the producer or the broker set it) and its key and value bytes.
struct KafkaRecord {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  Timestamp timestamp = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;  // (name, value), in order
  bool operator==(const KafkaRecord&) const = default;
};
RUNNEL_FIELDS(KafkaRecord, topic, partition, offset, timestamp, key, value, headers);

// How a typed record value is written: JSON (runnel/json.hpp), a CSV line
// (runnel/csv.hpp) or runnel's own binary coder (runnel/coder.hpp).
enum class KafkaFormat { kJson, kCsv, kCoder };
template <class T, KafkaFormat F>
struct KafkaValuesIO;

struct KafkaIO {
  std::string bootstrap;  // host:port[,host:port...]
  std::string topic;
  std::vector<std::int32_t> partitions;  // reading: empty = all
  bool bounded_read = false;
  bool subscribe_group = false;
  bool exactly_once_write = false;
  // Bounded reads: stop before the first record at or after this time (ms
  // since the epoch; -1: at the end offsets), or at these offsets per partition.
  Timestamp stop_time = -1;
  std::map<std::int32_t, std::int64_t> stop_offsets{};
  // Where reading starts in each partition without a checkpointed offset: at
  // its first record stamped at or after this time (ms since the epoch; -1:
  // at its beginning).
  Timestamp start_time = -1;
  // Unbounded reads: end once no record arrived for this long (0: never).
  std::chrono::milliseconds idle_stop{0};
  // The consumer group the source commits its checkpointed offsets to, for
  // lag monitoring (recovery uses the checkpoint); empty: "runnel-TOPIC".
  std::string group{};
  // librdkafka properties passed through (e.g. security.protocol), as the
  // CLI's --kafka-property key=value.
  std::map<std::string, std::string> properties{};
  // How long to wait for the cluster's metadata and offsets at the start.
  std::chrono::milliseconds metadata_wait{10'000};
  // Reading: a topic that does not exist is waited for, not an error.
  bool wait_topic = false;

  // Reading: stop at the end offsets taken when the job starts.
  KafkaIO& bounded(bool on = true) {
    bounded_read = on;
    return *this;
  }
  // Reading, bounded: stop before the first record whose timestamp is at or
  // after `t` (each partition's history up to a moment; records are taken to
  // be in time order within a partition, as with broker-set timestamps).
  KafkaIO& bounded_until(Timestamp t) {
    bounded_read = true;
    stop_time = t;
    return *this;
  }
  // Reading, bounded: stop at these offsets (exclusive); partitions not
  // named stop at their end offsets.
  KafkaIO& bounded_at(std::map<std::int32_t, std::int64_t> offsets) {
    bounded_read = true;
    stop_offsets = std::move(offsets);
    return *this;
  }
  // Reading: start at each partition's first record stamped at or after `t`
  // (Kafka's offsets for times), as Flink's OffsetsInitializer.timestamp.
  KafkaIO& starting_at(Timestamp t) {
    start_time = t;
    return *this;
  }
  // Reading, unbounded: end the source once no record arrived for `idle`
  // (a demo or a test that ends by itself; streaming mode all the same).
  KafkaIO& stop_when_idle(std::chrono::milliseconds idle) {
    idle_stop = idle;
    return *this;
  }
  // Reading, unbounded: join the consumer group (group_id(), default
  // "runnel-TOPIC") instead of assigning partitions: the group spreads the
  // topic's partitions over every consumer in it, so several processes
  // running the same job share the work, and a process that joins or leaves
  // moves partitions (Kafka Streams' way of scaling out). A partition starts
  // at this job's checkpointed offset if it has one, else at the group's
  // committed offset, else at the beginning. Offsets are committed when a
  // checkpoint completes, and without checkpoints when a partition is taken
  // away; so a partition that moves is read again from its last commit by
  // its new owner (at least once across processes).
  KafkaIO& subscribe(bool on = true) {
    subscribe_group = on;
    return *this;
  }
  KafkaIO& group_id(std::string g) {
    group = std::move(g);
    return *this;
  }
  // Writing: exactly once, through Kafka transactions (see below).
  KafkaIO& exactly_once(bool on = true) {
    exactly_once_write = on;
    return *this;
  }
  KafkaIO& only_partitions(std::vector<std::int32_t> p) {
    partitions = std::move(p);
    return *this;
  }
  // Reading: when the topic does not exist (yet), wait until it does, with a
  // warning every 10 s, instead of failing at the start. Either way, reading
  // never creates a topic (a typo does not become an empty topic on a broker
  // with auto.create.topics.enable).
  KafkaIO& wait_for_topic(bool on = true) {
    wait_topic = on;
    return *this;
  }
  KafkaIO& metadata_timeout(std::chrono::milliseconds t) {
    metadata_wait = t;
    return *this;
  }
  KafkaIO& property(std::string key, std::string value) {
    properties[std::move(key)] = std::move(value);
    return *this;
  }
  // Record values as T, in the named format (see the top of this file).
  template <class T>
  KafkaValuesIO<T, KafkaFormat::kJson> json() const;
  template <class T>
  KafkaValuesIO<T, KafkaFormat::kCsv> csv() const;
  template <class T>
  KafkaValuesIO<T, KafkaFormat::kCoder> coded() const;
};

template <class T, KafkaFormat F>
struct KafkaValuesIO {
  KafkaIO io;
};

template <class T>
KafkaValuesIO<T, KafkaFormat::kJson> KafkaIO::json() const {
  return {*this};
}
template <class T>
KafkaValuesIO<T, KafkaFormat::kCsv> KafkaIO::csv() const {
  return {*this};
}
template <class T>
KafkaValuesIO<T, KafkaFormat::kCoder> KafkaIO::coded() const {
  return {*this};
}

inline KafkaIO kafka(std::string bootstrap, std::string topic) {
  KafkaIO io;
  io.bootstrap = std::move(bootstrap);
  io.topic = std::move(topic);
  return io;
}

// Whether a path is a Kafka URL, kafka://HOST:PORT[,HOST:PORT...]/TOPIC; and
// the KafkaIO it names (a UserError saying what is wrong if it is not one).
bool is_kafka_url(const std::string& path);
KafkaIO parse_kafka_url(const std::string& url);
// The input a kafka:// `--input` names, read to its end offsets at the start
// if `bounded`, with the client's properties; a topic not there yet is
// waited for if `wait_for_topic`.
KafkaIO kafka_url_input(const std::string& url, bool bounded,
                        const std::map<std::string, std::string>& properties,
                        bool wait_for_topic = false);

// librdkafka's mock cluster on loopback: a development Kafka cluster with
// nothing installed (it speaks the real protocol; see the user guide for its
// limits). Serves while the object lives.
class KafkaDevCluster {
 public:
  explicit KafkaDevCluster(int brokers = 1);
  ~KafkaDevCluster();
  KafkaDevCluster(const KafkaDevCluster&) = delete;
  KafkaDevCluster& operator=(const KafkaDevCluster&) = delete;

  // host:port,... for bootstrap.servers.
  std::string bootstrap() const;
  void create_topic(const std::string& topic, int partitions);

  // Faults, to see a job through a misbehaving cluster (the mock cluster's
  // own injection; clients see real protocol errors and disconnects).
  enum class Requests {
    kProduce,      // Produce: NOT_LEADER_FOR_PARTITION
    kFetch,        // Fetch: NOT_LEADER_FOR_PARTITION
    kCommit,       // OffsetCommit, TxnOffsetCommit, EndTxn: COORDINATOR_LOAD_IN_PROGRESS
    kTransaction,  // AddPartitionsToTxn: CONCURRENT_TRANSACTIONS
  };
  // The next `count` requests of the kind fail with the retriable error named above.
  void fail_next(Requests kind, int count);
  // Brokers are numbered 1..N. A broker down drops its connections and refuses new ones.
  void set_broker_down(int broker);
  void set_broker_up(int broker);
  // The partition's leader moves to `broker` (clients learn it from errors and metadata).
  void move_leader(const std::string& topic, int partition, int broker);
  // Injects a fault every `every`, in turn: failed produce, fetch, commit and
  // transaction requests, a leader change of every partition of the topics
  // created here, and a broker down for `down_for`; each one described on stderr.
  void start_faults(std::chrono::milliseconds every,
                    std::chrono::milliseconds down_for = std::chrono::milliseconds(2000));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace runnel::io

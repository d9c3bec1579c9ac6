// KafkaTransactions (see include/runnel/detail/kafka_ops.hpp): the
// exactly-once Kafka sink's side of the two-phase commit.
//
// librdkafka cannot resume another producer's transaction after a crash (as
// Flink's Kafka sink does with the Java client). A job's transactions are
// committed one after the other when a checkpoint completes (one per sink
// instance), so a crash can leave some committed and others not; restoring
// the checkpoint before would then produce the committed ones twice. So each
// transaction's records are also kept in the checkpoint (the sink's operator
// state): a restore of the completed checkpoint produces the records of every
// transaction the log does not list as committed again, in a new transaction
// of the restoring run, commits it and logs which one it replaced.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "io/kafka/kafka_client.hpp"
#include "runnel/coder.hpp"
#include "runnel/detail/kafka_ops.hpp"
#include "runnel/error.hpp"
#include "state/checkpoint_claims.hpp"

namespace runnel::detail {
namespace fs = std::filesystem;

namespace {
constexpr int kTxnTimeoutMs = 60'000;  // librdkafka's default transaction.timeout.ms

void check(rd_kafka_error_t* e, const std::string& what) {
  if (e == nullptr) return;
  std::string msg = fmt::format("{}: {}", what, rd_kafka_error_string(e));
  rd_kafka_error_destroy(e);
  throw std::runtime_error(msg);
}

// An operator state: instance, the label (checkpoint) of its transaction, the
// run's epoch, then 1 + the number of its records and the records (see
// append_record). States of runnel before 2026-12 end after the epoch.
std::string encode_state(int instance, std::int64_t label, std::int64_t epoch, std::uint64_t count,
                         std::string_view records) {
  std::string out;
  ByteWriter w(out);
  w.put_varint(static_cast<std::uint64_t>(instance));
  w.put_varint(static_cast<std::uint64_t>(label));
  w.put_varint(static_cast<std::uint64_t>(epoch));
  w.put_varint(count + 1);
  w.put_bytes(records.data(), records.size());
  return out;
}

struct SavedTransaction {
  int instance = 0;
  std::int64_t label = 0;
  std::int64_t run = 0;
  bool has_records = false;  // false: a state written before records were kept
  std::uint64_t count = 0;
  std::string_view records;
};

SavedTransaction decode_state(std::string_view bytes) {
  ByteReader r(bytes);
  SavedTransaction t;
  t.instance = static_cast<int>(r.get_varint());
  t.label = static_cast<std::int64_t>(r.get_varint());
  t.run = static_cast<std::int64_t>(r.get_varint());
  if (!r.empty()) {
    t.has_records = true;
    t.count = r.get_varint() - 1;
    t.records = r.get_view(r.remaining());
  }
  return t;
}

// One record of a transaction, as the state keeps it.
void append_record(std::string& out, std::string_view key, std::string_view value, Timestamp time) {
  ByteWriter w(out);
  w.put_varint(key.size());
  w.put_bytes(key.data(), key.size());
  w.put_varint(value.size());
  w.put_bytes(value.data(), value.size());
  w.put_varint(static_cast<std::uint64_t>(time));
}

// Queues one record in the open transaction of `rk`, with the headers that
// name the transaction; waits while librdkafka's queue is full.
void produce(rd_kafka_t* rk, rd_kafka_topic_t* topic, std::string_view key, std::string_view value,
             Timestamp time, const std::string& sink, const std::string& epoch,
             const std::string& label, const std::string& where) {
  while (true) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_RKT(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_TIMESTAMP(time),
        RD_KAFKA_V_HEADER("runnel.sink", sink.data(), static_cast<ssize_t>(sink.size())),
        RD_KAFKA_V_HEADER("runnel.epoch", epoch.data(), static_cast<ssize_t>(epoch.size())),
        RD_KAFKA_V_HEADER("runnel.checkpoint", label.data(), static_cast<ssize_t>(label.size())),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw std::runtime_error(io::kafka_client::send_error(where, e, key.size() + value.size()));
    rd_kafka_poll(rk, 50);
  }
}
}  // namespace

struct KafkaTransactions::Impl {
  struct Slot {
    io::kafka_client::Handle rk;
    rd_kafka_topic_t* topic = nullptr;
    std::mutex mu;
    std::condition_variable cv;
    std::int64_t label = 0;  // the checkpoint the open (or prepared) transaction is for
    std::string label_text;  // the same, as its header value
    // A transaction has begun and takes records. Set by the instance (open,
    // prepare) and by the coordinator (commit, which also sets the label
    // first): the instance's send() reads it without the mutex.
    std::atomic<bool> open{false};
    bool prepared = false;          // flushed at a barrier, waiting for its checkpoint
    bool fenced = false;            // a newer run took over (see fence_if_superseded)
    bool cancelled = false;         // the job is failing: no commit will come
    std::int64_t prepared_for = 0;  // that checkpoint
    std::string sink_header;        // "uid/instance"
    // The records of the open (or prepared) transaction, kept for its
    // checkpoint (see the top of this file). Written by the instance while
    // open, cleared by the commit.
    std::string records;
    std::uint64_t record_count = 0;
  };

  io::KafkaIO io;
  std::string uid;
  std::string where;
  std::string id_prefix;
  bool checkpointing = false;
  fs::path log_path;    // empty without checkpoints
  fs::path epoch_path;  // the newest run's epoch of this sink
  std::chrono::milliseconds max_wait{0};
  std::int64_t epoch = 1;
  std::string epoch_text = "1";  // as the header value
  std::vector<std::unique_ptr<Slot>> slots;

  std::string transactional_id(int instance) const {
    return fmt::format("{}-{}-{}", id_prefix, uid, instance);
  }

  io::kafka_client::Handle make_producer(int instance) const {
    io::KafkaIO p = io;
    p.properties.erase("transactional.id");
    return io::kafka_client::make_client(
        RD_KAFKA_PRODUCER, p,
        {{"transactional.id", transactional_id(instance)}, {"linger.ms", "5"}, {"log_level", "3"}});
  }

  void log(const std::string& line) const {
    if (log_path.empty()) return;
    // One write per line, appended and synced: lines of several sinks never mix.
    int fd = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) throw std::runtime_error("cannot write '" + log_path.string() + "'");
    std::string l = line + "\n";
    bool ok = ::write(fd, l.data(), l.size()) == static_cast<ssize_t>(l.size());
    ok = ::fsync(fd) == 0 && ok;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write '" + log_path.string() + "'");
  }

  // (instance, label, epoch) of each transaction this sink committed, from
  // the log (the epoch too: a zombie's checkpoint of the same id is not the
  // newer run's). "commit UID INSTANCE LABEL EPOCH [REPLACED]".
  std::set<std::tuple<int, std::int64_t, std::int64_t>> committed() const {
    std::set<std::tuple<int, std::int64_t, std::int64_t>> out;
    std::ifstream in(log_path);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string verb, u;
      int instance = 0;
      std::int64_t label = 0, run = 0;
      if (!(words >> verb >> u >> instance >> label >> run) || verb != "commit" || u != uid)
        continue;
      out.emplace(instance, label, run);
      // A restore's new transaction of the records of run `replaced`'s.
      if (std::int64_t replaced = 0; words >> replaced) out.emplace(instance, label, replaced);
    }
    return out;
  }

  std::int64_t newest_epoch() const {
    std::ifstream in(epoch_path);
    std::int64_t e = 0;
    in >> e;
    return e;
  }

  // A newer run restored from the same checkpoints: this one is a zombie
  // (a process that hung and was taken for dead). A real broker fences it
  // by the producer epoch; the checkpoint directory fences it here too,
  // which also holds where the broker does not enforce epochs (the
  // development cluster). Checked at each barrier (so a zombie completes no
  // checkpoint) and before each commit. With s.mu held.
  void fence_if_superseded(Slot& s, int i) {
    if (epoch_path.empty()) return;
    const std::int64_t newest = newest_epoch();
    if (newest <= epoch) return;
    if (s.open.load() || s.prepared) {
      rd_kafka_error_t* e = rd_kafka_abort_transaction(s.rk.get(), kTxnTimeoutMs);
      if (e) rd_kafka_error_destroy(e);
      log(fmt::format("abort {} {} {} {}", uid, i, s.label, epoch));
    }
    s.open.store(false);
    s.prepared = false;
    s.fenced = true;
    s.cv.notify_all();
    throw state::FencedError(fmt::format(
        "Kafka sink, {}: fenced: a newer run (epoch {}) of this job restored from {} and "
        "took over its transactions; this run (epoch {}) stops without committing",
        where, newest, log_path.parent_path().string(), epoch));
  }

  // Commits slot i's transaction (prepared or open) and, if `next` > 0, begins one for it.
  void commit_slot(int i, std::int64_t next) {
    Slot& s = *slots[static_cast<std::size_t>(i)];
    std::lock_guard lock(s.mu);
    if (!s.open.load() && !s.prepared) return;
    fence_if_superseded(s, i);
    check(rd_kafka_commit_transaction(s.rk.get(), kTxnTimeoutMs),
          fmt::format("Kafka sink, {}: cannot commit the transaction of checkpoint {}", where,
                      s.label));
    log(fmt::format("commit {} {} {} {}", uid, i, s.label, epoch));
    s.open.store(false);
    s.prepared = false;
    s.records.clear();
    s.record_count = 0;
    if (s.records.capacity() > (std::size_t{64} << 20)) s.records.shrink_to_fit();
    if (next > 0) {
      check(rd_kafka_begin_transaction(s.rk.get()),
            fmt::format("Kafka sink, {}: cannot begin a transaction", where));
      s.label = next;
      s.label_text = std::to_string(next);
      s.open.store(true, std::memory_order_release);
    }
    s.cv.notify_all();
  }
};

KafkaTransactions::KafkaTransactions(const io::KafkaIO& io, const SharedStateContext& ctx)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.io = io;
  // A shard of a job spread over members has its own checkpoint directory
  // and log; its sink's name says which shard it is, so the records of all
  // shards in one topic tell whose transaction they were part of.
  m.uid = ctx.shares > 1 ? fmt::format("shard{}.{}", ctx.share, ctx.uid) : ctx.uid;
  m.where = io::kafka_client::where(io);
  m.checkpointing = ctx.checkpointing;
  auto user_id = io.properties.find("transactional.id");
  if (ctx.checkpointing) {
    const auto interval = ctx.checkpoint_interval.count();
    std::int64_t timeout = kTxnTimeoutMs;
    if (auto t = io.properties.find("transaction.timeout.ms"); t != io.properties.end())
      timeout = std::stoll(t->second);
    // A transaction lives one interval plus the time its checkpoint takes.
    if (timeout < 3 * interval)
      throw UserError(fmt::format(
          "exactly-once Kafka sink ({}): transaction.timeout.ms is {} but checkpoints come every "
          "{} ms; a transaction lives from one checkpoint to the next, so give "
          "--kafka-property transaction.timeout.ms={} or more, or checkpoint more often",
          m.where, timeout, interval, 3 * interval));
    if (ctx.checkpoints_kept < 2)
      throw UserError(fmt::format(
          "exactly-once Kafka sink ({}): keep at least 2 checkpoints (--checkpoints-kept 2): a "
          "restore may need the one before the newest",
          m.where));
    m.log_path = ctx.checkpoint_dir / "_kafka_transactions.log";
    fs::create_directories(ctx.checkpoint_dir);
    // Stable across runs of the job: derived from where its checkpoints are.
    m.id_prefix =
        user_id != io.properties.end()
            ? user_id->second
            : fmt::format("runnel-{:016x}",
                          std::hash<std::string>{}(fs::absolute(ctx.checkpoint_dir).string()));
    std::ifstream in(m.log_path);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("run ", 0) == 0)
        m.epoch = std::max<std::int64_t>(m.epoch, std::stoll(line.substr(4)) + 1);
    m.log(fmt::format("run {}", m.epoch));
    m.epoch_text = std::to_string(m.epoch);
    m.epoch_path = ctx.checkpoint_dir / fmt::format("_kafka_epoch.{}", m.uid);
    const fs::path tmp = m.epoch_path.string() + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << m.epoch << "\n";
      if (!out.flush()) throw std::runtime_error("cannot write '" + tmp.string() + "'");
    }
    fs::rename(tmp, m.epoch_path);
  } else {
    m.id_prefix = user_id != io.properties.end()
                      ? user_id->second
                      : fmt::format("runnel-{}-{}", ::getpid(),
                                    std::chrono::system_clock::now().time_since_epoch().count());
  }
  m.max_wait = std::max(std::chrono::milliseconds(kTxnTimeoutMs), 10 * ctx.checkpoint_interval);
  for (int i = 0; i < ctx.parallelism; ++i) m.slots.push_back(std::make_unique<Impl::Slot>());
}

KafkaTransactions::~KafkaTransactions() {
  for (auto& s : impl_->slots)
    if (s->topic) rd_kafka_topic_destroy(s->topic);
}

void KafkaTransactions::open(int instance, std::int64_t first_checkpoint) {
  Impl& m = *impl_;
  Impl::Slot& s = *m.slots.at(static_cast<std::size_t>(instance));
  std::lock_guard lock(s.mu);
  s.rk = m.make_producer(instance);
  s.topic = rd_kafka_topic_new(s.rk.get(), m.io.topic.c_str(), nullptr);
  io::kafka_client::warm_up(s.rk.get(), s.topic, m.io.metadata_wait);
  s.sink_header = fmt::format("{}/{}", m.uid, instance);
  check(rd_kafka_init_transactions(s.rk.get(), kTxnTimeoutMs),
        fmt::format("Kafka sink, {}: cannot start transactions as '{}'", m.where,
                    m.transactional_id(instance)));
  check(rd_kafka_begin_transaction(s.rk.get()),
        fmt::format("Kafka sink, {}: cannot begin a transaction", m.where));
  s.label = first_checkpoint;
  s.label_text = std::to_string(first_checkpoint);
  s.open.store(true, std::memory_order_release);
}

void KafkaTransactions::send(int instance, std::string_view key, std::string_view value,
                             Timestamp time) {
  Impl& m = *impl_;
  Impl::Slot& s = *m.slots[static_cast<std::size_t>(instance)];
  // No lock per record: while a transaction is open only this thread uses
  // the producer; the mutex is for waiting until the coordinator commits.
  if (!s.open.load(std::memory_order_acquire)) {
    // The transaction of the last barrier waits for its checkpoint to complete.
    std::unique_lock lock(s.mu);
    if (!s.cv.wait_for(lock, m.max_wait, [&] { return s.open.load() || s.fenced || s.cancelled; }))
      throw std::runtime_error(fmt::format(
          "Kafka sink, {}: checkpoint {} did not complete within {} s, so its transaction "
          "could not be committed",
          m.where, s.prepared_for, m.max_wait.count() / 1000));
    if (s.fenced)
      throw state::FencedError(
          fmt::format("Kafka sink, {}: fenced by a newer run of this job", m.where));
    if (s.cancelled && !s.open.load())
      throw std::runtime_error(
          fmt::format("Kafka sink, {}: the job failed while this sink waited for checkpoint {}",
                      m.where, s.prepared_for));
  }
  const Timestamp t = time > 0 ? time : 0;
  produce(s.rk.get(), s.topic, key, value, t, s.sink_header, m.epoch_text, s.label_text, m.where);
  if (m.checkpointing) {
    append_record(s.records, key, value, t);
    ++s.record_count;
  }
}

void KafkaTransactions::poll(int instance) {
  rd_kafka_poll(impl_->slots[static_cast<std::size_t>(instance)]->rk.get(), 0);
}

std::string KafkaTransactions::prepare(int instance, std::int64_t id) {
  Impl& m = *impl_;
  Impl::Slot& s = *m.slots[static_cast<std::size_t>(instance)];
  std::lock_guard lock(s.mu);
  m.fence_if_superseded(s, instance);
  if (s.open.load()) {
    rd_kafka_resp_err_t e = rd_kafka_flush(s.rk.get(), kTxnTimeoutMs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(
          fmt::format("Kafka sink, {}: cannot flush checkpoint {}'s records: {}", m.where, id,
                      rd_kafka_err2str(e)));
    s.open.store(false);
    s.prepared = true;
    s.prepared_for = id;
  }
  return encode_state(instance, s.label, m.epoch, s.record_count, s.records);
}

std::string KafkaTransactions::finish(int instance) {
  Impl& m = *impl_;
  Impl::Slot& s = *m.slots[static_cast<std::size_t>(instance)];
  std::lock_guard lock(s.mu);
  if (s.open.load()) rd_kafka_flush(s.rk.get(), kTxnTimeoutMs);
  return encode_state(instance, s.label, m.epoch, s.record_count, s.records);
}

void KafkaTransactions::commit(std::int64_t id) {
  Impl& m = *impl_;
  for (std::size_t i = 0; i < m.slots.size(); ++i) {
    Impl::Slot& s = *m.slots[i];
    bool due = false;
    {
      std::lock_guard lock(s.mu);
      due = s.prepared && s.prepared_for <= id;
    }
    if (due) m.commit_slot(static_cast<int>(i), id + 1);
  }
}

void KafkaTransactions::commit_all() {
  for (std::size_t i = 0; i < impl_->slots.size(); ++i)
    if (impl_->slots[i]->rk) impl_->commit_slot(static_cast<int>(i), 0);
}

void KafkaTransactions::cancel() {
  for (auto& slot : impl_->slots) {
    std::lock_guard lock(slot->mu);
    slot->cancelled = true;
    slot->cv.notify_all();
  }
}

void KafkaTransactions::abort_all() {
  Impl& m = *impl_;
  for (std::size_t i = 0; i < m.slots.size(); ++i) {
    Impl::Slot& s = *m.slots[i];
    std::lock_guard lock(s.mu);
    if (!s.rk || (!s.open.load() && !s.prepared)) continue;
    rd_kafka_error_t* e = rd_kafka_abort_transaction(s.rk.get(), kTxnTimeoutMs);
    if (e) {
      rd_kafka_error_destroy(e);  // the job failed already; fencing at the restart aborts it
      continue;
    }
    s.open.store(false);
    s.prepared = false;
    try {
      m.log(fmt::format("abort {} {} {} {}", m.uid, i, s.label, m.epoch));
    } catch (...) {
    }
  }
}

std::string KafkaTransactions::restore_problem(std::int64_t,
                                               const std::vector<std::string>& states) const {
  const auto committed = impl_->committed();
  for (const auto& bytes : states) {
    if (bytes.empty()) continue;
    const SavedTransaction t = decode_state(bytes);
    if (t.label > 0 && !t.has_records && committed.count({t.instance, t.label, t.run}) == 0)
      return fmt::format(
          "the Kafka transaction of sink instance {} for checkpoint {} was not committed before "
          "the job stopped, and this checkpoint (of an older runnel) does not keep its records "
          "to produce them again (see {})",
          t.instance, t.label, impl_->log_path.string());
  }
  return {};
}

void KafkaTransactions::recover(std::int64_t, const std::vector<std::string>& states) {
  Impl& m = *impl_;
  const auto committed = m.committed();
  std::set<int> redone;
  for (const auto& bytes : states) {
    if (bytes.empty()) continue;
    const SavedTransaction t = decode_state(bytes);
    if (t.label <= 0 || !t.has_records || committed.count({t.instance, t.label, t.run}) > 0)
      continue;
    // Committed by no one (the job stopped between the commits of its
    // instances, or before them): this run produces the records again under
    // the instance's transactional.id, which fences the old producer and
    // aborts its transaction.
    auto rk = m.make_producer(t.instance);
    rd_kafka_topic_t* topic = rd_kafka_topic_new(rk.get(), m.io.topic.c_str(), nullptr);
    try {
      io::kafka_client::warm_up(rk.get(), topic, m.io.metadata_wait);
      check(rd_kafka_init_transactions(rk.get(), kTxnTimeoutMs),
            fmt::format("Kafka sink, {}: cannot start transactions as '{}'", m.where,
                        m.transactional_id(t.instance)));
      check(rd_kafka_begin_transaction(rk.get()),
            fmt::format("Kafka sink, {}: cannot begin a transaction", m.where));
      const std::string sink = fmt::format("{}/{}", m.uid, t.instance);
      const std::string label = std::to_string(t.label);
      ByteReader r(t.records);
      for (std::uint64_t n = 0; n < t.count; ++n) {
        const std::string_view key = r.get_view(r.get_varint());
        const std::string_view value = r.get_view(r.get_varint());
        const auto time = static_cast<Timestamp>(r.get_varint());
        produce(rk.get(), topic, key, value, time, sink, m.epoch_text, label, m.where);
      }
      check(rd_kafka_commit_transaction(rk.get(), kTxnTimeoutMs),
            fmt::format("Kafka sink, {}: cannot commit the records of checkpoint {} again", m.where,
                        t.label));
    } catch (...) {
      rd_kafka_topic_destroy(topic);
      throw;
    }
    rd_kafka_topic_destroy(topic);
    m.log(fmt::format("commit {} {} {} {} {}", m.uid, t.instance, t.label, m.epoch, t.run));
    redone.insert(t.instance);
  }
  // Instances the restored job no longer has: fence their producers here
  // (the others fence theirs when they open).
  for (std::size_t i = m.slots.size(); i < states.size(); ++i) {
    if (redone.count(static_cast<int>(i)) > 0) continue;
    auto rk = m.make_producer(static_cast<int>(i));
    check(rd_kafka_init_transactions(rk.get(), kTxnTimeoutMs),
          fmt::format("Kafka sink, {}: cannot fence '{}'", m.where,
                      m.transactional_id(static_cast<int>(i))));
    m.log(fmt::format("fence {} {}", m.uid, i));
  }
}

}  // namespace runnel::detail

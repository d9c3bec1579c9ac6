// KafkaTransactions (see include/runnel/detail/kafka_ops.hpp): the
// exactly-once Kafka sink's side of the two-phase commit.
//
// librdkafka cannot resume another producer's transaction after a crash (as
// Flink's Kafka sink does with the Java client), so a transaction that was
// prepared for a completed checkpoint but not committed before the job
// stopped cannot be finished by the restored job: its producer is fenced and
// the transaction aborted. The restore then uses the checkpoint before that
// one (restore_problem), whose transactions were committed, and the records
// are produced again. The log says which transactions were committed.
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

// An operator state: instance, the label (checkpoint) of its transaction, the run's epoch.
std::string encode_state(int instance, std::int64_t label, std::int64_t epoch) {
  std::string out;
  ByteWriter w(out);
  w.put_varint(static_cast<std::uint64_t>(instance));
  w.put_varint(static_cast<std::uint64_t>(label));
  w.put_varint(static_cast<std::uint64_t>(epoch));
  return out;
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
  // newer run's).
  std::set<std::tuple<int, std::int64_t, std::int64_t>> committed() const {
    std::set<std::tuple<int, std::int64_t, std::int64_t>> out;
    std::ifstream in(log_path);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::string verb, u;
      int instance = 0;
      std::int64_t label = 0, run = 0;
      if (words >> verb >> u >> instance >> label >> run && verb == "commit" && u == uid)
        out.emplace(instance, label, run);
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
    throw UserError(fmt::format(
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
  m.uid = ctx.uid;
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
      throw UserError(fmt::format("Kafka sink, {}: fenced by a newer run of this job", m.where));
    if (s.cancelled && !s.open.load())
      throw std::runtime_error(
          fmt::format("Kafka sink, {}: the job failed while this sink waited for checkpoint {}",
                      m.where, s.prepared_for));
  }
  const std::string& label = s.label_text;
  const std::string& epoch = m.epoch_text;
  while (true) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        s.rk.get(), RD_KAFKA_V_RKT(s.topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key.empty() ? nullptr : const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_TIMESTAMP(time > 0 ? time : 0),
        RD_KAFKA_V_HEADER("runnel.sink", s.sink_header.data(),
                          static_cast<ssize_t>(s.sink_header.size())),
        RD_KAFKA_V_HEADER("runnel.epoch", epoch.data(), static_cast<ssize_t>(epoch.size())),
        RD_KAFKA_V_HEADER("runnel.checkpoint", label.data(), static_cast<ssize_t>(label.size())),
        RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL)
      throw std::runtime_error(
          fmt::format("Kafka sink, {}: cannot send: {}", m.where, rd_kafka_err2str(e)));
    rd_kafka_poll(s.rk.get(), 50);
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
  return encode_state(instance, s.label, m.epoch);
}

std::string KafkaTransactions::finish(int instance) {
  Impl& m = *impl_;
  Impl::Slot& s = *m.slots[static_cast<std::size_t>(instance)];
  std::lock_guard lock(s.mu);
  if (s.open.load()) rd_kafka_flush(s.rk.get(), kTxnTimeoutMs);
  return encode_state(instance, s.label, m.epoch);
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

std::string KafkaTransactions::restore_problem(std::int64_t id,
                                               const std::vector<std::string>& states) const {
  const auto committed = impl_->committed();
  for (const auto& bytes : states) {
    if (bytes.empty()) continue;
    ByteReader r(bytes);
    const int instance = static_cast<int>(r.get_varint());
    const auto label = static_cast<std::int64_t>(r.get_varint());
    const auto run = static_cast<std::int64_t>(r.get_varint());
    if (label > 0 && committed.count({instance, label, run}) == 0)
      return fmt::format(
          "the Kafka transaction of sink instance {} for checkpoint {} was not committed before "
          "the job stopped, and a new producer cannot finish it (see {})",
          instance, label, impl_->log_path.string());
  }
  (void)id;
  return {};
}

void KafkaTransactions::recover(std::int64_t, const std::vector<std::string>& states) {
  Impl& m = *impl_;
  // Instances the restored job no longer has: fence their producers here
  // (the others fence theirs when they open).
  for (std::size_t i = m.slots.size(); i < states.size(); ++i) {
    auto rk = m.make_producer(static_cast<int>(i));
    check(rd_kafka_init_transactions(rk.get(), kTxnTimeoutMs),
          fmt::format("Kafka sink, {}: cannot fence '{}'", m.where,
                      m.transactional_id(static_cast<int>(i))));
    m.log(fmt::format("fence {} {}", m.uid, i));
  }
}

}  // namespace runnel::detail

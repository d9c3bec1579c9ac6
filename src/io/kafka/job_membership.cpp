#include "io/kafka/job_membership.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <librdkafka/rdkafka.h>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "io/kafka/job_topics.hpp"
#include "io/kafka/kafka_client.hpp"
#include "runnel/error.hpp"

namespace runnel::io {

using kafka_client::Handle;

namespace {

constexpr std::chrono::milliseconds kClusterWait{10'000};

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "unknown-host";
  return name;
}

using Flags = std::map<std::string, std::string>;

// The flags as the status topic holds them: a JSON object.
std::string encode_flags(const Flags& flags) { return nlohmann::json(flags).dump(); }

}  // namespace

std::map<std::string, std::string> decode_job_flags(const std::string& text) {
  Flags out;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return {{"(the job's flags record)", "unreadable: " + text}};
  for (const auto& [k, v] : j.items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  return out;
}

void JobStatusLog::take(std::string_view key, std::string_view value, int shards) {
  if (key == "flags") {
    if (flags_json.empty()) flags_json = value;
  } else if (value.substr(0, 4) == "done" && !key.empty() &&
             std::isdigit(static_cast<unsigned char>(key[0]))) {
    const int shard = std::atoi(std::string(key).c_str());
    if (shard >= 0 && shard < shards) done.emplace(shard, value);
  }
}

namespace {

// The flags whose values differ, with both values.
std::string describe_difference(const Flags& mine, const Flags& job) {
  std::vector<std::string> diffs;
  std::set<std::string> keys;
  for (const auto& [k, v] : mine) keys.insert(k);
  for (const auto& [k, v] : job) keys.insert(k);
  for (const auto& k : keys) {
    const auto x = mine.count(k) ? mine.at(k) : "(none)";
    const auto y = job.count(k) ? job.at(k) : "(none)";
    if (x != y) diffs.push_back(fmt::format("{} is '{}' here but '{}' in the job", k, x, y));
  }
  return fmt::format("{}", fmt::join(diffs, "; "));
}

}  // namespace

std::vector<int> ensure_topics(rd_kafka_t* rk, const KafkaIO& cluster,
                               const std::vector<std::pair<std::string, int>>& wanted,
                               const std::set<std::string>& compacted) {
  const auto existing = kafka_client::list_topics(rk, cluster.bootstrap, kClusterWait);
  auto exists = [&](const std::string& t) {
    return std::any_of(existing.begin(), existing.end(),
                       [&](const auto& e) { return e.first == t; });
  };
  std::vector<rd_kafka_NewTopic_t*> create;
  char err[512];
  for (const auto& [topic, partitions] : wanted) {
    if (exists(topic)) continue;
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof err);
    if (t == nullptr)
      throw std::runtime_error(fmt::format("cannot describe topic '{}': {}", topic, err));
    // The job's records there (its flags, the shards done) must outlive any retention.
    rd_kafka_NewTopic_set_config(t, "retention.ms", "-1");
    if (compacted.count(topic)) {
      // Compaction skips the active segment: roll it hourly so old reports go.
      rd_kafka_NewTopic_set_config(t, "cleanup.policy", "compact");
      rd_kafka_NewTopic_set_config(t, "segment.ms", "3600000");
    }
    create.push_back(t);
  }
  // A cluster that cannot serve the admin API (the development one: its
  // request waits for a controller until it times out) is asked once per
  // process; then its topics are made on demand only.
  static std::mutex asked_mu;
  static std::set<std::string> without_admin;
  bool ask = !create.empty();
  if (ask) {
    std::lock_guard lock(asked_mu);
    ask = without_admin.count(cluster.bootstrap) == 0;
  }
  if (ask && rd_kafka_controllerid(rk, 2000) >= 0) {
    rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t* options =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    // Short: a cluster without the admin API (the development one) makes
    // librdkafka wait this long for a controller that can serve it.
    rd_kafka_AdminOptions_set_request_timeout(options, 1500, err, sizeof err);
    rd_kafka_CreateTopics(rk, create.data(), create.size(), options, queue);
    rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 3000);
    std::string outcome = "no answer";
    bool timed_out = ev == nullptr;
    if (ev != nullptr) {
      timed_out = rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR__TIMED_OUT;
      outcome = rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR
                    ? rd_kafka_event_error_string(ev)
                    : "answered";
      rd_kafka_event_destroy(ev);
    }
    if (timed_out) {
      std::lock_guard lock(asked_mu);
      without_admin.insert(cluster.bootstrap);
    }
    rd_kafka_AdminOptions_destroy(options);
    rd_kafka_queue_destroy(queue);
    log_debug(fmt::format("job topics: create: {}", outcome));
  }
  for (auto* t : create) rd_kafka_NewTopic_destroy(t);
  // What exists now (a producer's metadata request creates a topic where the
  // cluster creates topics on demand).
  // (A real cluster may not know a topic it just created for a moment.)
  std::vector<int> counts;
  for (const auto& [topic, partitions] : wanted) {
    KafkaIO io = cluster;
    io.topic = topic;
    const auto until = std::chrono::steady_clock::now() + kClusterWait;
    while (true) {
      try {
        counts.push_back(
            static_cast<int>(kafka_client::partitions_created(rk, io, kClusterWait).size()));
        break;
      } catch (const UserError&) {
        if (std::chrono::steady_clock::now() >= until) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
  }
  return counts;
}

struct JobMembership::Impl {
  KafkaIO cluster;
  std::string job_id;
  std::string shards_topic, status_topic, members_topic;
  std::string report_key;  // this process's key in the members topic
  int shards = 0;
  Callbacks callbacks;
  Handle producer;  // done markers, and creating the job's topics
  Handle reporter;  // member reports: never waited for with the done markers
  Handle member;    // the group member: its partitions are the shards it owns
  Handle status;    // reads the done markers
  std::set<int> done;
  std::set<int> owned;
  JobStatusLog log;                                      // the status topic as read so far
  std::map<std::string, JobMembership::Report> reports;  // the members topic, by key
  std::string last_member_id;                            // as member_id() last read it
  std::exception_ptr failure;  // thrown by a callback (inside librdkafka's call)
  rd_kafka_resp_err_t delivery = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool left = false;
  bool assigned_once = false;  // the group gave this member an assignment (maybe empty)

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) static_cast<Impl*>(opaque)->delivery = m->err;
  }
  static void producer_hook(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  }
  static void member_hook(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_rebalance_cb(conf, &on_rebalance);
  }
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* list, void* opaque) {
    static_cast<Impl*>(opaque)->rebalance(rk, err, list);
  }

  // With the cooperative protocol a rebalance adds or takes away only what
  // moves; with the eager one (a member of an older version) everything is
  // taken away first. Either way a shard is given up (its pipeline stopped,
  // its final checkpoint taken) before the group can give it to another.
  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* list) {
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    std::vector<int> moved;
    for (int i = 0; i < list->cnt; ++i) moved.push_back(list->elems[i].partition);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, list));
      else
        rd_kafka_assign(rk, list);
      assigned_once = true;
      owned.insert(moved.begin(), moved.end());
      try {
        read_status();  // what was marked done just before
        if (!moved.empty() && !failure) callbacks.assigned(moved);
      } catch (...) {
        if (!failure) failure = std::current_exception();
      }
      return;
    }
    // Revoked: whatever failed before, the shards stop before they go.
    const bool lost = rd_kafka_assignment_lost(rk) != 0;
    if (lost)
      log_warn(fmt::format("job {}: this member lost its session; aborting shards {}", job_id,
                           fmt::join(moved, ",")));
    try {
      if (!moved.empty()) callbacks.revoked(moved, lost);
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
    for (int s : moved) owned.erase(s);
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, list));
    else
      rd_kafka_assign(rk, nullptr);
  }

  // Reads the status topic up to its end as of now.
  void read_status_to_end() {
    std::int64_t low = 0, high = 0;
    if (rd_kafka_query_watermark_offsets(status.get(), status_topic.c_str(), 0, &low, &high,
                                         static_cast<int>(kClusterWait.count())) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high <= low)
      return;
    const auto until = std::chrono::steady_clock::now() + kClusterWait;
    while (std::chrono::steady_clock::now() < until) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(status.get(), 50);
      if (msg == nullptr) continue;
      const std::int64_t offset = msg->offset;
      const bool ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && msg->rkt != nullptr &&
                      rd_kafka_topic_name(msg->rkt) == status_topic;
      take_status(msg);
      if (ok && offset + 1 >= high) return;
    }
  }

  // Appends a record to the status topic; durable once this returns.
  void produce_status(const std::string& key, const std::string& value) {
    delivery = RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_resp_err_t e =
        rd_kafka_producev(producer.get(), RD_KAFKA_V_TOPIC(status_topic.c_str()),
                          RD_KAFKA_V_PARTITION(0), RD_KAFKA_V_KEY(key.data(), key.size()),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
      e = rd_kafka_flush(producer.get(), static_cast<int>(kClusterWait.count()));
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) e = delivery;
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error(fmt::format("job {}: cannot write '{}' to '{}': {}", job_id, key,
                                           status_topic, rd_kafka_err2str(e)));
  }

  void read_status() {
    while (rd_kafka_message_t* m = rd_kafka_consumer_poll(status.get(), 0)) take_status(m);
  }
  void take_status(rd_kafka_message_t* m) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key != nullptr && m->payload != nullptr &&
        m->rkt != nullptr && rd_kafka_topic_name(m->rkt) == members_topic) {
      JobMembership::Report& r = reports[std::string(static_cast<const char*>(m->key), m->key_len)];
      r.json.assign(static_cast<const char*>(m->payload), m->len);
      r.time_ms = rd_kafka_message_timestamp(m, nullptr);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->key != nullptr && m->payload != nullptr) {
      log.take(std::string_view(static_cast<const char*>(m->key), m->key_len),
               std::string_view(static_cast<const char*>(m->payload), m->len), shards);
      for (const auto& [shard, by] : log.done) done.insert(shard);
    }
    rd_kafka_message_destroy(m);
  }

  void rethrow() {
    if (failure) {
      auto f = failure;
      failure = nullptr;
      std::rethrow_exception(f);
    }
  }
};

void JobMembership::check_job_id(const std::string& job_id) {
  if (job_id.empty() || job_id.size() > 200)
    throw UserError("job id '" + job_id + "': give 1 to 200 characters");
  for (char c : job_id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      throw UserError(fmt::format(
          "job id '{}': '{}' cannot be in it (it names the job's Kafka topics and group): use "
          "letters, digits, '.', '_' and '-'",
          job_id, c));
  }
}

JobMembership::JobMembership(const KafkaIO& cluster, const std::string& job_id, int shards,
                             bool shards_given, const std::map<std::string, std::string>& job_flags,
                             Callbacks callbacks)
    : impl_(std::make_unique<Impl>()) {
  check_job_id(job_id);
  auto& m = *impl_;
  m.cluster = cluster;
  m.job_id = job_id;
  m.callbacks = std::move(callbacks);
  m.shards_topic = "runnel-" + job_id + "-shards";
  m.status_topic = "runnel-" + job_id + "-status";
  m.members_topic = members_topic(job_id);
  m.report_key = fmt::format("{}/{}/{:08x}", host_name(), ::getpid(), std::random_device{}());
  m.producer = kafka_client::make_client(RD_KAFKA_PRODUCER, cluster, {{"linger.ms", "0"}},
                                         &Impl::producer_hook, &m);
  m.shards = ensure_topics(m.producer.get(), cluster,
                           {{m.shards_topic, shards}, {m.status_topic, 1}, {m.members_topic, 1}},
                           {m.members_topic})
                 .at(0);
  if (m.shards != shards && shards_given)
    throw UserError(fmt::format(
        "job '{}' has {} shards (its topic '{}' has {} partitions), not {} as --job-shards says: "
        "drop --job-shards, or give the job a new --job-id",
        job_id, m.shards, m.shards_topic, m.shards, shards));

  m.status = kafka_client::make_client(
      RD_KAFKA_CONSUMER, cluster,
      {{"group.id", "runnel-" + job_id + "-status-reader"}, {"enable.auto.commit", "false"}});
  // The members' reports too: a member places standby copies by them.
  rd_kafka_topic_partition_list_t* from = rd_kafka_topic_partition_list_new(2);
  rd_kafka_topic_partition_list_add(from, m.status_topic.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_topic_partition_list_add(from, m.members_topic.c_str(), 0)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(m.status.get(), from);
  rd_kafka_topic_partition_list_destroy(from);
  // What is done already, before the group gives this member anything (a
  // member that joins late must not run a finished shard again), and the
  // job's flags: the first member's, which every later one must match.
  m.read_status_to_end();
  if (m.log.flags_json.empty()) {
    m.produce_status("flags", encode_flags(job_flags));
    m.read_status_to_end();
  }
  if (const Flags theirs = decode_job_flags(m.log.flags_json); theirs != job_flags)
    throw UserError(fmt::format(
        "this member's flags differ from those job '{}' was started with: {}; start it with the "
        "job's flags, or give it another --job-id",
        job_id, describe_difference(job_flags, theirs)));

  // A member that dies is noticed when its session times out: short, so its
  // shards move on within seconds (a real cluster's brokers allow 6 s and up).
  m.member = kafka_client::make_client(RD_KAFKA_CONSUMER, cluster,
                                       {{"group.id", "runnel-" + job_id},
                                        {"partition.assignment.strategy", "cooperative-sticky"},
                                        {"session.timeout.ms", "6000"},
                                        {"heartbeat.interval.ms", "500"},
                                        {"enable.auto.commit", "false"},
                                        {"enable.auto.offset.store", "false"}},
                                       &Impl::member_hook, &m);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, m.shards_topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(m.member.get(), topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw std::runtime_error(
        fmt::format("job {}: cannot join its group: {}", job_id, rd_kafka_err2str(e)));
}

JobMembership::~JobMembership() {
  try {
    leave();
  } catch (const std::exception& e) {
    log_warn(fmt::format("job {}: leaving its group: {}", impl_->job_id, e.what()));
  }
}

int JobMembership::shards() const { return impl_->shards; }

void JobMembership::poll(std::chrono::milliseconds wait) {
  auto& m = *impl_;
  const auto until = std::chrono::steady_clock::now() + wait;
  do {
    if (!m.left) {
      if (rd_kafka_message_t* msg = rd_kafka_consumer_poll(m.member.get(), 20))
        rd_kafka_message_destroy(msg);  // the shards topic holds no records
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    m.read_status();
    m.rethrow();
  } while (std::chrono::steady_clock::now() < until);
}

void JobMembership::mark_done(int shard) {
  impl_->produce_status(std::to_string(shard), "done by " + member_id());
  impl_->done.insert(shard);
}

const std::set<int>& JobMembership::done() const { return impl_->done; }

void JobMembership::report(const std::string& json) {
  auto& m = *impl_;
  // Not waited for: a report lost to a broken connection is replaced by the next.
  if (!m.reporter)
    m.reporter = kafka_client::make_client(RD_KAFKA_PRODUCER, m.cluster, {{"linger.ms", "100"}});
  rd_kafka_producev(m.reporter.get(), RD_KAFKA_V_TOPIC(m.members_topic.c_str()),
                    RD_KAFKA_V_PARTITION(0),
                    RD_KAFKA_V_KEY(m.report_key.data(), m.report_key.size()),
                    RD_KAFKA_V_VALUE(const_cast<char*>(json.data()), json.size()),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  rd_kafka_poll(m.reporter.get(), 0);
}

void JobMembership::flush_reports() {
  if (impl_->reporter) rd_kafka_flush(impl_->reporter.get(), 2000);
}

const std::map<std::string, JobMembership::Report>& JobMembership::reports() const {
  return impl_->reports;
}

const std::string& JobMembership::report_key() const { return impl_->report_key; }

std::string members_topic(const std::string& job_id) { return "runnel-" + job_id + "-members"; }

std::string JobMembership::member_id() const {
  auto& m = *impl_;
  // After leave() the id it had (its handle may be gone: see there).
  if (!m.left && m.member) {
    if (char* id = rd_kafka_memberid(m.member.get())) {
      m.last_member_id = id;
      rd_kafka_mem_free(m.member.get(), id);
    }
  }
  return m.last_member_id;
}

void JobMembership::leave() {
  auto& m = *impl_;
  if (m.left) return;
  (void)member_id();
  m.left = true;
  rd_kafka_consumer_close(m.member.get());  // runs the revoke callback for what it owns
  // librdkafka before 2.3.0 (Debian 12 has 2.0.2) aborts when it destroys a
  // cooperative-sticky member that joined but never got an assignment
  // (its issue 4312): such a handle is left to the process's exit.
  if (!m.assigned_once) (void)m.member.release();
  rd_kafka_consumer_close(m.status.get());
  m.rethrow();
}

}  // namespace runnel::io

#include "observe/metrics_server.hpp"

// cpp-httplib's listen backlog is 5: a scrape arriving while a few slow
// clients hold connections found it full (tests/fuzz/http_fuzz).
#define CPPHTTPLIB_LISTEN_BACKLOG 64
#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "runnel/version.hpp"

namespace runnel::observe {

namespace {

using nlohmann::json;

// One operator over its instances: counts summed, the watermark its slowest instance's.
json operator_json(const JobMetrics& m, std::size_t t, std::size_t o) {
  const auto& task = m.tasks()[t];
  json op;
  op["name"] = task.ops[o].name;
  op["kind"] = task.ops[o].kind;
  std::uint64_t in = 0, out = 0, dead = 0, late = 0, state = 0, bytes_in = 0, bytes_out = 0;
  std::int64_t wm = std::numeric_limits<std::int64_t>::max();
  bool any_wm = false;
  for (int i = 0; i < task.parallelism; ++i) {
    const auto& f = m.instance(static_cast<int>(t), i).ops[o];
    in += f.counters.records_in;
    out += f.counters.records_out;
    dead += f.counters.dead_letters;
    late += f.counters.late_records;
    state += f.counters.state_bytes;
    bytes_in += f.counters.bytes_in;
    bytes_out += f.counters.bytes_out;
    std::int64_t w = f.watermark.load(std::memory_order_relaxed);
    if (is_watermark_time(w)) {
      wm = std::min(wm, w);  // the operator's watermark is its slowest instance's
      any_wm = true;
    }
  }
  op["records_in"] = in;
  op["records_out"] = out;
  op["dead_letters"] = dead;
  op["late_records"] = late;
  op["state_bytes"] = state;
  op["bytes_in"] = bytes_in;
  op["bytes_out"] = bytes_out;
  op["watermark_ms"] = any_wm ? json(wm) : json(nullptr);
  return op;
}

json task_json(const JobMetrics& m, std::size_t t) {
  const auto& task = m.tasks()[t];
  json jt;
  jt["id"] = t;
  jt["parallelism"] = task.parallelism;
  json instances = json::array();
  for (int i = 0; i < task.parallelism; ++i) {
    const auto& inst = m.instance(static_cast<int>(t), i);
    instances.push_back({{"instance", i},
                         {"busy_seconds", static_cast<double>(inst.busy_ns.get()) / 1e9},
                         {"queue_fill", inst.queue_fill.load(std::memory_order_relaxed)},
                         {"queue_capacity", inst.queue_capacity}});
  }
  jt["instances"] = std::move(instances);
  json ops = json::array();
  for (std::size_t o = 0; o < task.ops.size(); ++o) ops.push_back(operator_json(m, t, o));
  jt["operators"] = std::move(ops);
  return jt;
}

json checkpoints_json(const JobMetrics& m) {
  const auto ck = m.checkpoints();
  json history = json::array();
  for (const auto& c : ck.history)
    history.push_back({{"id", c.id},
                       {"seconds", c.seconds},
                       {"bytes", c.bytes},
                       {"pause_seconds", c.pause_seconds},
                       {"completed_ms", c.completed_unix_ms}});
  return {{"completed", ck.completed},
          {"failed", ck.failed},
          {"last_failed_id", ck.last_failed_id},
          {"last_failure", ck.last_failure},
          {"restores", ck.restores},
          {"restored_id", ck.restored_id},
          {"history", std::move(history)}};
}

json job_document(const JobMetrics& m) {
  json j;
  j["job"] = m.job_name();
  j["runnel_version"] = version();
  j["state"] = to_string(m.state());
  j["uptime_seconds"] = m.uptime_seconds();
  j["now_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  const JobTotals tot = totals(m);
  j["records_in"] = tot.records_in;
  j["records_out"] = tot.records_out;
  j["dead_letters"] = tot.dead_letters;
  j["late_records"] = tot.late_records;
  j["bytes_read"] = m.bytes_read();
  j["config"] = m.config();
  json errors = json::array();
  for (const auto& p : recent_problems())
    errors.push_back(json{{"time_ms", p.time_ms}, {"level", p.level}, {"message", p.message}});
  j["errors"] = std::move(errors);
  j["expected_bytes"] = m.expected_bytes.load();
  json tasks = json::array();
  json edges = json::array();
  if (m.has_plan()) {
    for (std::size_t t = 0; t < m.tasks().size(); ++t) tasks.push_back(task_json(m, t));
    for (const auto& e : m.edges())
      edges.push_back({{"from_task", e.from_task},
                       {"from_op", e.from_op},
                       {"to_task", e.to_task},
                       {"kind", e.kind}});
  }
  j["tasks"] = std::move(tasks);
  j["edges"] = std::move(edges);
  j["checkpoints"] = checkpoints_json(m);
  json lag = json::array();
  for (const auto& [tp, n] : m.consumer_lag())
    lag.push_back({{"topic", tp.first}, {"partition", tp.second}, {"lag", n}});
  j["kafka_consumer_lag"] = std::move(lag);
  return j;
}

// Names come from user code and files: bytes that are not UTF-8 are replaced.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string job_json(const JobMetrics& m) { return dump(job_document(m)); }

std::string job_json(const MemberFigures& member, int shard) {
  json j;
  for (const auto& [s, m] : member.shards)
    if (s == shard) j = job_document(*m);
  json shards = json::array();
  for (const auto& [s, m] : member.shards) shards.push_back(s);
  j["member"] = {{"job_id", member.job_id},
                 {"member_id", member.member_id},
                 {"shard", shard},
                 {"shards", std::move(shards)}};
  return dump(j);
}

std::string member_json(const MemberFigures& member) {
  json shards = json::array();
  for (const auto& [s, m] : member.shards) {
    const JobTotals t = totals(*m);
    shards.push_back({{"shard", s},
                      {"state", to_string(m->state())},
                      {"uptime_seconds", m->uptime_seconds()},
                      {"records_in", t.records_in},
                      {"records_out", t.records_out},
                      {"dead_letters", t.dead_letters},
                      {"late_records", t.late_records},
                      {"checkpoints", m->checkpoints().completed}});
  }
  return dump(
      {{"job_id", member.job_id}, {"member_id", member.member_id}, {"shards", std::move(shards)}});
}

MetricsServer::MetricsServer(std::shared_ptr<const JobMetrics> metrics, int port,
                             const std::string& address)
    : metrics_(std::move(metrics)),
      server_(std::make_unique<httplib::Server>()),
      address_(address) {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_text(*metrics_), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/api/job", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(job_json(*metrics_), "application/json");
  });
  listen(port);
}

MetricsServer::MetricsServer(std::function<MemberFigures()> member, int port,
                             const std::string& address)
    : member_(std::move(member)), server_(std::make_unique<httplib::Server>()), address_(address) {
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus_text(member_()), "text/plain; version=0.0.4; charset=utf-8");
  });
  server_->Get("/api/member", [this](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(member_json(member_()), "application/json");
  });
  server_->Get("/api/job", [this](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    const MemberFigures member = member_();
    if (member.shards.empty()) {
      res.status = 503;
      res.set_content(R"({"error":"this member runs no shard of the job now"})",
                      "application/json");
      return;
    }
    int shard = member.shards.front().first;
    if (req.has_param("shard")) {
      const std::string want = req.get_param_value("shard");
      bool found = false;
      for (const auto& [s, m] : member.shards) {
        if (std::to_string(s) == want) {
          shard = s;
          found = true;
        }
      }
      if (!found) {
        res.status = 404;
        res.set_content(dump({{"error", "this member runs no shard " + want + " now"}}),
                        "application/json");
        return;
      }
    }
    res.set_content(job_json(member, shard), "application/json");
  });
  listen(port);
}

void MetricsServer::listen(int port) {
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(web_page(), "text/html; charset=utf-8");
  });
  // httplib's default also sets SO_REUSEPORT, with which a second job would
  // share the port silently; a port in use must be an error.
  // A browser's idle keep-alive connection holds stop() back up to this long.
  server_->set_keep_alive_timeout(1);
  // Bounded requests: a client that sends a body, or sends slowly, costs at
  // most this much; headers and the URI are bounded by cpp-httplib (8 KiB).
  server_->set_payload_max_length(kMaxRequestBody);
  server_->set_read_timeout(kRequestTimeout);
  server_->set_write_timeout(kRequestTimeout);
  // Only GET (and HEAD) of the paths above: anything else is refused.
  const auto refuse = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
  };
  server_->Post(".*", refuse);
  server_->Put(".*", refuse);
  server_->Patch(".*", refuse);
  server_->Delete(".*", refuse);
  server_->set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(address_);
  } else {
    port_ = server_->bind_to_port(address_, port) ? port : -1;
  }
  if (port_ <= 0) {
    throw std::runtime_error("cannot serve metrics on " + address_ + ":" + std::to_string(port) +
                             " (is the port in use, or the address not this machine's?); pick "
                             "another with --metrics-port (0: a free one) or --metrics-address");
  }
  const bool loopback =
      address_.rfind("127.", 0) == 0 || address_ == "::1" || address_ == "localhost";
  if (!loopback) {
    log_warn("metrics: serving on " + address_ +
             ", which other machines may reach: the page and /metrics name the job's topics, "
             "paths and operators, and anyone who reaches them can read them");
  }
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // httplib's stop() does nothing before the loop runs: a server destroyed
  // at once would then listen forever. Return once it runs.
  while (!server_->is_running() && !listen_returned_)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

std::string MetricsServer::url() const {
  const bool v6 = address_.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + address_ + "]" : address_) + ":" + std::to_string(port_) + "/";
}

MetricsServer::~MetricsServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace runnel::observe

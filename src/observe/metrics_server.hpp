#pragma once
// Serves a running job's figures on an address (127.0.0.1 unless told
// otherwise) from a thread of its own, and nothing else:
//   /metrics     Prometheus text exposition (built with prometheus-cpp)
//   /api/job     the plan and its figures as JSON
//   /api/member  a member of a scaled-out job: its shards (404 otherwise)
//   /            a web page drawing both (static, embedded in the binary)
// The figures stay served after the run ends, until the server is destroyed.
// Requests are bounded (headers and URI by cpp-httplib's 8 KiB, a body to
// kMaxRequestBody, a slow client cut off after kRequestTimeout); any other
// path or method gets 404 or 405. tests/fuzz/http_fuzz sends it any bytes.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/job_metrics.hpp"

namespace httplib {
class Server;
}

namespace runnel::observe {

// A member of a job scaled out with --job-id runs one pipeline per shard it
// owns; ownership moves while it runs, so the server asks for it per request.
struct MemberFigures {
  std::string job_id, member_id;
  std::vector<std::pair<int, std::shared_ptr<const JobMetrics>>> shards;  // by shard
};

class MetricsServer {
 public:
  static constexpr std::size_t kMaxRequestBody = 1024;
  static constexpr std::chrono::seconds kRequestTimeout{5};

  // Listens on `address`:`port` (0: a free port); throws std::runtime_error
  // when the port cannot be bound.
  MetricsServer(std::shared_ptr<const JobMetrics> metrics, int port,
                const std::string& address = "127.0.0.1");
  // A member's figures: /metrics labels every series with its shard, /api/job
  // shows one shard (?shard=N, else the lowest it owns), /api/member them all.
  MetricsServer(std::function<MemberFigures()> member, int port,
                const std::string& address = "127.0.0.1");
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }
  // The URL of the page, for the log ("http://127.0.0.1:PORT/").
  std::string url() const;

 private:
  void listen(int port);

  std::shared_ptr<const JobMetrics> metrics_;
  std::function<MemberFigures()> member_;
  std::unique_ptr<httplib::Server> server_;
  std::string address_;
  int port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

// The exposition of `m` in the Prometheus text format (version 0.0.4).
std::string prometheus_text(const JobMetrics& m);
// A member's: each shard's series labelled shard="N".
std::string prometheus_text(const MemberFigures& member);
// The plan and its figures, as served on /api/job.
std::string job_json(const JobMetrics& m);
// One shard of a member's (`shard` one of member.shards), with a "member"
// object naming the job, the member and its shards.
std::string job_json(const MemberFigures& member, int shard);
// The member and each of its shards' totals, as served on /api/member.
std::string member_json(const MemberFigures& member);
// The page served on /.
const std::string& web_page();

}  // namespace runnel::observe

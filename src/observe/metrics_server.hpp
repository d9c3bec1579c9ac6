#pragma once
// Serves a running job's figures on 127.0.0.1 from a thread of its own:
//   /metrics   Prometheus text exposition (built with prometheus-cpp)
//   /api/job   the plan and its figures as JSON
//   /          a web page drawing both (static, embedded in the binary)
// The figures stay served after the run ends, until the server is destroyed.
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "core/job_metrics.hpp"

namespace httplib {
class Server;
}

namespace runnel::observe {

class MetricsServer {
 public:
  // Listens on 127.0.0.1:`port` (0: a free port); throws std::runtime_error
  // when the port cannot be bound.
  MetricsServer(std::shared_ptr<const JobMetrics> metrics, int port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  std::shared_ptr<const JobMetrics> metrics_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread thread_;
};

// The exposition of `m` in the Prometheus text format (version 0.0.4).
std::string prometheus_text(const JobMetrics& m);
// The plan and its figures, as served on /api/job.
std::string job_json(const JobMetrics& m);
// The page served on /.
const std::string& web_page();

}  // namespace runnel::observe

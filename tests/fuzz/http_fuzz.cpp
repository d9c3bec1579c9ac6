// libFuzzer target: the metrics server's request parsing (cpp-httplib, as
// compiled into runnel) with a job's figures being served. Each input is
// sent as the bytes of one connection to a live server on loopback; the
// server answers or closes, and a plain GET /metrics on a new connection is
// answered 200 after every input: nothing a client sends stops the page.
// (A client can hold one of the server's threads for its read timeout, 5 s:
// the check waits up to 15 s, a bound on liveness, not a speed.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "core/job_metrics.hpp"
#include "fuzz_checks.hpp"
#include "observe/metrics_server.hpp"

namespace {

using runnel::fuzz::require;

std::shared_ptr<runnel::JobMetrics> figures() {
  auto m = std::make_shared<runnel::JobMetrics>("fuzzed");
  m->set_plan({{2, {{"kafka 'clicks'", "source"}, {"map", "element-wise"}}},
               {1, {{"sum", "keyed"}, {"write text 'out'", "sink"}}, 16}},
              {{0, 1, 1, "hash(key group)"}});
  m->instance(0, 0).ops[0].counters.records_out = 10;
  m->checkpoint_completed({7, 0.25, 4096, 1'700'000'000'000});
  m->set_consumer_lag("clicks", 3, 42);
  return m;
}

// Sends `bytes` on a new connection and reads what comes back until the
// server closes or goes quiet; returns what it read. With half_close the
// client says it sends no more (cpp-httplib then answers nothing: it sees
// the connection closing, so the check below keeps its side open).
std::string exchange(int port, std::string_view bytes, int quiet_ms, bool half_close) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  require(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A connection refused while the server's backlog is full is tried again
  // for up to 5 s; one refused for longer means the server stopped accepting.
  int tries = 0;
  while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    require(++tries < 500);
    ::close(fd);
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    require(fd >= 0);
    ::usleep(10'000);
  }
  // Closed with a reset: thousands of connections a second in TIME_WAIT
  // would use up the loopback's ephemeral ports within a minute.
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server closed: it refused what it read
    sent += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string got;
  char buf[4096];
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, quiet_ms) > 0) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return got;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto metrics = figures();
  static runnel::observe::MetricsServer server(metrics, 0);
  exchange(server.port(), std::string_view(reinterpret_cast<const char*>(data), size), 200, true);
  // An answer cut off while the server is busy (a reset, its backlog) is
  // not the page stopping: it is tried three times.
  std::string answer;
  for (int attempt = 0; attempt < 3 && answer.empty(); ++attempt)
    answer =
        exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 15000, false);
  if (answer.rfind("HTTP/1.1 200", 0) != 0) {
    std::fprintf(stderr, "http_fuzz: GET /metrics after the input was answered '%s'\n",
                 answer.substr(0, 200).c_str());
    std::abort();
  }
  return 0;
}

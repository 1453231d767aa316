// A tiny HTTP/1.1 server on a free loopback port whose answers a test scripts: status, headers, body,
// delay, or a connection reset. Records every request (gzip bodies inflated) for assertions.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mqs::influx::testing {

struct HttpRequest {
    std::string method, target;
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;                                           // inflated when Content-Encoding: gzip
    std::string header(const std::string& name) const;
};

struct ScriptedResponse {
    int status = 204;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::milliseconds delay{0};  // before answering
    bool reset = false;                  // close the socket with RST instead of answering
};

// Thread: one accept thread serving connections one at a time (keep-alive honoured).
class ScriptedHttpServer {
public:
    using Handler = std::function<ScriptedResponse(const HttpRequest&)>;
    explicit ScriptedHttpServer(Handler handler);
    ~ScriptedHttpServer();

    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    void setHandler(Handler handler);
    std::vector<HttpRequest> requests() const;
    size_t requestCount() const;

private:
    void run();
    void serve(int fd);

    int listen_fd_ = -1;
    int port_ = 0;
    std::atomic<bool> stop_{false};
    mutable std::mutex mutex_;
    Handler handler_;
    std::vector<HttpRequest> requests_;
    std::thread thread_;
};

// Lines of a line-protocol body (split on '\n', empty lines dropped).
std::vector<std::string> bodyLines(const std::string& body);

}  // namespace mqs::influx::testing

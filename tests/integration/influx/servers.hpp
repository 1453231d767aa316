// Real time-series servers for the influx integration tests: Debian's influxd 1.6.7 (/write, /query)
// and victoria-metrics (/api/v2/write, /api/v1/export, optionally over https), each on free loopback
// ports in a temp dir.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mqs::influx::testing {

struct HttpResult {
    long status = 0;  // 0: no answer
    std::string body;
};

// `ca_file`: PEM bundle trusted for https URLs (empty: the system store); with it the host name is not checked.
HttpResult httpGet(const std::string& url, const std::string& ca_file = "");
HttpResult httpPost(const std::string& url, const std::string& body,
                    const std::string& content_type = "application/x-www-form-urlencoded", const std::string& ca_file = "");
std::string urlEncode(const std::string& text);

// A child process with its own data directory; stop() and start() keep ports and data (outage tests).
class ServerProcess {
public:
    virtual ~ServerProcess();
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    void stop();
    int port() const { return http_port_; }
    std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(http_port_); }
    std::string log() const;
    bool running() const { return pid_ > 0; }

protected:
    ServerProcess(const std::string& name);
    virtual std::vector<std::string> argv() const = 0;
    virtual std::string readyPath() const = 0;  // GET answers 2xx once ready
    std::filesystem::path dir_;
    int http_port_ = 0;
    std::string scheme_ = "http";
    std::string ca_file_;  // what the tests' own requests trust when scheme_ is https

private:
    pid_t pid_ = -1;
};

class InfluxdProcess final : public ServerProcess {
public:
    InfluxdProcess();
    void createDatabase(const std::string& name);
    // Rows of `SELECT ...` as JSON objects column -> value (time in ns since the epoch).
    std::vector<nlohmann::json> query(const std::string& db, const std::string& q);

protected:
    std::vector<std::string> argv() const override;
    std::string readyPath() const override { return "/ping"; }

private:
    int rpc_port_ = 0;
};

// Certificate and key a server presents over https, and the CA the tests' own requests trust.
struct ServerTls {
    std::string cert_file, key_file, ca_file;
};

class VictoriaProcess final : public ServerProcess {
public:
    VictoriaProcess();
    explicit VictoriaProcess(ServerTls tls);  // https only (VictoriaMetrics' -tls)
    // /api/v1/export lines for the series selector (after a forced flush).
    std::vector<nlohmann::json> exportSeries(const std::string& selector);

protected:
    std::vector<std::string> argv() const override;
    std::string readyPath() const override { return "/health"; }

private:
    std::string cert_file_, key_file_;
};

}  // namespace mqs::influx::testing

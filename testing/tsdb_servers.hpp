// Real time-series servers for tests and benchmarks: Debian's influxd 1.6.7 (/write, /query) and
// victoria-metrics (/write, /api/v2/write, /api/v1/export, optionally over https), each a child
// process on a free loopback port with its own data directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "testing/child_process.hpp"

namespace mqs::testing {

// A server process; stop() and start() keep port and data (outage tests). Test thread only.
class ServerProcess {
public:
    virtual ~ServerProcess();
    // Ready once GET readyPath() answers 2xx. A port taken meanwhile by another process is retried
    // on a new one; false if the server exits or is not ready in time (it is then stopped).
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    void stop();
    int port() const { return http_port_; }
    std::string url() const { return scheme_ + "://127.0.0.1:" + std::to_string(http_port_); }
    std::string log() const;  // stdout and stderr of every run
    bool running() { return process_.running(); }
    pid_t pid() const { return process_.pid(); }
    const std::filesystem::path& dir() const { return dir_; }

protected:
    // `dir` empty: a temp dir removed at destruction; otherwise created and kept.
    ServerProcess(const std::string& name, std::filesystem::path dir);
    virtual std::vector<std::string> argv() const = 0;
    virtual std::string readyPath() const = 0;
    virtual void portsChanged() {}  // after a new port was picked, before the retry

    std::filesystem::path dir_;
    int http_port_ = 0;
    std::string scheme_ = "http";
    std::string ca_file_;  // what our own requests trust when scheme_ is https

private:
    std::filesystem::path owned_temp_dir_;
    ChildProcess process_;
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
    void portsChanged() override;

private:
    void writeConfig() const;
    int rpc_port_ = 0;
};

// Certificate and key a server presents over https, and the CA our own requests trust.
struct ServerTls {
    std::string cert_file, key_file, ca_file;
};

// The victoria-metrics binary: the first on $PATH, else /usr/bin/victoria-metrics; empty if none.
std::string findVictoriaMetrics();

// Retention 100 years, so fixed test timestamps of any age are kept.
class VictoriaProcess final : public ServerProcess {
public:
    VictoriaProcess();
    explicit VictoriaProcess(ServerTls tls);  // https only (VictoriaMetrics' -tls)
    // A given binary and data directory (kept after the run), for the bench runner.
    VictoriaProcess(std::string binary, std::filesystem::path dir);

    // /api/v1/export lines for the series selector (after a forced flush).
    std::vector<nlohmann::json> exportSeries(const std::string& selector,
                                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
    // Samples stored under one metric name (force_flush, then /api/v1/export): newly written samples
    // show up about a second after they arrived. Identical samples are all kept. nullopt: no answer.
    std::optional<std::uint64_t> storedSamples(const std::string& metric);
    // Line-protocol lines parsed so far (vm_protoparser_rows_read_total{type="influx"} of /metrics):
    // counted as requests arrive, before the samples become searchable.
    std::optional<std::uint64_t> influxLinesRead();

protected:
    std::vector<std::string> argv() const override;
    std::string readyPath() const override { return "/health"; }

private:
    std::string binary_;
    std::string cert_file_, key_file_;
};

}  // namespace mqs::testing

// Processes that run_bench's forwarding rows start next to the broker: VictoriaMetrics on a free
// loopback port (the write endpoint, and the counter of what arrived) and helper processes such as
// the Python bridge. Used from run_bench's main thread only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mqs::bench {

struct HttpReply {
    int status = 0; // 0: no answer (refused, timeout, unparsable)
    std::string body;
};

// GET http://127.0.0.1:<port><target> as HTTP/1.0, so the server sends the body unchunked and
// closes the connection after it. Loopback only, no redirects: enough for VictoriaMetrics.
HttpReply httpGetLoopback(int port, const std::string& target, int timeoutMs = 10000);

// A child process whose stdout and stderr go to files. It is killed when the runner dies
// (PR_SET_PDEATHSIG), so an interrupted run leaves no server behind. stop() in the destructor.
class ChildProcess {
public:
    ChildProcess() = default;
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // False (with error set) when fork or exec setup fails; an exec failure shows as exit 127.
    bool spawn(const std::vector<std::string>& argv, const std::filesystem::path& stdoutFile,
               const std::filesystem::path& stderrFile, std::string& error);
    // Reaps the child if it has exited; false then.
    bool running();
    // SIGTERM, wait up to timeout, then SIGKILL. Exit code, 128+signal if killed, -1 if never run.
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    int exitCode_ = -1;
};

// The victoria-metrics binary: the first on $PATH, else /usr/bin/victoria-metrics; empty if none.
std::string findVictoriaMetrics();

// VictoriaMetrics (Debian's package) accepting InfluxDB writes (/write, /api/v2/write) on a free
// loopback port, storing under dir. Retention 100 years, so payload timestamps of any age stay.
class VictoriaMetrics {
public:
    VictoriaMetrics(std::string binary, std::filesystem::path dir);

    bool start(std::string& error, std::chrono::milliseconds timeout = std::chrono::seconds(20));
    void stop() { process_.stop(); }
    int port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    pid_t pid() const { return process_.pid(); }
    std::string logTail(size_t maxBytes = 400) const;

    // Line-protocol lines parsed so far (vm_protoparser_rows_read_total{type="influx"} of
    // /metrics): counted as requests arrive, before the samples become searchable.
    std::optional<std::uint64_t> influxLinesRead();
    // Samples stored under one metric name (force_flush, then /api/v1/export). Newly written
    // samples show up here about a second after they arrived. Identical samples are all kept
    // (no -dedup.minScrapeInterval), so two points with the same timestamp both count.
    std::optional<std::uint64_t> storedSamples(const std::string& metric);

private:
    std::string binary_;
    std::filesystem::path dir_;
    int port_ = 0;
    ChildProcess process_;
};

// CPU seconds (user + system, all threads) a process has used: the scheduler's ns figure summed
// over /proc/<pid>/task/*/schedstat when available, else /proc/<pid>/stat ticks. nullopt if gone.
std::optional<double> processCpuSeconds(pid_t pid);

} // namespace mqs::bench

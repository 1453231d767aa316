// Test and bench harness: runs the real mosquitto binary as a child process in a private temp dir,
// with a generated config, log capture and lifecycle control (tests/integration, bench/run_bench).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "testing/child_process.hpp"

namespace mqs::testing {

class BrokerProcess {
public:
    // config_body: mosquitto.conf lines without the listener line. The harness adds
    // "listener <port> 127.0.0.1" and, unless the body sets them itself: allow_anonymous true,
    // log_type all, persistence false, persistence_location <dir>/ and (when run as root) user root.
    // Logging always goes to <dir>/broker.log; log_dest lines in the body are commented out.
    // A body with its own log_type lines (e.g. to keep benchmark logs small) gets
    // "log_type information" appended, so reloads and plugin notices stay in the log.
    // per_listener_settings lines are hoisted above the listener line (mosquitto requires that).
    explicit BrokerProcess(std::string config_body, std::string name = "broker");
    ~BrokerProcess();

    BrokerProcess(const BrokerProcess&) = delete;
    BrokerProcess& operator=(const BrokerProcess&) = delete;

    // fork/exec mosquitto -c <dir>/mosquitto.conf (cwd = dir()). Ready once the broker process
    // listens on port(): mosquitto (2.0 and 2.1) initialises its plugins before it opens its
    // listeners, so no log wording is needed. False if the process exited first (exitStatus() is
    // then set) or the timeout passed (the broker is then killed). A port lost to a race is retried.
    bool start(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    int port() const { return port_; }
    pid_t pid() const { return child_.pid(); }
    bool isRunning() const { return child_.running(); }
    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path configPath() const { return dir_ / "mosquitto.conf"; }

    // Whole log so far: broker.log followed by the process's own stdout/stderr (stdout.log),
    // where config errors land because they are printed before the log file is opened.
    std::string log() const;
    // Polls log() every 20 ms until it contains needle.
    bool waitForLog(const std::string& needle, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    // Like waitForLog, but waits until needle occurs at least `count` times.
    bool waitForLogCount(const std::string& needle, size_t count,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
    size_t countInLog(const std::string& needle) const;

    // Rewrites mosquitto.conf from a new body (same port/dir); pair with reload() or restart().
    void updateConfig(std::string config_body);
    void reload();  // SIGHUP
    // SIGTERM, wait up to timeout, then SIGKILL. Returns the exit code (128+signal if killed);
    // if not running, the last exit status (-1 if it never ran).
    int stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
    void kill9();  // SIGKILL + reap, for crash tests
    std::optional<int> waitExit(std::chrono::milliseconds timeout);
    std::optional<int> exitStatus() const { return child_.exitStatus(); }
    // Stops the broker if running, then starts it again with the same dir, port and config.
    bool restart(std::chrono::milliseconds timeout = std::chrono::seconds(10));

    // Writes dir()/relative (parent dirs created), for rules files, password files, ...
    void writeFile(const std::string& relative, const std::string& content) const;

    // utime+stime of the whole broker process; after exit, taken from the reaped rusage.
    std::chrono::microseconds cpuTime() const;
    // VmHWM in kB; after exit, ru_maxrss of the reaped process.
    long peakRssKb() const;

    // Decides whether the temp dir is kept at destruction (true = a test failed). Installed
    // automatically for executables built with add_integration_test (MQS_HARNESS_WITH_GTEST).
    static void setFailureProbe(std::function<bool()> probe);

private:
    bool spawnAndWait(std::chrono::milliseconds timeout);
    void writeConfig() const;
    std::string readFile(const std::string& name) const;

    std::string name_;
    std::string body_;
    std::filesystem::path dir_;
    int port_ = 0;
    mutable ChildProcess child_;  // mutable: isRunning() reaps an exited broker
};

}  // namespace mqs::testing

#if defined(MQS_HARNESS_WITH_GTEST)
#include <gtest/gtest.h>

namespace mqs::testing::detail {
// Keeps broker dirs of failed tests; outside a test (suite-level brokers) any failure so far counts.
inline const bool kGtestFailureProbeInstalled = [] {
    BrokerProcess::setFailureProbe([] {
        const auto* unit = ::testing::UnitTest::GetInstance();
        return ::testing::Test::HasFailure() || (unit->current_test_info() == nullptr && unit->failed_test_count() > 0);
    });
    return true;
}();
}  // namespace mqs::testing::detail
#endif

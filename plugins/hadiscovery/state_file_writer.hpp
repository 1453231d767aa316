// Writes the plugin's state snapshot off the broker thread, in a short-lived child process rather than a
// thread: fork() gives the child a copy-on-write image of the broker at that instant; the child renders the
// snapshot, writes it with writeFileAtomically (<file>.new, fsync, rename, fsync of the folder), reports
// through a pipe and exits. The broker thread only forks and later reads the one-line outcome.
// Why not a thread: once a process has a second thread, glibc takes locks in malloc and around every system
// call for the rest of its life, which cost the broker ~400 instructions per message under this plugin
// (docs/benchmarks.md, Home Assistant discovery); a child process leaves the broker single-threaded.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/durable_file.hpp"

namespace mqs::hadiscovery {

// Corrupt or unreadable state snapshot; the message names the file (`where`) and the problem.
class SnapshotError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using mqs::writeFileAtomically;

// Thread: one thread only (the broker's). The latest snapshot wins: one child at a time, and what is submitted
// meanwhile waits (a newer submission replaces it) until poll() or the next submit() finds the child done.
// A crash at any moment leaves either the old or the new complete file. Errors never throw: they are kept
// (at most 16) for the caller to log. The destructor waits for a running child and writes what is pending.
class StateFileWriter {
public:
    using Render = std::function<std::string()>;

    explicit StateFileWriter(std::string path);
    ~StateFileWriter();
    StateFileWriter(const StateFileWriter&) = delete;
    StateFileWriter& operator=(const StateFileWriter&) = delete;

    // `render` runs in the child, on the state as it was at the fork, at most once (not at all when a later
    // submission supersedes it); an exception from it is reported like a write failure.
    void submit(Render render);
    void submit(std::string content);
    // Collects a finished child and starts the pending snapshot's. Never blocks; call it from the timers.
    void poll();
    // Blocks until nothing is pending or being written (shutdown and tests).
    void flush();

    std::vector<std::string> takeErrors();
    const std::string& path() const { return path_; }
    uint64_t submitted() const { return submitted_; }
    uint64_t writes() const { return writes_; }
    uint64_t failures() const { return failures_; }
    uint64_t superseded() const { return superseded_; }

private:
    void start();                  // forks a child for pending_
    bool collect(bool wait);       // true once the running child's outcome is in
    void fail(std::string problem);

    const std::string path_;
    Render pending_;  // empty: nothing pending
    pid_t child_ = -1;
    int outcome_fd_ = -1;  // read end of the child's pipe, non-blocking
    std::string outcome_;  // what the child wrote so far: "ok" or the problem
    std::chrono::steady_clock::time_point retry_at_{};  // after a failed fork
    uint64_t submitted_ = 0;
    uint64_t writes_ = 0;
    uint64_t failures_ = 0;
    uint64_t superseded_ = 0;
    std::vector<std::string> errors_;
};

}  // namespace mqs::hadiscovery

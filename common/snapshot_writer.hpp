// Saves a plugin's state off the broker thread, in a short-lived child process rather than a thread
// (common/child_task.hpp says why): the child renders the snapshot from its copy-on-write image of the broker,
// hands it to the save function (a durable, atomic write), reports and exits. The broker thread only forks
// and later reads the one-line outcome. The latest snapshot wins: one child at a time, and what is
// submitted meanwhile waits (a newer submission replaces it, its notes are kept) for the next child.
// Used by dynacl (its dynamic-security.json and audit log) and hadiscovery (its state file).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/child_task.hpp"

namespace mqs {

// Thread: one thread only (the broker's, or a test's). Memory: one pending snapshot and the notes submitted
// since the last child started. Errors never throw: they are kept (at most 16) for the caller to log. The
// destructor waits for a running child and writes what is pending.
class SnapshotWriter {
public:
    // Makes `content` durable; `notes` are the lines submitted with this snapshot and every snapshot it
    // superseded (never coalesced: an audit log keeps each change's line). Returns "" or why not. Runs in
    // the child process: what it writes must land outside the process (a file, a database).
    using Save = std::function<std::string(const std::string& content, const std::vector<std::string>& notes)>;
    using Render = std::function<std::string()>;

    explicit SnapshotWriter(Save save);
    ~SnapshotWriter();
    SnapshotWriter(const SnapshotWriter&) = delete;
    SnapshotWriter& operator=(const SnapshotWriter&) = delete;

    // Returns the snapshot's sequence number (1, 2, ...). `note` empty: none.
    uint64_t submit(std::string content, std::string note = "");
    // The same with the content made by `render` in the child, on the state as it was at the fork: serializing
    // a large state must not stall the broker thread. `render` runs at most once, and not at all when a later
    // snapshot supersedes it. An exception from it is reported like a write failure.
    uint64_t submit(Render render, std::string note = "");
    // Collects a finished child and starts the pending snapshot's. Never blocks: call it from the timers.
    void poll();
    // Waits until every submitted snapshot is written, failed or superseded (shutdown and tests).
    void flush();

    // Failures since the last call, oldest first.
    std::vector<std::string> takeErrors() { return std::exchange(errors_, {}); }

    uint64_t submitted() const { return submitted_; }
    uint64_t done() const { return done_; }        // highest sequence number finished with (written or failed)
    uint64_t written() const { return written_; }  // highest sequence number on disk (with every earlier one)
    uint64_t writes() const { return writes_; }    // snapshots that reached the disk
    uint64_t failures() const { return failures_; }
    uint64_t superseded() const { return superseded_; }  // replaced by a newer one before a child took them

private:
    void start();  // forks a child for the pending snapshot
    void finish(const std::string& outcome);
    void fail(std::string problem);

    Save save_;
    Render pending_;  // empty: nothing pending
    std::vector<std::string> notes_;
    ChildTask child_;
    uint64_t child_seq_ = 0;                            // the sequence number the running child writes
    std::chrono::steady_clock::time_point retry_at_{};  // after a failed fork
    uint64_t submitted_ = 0;
    uint64_t done_ = 0;
    uint64_t written_ = 0;
    uint64_t writes_ = 0;
    uint64_t failures_ = 0;
    uint64_t superseded_ = 0;
    std::vector<std::string> errors_;
};

}  // namespace mqs

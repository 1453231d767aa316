// Saves a plugin's state off the broker thread: the latest snapshot wins (an older one not yet taken by the
// worker is superseded), and the worker renders it and hands it to a save function (a durable, atomic write).
// Used by dynacl (its dynamic-security.json and audit log) and hadiscovery (its state file).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mqs {

// Thread: every public member from the broker thread (or a test); render and save run on the internal worker
// only. submit() holds the mutex for a move, never during rendering or I/O, so it never waits for the disk.
// Memory: one pending snapshot and the notes submitted since the worker last took them. Errors never throw:
// they are kept (at most 16) for the broker thread to log. The worker starts with the first submit (see
// submit); the destructor writes what is pending, then joins.
class SnapshotWriter {
public:
    // Makes `content` durable; `notes` are the lines submitted with this snapshot and every snapshot it
    // superseded (never coalesced: an audit log keeps each change's line). Returns "" or why not.
    using Save = std::function<std::string(const std::string& content, const std::vector<std::string>& notes)>;

    explicit SnapshotWriter(Save save);
    ~SnapshotWriter();
    SnapshotWriter(const SnapshotWriter&) = delete;
    SnapshotWriter& operator=(const SnapshotWriter&) = delete;

    // Returns the snapshot's sequence number (1, 2, ...). `note` empty: none.
    uint64_t submit(std::string content, std::string note = "");
    // The same with the content made by `render` on the worker: serializing a large state must not stall the
    // broker thread. `render` runs at most once, and not at all when a later snapshot supersedes it; it must
    // only read data it owns or immutable data. An exception from it is reported like a write failure.
    uint64_t submit(std::function<std::string()> render, std::string note = "");

    // Failures since the last call, oldest first; cheap (no lock) when there are none, so it can run per tick.
    std::vector<std::string> takeErrors();
    // Waits until every submitted snapshot is written, failed or superseded (shutdown and tests).
    void flush();

    uint64_t submitted() const;
    uint64_t done() const;        // highest sequence number the worker is finished with (written or failed)
    uint64_t written() const;     // highest sequence number on disk (it includes every earlier change)
    uint64_t writes() const;      // snapshots that reached the disk
    uint64_t failures() const;    // snapshots that did not
    uint64_t superseded() const;  // replaced by a newer one before the worker took them

private:
    void run();

    Save save_;
    mutable std::mutex mutex_;  // guards everything below; never held while rendering or saving
    std::condition_variable cv_;
    std::function<std::string()> pending_;  // empty: nothing pending
    std::vector<std::string> notes_;
    uint64_t submitted_ = 0;
    uint64_t done_ = 0;
    uint64_t written_ = 0;
    uint64_t writes_ = 0;
    uint64_t failures_ = 0;
    uint64_t superseded_ = 0;
    bool stop_ = false;
    std::vector<std::string> errors_;
    std::atomic<bool> has_errors_{false};
    std::thread worker_;  // started by the first submit()
};

}  // namespace mqs

// Writes the state file off the broker thread: the latest snapshot is handed over (older unwritten ones
// are superseded), and a worker writes <file>.new, fsyncs it, renames it over the file and fsyncs the
// folder, so a crash at any moment leaves the old or the new file, never a mix.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "dynacl/state_store.hpp"

namespace mqs::dynacl {

// Thread: submit/takeErrors/written from the broker thread; the worker is internal. The destructor writes
// what is pending, then joins.
class StateWriter {
public:
    // `audit_path` empty: no audit log. Otherwise each submitted audit line is appended (and fsynced) to it
    // before the state it goes with is written.
    explicit StateWriter(std::string path, std::string audit_path = "");  // a FileStateStore on `path`
    explicit StateWriter(std::unique_ptr<StateStore> store, std::string audit_path = "");
    ~StateWriter();
    StateWriter(const StateWriter&) = delete;
    StateWriter& operator=(const StateWriter&) = delete;

    // Returns the sequence number of this snapshot.
    uint64_t submit(std::string content, std::string audit_line = "");
    // The same, with the content made by `render` on the worker: serialising a large state (68 ms for
    // 10 000 clients, docs/dynacl.md Performance) must not stall the broker thread. `render` runs on the
    // worker, at most once, and not at all when a later snapshot supersedes it; it must only read
    // immutable data (a shared_ptr<const State>). Its exceptions are reported like write failures.
    uint64_t submit(std::function<std::string()> render, std::string audit_line = "");
    // Failures since the last call (for the broker thread's log); bounded.
    std::vector<std::string> takeErrors();
    // Highest sequence number on disk (its state includes every earlier snapshot's changes).
    uint64_t written() const;
    // Highest sequence number the worker is finished with, written or failed.
    uint64_t done() const;
    // For tests and shutdown: waits until everything submitted is written or failed.
    void flush();

private:
    void run();
    static std::string appendLines(const std::string& path, const std::vector<std::string>& lines);

    std::unique_ptr<StateStore> store_;  // save() only from the worker
    std::string audit_path_;
    std::vector<std::string> audit_lines_;  // never coalesced: every change keeps its line
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::function<std::string()> pending_;  // empty: nothing to write
    uint64_t submitted_ = 0;
    uint64_t pending_seq_ = 0;
    uint64_t written_ = 0;
    uint64_t done_ = 0;  // written or failed
    bool stop_ = false;
    std::vector<std::string> errors_;
    std::atomic<bool> has_errors_{false};  // lets takeErrors() skip the mutex on every tick when there are none
    std::thread worker_;
};

}  // namespace mqs::dynacl

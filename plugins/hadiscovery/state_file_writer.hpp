// Writes the plugin's state snapshot off the broker thread: the latest snapshot wins (older unwritten ones
// are superseded), and a worker writes <file>.new, fsyncs it, renames it over the file and fsyncs the folder.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mqs::hadiscovery {

// Corrupt or unreadable state snapshot; the message names the file (`where`) and the problem.
class SnapshotError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Thread: submit/takeErrors/counters from the broker thread; the file is written only on the internal
// worker. submit() holds the mutex for a move only (the worker never holds it during file I/O), so it
// never waits for the disk; memory is bounded to one pending snapshot. A crash at any moment leaves
// either the old or the new complete file. Errors never throw: they are kept (at most 16) for the
// broker thread to log. The destructor writes what is pending, then joins.
// (dynacl's StateWriter does the same plus an audit log; the two could become one in common/ later.)
class StateFileWriter {
public:
    explicit StateFileWriter(std::string path);
    ~StateFileWriter();
    StateFileWriter(const StateFileWriter&) = delete;
    StateFileWriter& operator=(const StateFileWriter&) = delete;

    void submit(std::string snapshot);
    // The same with the text made on the worker: `render` owns a copy of the state and turns it into the
    // file's content there, so a large state's serialization never runs on the broker thread.
    void submit(std::function<std::string()> render);
    // Write failures since the last call, oldest first (for the broker thread's log).
    std::vector<std::string> takeErrors();
    // Shutdown and tests: waits until every submitted snapshot is written or failed.
    void flush();

    uint64_t submitted() const;
    uint64_t writes() const;      // snapshots that reached the disk
    uint64_t failures() const;    // snapshots that did not
    uint64_t superseded() const;  // replaced by a newer one before the worker took them
    const std::string& path() const { return path_; }

private:
    void run();

    const std::string path_;
    mutable std::mutex mutex_;  // guards everything below; never held during file I/O
    std::condition_variable cv_;
    std::function<std::string()> pending_;  // empty: nothing pending
    uint64_t submitted_ = 0;
    uint64_t done_ = 0;  // all snapshots up to this one are written, failed or superseded
    uint64_t writes_ = 0;
    uint64_t failures_ = 0;
    uint64_t superseded_ = 0;
    bool stop_ = false;
    std::vector<std::string> errors_;
    std::thread worker_;  // last: started once the fields above exist
};

// Writes `content` atomically as `path` (temp file, fsync, rename, fsync of the folder). Returns an empty
// string or why not. Blocks on the disk: worker thread or tests only.
std::string writeFileAtomically(const std::string& path, const std::string& content);

}  // namespace mqs::hadiscovery

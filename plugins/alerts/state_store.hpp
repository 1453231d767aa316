// Persistence of alert state: the portable per-device record, its JSON-lines snapshot format, and
// the writer thread that rewrites the snapshot (temp file + fsync + rename) off the broker thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/periodic_worker.hpp"

namespace mqs::alerts {

// One (rule, device) as saved; names rather than indexes so it survives rule edits. Times are
// wall-clock milliseconds since the epoch (0 when unset) so they survive a restart.
struct DeviceRecord {
    struct Pending {
        std::string level;
        uint32_t count = 0;
        int64_t since = 0;
        bool operator==(const Pending&) const = default;
    };
    std::string rule;
    std::string device;
    bool removed = false;       // tombstone: the device was forgotten
    std::string active_level;   // empty: no threshold alert
    int64_t active_since = 0;
    uint32_t active_samples = 0;
    bool has_last_value = false;
    double last_value = 0;
    int64_t last_seen = 0;
    int64_t last_notify = 0;
    int64_t cleared_at = 0;
    bool deadman_active = false;
    bool invalid_active = false;
    bool has_hash = false;
    uint64_t last_hash = 0;
    std::vector<Pending> pending;  // debounce progress of levels above the active one

    bool operator==(const DeviceRecord&) const = default;
};

class StateError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string serializeRecord(const DeviceRecord& record);  // one JSON line, no newline
// Whole snapshot text: a header line, then one record per line. Throws StateError naming the line.
std::vector<DeviceRecord> parseSnapshot(const std::string& text, const std::string& where);
// Missing file: empty result. Unreadable or corrupt: StateError.
std::vector<DeviceRecord> loadSnapshot(const std::filesystem::path& file);
// Writes atomically: temp file in the same directory, fsync, rename, fsync of the directory.
// Throws StateError. Worker thread (or tests) only: it blocks on the disk.
void writeSnapshot(const std::filesystem::path& file, const std::vector<const DeviceRecord*>& records);

// Thread: submit()/replaceAll()/takeError() from the broker thread; the file is written only on the
// worker (PeriodicWorker). Batches queue under a mutex held for O(1) by the broker thread. If the
// disk stalls and queued records pass `max_pending`, the queue is dropped and needsResync() asks
// the broker thread for a full export, so memory stays bounded and the file stays correct.
class StateWriter {
public:
    StateWriter(std::filesystem::path file, std::chrono::milliseconds interval, size_t max_pending,
                std::vector<DeviceRecord> initial);
    ~StateWriter();

    void submit(std::vector<DeviceRecord> changes);
    void replaceAll(std::vector<DeviceRecord> all);  // after a reload
    bool needsResync() { return resync_.exchange(false); }
    // Last write error, once (empty when none).
    std::string takeError();
    uint64_t writes() const { return writes_.load(); }
    uint64_t failures() const { return failures_.load(); }
    // Flushes and joins (runs the write one last time): shutdown only.
    void stop();

private:
    void run();  // worker

    std::filesystem::path file_;
    size_t max_pending_;
    std::mutex mutex_;  // guards the fields up to error_; never held during file I/O
    std::deque<std::pair<bool, std::vector<DeviceRecord>>> batches_;  // (replace all, records)
    size_t pending_records_ = 0;
    std::string error_;
    std::atomic<bool> resync_{false};
    std::atomic<uint64_t> writes_{0}, failures_{0};
    // Worker-only mirror of the file's content.
    std::map<std::pair<std::string, std::string>, DeviceRecord> mirror_;
    bool mirror_dirty_ = false;
    std::unique_ptr<PeriodicWorker> worker_;  // last: started after everything above exists
};

}  // namespace mqs::alerts

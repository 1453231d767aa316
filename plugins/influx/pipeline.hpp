// One sink's delivery pipeline: broker thread -> journal (mmap file; or the in-memory line queue) ->
// intake thread (batches, spool while the server is away) -> sender thread (HTTP, status handling,
// backoff). Reports go back to the broker thread through a queue: workers may not call the broker's log.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "influx/batch.hpp"
#include "common/bounded_queue.hpp"
#include "common/clock.hpp"
#include "influx/delivery.hpp"
#include "influx/journal.hpp"
#include "influx/line_queue.hpp"
#include "common/log.hpp"
#include "common/metrics.hpp"
#include "influx/rules.hpp"
#include "influx/spool.hpp"
#include "influx/transport.hpp"

namespace mqs::influx {

// on: the broker thread hands lines over through the sink's journal (they survive kill -9);
// off: through the in-memory LineQueue (a journal left by an earlier run is still replayed).
enum class JournalMode { Off, On };

struct PipelineOptions {
    size_t queue_lines = 100000;     // broker thread -> intake (journal off)
    JournalMode journal = JournalMode::On;
    uint64_t journal_bytes = 64ull << 20;        // ring size of <spool dir>/journal
    std::chrono::milliseconds journal_sync{0};   // msync interval on the intake thread; 0: never
    size_t batch_lines = 5000;
    size_t batch_bytes = 1 << 20;
    std::chrono::milliseconds flush_interval{200};
    size_t memory_bytes = 64 << 20;  // sealed batches held in memory before the spool takes over
    SpoolOptions spool;              // dir is <spool_dir>/<sink name>
    std::chrono::milliseconds retry_initial{1000};
    std::chrono::milliseconds retry_max{60000};
    uint64_t quarantine_max_bytes = 64ull << 20;
};

// Something for the broker thread to log (and, with last_error, to publish).
struct Report {
    LogLevel level = LogLevel::Info;
    std::string text;
    std::string sink;
    std::optional<std::string> last_error;
};
using ReportQueue = BoundedQueue<Report>;

using TransportFactory = std::function<std::unique_ptr<Transport>(const std::atomic<bool>* abort)>;

// Thread: construct, start, offer and stop from the broker thread; two worker threads inside.
// Lock order: mutex_ only (the input queue and the report queue have their own internal locks,
// never held while taking mutex_). Construction opens and recovers the spool and the journal (throws
// SpoolError). With the journal, a batch's lines are released from it when the batch is safe: written
// to the server or appended to the spool. Both happen in queue order (the spool holds the older part,
// memory the newer), so the released journal position only moves forward.
class SinkPipeline {
public:
    SinkPipeline(SinkConfig sink, PipelineOptions options, TransportFactory transport, MetricsRegistry& metrics,
                 ReportQueue& reports, const Clock& clock);
    ~SinkPipeline();
    SinkPipeline(const SinkPipeline&) = delete;
    SinkPipeline& operator=(const SinkPipeline&) = delete;

    void start();
    // Broker thread: never blocks (journal: a memcpy; queue: a short lock). False when the journal or
    // the queue is full.
    bool offer(std::string_view line) {
        if (journal_on_ ? !journal_->append(line) : !input_.tryPush(line)) return false;
        counters_.queued.add();
        return true;
    }
    // Stops the sender (aborting a request in flight), turns everything still in memory into spool
    // records, and joins. Lines the spool cannot take are counted in lost_at_shutdown and reported.
    void stop();

    const SinkConfig& sink() const { return sink_; }
    uint64_t recoveredRecords() const { return recovered_records_; }
    // Null when the journal is off and no earlier run left one with lines in it.
    const Journal* journal() const { return journal_.get(); }
    // Test hook: number of batches waiting in memory and in the spool.
    size_t pendingBatches();

private:
    void intakeLoop();
    void senderLoop();
    bool placeLocked(const std::shared_ptr<Batch>& batch);
    void releaseLocked(const Batch& batch);
    // Lines neither memory nor the spool could take at shutdown: still in the journal, or lost.
    void unplacedAtShutdown(size_t lines, bool journaled, const char* where);
    void migrateLocked();
    void popHeadLocked();
    void updateGaugesLocked();
    void quarantine(const DeliveryResult& result);
    void report(LogLevel level, std::string text, std::optional<std::string> last_error = std::nullopt);
    int64_t nowMs() const;

    SinkConfig sink_;
    PipelineOptions options_;
    TransportFactory transport_factory_;
    ReportQueue& reports_;
    const Clock& clock_;
    LineQueue input_;
    std::unique_ptr<Journal> journal_;
    bool journal_on_ = false;
    size_t memory_limit_ = 0;  // memory_bytes, capped so memory batches cannot fill the journal

    std::mutex mutex_;  // guards everything below up to the threads
    std::condition_variable work_;
    std::deque<std::shared_ptr<Batch>> memory_;  // newer than everything in spool_
    size_t memory_bytes_ = 0;
    Spool spool_;
    bool failing_ = false;      // the last attempt failed: new batches go to the spool
    bool spool_full_reported_ = false;
    Clock::TimePoint retry_at_{};
    bool stop_sender_ = false;
    bool intake_shutting_down_ = false;

    std::atomic<bool> abort_{false};
    std::atomic<bool> stop_intake_{false};
    std::unique_ptr<Transport> transport_;
    Backoff backoff_;
    uint64_t recovered_records_ = 0;
    std::thread intake_, sender_;

    struct Counters {
        Metric& queued;
        Metric& written;
        Metric& retried;
        Metric& failed;
        Metric& requests;
        Metric& quarantined;
        Metric& quarantine_dropped;
        Metric& spooled_bytes;
        Metric& spooled_batches;
        Metric& spooled_points_total;
        Metric& memory_bytes;
        Metric& oldest_unsent_age_ms;
        Metric& spool_errors;
        Metric& spool_corrupt_bytes;
        Metric& lost_at_shutdown;
        Metric& journal_bytes;
        Metric& journal_replayed;
        Metric& journal_errors;
        Metric& reports_dropped;
    } counters_;
};

}  // namespace mqs::influx

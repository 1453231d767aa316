// Intake and sender threads of one sink; see pipeline.hpp and docs/influx.md ("Delivery").
// Ordering invariant: the spool holds the older part of a sink's queue, memory the newer part.
#include "influx/pipeline.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

namespace mqs::influx {
namespace {

std::string metricName(const std::string& sink, const char* name) { return "sinks/" + sink + "/" + name; }

}  // namespace

SinkPipeline::SinkPipeline(SinkConfig sink, PipelineOptions options, TransportFactory transport, MetricsRegistry& metrics,
                           ReportQueue& reports, const Clock& clock)
    : sink_(std::move(sink)),
      options_(std::move(options)),
      transport_factory_(std::move(transport)),
      reports_(reports),
      clock_(clock),
      input_(options_.queue_lines),
      spool_(options_.spool),
      backoff_(options_.retry_initial, options_.retry_max),
      counters_{metrics.get(metricName(sink_.name, "queued")),
                metrics.get(metricName(sink_.name, "written")),
                metrics.get(metricName(sink_.name, "retried")),
                metrics.get(metricName(sink_.name, "failed")),
                metrics.get(metricName(sink_.name, "requests")),
                metrics.get(metricName(sink_.name, "quarantined")),
                metrics.get(metricName(sink_.name, "quarantine_dropped")),
                metrics.get(metricName(sink_.name, "spooled_bytes")),
                metrics.get(metricName(sink_.name, "spooled_batches")),
                metrics.get(metricName(sink_.name, "spooled_points_total")),
                metrics.get(metricName(sink_.name, "memory_bytes")),
                metrics.get(metricName(sink_.name, "oldest_unsent_age_ms")),
                metrics.get(metricName(sink_.name, "spool_errors")),
                metrics.get(metricName(sink_.name, "spool_corrupt_bytes")),
                metrics.get(metricName(sink_.name, "lost_at_shutdown")),
                metrics.get(metricName(sink_.name, "journal_bytes")),
                metrics.get(metricName(sink_.name, "journal_replayed")),
                metrics.get(metricName(sink_.name, "journal_errors")),
                metrics.get("reports_dropped")} {
    recovered_records_ = spool_.recoveredRecords();
    // The spool's directory exists now. A journal left by a run with it on is replayed even when it is off.
    const auto journal_file = options_.spool.dir / "journal";
    std::error_code ec;
    if (options_.journal == JournalMode::On) {
        journal_ = std::make_unique<Journal>(journal_file, options_.journal_bytes);
    } else if (std::filesystem::exists(journal_file, ec)) {
        journal_ = std::make_unique<Journal>(journal_file, options_.journal_bytes);
        if (journal_->recoveredLines() == 0) {
            journal_.reset();
            std::filesystem::remove(journal_file, ec);
        }
    }
    journal_on_ = options_.journal == JournalMode::On;
    memory_limit_ = options_.memory_bytes;
    if (journal_) {
        // Memory batches hold journal space until written: keep them to a quarter of it, beyond which
        // they move to the spool (as with a full memory_limit), so the journal keeps room for new lines.
        memory_limit_ = static_cast<size_t>(std::min<uint64_t>(memory_limit_, journal_->capacity() / 4));
        counters_.journal_replayed.set(static_cast<int64_t>(journal_->recoveredLines()));
        counters_.journal_bytes.set(static_cast<int64_t>(journal_->usedBytes()));
    }
    counters_.spool_corrupt_bytes.set(static_cast<int64_t>(spool_.corruptBytes()));
    counters_.spooled_bytes.set(static_cast<int64_t>(spool_.bytes()));
    counters_.spooled_batches.set(static_cast<int64_t>(spool_.records()));
    transport_ = transport_factory_(&abort_);
}

SinkPipeline::~SinkPipeline() { stop(); }

void SinkPipeline::start() {
    intake_ = std::thread([this] { intakeLoop(); });
    sender_ = std::thread([this] { senderLoop(); });
}

int64_t SinkPipeline::nowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.wallNow().time_since_epoch()).count();
}

void SinkPipeline::report(LogLevel level, std::string text, std::optional<std::string> last_error) {
    if (!reports_.tryPush(Report{level, "sink '" + sink_.name + "': " + std::move(text), sink_.name, std::move(last_error)})) {
        counters_.reports_dropped.add();
    }
}

size_t SinkPipeline::pendingBatches() {
    std::lock_guard lock(mutex_);
    return memory_.size() + spool_.records();
}

void SinkPipeline::updateGaugesLocked() {
    counters_.spooled_bytes.set(static_cast<int64_t>(spool_.bytes()));
    counters_.spooled_batches.set(static_cast<int64_t>(spool_.records()));
    counters_.memory_bytes.set(static_cast<int64_t>(memory_bytes_));
    counters_.spool_corrupt_bytes.set(static_cast<int64_t>(spool_.corruptBytes()));
    if (journal_) counters_.journal_bytes.set(static_cast<int64_t>(journal_->usedBytes()));
}

void SinkPipeline::releaseLocked(const Batch& batch) {
    if (journal_ && batch.journal_end != 0) journal_->release(batch.journal_end);
}

void SinkPipeline::unplacedAtShutdown(size_t lines, bool journaled, const char* where) {
    if (journaled) {
        report(LogLevel::Warning, std::string(where) + " full at shutdown: " + std::to_string(lines) +
                                      " point(s) stay in the journal and are replayed at the next start");
        return;
    }
    counters_.lost_at_shutdown.add(static_cast<int64_t>(lines));
    report(LogLevel::Error, std::string(where) + " full at shutdown: " + std::to_string(lines) + " point(s) lost");
}

// Moves memory batches, oldest first, to the end of the spool: the spool holds the older part of the
// queue and memory the newer, so appending memory's head to the spool keeps the order.
void SinkPipeline::migrateLocked() {
    while (!memory_.empty()) {
        std::string error;
        Spool::Append r = spool_.append(memory_.front()->serialize(), error);
        if (r != Spool::Append::Ok) {
            if (r == Spool::Append::IoError) {
                counters_.spool_errors.add();
                report(LogLevel::Error, "spool write failed, keeping batches in memory: " + error);
            } else if (!spool_full_reported_) {
                spool_full_reported_ = true;
                report(LogLevel::Error, "spool is full (" + std::to_string(spool_.bytes()) +
                                            " bytes); new points wait in memory, then the spool_full_policy applies");
            }
            break;
        }
        counters_.spooled_points_total.add(static_cast<int64_t>(memory_.front()->lines()));
        releaseLocked(*memory_.front());
        memory_bytes_ -= memory_.front()->bytes();
        memory_.pop_front();
    }
    updateGaugesLocked();
}

bool SinkPipeline::placeLocked(const std::shared_ptr<Batch>& batch) {
    if (failing_ || intake_shutting_down_) {
        // Server away (or shutting down): everything goes to disk so a crash loses nothing sealed.
        migrateLocked();
        if (memory_.empty()) {
            std::string error;
            Spool::Append r = spool_.append(batch->serialize(), error);
            if (r == Spool::Append::Ok) {
                counters_.spooled_points_total.add(static_cast<int64_t>(batch->lines()));
                releaseLocked(*batch);
                spool_full_reported_ = false;
                updateGaugesLocked();
                return true;
            }
            if (r == Spool::Append::IoError) {
                counters_.spool_errors.add();
                report(LogLevel::Error, "spool write failed: " + error);
            }
        }
    }
    if (memory_bytes_ + batch->bytes() > memory_limit_) migrateLocked();
    if (memory_bytes_ + batch->bytes() > memory_limit_ && !memory_.empty()) return false;
    memory_bytes_ += batch->bytes();
    memory_.push_back(batch);
    updateGaugesLocked();
    return true;
}

void SinkPipeline::intakeLoop() {
    auto open = std::make_shared<Batch>();
    std::shared_ptr<Batch> waiting;  // sealed but neither memory nor spool could take it
    Batch incoming;                  // lines taken from the broker thread; those before `next` are batched
    std::vector<uint64_t> positions; // journal position past each line of `incoming` (empty: from input_)
    size_t next = 0;
    auto next_sync = clock_.now() + options_.journal_sync;
    Clock::TimePoint deadline{};
    const auto poll_interval =
        std::clamp(options_.flush_interval / 4, std::chrono::milliseconds(1), std::chrono::milliseconds(10));
    auto seal = [&] {
        std::unique_lock lock(mutex_);
        if (placeLocked(open)) {
            lock.unlock();
            work_.notify_all();
        } else {
            waiting = open;
        }
        open = std::make_shared<Batch>();
    };
    for (;;) {
        const bool stopping = stop_intake_.load();
        if (waiting) {
            std::unique_lock lock(mutex_);
            if (placeLocked(waiting)) {
                waiting.reset();
                lock.unlock();
                work_.notify_all();
            } else if (stopping) {
                unplacedAtShutdown(waiting->lines(), waiting->journal_end != 0, "memory and spool");
                waiting.reset();
            } else {
                // Stop taking lines: the broker's queue fills and the spool_full_policy applies there.
                work_.wait_for(lock, std::chrono::milliseconds(50));
                continue;
            }
        }
        // Poll instead of waiting on a condition variable: a sleeping waiter would make every
        // push on the broker thread pay a futex wake-up (and this thread a context switch) per point.
        const int64_t now_ms = nowMs();
        if (next == incoming.lines()) {
            // Lines of an earlier run's journal come first; with the journal off, then the queue's.
            incoming.data.clear();
            incoming.ends.clear();
            positions.clear();
            if (journal_ && journal_->hasUnread()) {
                journal_->read(incoming, positions, options_.batch_lines);
            } else if (!journal_on_) {
                input_.takeAll(incoming);
            }
            next = 0;
        }
        if (journal_ && options_.journal_sync.count() > 0 && clock_.now() >= next_sync) {
            // For power loss only: a kill -9 needs no sync, the kernel keeps the mapped pages.
            if (!journal_->sync()) counters_.journal_errors.add();
            next_sync = clock_.now() + options_.journal_sync;
        }
        size_t taken = 0;
        while (next < incoming.lines() && open->lines() < options_.batch_lines && open->bytes() < options_.batch_bytes) {
            if (open->lines() == 0) deadline = clock_.now() + options_.flush_interval;
            if (!positions.empty()) open->journal_end = positions[next];
            open->add(incoming.line(next++), now_ms);
            ++taken;
        }
        if (taken == 0 && !stopping && open->lines() < options_.batch_lines) {
            auto nap = poll_interval;
            if (open->lines() > 0) {
                nap = std::min(nap, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_.now()));
            }
            if (nap.count() > 0) std::this_thread::sleep_for(nap);
        }
        const bool full = open->lines() >= options_.batch_lines || open->bytes() >= options_.batch_bytes;
        if (open->lines() > 0 && (full || clock_.now() >= deadline || stopping)) seal();
        if (stopping && input_.size() == 0 && (!journal_ || !journal_->hasUnread()) && next == incoming.lines() &&
            open->lines() == 0 && !waiting) {
            return;
        }
    }
}

void SinkPipeline::popHeadLocked() {
    if (!spool_.empty()) {
        spool_.pop();
    } else if (!memory_.empty()) {
        releaseLocked(*memory_.front());
        memory_bytes_ -= memory_.front()->bytes();
        memory_.pop_front();
    }
    updateGaugesLocked();
}

void SinkPipeline::quarantine(const DeliveryResult& result) {
    if (result.quarantined.empty()) return;
    counters_.quarantined.add(static_cast<int64_t>(result.quarantined.size()));
    const auto path = options_.spool.dir / "quarantine.lp";
    std::string text;
    const std::time_t now = std::chrono::system_clock::to_time_t(clock_.wallNow());
    char when[32];
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (const auto& q : result.quarantined) {
        std::string message = q.message;
        for (char& c : message) {
            if (c == '\n' || c == '\r') c = ' ';
        }
        text += std::string("# ") + when + " HTTP " + std::to_string(q.status) + ": " + message + "\n" + q.line + "\n";
    }
    std::error_code ec;
    uint64_t size = std::filesystem::exists(path, ec) ? std::filesystem::file_size(path, ec) : 0;
    bool stored = false;
    if (size + text.size() <= options_.quarantine_max_bytes) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) {
            stored = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
            ::close(fd);
        }
    }
    if (!stored) counters_.quarantine_dropped.add(static_cast<int64_t>(result.quarantined.size()));
    const auto& first = result.quarantined.front();
    report(LogLevel::Warning,
           std::to_string(result.quarantined.size()) + " line(s) rejected by the server and quarantined" +
               (stored ? " in " + quoteForLog(path.string()) : " (quarantine file full: not kept)") + "; first: HTTP " +
               std::to_string(first.status) + " " + quoteForLog(first.message),
           "HTTP " + std::to_string(first.status) + ": " + first.message);
}

void SinkPipeline::senderLoop() {
    std::unique_lock lock(mutex_);
    std::string record;
    int64_t head_oldest_ms = 0;
    for (;;) {
        const auto now = clock_.now();
        const bool has_work = !spool_.empty() || !memory_.empty();
        counters_.oldest_unsent_age_ms.set(has_work && head_oldest_ms > 0 ? std::max<int64_t>(0, nowMs() - head_oldest_ms) : 0);
        if (stop_sender_) return;
        if (!has_work || now < retry_at_) {
            auto wait = std::chrono::milliseconds(1000);  // also refreshes the age gauge while idle or backing off
            if (has_work) wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now) + std::chrono::milliseconds(1));
            work_.wait_for(lock, wait);
            continue;
        }
        std::shared_ptr<const Batch> batch;
        if (!spool_.empty()) {
            if (!spool_.front(record)) {
                updateGaugesLocked();
                continue;
            }
            auto b = Batch::deserialize(record);
            if (!b) {
                // CRC matched but the content does not parse: written by another version; cannot be sent.
                report(LogLevel::Error, "dropping an unreadable spool record of " + std::to_string(record.size()) + " bytes");
                counters_.spool_errors.add();
                spool_.pop();
                continue;
            }
            batch = std::make_shared<const Batch>(std::move(*b));
        } else {
            batch = memory_.front();
        }
        head_oldest_ms = batch->oldest_ms;
        lock.unlock();

        DeliveryResult result = deliver(*transport_, *batch, &abort_);
        counters_.requests.add(static_cast<int64_t>(result.requests));
        counters_.failed.add(static_cast<int64_t>(result.failed_requests));
        counters_.written.add(static_cast<int64_t>(result.written));
        quarantine(result);

        lock.lock();
        if (result.done) {
            popHeadLocked();
            if (failing_) {
                report(LogLevel::Notice, "server reachable again after " + std::to_string(backoff_.attempt()) +
                                             " failed attempt(s); replaying " + std::to_string(spool_.records()) +
                                             " spooled batch(es)",
                       std::string());
            }
            failing_ = false;
            backoff_.reset();
            head_oldest_ms = 0;
            continue;
        }
        if (stop_sender_) return;  // aborted by shutdown: the batch stays at the head
        counters_.retried.add();
        const StatusClass why = result.stopped_by;
        const auto delay = backoff_.next(why == StatusClass::Throttled ? result.last.retry_after : std::nullopt);
        retry_at_ = clock_.now() + delay;
        const unsigned attempt = backoff_.attempt();
        const bool was_failing = failing_;
        failing_ = true;
        migrateLocked();
        std::string what = describe(result.last);
        // Credentials and unknown databases are configuration errors: say so every time.
        if (why == StatusClass::Credentials) {
            report(LogLevel::Error,
                   what + " (check the token/user and that the database or bucket exists); keeping " +
                       std::to_string(batch->lines()) + " point(s), retry in " + std::to_string(delay.count()) + " ms",
                   what);
        } else if (!was_failing || (attempt & (attempt - 1)) == 0) {
            report(LogLevel::Warning,
                   what + "; points are kept (spool: " + std::to_string(spool_.bytes()) + " bytes), retry " +
                       std::to_string(attempt) + " in " + std::to_string(delay.count()) + " ms",
                   what);
        } else {
            report(LogLevel::Debug, what, what);
        }
    }
}

void SinkPipeline::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stop_sender_ && !sender_.joinable() && !intake_.joinable()) return;
        stop_sender_ = true;
    }
    abort_ = true;
    work_.notify_all();
    if (sender_.joinable()) sender_.join();
    {
        std::lock_guard lock(mutex_);
        intake_shutting_down_ = true;
    }
    stop_intake_ = true;
    if (intake_.joinable()) intake_.join();
    std::lock_guard lock(mutex_);
    migrateLocked();
    if (!memory_.empty()) {
        size_t lines = 0;
        for (const auto& b : memory_) lines += b->lines();
        unplacedAtShutdown(lines, memory_.front()->journal_end != 0, "spool");
        memory_.clear();
        memory_bytes_ = 0;
    }
}

}  // namespace mqs::influx

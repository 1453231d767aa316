// Latest-wins snapshot saving on a worker thread; see snapshot_writer.hpp.
#include "common/snapshot_writer.hpp"

#include <exception>
#include <utility>

namespace mqs {

SnapshotWriter::SnapshotWriter(Save save) : save_(std::move(save)) {}

SnapshotWriter::~SnapshotWriter() {
    if (!worker_.joinable()) return;  // nothing was ever submitted
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
}

uint64_t SnapshotWriter::submit(std::string content, std::string note) {
    return submit([text = std::move(content)] { return text; }, std::move(note));
}

uint64_t SnapshotWriter::submit(std::function<std::string()> render, std::string note) {
    // Started at the first snapshot, not at load: a process with a second thread pays for it on every message
    // (glibc then locks in malloc and around each system call), so a plugin that never saves keeps the
    // broker single-threaded.
    if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
    std::function<std::string()> superseded;  // freed after the lock (it may hold the last reference to a state)
    uint64_t seq;
    {
        std::lock_guard lock(mutex_);
        if (pending_) ++superseded_;
        superseded = std::exchange(pending_, std::move(render));
        if (!note.empty()) notes_.push_back(std::move(note));
        seq = ++submitted_;
    }
    cv_.notify_all();
    return seq;
}

std::vector<std::string> SnapshotWriter::takeErrors() {
    if (!has_errors_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mutex_);
    has_errors_.store(false, std::memory_order_relaxed);
    return std::exchange(errors_, {});
}

void SnapshotWriter::flush() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_ >= submitted_; });
}

uint64_t SnapshotWriter::submitted() const {
    std::lock_guard lock(mutex_);
    return submitted_;
}

uint64_t SnapshotWriter::done() const {
    std::lock_guard lock(mutex_);
    return done_;
}

uint64_t SnapshotWriter::written() const {
    std::lock_guard lock(mutex_);
    return written_;
}

uint64_t SnapshotWriter::writes() const {
    std::lock_guard lock(mutex_);
    return writes_;
}

uint64_t SnapshotWriter::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

uint64_t SnapshotWriter::superseded() const {
    std::lock_guard lock(mutex_);
    return superseded_;
}

void SnapshotWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || static_cast<bool>(pending_); });
        if (!pending_) return;  // stopping, nothing left to write
        std::function<std::string()> render = std::exchange(pending_, nullptr);
        std::vector<std::string> notes = std::exchange(notes_, {});
        const uint64_t seq = submitted_;
        lock.unlock();
        std::string problem;
        try {
            problem = save_(render(), notes);
        } catch (const std::exception& e) {  // e.g. out of memory while rendering: reported, never thrown
            problem = std::string("cannot serialize the state: ") + e.what();
        }
        render = nullptr;  // the state it held is freed here, not under the lock
        lock.lock();
        if (problem.empty()) {
            written_ = seq;
            ++writes_;
        } else {
            ++failures_;
            // Bounded: a disk that fails every time must not grow memory while nobody drains errors.
            if (errors_.size() < 16) errors_.push_back(std::move(problem));
            has_errors_.store(true, std::memory_order_release);
        }
        done_ = seq;
        cv_.notify_all();
    }
}

}  // namespace mqs

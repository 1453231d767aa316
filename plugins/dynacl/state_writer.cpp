// Durable, atomic state file writes on a worker thread; see state_writer.hpp.
#include "dynacl/state_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace mqs::dynacl {

StateWriter::StateWriter(std::string path, std::string audit_path)
    : StateWriter(std::make_unique<FileStateStore>(std::move(path)), std::move(audit_path)) {}

StateWriter::StateWriter(std::unique_ptr<StateStore> store, std::string audit_path)
    : store_(std::move(store)), audit_path_(std::move(audit_path)), worker_([this] { run(); }) {}

StateWriter::~StateWriter() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
}

uint64_t StateWriter::submit(std::string content, std::string audit_line) {
    return submit([text = std::move(content)] { return text; }, std::move(audit_line));
}

uint64_t StateWriter::submit(std::function<std::string()> render, std::string audit_line) {
    std::function<std::string()> superseded;  // released after the lock (it may hold the last ref to a state)
    std::lock_guard lock(mutex_);
    superseded = std::exchange(pending_, std::move(render));
    if (!audit_path_.empty() && !audit_line.empty()) audit_lines_.push_back(std::move(audit_line));
    pending_seq_ = ++submitted_;
    cv_.notify_all();
    return pending_seq_;
}

std::vector<std::string> StateWriter::takeErrors() {
    if (!has_errors_.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(mutex_);
    has_errors_.store(false, std::memory_order_relaxed);
    return std::exchange(errors_, {});
}

uint64_t StateWriter::written() const {
    std::lock_guard lock(mutex_);
    return written_;
}

uint64_t StateWriter::done() const {
    std::lock_guard lock(mutex_);
    return done_;
}

void StateWriter::flush() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_ >= submitted_; });
}

void StateWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || static_cast<bool>(pending_); });
        if (!pending_) return;  // stopping with nothing left to write
        std::function<std::string()> render = std::exchange(pending_, nullptr);
        const uint64_t seq = pending_seq_;
        std::vector<std::string> audit = std::exchange(audit_lines_, {});
        lock.unlock();
        std::string problem;
        std::string content;
        try {
            content = render();
        } catch (const std::exception& e) {
            problem = std::string("cannot serialise the state: ") + e.what();
        }
        render = nullptr;  // frees what it held (an old state) here, not on the broker thread
        // The audit line first: a crash in between leaves a logged change that did not land, never an
        // unlogged one.
        if (problem.empty() && !audit.empty()) problem = appendLines(audit_path_, audit);
        if (problem.empty()) problem = store_->save(content);
        lock.lock();
        if (problem.empty()) {
            written_ = seq;
        } else if (errors_.size() < 16) {
            errors_.push_back(problem);
            has_errors_.store(true, std::memory_order_release);
        }
        done_ = seq;
        cv_.notify_all();
    }
}

std::string StateWriter::appendLines(const std::string& path, const std::vector<std::string>& lines) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot open the audit log '" + path + "': " + std::strerror(errno);
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string problem = "cannot write the audit log '" + path + "': " + std::strerror(errno);
            ::close(fd);
            return problem;
        }
        off += static_cast<size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    return synced ? "" : "cannot fsync the audit log '" + path + "'";
}

}  // namespace mqs::dynacl

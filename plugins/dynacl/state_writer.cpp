// Durable, atomic state file writes on a worker thread; see state_writer.hpp.
#include "dynacl/state_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
    std::lock_guard lock(mutex_);
    pending_ = std::move(content);
    if (!audit_path_.empty() && !audit_line.empty()) audit_lines_.push_back(std::move(audit_line));
    pending_seq_ = ++submitted_;
    cv_.notify_all();
    return pending_seq_;
}

std::vector<std::string> StateWriter::takeErrors() {
    std::lock_guard lock(mutex_);
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
        cv_.wait(lock, [&] { return stop_ || pending_.has_value(); });
        if (!pending_) return;  // stopping with nothing left to write
        std::string content = std::move(*pending_);
        pending_.reset();
        const uint64_t seq = pending_seq_;
        std::vector<std::string> audit = std::exchange(audit_lines_, {});
        lock.unlock();
        // The audit line first: a crash in between leaves a logged change that did not land, never an
        // unlogged one.
        std::string problem = audit.empty() ? std::string() : appendLines(audit_path_, audit);
        if (problem.empty()) problem = store_->save(content);
        lock.lock();
        if (problem.empty()) {
            written_ = seq;
        } else if (errors_.size() < 16) {
            errors_.push_back(problem);
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

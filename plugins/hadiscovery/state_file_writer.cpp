// The state snapshot's writer thread and the atomic file write; see state_file_writer.hpp.
#include "hadiscovery/state_file_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

namespace mqs::hadiscovery {

StateFileWriter::StateFileWriter(std::string path) : path_(std::move(path)), worker_([this] { run(); }) {}

StateFileWriter::~StateFileWriter() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    worker_.join();
}

void StateFileWriter::submit(std::string snapshot) {
    submit([text = std::move(snapshot)] { return text; });
}

void StateFileWriter::submit(std::function<std::string()> render) {
    std::function<std::string()> superseded;  // freed after the lock is released
    {
        std::lock_guard lock(mutex_);
        if (pending_) ++superseded_;
        superseded = std::exchange(pending_, std::move(render));
        ++submitted_;
    }
    cv_.notify_all();
}

std::vector<std::string> StateFileWriter::takeErrors() {
    std::lock_guard lock(mutex_);
    return std::exchange(errors_, {});
}

void StateFileWriter::flush() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return done_ >= submitted_; });
}

uint64_t StateFileWriter::submitted() const {
    std::lock_guard lock(mutex_);
    return submitted_;
}

uint64_t StateFileWriter::writes() const {
    std::lock_guard lock(mutex_);
    return writes_;
}

uint64_t StateFileWriter::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

uint64_t StateFileWriter::superseded() const {
    std::lock_guard lock(mutex_);
    return superseded_;
}

void StateFileWriter::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || static_cast<bool>(pending_); });
        if (!pending_) return;  // stopping, nothing left to write
        std::function<std::string()> render = std::exchange(pending_, nullptr);
        const uint64_t seq = submitted_;
        lock.unlock();
        std::string problem;
        try {
            problem = writeFileAtomically(path_, render());
        } catch (const std::exception& e) {  // e.g. out of memory while rendering: counted, never thrown
            problem = std::string("cannot serialize the state: ") + e.what();
        }
        render = nullptr;
        lock.lock();
        if (problem.empty()) {
            ++writes_;
        } else {
            ++failures_;
            // Bounded: a disk that fails every time must not grow memory while nobody drains errors.
            if (errors_.size() < 16) errors_.push_back(std::move(problem));
        }
        done_ = seq;
        cv_.notify_all();
    }
}

namespace {

std::string errnoText() {
    return std::strerror(errno);
}

}  // namespace

std::string writeFileAtomically(const std::string& path, const std::string& content) {
    const std::string temp = path + ".new";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot create '" + temp + "': " + errnoText();
    size_t off = 0;
    while (off < content.size()) {
        const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::string problem = "cannot write '" + temp + "': " + errnoText();
            ::close(fd);
            ::unlink(temp.c_str());
            return problem;
        }
        off += static_cast<size_t>(n);
    }
    // Data on disk before the rename, else a crash could leave the new name on an empty file.
    if (::fsync(fd) != 0) {
        std::string problem = "cannot fsync '" + temp + "': " + errnoText();
        ::close(fd);
        ::unlink(temp.c_str());
        return problem;
    }
    if (::close(fd) != 0) {
        std::string problem = "cannot close '" + temp + "': " + errnoText();
        ::unlink(temp.c_str());
        return problem;
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        std::string problem = "cannot rename '" + temp + "' to '" + path + "': " + errnoText();
        ::unlink(temp.c_str());
        return problem;
    }
    // The rename is durable only once the folder is.
    std::filesystem::path dir = std::filesystem::path(path).parent_path();
    if (dir.empty()) dir = ".";
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return "cannot open the folder of '" + path + "' to fsync it: " + errnoText();
    const bool synced = ::fsync(dfd) == 0;
    const std::string why = synced ? "" : errnoText();
    ::close(dfd);
    return synced ? "" : "cannot fsync the folder of '" + path + "': " + why;
}

}  // namespace mqs::hadiscovery

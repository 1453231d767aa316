// Latest-wins snapshot saving in a forked child; see snapshot_writer.hpp.
#include "common/snapshot_writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace mqs {
namespace {

constexpr auto kRetryAfterForkFailure = std::chrono::seconds(1);

// In the child: the outcome in one write, then _exit, which skips the broker's atexit handlers and stdio
// buffers (they belong to the parent).
[[noreturn]] void reportAndExit(int fd, const std::string& outcome) {
    const std::string text = outcome.substr(0, 4000);
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    ::_exit(0);
}

}  // namespace

SnapshotWriter::SnapshotWriter(Save save) : save_(std::move(save)) {}

SnapshotWriter::~SnapshotWriter() {
    flush();
}

uint64_t SnapshotWriter::submit(std::string content, std::string note) {
    return submit([text = std::move(content)] { return text; }, std::move(note));
}

uint64_t SnapshotWriter::submit(Render render, std::string note) {
    const uint64_t seq = ++submitted_;
    if (pending_) ++superseded_;
    pending_ = std::move(render);
    if (!note.empty()) notes_.push_back(std::move(note));
    poll();
    return seq;
}

void SnapshotWriter::poll() {
    if (child_ >= 0 && !collect(false)) return;
    if (pending_ && std::chrono::steady_clock::now() >= retry_at_) start();
}

void SnapshotWriter::flush() {
    while (child_ >= 0 || pending_) {
        if (child_ >= 0) {
            collect(true);
            continue;
        }
        retry_at_ = {};  // shutdown does not wait for the retry delay
        start();
        if (child_ < 0) {  // cannot fork at all: reported, and this snapshot is given up
            pending_ = nullptr;
            notes_.clear();
            done_ = submitted_;
        }
    }
}

void SnapshotWriter::fail(std::string problem) {
    ++failures_;
    // Bounded: a disk that fails every time must not grow memory while nobody drains errors.
    if (errors_.size() < 16) errors_.push_back(std::move(problem));
}

void SnapshotWriter::start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        fail(std::string("cannot start the state writer process: pipe: ") + std::strerror(errno));
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfterForkFailure;
        return;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        fail(std::string("cannot start the state writer process: fork: ") + std::strerror(err));
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfterForkFailure;
        return;
    }
    if (pid == 0) {
        // The child: nothing here may return into the broker's code.
        ::close(fds[0]);
        std::string problem;
        try {
            problem = save_(pending_(), notes_);
        } catch (const std::exception& e) {
            problem = std::string("cannot serialize the state: ") + e.what();
        } catch (...) {
            problem = "cannot serialize the state";
        }
        reportAndExit(fds[1], problem.empty() ? "ok" : problem);
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pending_ = nullptr;  // the child has its own copy, and of the notes
    notes_.clear();
    child_ = pid;
    child_seq_ = submitted_;
    outcome_fd_ = fds[0];
    outcome_.clear();
}

bool SnapshotWriter::collect(bool wait) {
    char buf[512];
    for (;;) {
        const ssize_t n = ::read(outcome_fd_, buf, sizeof buf);
        if (n > 0) {
            outcome_.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (!wait) return false;
            pollfd p{.fd = outcome_fd_, .events = POLLIN, .revents = 0};
            ::poll(&p, 1, -1);
            continue;
        }
        break;  // end of file: the child has exited (or is exiting)
    }
    ::close(outcome_fd_);
    outcome_fd_ = -1;
    int status = 0;
    // Right after its pipe closed the child is gone or about to be: this does not wait in practice. ECHILD
    // (a broker that ignores SIGCHLD reaps for us) is fine: the pipe said everything.
    while (::waitpid(child_, &status, 0) < 0 && errno == EINTR) {
    }
    child_ = -1;
    if (outcome_ == "ok") {
        ++writes_;
        written_ = child_seq_;
    } else if (outcome_.empty()) {
        fail("the state writer process ended without writing the state");
    } else {
        fail(std::move(outcome_));
    }
    done_ = child_seq_;
    outcome_.clear();
    return true;
}

}  // namespace mqs

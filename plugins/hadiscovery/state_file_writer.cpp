// The state file written by a forked child; see state_file_writer.hpp.
#include "hadiscovery/state_file_writer.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <utility>

namespace mqs::hadiscovery {
namespace {

constexpr auto kRetryAfterForkFailure = std::chrono::seconds(1);

// In the child: the whole outcome in one write (a pipe takes up to PIPE_BUF at once), then _exit, which
// skips the broker's atexit handlers and stdio buffers (they belong to the parent).
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

StateFileWriter::StateFileWriter(std::string path) : path_(std::move(path)) {}

StateFileWriter::~StateFileWriter() {
    flush();
}

void StateFileWriter::submit(std::string content) {
    submit([text = std::move(content)] { return text; });
}

void StateFileWriter::submit(Render render) {
    ++submitted_;
    if (pending_) ++superseded_;
    pending_ = std::move(render);
    poll();
}

void StateFileWriter::poll() {
    if (child_ >= 0 && !collect(false)) return;
    if (pending_ && std::chrono::steady_clock::now() >= retry_at_) start();
}

void StateFileWriter::flush() {
    while (child_ >= 0 || pending_) {
        if (child_ >= 0) {
            collect(true);
        } else {
            retry_at_ = {};  // shutdown does not wait for the retry delay
            start();
            if (child_ < 0 && pending_) pending_ = nullptr;  // cannot fork at all: reported, given up
        }
    }
}

std::vector<std::string> StateFileWriter::takeErrors() {
    return std::exchange(errors_, {});
}

void StateFileWriter::fail(std::string problem) {
    ++failures_;
    // Bounded: a disk that fails every time must not grow memory while nobody drains errors.
    if (errors_.size() < 16) errors_.push_back(std::move(problem));
}

void StateFileWriter::start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        fail("cannot start the state writer for " + path_ + ": pipe: " + std::strerror(errno));
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfterForkFailure;
        return;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        fail("cannot start the state writer for " + path_ + ": fork: " + std::strerror(err));
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfterForkFailure;
        return;
    }
    if (pid == 0) {
        // The child: nothing here may return into the broker's code.
        ::close(fds[0]);
        std::string problem;
        try {
            problem = writeFileAtomically(path_, pending_());
        } catch (const std::exception& e) {
            problem = std::string("cannot serialize the state: ") + e.what();
        } catch (...) {
            problem = "cannot serialize the state";
        }
        reportAndExit(fds[1], problem.empty() ? "ok" : problem);
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pending_ = nullptr;  // the child has its own copy
    child_ = pid;
    outcome_fd_ = fds[0];
    outcome_.clear();
}

bool StateFileWriter::collect(bool wait) {
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
    } else if (outcome_.empty()) {
        fail("the state writer for " + path_ + " ended without writing it");
    } else {
        fail(std::move(outcome_));
    }
    outcome_.clear();
    return true;
}

}  // namespace mqs::hadiscovery

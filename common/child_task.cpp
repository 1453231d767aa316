// Work in a forked child; see child_task.hpp.
#include "common/child_task.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mqs {
namespace {

// In the child: the result, then _exit, which skips the broker's atexit handlers and stdio buffers (they
// belong to the parent).
[[noreturn]] void writeAndExit(int fd, const std::string& text) {
    size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<size_t>(n);
    }
    ::_exit(0);
}

void reap(pid_t pid) {
    // Right after its pipe closed the child is gone or about to be: this does not wait in practice. ECHILD
    // (a broker that ignores SIGCHLD reaps for us) is fine: the pipe said everything.
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace

ChildTask::~ChildTask() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGKILL);
    ::close(fd_);
    reap(pid_);
}

std::string ChildTask::start(const Work& work) {
    if (pid_ >= 0) return "a child is already running";
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::string("pipe: ") + std::strerror(errno);
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return std::string("fork: ") + std::strerror(err);
    }
    if (pid == 0) {
        // The child keeps only its pipe: the broker's sockets (listeners, clients) must not stay open in it,
        // or a client the broker closes stays connected until the child ends. The work opens what it needs.
        ::close(fds[0]);
        if (fds[1] > 3) ::close_range(3, static_cast<unsigned>(fds[1]) - 1, 0);
        ::close_range(static_cast<unsigned>(fds[1]) + 1, ~0u, 0);
        std::string result;
        try {
            result = work();
        } catch (...) {
            ::_exit(1);
        }
        writeAndExit(fds[1], result);
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    pid_ = pid;
    fd_ = fds[0];
    output_.clear();
    return "";
}

std::optional<std::string> ChildTask::poll() {
    if (pid_ < 0) return std::nullopt;
    return collect(false);
}

std::string ChildTask::wait() {
    if (pid_ < 0) return "";
    return *collect(true);
}

std::optional<std::string> ChildTask::collect(bool block) {
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n > 0) {
            output_.append(buf, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (!block) return std::nullopt;
            pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
            ::poll(&p, 1, -1);
            continue;
        }
        break;  // end of file: the child has exited (or is exiting)
    }
    ::close(fd_);
    fd_ = -1;
    reap(pid_);
    pid_ = -1;
    return std::move(output_);
}

}  // namespace mqs

// fork/exec spawner, /proc readings and port probes; see child_process.hpp.
#include "testing/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mqs::testing {
namespace {

using Clock = std::chrono::steady_clock;

int exitCodeOf(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Child side of fork: only async-signal-safe calls. Never returns.
[[noreturn]] void execChild(char* const* argv, const char* cwd, int in_fd, int out_fd, int err_fd, pid_t parent,
                            bool own_group) {
    // Die with the spawning thread (e.g. a ctest timeout SIGKILL) instead of leaking the child.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (own_group) ::setpgid(0, 0);
    ::dup2(in_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Sockets and files of the parent (test clients, other servers) must not leak into the child.
    if (::close_range(3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    }
    if (cwd != nullptr && ::chdir(cwd) != 0) ::_exit(126);
    ::execvp(argv[0], argv);
    static const char kMsg[] = "child_process: exec failed\n";
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
}

std::vector<char*> cArgv(std::vector<std::string>& args) {
    std::vector<char*> out;
    for (auto& a : args) out.push_back(a.data());
    out.push_back(nullptr);
    return out;
}

// Inodes of sockets listening on port, from one /proc/<pid>/net/tcp-style table.
void listeningInodes(const std::string& table, int port, std::set<std::string>& inodes) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
              inode)) {
            continue;
        }
        const auto colon = local.rfind(':');
        if (state != "0A" || colon == std::string::npos) continue;  // 0A: TCP_LISTEN
        if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) inodes.insert("socket:[" + inode + "]");
    }
}

}  // namespace

int freeTcpPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error(std::string("bind/getsockname: ") + std::strerror(err));
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool portTakenByOther(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // TIME_WAIT leftovers do not count
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool taken = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 && errno == EADDRINUSE;
    ::close(fd);
    return taken;
}

bool processListensOn(pid_t pid, int port) {
    const std::string proc = "/proc/" + std::to_string(pid);
    std::set<std::string> inodes;
    listeningInodes(proc + "/net/tcp", port, inodes);
    listeningInodes(proc + "/net/tcp6", port, inodes);
    if (inodes.empty()) return false;
    std::error_code ec;
    for (const auto& fd : std::filesystem::directory_iterator(proc + "/fd", ec)) {
        std::error_code link_ec;
        const auto target = std::filesystem::read_symlink(fd.path(), link_ec);
        if (!link_ec && inodes.count(target.string()) != 0) return true;
    }
    return false;
}

ChildProcess::~ChildProcess() {
    stop();
}

bool ChildProcess::spawn(const std::vector<std::string>& argv, const SpawnOptions& options, std::string* error) {
    const auto fail = [error](const std::string& why) {
        if (error != nullptr) *error = why;
        return false;
    };
    if (running_) return fail("already running");
    if (argv.empty()) return fail("empty command");
    // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
    std::vector<std::string> args = argv;
    std::vector<char*> c_argv = cArgv(args);
    const std::string cwd = options.cwd.string();
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.truncate ? O_TRUNC : O_APPEND);
    const auto openOut = [flags](const std::filesystem::path& p) {
        return p.empty() ? ::open("/dev/null", O_WRONLY | O_CLOEXEC) : ::open(p.c_str(), flags, 0644);
    };
    const int out_fd = openOut(options.stdout_file);
    const int err_fd = options.stderr_file.empty() ? ::dup(out_fd) : openOut(options.stderr_file);
    const int in_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const auto closeAll = [&] {
        for (int fd : {out_fd, err_fd, in_fd}) {
            if (fd >= 0) ::close(fd);
        }
    };
    if (out_fd < 0 || err_fd < 0 || in_fd < 0) {
        const std::string why = std::string("cannot open output files: ") + std::strerror(errno);
        closeAll();
        return fail(why);
    }
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) {
        execChild(c_argv.data(), cwd.empty() ? nullptr : cwd.c_str(), in_fd, out_fd, err_fd, parent,
                  options.own_process_group);
    }
    const int fork_errno = errno;
    closeAll();
    if (child < 0) return fail(std::string("fork: ") + std::strerror(fork_errno));
    pid_ = child;
    running_ = true;
    exit_status_.reset();
    rusage_ = {};
    return true;
}

bool ChildProcess::reap(bool block) {
    if (!running_) return true;
    int status = 0;
    struct rusage usage {};
    pid_t r;
    do {
        r = ::wait4(pid_, &status, block ? 0 : WNOHANG, &usage);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    running_ = false;
    if (r < 0) {  // not our child any more (should not happen); treat as gone
        exit_status_ = -1;
        return true;
    }
    rusage_ = usage;
    exit_status_ = exitCodeOf(status);
    return true;
}

bool ChildProcess::running() {
    return !reap(false);
}

int ChildProcess::stop(std::chrono::milliseconds timeout) {
    if (!running()) return exit_status_.value_or(-1);
    ::kill(pid_, SIGTERM);
    if (!waitExit(timeout).has_value()) kill9();
    return exit_status_.value_or(-1);
}

void ChildProcess::kill9() {
    if (!running_) return;
    ::kill(pid_, SIGKILL);
    reap(true);
}

void ChildProcess::signal(int sig) {
    if (running_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::waitExit(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!reap(false)) {
        if (Clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_status_;
}

std::chrono::microseconds ChildProcess::cpuTime() const {
    if (running_) {
        const std::string stat = readTextFile("/proc/" + std::to_string(pid_) + "/stat");
        // comm (field 2) may contain spaces; fields after the last ')' start at field 3.
        const auto close = stat.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(stat.substr(close + 1));
            std::string field;
            long long utime = 0;
            long long stime = 0;
            for (int i = 3; i <= 15 && fields >> field; ++i) {
                if (i == 14) utime = std::stoll(field);
                if (i == 15) stime = std::stoll(field);
            }
            const long ticks = ::sysconf(_SC_CLK_TCK);
            return std::chrono::microseconds((utime + stime) * 1'000'000LL / ticks);
        }
    }
    const auto tv = [](const timeval& t) {
        return std::chrono::microseconds(static_cast<long long>(t.tv_sec) * 1'000'000LL + t.tv_usec);
    };
    return tv(rusage_.ru_utime) + tv(rusage_.ru_stime);
}

long ChildProcess::peakRssKb() const {
    if (running_) {
        std::istringstream in(readTextFile("/proc/" + std::to_string(pid_) + "/status"));
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
        }
    }
    return rusage_.ru_maxrss;
}

CommandResult runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         StderrMode stderr_mode) {
    CommandResult result;
    int pipe_fds[2];
    if (argv.empty() || ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        result.output = argv.empty() ? "empty command" : std::string("pipe: ") + std::strerror(errno);
        return result;
    }
    std::vector<std::string> args = argv;
    std::vector<char*> c_argv = cArgv(args);
    const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const int err_fd = stderr_mode == StderrMode::Merge     ? pipe_fds[1]
                       : stderr_mode == StderrMode::Inherit ? STDERR_FILENO
                                                            : null_fd;
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child == 0) execChild(c_argv.data(), nullptr, null_fd, pipe_fds[1], err_fd, parent, false);
    ::close(pipe_fds[1]);
    ::close(null_fd);
    if (child < 0) {
        ::close(pipe_fds[0]);
        result.output = std::string("fork: ") + std::strerror(errno);
        return result;
    }
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            result.timed_out = true;
            ::kill(child, SIGKILL);
            break;
        }
        pollfd pfd{pipe_fds[0], POLLIN, 0};
        const int n = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 1000)));
        if (n < 0 && errno != EINTR) break;
        if (n > 0) {
            const ssize_t got = ::read(pipe_fds[0], buf, sizeof buf);
            if (got <= 0) break;  // EOF: the child closed stdout (normally by exiting)
            result.output.append(buf, static_cast<size_t>(got));
        }
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = exitCodeOf(status);
    return result;
}

std::string findExecutable(const std::string& name, const std::string& fallback) {
    if (const char* path = std::getenv("PATH"); path != nullptr) {
        std::istringstream dirs(path);
        for (std::string dir; std::getline(dirs, dir, ':');) {
            const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / name;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        }
    }
    return !fallback.empty() && ::access(fallback.c_str(), X_OK) == 0 ? fallback : "";
}

std::string readTextFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace mqs::testing

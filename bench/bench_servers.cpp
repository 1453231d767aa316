// VictoriaMetrics and helper child processes for run_bench's forwarding rows, plus a minimal
// loopback HTTP GET; see bench_servers.hpp.
#include "bench_servers.hpp"

#include "bench_common.hpp"
#include "broker_process.hpp" // mqs::testing::freeTcpPort

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
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

namespace mqs::bench {

namespace fs = std::filesystem;

HttpReply httpGetLoopback(int port, const std::string& target, int timeoutMs) {
    HttpReply reply;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return reply;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    std::string response;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                    "\r\nUser-Agent: mqs-run-bench\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
            char buf[65536];
            while (true) {
                const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0) {
                    response.clear(); // incomplete: report no answer rather than a truncated body
                    break;
                }
                pollfd pfd{fd, POLLIN, 0};
                const int n = ::poll(&pfd, 1, static_cast<int>(left.count()));
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0) {
                    continue; // timeout is handled at the top of the loop
                }
                const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
                if (got < 0 && errno == EINTR) {
                    continue;
                }
                if (got <= 0) {
                    break; // EOF ends an HTTP/1.0 body
                }
                response.append(buf, static_cast<size_t>(got));
            }
        }
    }
    ::close(fd);
    // "HTTP/1.0 200 OK\r\n...\r\n\r\n<body>"
    const auto headerEnd = response.find("\r\n\r\n");
    const auto space = response.find(' ');
    if (headerEnd == std::string::npos || space == std::string::npos || space > headerEnd) {
        return reply;
    }
    reply.status = std::atoi(response.c_str() + space + 1);
    reply.body = response.substr(headerEnd + 4);
    return reply;
}

ChildProcess::~ChildProcess() {
    stop();
}

bool ChildProcess::spawn(const std::vector<std::string>& argv, const fs::path& stdoutFile,
                         const fs::path& stderrFile, std::string& error) {
    if (argv.empty()) {
        error = "empty command";
        return false;
    }
    // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
    std::vector<std::string> copy = argv;
    std::vector<char*> cargv;
    for (auto& a : copy) {
        cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    const int outFd = ::open(stdoutFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int errFd = ::open(stderrFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    const int nullFd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (outFd < 0 || errFd < 0 || nullFd < 0) {
        error = "cannot open " + stdoutFile.string() + ": " + std::strerror(errno);
        for (int fd : {outFd, errFd, nullFd}) {
            if (fd >= 0) {
                ::close(fd);
            }
        }
        return false;
    }
    const pid_t parent = ::getpid();
    const pid_t child = ::fork();
    if (child < 0) {
        error = std::string("fork: ") + std::strerror(errno);
        ::close(outFd);
        ::close(errFd);
        ::close(nullFd);
        return false;
    }
    if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::setpgid(0, 0); // a terminal's Ctrl-C reaches the runner, which stops us in order
        ::dup2(nullFd, STDIN_FILENO);
        ::dup2(outFd, STDOUT_FILENO);
        ::dup2(errFd, STDERR_FILENO);
        ::execvp(cargv[0], cargv.data());
        ::_exit(127);
    }
    ::close(outFd);
    ::close(errFd);
    ::close(nullFd);
    pid_ = child;
    exitCode_ = -1;
    return true;
}

bool ChildProcess::running() {
    if (pid_ <= 0) {
        return false;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        pid_ = -1;
        return false;
    }
    return true;
}

int ChildProcess::stop(std::chrono::milliseconds timeout) {
    if (!running()) {
        return exitCode_;
    }
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) {
            return exitCode_;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exitCode_ = 128 + SIGKILL;
    pid_ = -1;
    return exitCode_;
}

std::string findVictoriaMetrics() {
    if (const char* path = std::getenv("PATH"); path != nullptr) {
        for (const auto& dir : splitList(path, ':')) {
            const fs::path candidate = fs::path(dir.empty() ? "." : dir) / "victoria-metrics";
            if (::access(candidate.c_str(), X_OK) == 0) {
                return candidate.string();
            }
        }
    }
    return ::access("/usr/bin/victoria-metrics", X_OK) == 0 ? "/usr/bin/victoria-metrics" : "";
}

VictoriaMetrics::VictoriaMetrics(std::string binary, fs::path dir) : binary_(std::move(binary)), dir_(std::move(dir)) {
}

bool VictoriaMetrics::start(std::string& error, std::chrono::milliseconds timeout) {
    fs::create_directories(dir_);
    // freeTcpPort() cannot reserve the port: if another process takes it first, retry with another.
    for (int attempt = 1; attempt <= 3; ++attempt) {
        port_ = mqs::testing::freeTcpPort();
        const std::vector<std::string> argv = {
            binary_,
            "-httpListenAddr", "127.0.0.1:" + std::to_string(port_),
            "-storageDataPath", (dir_ / "data").string(),
            "-retentionPeriod", "100y",
            "-loggerLevel", "ERROR",
        };
        if (!process_.spawn(argv, dir_ / "stdout.log", dir_ / "server.log", error)) {
            return false;
        }
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline && process_.running()) {
            if (const auto r = httpGetLoopback(port_, "/health", 1000); r.status == 200) {
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        const bool exited = !process_.running();
        process_.stop();
        const std::string log = logTail();
        if (!exited || log.find("address already in use") == std::string::npos) {
            error = (exited ? "exited at start-up: " : "not ready within the timeout: ") + log;
            return false;
        }
    }
    error = "no free port after 3 attempts";
    return false;
}

std::string VictoriaMetrics::logTail(size_t maxBytes) const {
    std::ifstream in(dir_ / "server.log");
    std::stringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    if (text.size() > maxBytes) {
        text = "..." + text.substr(text.size() - maxBytes);
    }
    for (char& c : text) {
        c = (c == '\n' || c == '|') ? ' ' : c;
    }
    return text.empty() ? "(empty log)" : text;
}

std::optional<std::uint64_t> VictoriaMetrics::influxLinesRead() {
    const auto r = httpGetLoopback(port_, "/metrics");
    if (r.status != 200) {
        return std::nullopt;
    }
    static const std::string kKey = "vm_protoparser_rows_read_total{type=\"influx\"} ";
    const std::string body = "\n" + r.body; // so the first line matches like the others
    const auto pos = body.find("\n" + kKey);
    if (pos == std::string::npos) {
        return std::nullopt;
    }
    return std::strtoull(body.c_str() + pos + 1 + kKey.size(), nullptr, 10);
}

std::optional<std::uint64_t> VictoriaMetrics::storedSamples(const std::string& metric) {
    httpGetLoopback(port_, "/internal/force_flush");
    const auto r = httpGetLoopback(port_, "/api/v1/export?match%5B%5D=" + metric, 60000);
    if (r.status != 200) {
        return std::nullopt;
    }
    std::uint64_t samples = 0;
    std::istringstream lines(r.body);
    for (std::string line; std::getline(lines, line);) {
        const auto series = nlohmann::json::parse(line, nullptr, false);
        if (series.is_object() && series.contains("timestamps") && series["timestamps"].is_array()) {
            samples += series["timestamps"].size();
        }
    }
    return samples;
}

std::optional<double> processCpuSeconds(pid_t pid) {
    if (const auto ns = readProcSchedNs(pid)) {
        return static_cast<double>(*ns) / 1e9;
    }
    if (const auto ticks = readProcCpuTicks(pid)) {
        return static_cast<double>(*ticks) / static_cast<double>(clockTicksPerSecond());
    }
    return std::nullopt;
}

} // namespace mqs::bench

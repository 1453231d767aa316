// Integration-test harness: fork/exec of the real mosquitto broker, config generation,
// log capture and /proc based resource readings.
#include "broker_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#ifndef MOSQUITTO_BINARY
#define MOSQUITTO_BINARY "/usr/sbin/mosquitto"
#endif

namespace mqs::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(20);

struct ProbeHolder {
  std::mutex mutex;
  std::function<bool()> probe;
};

// Function-local so that test TUs may install a probe during their static initialisation.
ProbeHolder& probeHolder() {
  static ProbeHolder holder;
  return holder;
}

bool testFailed() {
  auto& holder = probeHolder();
  std::lock_guard lock(holder.mutex);
  return holder.probe ? holder.probe() : false;
}

std::string binaryPath() {
  // Lets CI point the suite at another broker build (e.g. a sanitizer build) without rebuilding.
  if (const char* env = std::getenv("MQS_MOSQUITTO_BINARY"); env != nullptr && *env != '\0') {
    return env;
  }
  return MOSQUITTO_BINARY;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string firstToken(const std::string& line) {
  const std::string t = trim(line);
  if (t.empty() || t[0] == '#') return {};
  return t.substr(0, t.find_first_of(" \t"));
}

std::vector<std::string> splitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool bodySets(const std::vector<std::string>& lines, const std::string& option) {
  for (const auto& line : lines) {
    if (firstToken(line) == option) return true;
  }
  return false;
}

size_t countOccurrences(const std::string& haystack, const std::string& needle) {
  if (needle.empty()) return 0;
  size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++n;
  }
  return n;
}

// Lines like "mosquitto version 2.0.11 running"; counted so a restart waits for its own line.
size_t countReadyLines(const std::string& log) {
  size_t n = 0;
  for (const auto& line : splitLines(log)) {
    if (line.find("mosquitto version ") != std::string::npos &&
        line.size() >= 8 && line.compare(line.size() - 8, 8, " running") == 0) {
      ++n;
    }
  }
  return n;
}

std::string sanitizeName(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    out.push_back(ok ? c : '_');
  }
  return out.empty() ? "broker" : out;
}

std::filesystem::path makeTempDir(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = (tmp != nullptr && *tmp != '\0') ? tmp : "/tmp";
  std::string pattern = base + "/mqs-" + sanitizeName(name) + "-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp(" + pattern + ") failed: " + std::strerror(errno));
  }
  return std::filesystem::path(buf.data());
}

std::string tailLines(const std::string& text, size_t count) {
  auto lines = splitLines(text);
  const size_t first = lines.size() > count ? lines.size() - count : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) out += "    " + lines[i] + "\n";
  return out;
}

}  // namespace

int freeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
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

void BrokerProcess::setFailureProbe(std::function<bool()> probe) {
  auto& holder = probeHolder();
  std::lock_guard lock(holder.mutex);
  holder.probe = std::move(probe);
}

BrokerProcess::BrokerProcess(std::string config_body, std::string name)
    : name_(std::move(name)), body_(std::move(config_body)) {
  dir_ = makeTempDir(name_);
  port_ = freeTcpPort();
  writeConfig();
}

BrokerProcess::~BrokerProcess() {
  if (running_) stop();
  const char* keep_env = std::getenv("MQS_KEEP_BROKER_DIRS");
  const bool keep = testFailed() || (keep_env != nullptr && *keep_env != '\0' && *keep_env != '0');
  std::error_code ec;
  if (keep) {
    std::cerr << "[broker_process] kept " << name_ << " dir " << dir_.string()
              << " (mosquitto.conf, broker.log, stdout.log); log tail:\n"
              << tailLines(log(), 30) << std::flush;
  } else {
    std::filesystem::remove_all(dir_, ec);
  }
}

void BrokerProcess::writeConfig() const {
  const auto lines = splitLines(body_);
  std::ostringstream conf;
  conf << "# Generated by the integration-test harness (" << name_ << ")\n";
  // mosquitto rejects per_listener_settings once listener-specific options have been seen.
  for (const auto& line : lines) {
    if (firstToken(line) == "per_listener_settings") conf << line << "\n";
  }
  conf << "listener " << port_ << " 127.0.0.1\n";
  if (!bodySets(lines, "allow_anonymous")) conf << "allow_anonymous true\n";
  conf << "log_dest file " << (dir_ / "broker.log").string() << "\n";
  // log_type is additive, so only add "all" when the body does not choose its own set.
  if (!bodySets(lines, "log_type")) conf << "log_type all\n";
  if (!bodySets(lines, "persistence")) conf << "persistence false\n";
  if (!bodySets(lines, "persistence_location")) {
    conf << "persistence_location " << dir_.string() << "/\n";
  }
  // As root mosquitto drops to user "mosquitto", which cannot write into our 0700 temp dir.
  if (::geteuid() == 0 && !bodySets(lines, "user")) conf << "user root\n";
  conf << "# --- test body ---\n";
  for (const auto& line : lines) {
    const std::string tok = firstToken(line);
    if (tok == "per_listener_settings") continue;
    if (tok == "log_dest") {
      conf << "# (log_dest replaced by the harness) " << line << "\n";
      continue;
    }
    conf << line << "\n";
  }
  // start() and reload tests rely on the "running" / "Reloading config." lines (log level
  // information), so a body choosing its own log_type still gets that level.
  if (bodySets(lines, "log_type")) conf << "log_type information\n";
  writeFile("mosquitto.conf", conf.str());
}

void BrokerProcess::updateConfig(std::string config_body) {
  body_ = std::move(config_body);
  writeConfig();
}

bool BrokerProcess::start(std::chrono::milliseconds timeout) {
  if (running_) return true;
  for (int attempt = 0;; ++attempt) {
    if (spawnAndWait(timeout)) return true;
    // freeTcpPort() cannot reserve the port; if something grabbed it meanwhile, pick another.
    if (attempt >= 3 || running_ || log().find("Address already in use") == std::string::npos) {
      return false;
    }
    port_ = freeTcpPort();
    writeConfig();
  }
}

bool BrokerProcess::restart(std::chrono::milliseconds timeout) {
  if (running_) stop();
  return spawnAndWait(timeout);
}

bool BrokerProcess::spawnAndWait(std::chrono::milliseconds timeout) {
  const size_t ready_before = countReadyLines(log());
  exit_status_.reset();
  rusage_ = {};

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::string binary = binaryPath();
  std::string conf = configPath().string();
  std::string dir = dir_.string();
  std::string dash_c = "-c";
  char* argv[] = {binary.data(), dash_c.data(), conf.data(), nullptr};
  const int out_fd = ::open((dir_ / "stdout.log").c_str(),
                            O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (out_fd < 0 || null_fd < 0) {
    throw std::runtime_error(std::string("open log/devnull: ") + std::strerror(errno));
  }
  const pid_t parent = ::getpid();

  const pid_t child = ::fork();
  if (child < 0) {
    ::close(out_fd);
    ::close(null_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (child == 0) {
    // Die with the test process (e.g. a ctest timeout SIGKILL) instead of leaking a broker.
    // Note: PDEATHSIG fires when the *thread* that forked exits, so start from the test thread.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Client sockets of the test process must not leak into the broker.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    }
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execv(binary.c_str(), argv);
    static const char kMsg[] = "broker_process: execv failed\n";
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, kMsg, sizeof(kMsg) - 1);
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(null_fd);
  pid_ = child;
  running_ = true;

  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (reap(false)) return false;  // exited during startup: exit_status_ is set
    if (countReadyLines(log()) > ready_before) return true;
    if (Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::cerr << "[broker_process] " << name_ << " not ready after " << timeout.count()
            << " ms; killing it. Log tail:\n"
            << tailLines(log(), 30) << std::flush;
  kill9();
  return false;
}

bool BrokerProcess::reap(bool block) {
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
  if (WIFEXITED(status)) {
    exit_status_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit_status_ = 128 + WTERMSIG(status);
  } else {
    exit_status_ = -1;
  }
  return true;
}

int BrokerProcess::stop(std::chrono::milliseconds timeout) {
  if (!running_) return exit_status_.value_or(-1);
  ::kill(pid_, SIGTERM);
  if (!waitExit(timeout).has_value()) {
    std::cerr << "[broker_process] " << name_ << " ignored SIGTERM for " << timeout.count()
              << " ms; sending SIGKILL\n";
    kill9();
  }
  return exit_status_.value_or(-1);
}

void BrokerProcess::kill9() {
  if (!running_) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

std::optional<int> BrokerProcess::waitExit(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!reap(false)) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_status_;
}

void BrokerProcess::reload() {
  if (running_) ::kill(pid_, SIGHUP);
}

std::string BrokerProcess::readFile(const std::string& name) const {
  std::ifstream in(dir_ / name, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string BrokerProcess::log() const { return readFile("broker.log") + readFile("stdout.log"); }

bool BrokerProcess::waitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
  return waitForLogCount(needle, 1, timeout);
}

bool BrokerProcess::waitForLogCount(const std::string& needle, size_t count,
                                    std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (countInLog(needle) >= count) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

size_t BrokerProcess::countInLog(const std::string& needle) const {
  return countOccurrences(log(), needle);
}

void BrokerProcess::writeFile(const std::string& relative, const std::string& content) const {
  const auto path = dir_ / relative;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::chrono::microseconds BrokerProcess::cpuTime() const {
  if (running_) {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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

long BrokerProcess::peakRssKb() const {
  if (running_) {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    }
  }
  return rusage_.ru_maxrss;
}

}  // namespace mqs::testing

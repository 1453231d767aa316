// Shared helpers for the bench tools: flag parsing, /proc readers and a perf instruction
// counter for broker CPU and RSS, and small statistics used by both loadgen and run_bench.
#include "bench/bench_common.hpp"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mqs::bench {

CliArgs::CliArgs(std::string program, std::string summary, std::vector<Spec> specs)
    : program_(std::move(program)), summary_(std::move(summary)), specs_(std::move(specs)) {
}

const CliArgs::Spec* CliArgs::find(const std::string& name) const {
    for (const auto& spec : specs_) {
        if (spec.name == name) {
            return &spec;
        }
    }
    return nullptr;
}

bool CliArgs::parse(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        commandLine_ += (commandLine_.empty() ? "" : " ");
        commandLine_ += arg.find_first_of(" \t'\"") == std::string::npos ? arg : "'" + arg + "'";
        if (arg == "-h" || arg == "--help") {
            help_ = true;
            continue;
        }
        if (arg.rfind("--", 0) != 0) {
            std::fprintf(stderr, "%s: unexpected argument '%s'\n", program_.c_str(), arg.c_str());
            return false;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const Spec* spec = find(name);
        if (spec == nullptr) {
            std::fprintf(stderr, "%s: unknown flag --%s (see --help)\n", program_.c_str(), name.c_str());
            return false;
        }
        if (spec->isSwitch) {
            values_[name] = value.value_or("1");
            continue;
        }
        if (!value) {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s: flag --%s needs a value\n", program_.c_str(), name.c_str());
                return false;
            }
            value = argv[++i];
            commandLine_ += " ";
            commandLine_ += value->find_first_of(" \t'\"") == std::string::npos ? *value : "'" + *value + "'";
        }
        values_[name] = *value;
    }
    return true;
}

void CliArgs::printUsage() const {
    std::printf("usage: %s [flags]\n%s\n\nflags:\n", program_.c_str(), summary_.c_str());
    for (const auto& spec : specs_) {
        std::string left = "  --" + spec.name + (spec.isSwitch ? "" : " <v>");
        std::printf("%-28s %s", left.c_str(), spec.help.c_str());
        if (!spec.isSwitch && !spec.defaultValue.empty()) {
            std::printf(" (default: %s)", spec.defaultValue.c_str());
        }
        std::printf("\n");
    }
}

std::string CliArgs::str(const std::string& name) const {
    if (auto it = values_.find(name); it != values_.end()) {
        return it->second;
    }
    const Spec* spec = find(name);
    if (spec == nullptr) {
        throw std::logic_error("undeclared flag --" + name);
    }
    return spec->isSwitch ? std::string() : spec->defaultValue;
}

long long CliArgs::integer(const std::string& name) const {
    const std::string text = str(name);
    try {
        size_t used = 0;
        long long v = std::stoll(text, &used);
        if (used != text.size()) {
            throw std::invalid_argument(text);
        }
        return v;
    } catch (const std::exception&) {
        throw std::runtime_error("--" + name + " expects an integer, got '" + text + "'");
    }
}

double CliArgs::number(const std::string& name) const {
    const std::string text = str(name);
    try {
        size_t used = 0;
        double v = std::stod(text, &used);
        if (used != text.size()) {
            throw std::invalid_argument(text);
        }
        return v;
    } catch (const std::exception&) {
        throw std::runtime_error("--" + name + " expects a number, got '" + text + "'");
    }
}

bool CliArgs::flag(const std::string& name) const {
    auto it = values_.find(name);
    return it != values_.end() && it->second != "0" && it->second != "false";
}

std::optional<std::uint64_t> readProcCpuTicks(int pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!in || !std::getline(in, line)) {
        return std::nullopt;
    }
    // comm (field 2) may contain spaces and parentheses: fields restart after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) {
        return std::nullopt;
    }
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    std::uint64_t utime = 0;
    std::uint64_t stime = 0;
    // After ')' the first token is field 3 (state); utime is field 14, stime field 15.
    for (int index = 3; index <= 15 && (rest >> field); ++index) {
        if (index == 14) {
            utime = std::stoull(field);
        } else if (index == 15) {
            stime = std::stoull(field);
            return utime + stime;
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> readProcSchedNs(int pid) {
    std::error_code ec;
    const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
    std::uint64_t total = 0;
    bool any = false;
    for (const auto& entry : std::filesystem::directory_iterator(tasks, ec)) {
        std::ifstream in(entry.path() / "schedstat");
        std::uint64_t runNs = 0;
        if (in >> runNs) {
            total += runNs;
            any = true;
        }
    }
    return any ? std::optional<std::uint64_t>(total) : std::nullopt;
}

long clockTicksPerSecond() {
    static const long ticks = sysconf(_SC_CLK_TCK);
    return ticks > 0 ? ticks : 100;
}

std::optional<long> readProcStatusKb(int pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    const std::string key = field + ":";
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) == 0) {
            try {
                return std::stol(line.substr(key.size()));
            } catch (const std::exception&) {
                return std::nullopt;
            }
        }
    }
    return std::nullopt;
}

PerfCounter::~PerfCounter() {
    closeAll();
}

void PerfCounter::closeAll() {
    for (int fd : fds_) {
        close(fd);
    }
    fds_.clear();
}

bool PerfCounter::start(int pid, Event event, Space space) {
    closeAll();
    std::error_code ec;
    std::vector<int> tids;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
        try {
            tids.push_back(std::stoi(entry.path().filename().string()));
        } catch (const std::exception&) {
        }
    }
    if (tids.empty()) {
        why_ = "no such process";
        return false;
    }
    for (int tid : tids) {
        perf_event_attr attr{};
        attr.size = sizeof attr;
        attr.type = PERF_TYPE_HARDWARE;
        attr.config = event == Event::Cycles ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_HW_INSTRUCTIONS;
        attr.inherit = 1;
        attr.exclude_hv = 1;
        attr.exclude_kernel = space == Space::User ? 1 : 0;
        attr.exclude_user = space == Space::Kernel ? 1 : 0;
        attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
        const long fd = syscall(SYS_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
            why_ = std::string("perf_event_open: ") + std::strerror(errno);
            closeAll();
            return false;
        }
        fds_.push_back(static_cast<int>(fd));
    }
    why_.clear();
    return true;
}

std::optional<std::uint64_t> PerfCounter::read() const {
    if (fds_.empty()) {
        return std::nullopt;
    }
    double total = 0;
    for (int fd : fds_) {
        std::uint64_t v[3] = {0, 0, 0}; // value, time enabled, time running
        if (::read(fd, v, sizeof v) != static_cast<ssize_t>(sizeof v)) {
            return std::nullopt;
        }
        total += v[2] > 0 ? static_cast<double>(v[0]) * static_cast<double>(v[1]) / static_cast<double>(v[2]) : 0.0;
    }
    return static_cast<std::uint64_t>(total);
}

double median(std::vector<double> values) {
    if (values.empty()) {
        return 0.0;
    }
    std::sort(values.begin(), values.end());
    const size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2.0;
}

double minOf(const std::vector<double>& values) {
    return values.empty() ? 0.0 : *std::min_element(values.begin(), values.end());
}

double maxOf(const std::vector<double>& values) {
    return values.empty() ? 0.0 : *std::max_element(values.begin(), values.end());
}

std::vector<std::string> splitList(const std::string& text, char sep) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(text);
    while (std::getline(in, item, sep)) {
        auto first = item.find_first_not_of(" \t");
        auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos) {
            out.push_back(item.substr(first, last - first + 1));
        }
    }
    return out;
}

bool isLoopbackHost(const std::string& host) {
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

} // namespace mqs::bench
